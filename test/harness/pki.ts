/**
 * A throw-away PKI for TLS tests, made with openssl in `dir`: ca.crt/ca.key, server.crt/server.key (for
 * 127.0.0.1) and client.crt/client.key (clientAuth, CN = `clientCn`). Valid for one day.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function makeTestPki(
  dir: string,
  opts: { caCn?: string; clientCn?: string } = {},
): (name: string) => string {
  const o = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  o([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    `/CN=${opts.caCn ?? 'test-ca'}`,
  ]);
  for (const who of ['server', 'client']) {
    const cn = who === 'server' ? '127.0.0.1' : (opts.clientCn ?? 'test-client');
    o([
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${who}.key`,
      '-out',
      `${who}.csr`,
      '-subj',
      `/CN=${cn}`,
    ]);
    writeFileSync(
      join(dir, `${who}.ext`),
      who === 'server' ? 'subjectAltName=IP:127.0.0.1\n' : 'extendedKeyUsage=clientAuth\n',
    );
    o([
      'x509',
      '-req',
      '-in',
      `${who}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${who}.crt`,
      '-days',
      '1',
      '-extfile',
      `${who}.ext`,
    ]);
  }
  return (name: string) => join(dir, name);
}
