/** Sink-side TLS keys: checkcert, tlsclient.cacertfile, mutualtls with mutualtlsclient.* (HTTPS receivers). */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestPki } from '../../harness/pki.js';
import { alert, post, startRelay, tempDir, until } from './helpers.js';

describe('sink TLS: checkcert and mutual TLS', () => {
  const t = tempDir('client-tls');
  const f = (n: string) => join(t.dir, n);
  const got: Array<{ path: string; cn?: string }> = [];
  let server: https.Server;
  let mtlsServer: https.Server;
  let url = '';
  let mtlsUrl = '';

  beforeAll(async () => {
    makeTestPki(t.dir, { caCn: 'sink-ca', clientCn: 'peregrine-relay' });
    const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
      req.resume();
      req.on('end', () => {
        if (req.method === 'POST') {
          const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate?.();
          const cn = peer?.subject?.CN;
          got.push({ path: req.url ?? '', cn: Array.isArray(cn) ? cn[0] : cn });
        }
        res.writeHead(200).end();
      });
    };
    const cert = { key: readFileSync(f('server.key')), cert: readFileSync(f('server.crt')) };
    server = https.createServer(cert, handler);
    mtlsServer = https.createServer(
      { ...cert, ca: readFileSync(f('ca.crt')), requestCert: true, rejectUnauthorized: true },
      handler,
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    await new Promise<void>((r) => mtlsServer.listen(0, '127.0.0.1', () => r()));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    mtlsUrl = `https://127.0.0.1:${(mtlsServer.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.close();
    mtlsServer.close();
    t.cleanup();
  });

  it('an unknown CA is refused with checkcert (alert kept), accepted with checkcert: false or tlsclient.cacertfile', async () => {
    const strict = await startRelay({
      webhook: { address: `${url}/strict` },
      delivery: { initialbackoff: '20ms', maxbackoff: '50ms' },
    });
    const lax = await startRelay({ webhook: { address: `${url}/lax`, checkcert: false } });
    const ca = await startRelay({
      webhook: { address: `${url}/ca` },
      tlsclient: { cacertfile: f('ca.crt') },
    });
    try {
      await post(strict.url, alert());
      await post(lax.url, alert());
      await post(ca.url, alert());
      await until(() => got.some((g) => g.path === '/lax') && got.some((g) => g.path === '/ca'), 5000);
      await new Promise((r) => setTimeout(r, 300));
      expect(got.some((g) => g.path === '/strict')).toBe(false);
      const m = await (await fetch(`${strict.url}/metrics`)).text();
      expect(m).toMatch(/peregrine_relay_sink_retried_total\{sink="webhook"\} [1-9]/);
      expect(m).toMatch(/peregrine_relay_sink_backlog\{sink="webhook"\} 1/);
    } finally {
      await strict.stop();
      await lax.stop();
      await ca.stop();
    }
  });

  it('syslog over TLS: RFC 5424 frames on a TLS socket, certificate checked against tlsclient.cacertfile', async () => {
    const frames: string[] = [];
    const srv = tls.createServer(
      { key: readFileSync(f('server.key')), cert: readFileSync(f('server.crt')) },
      (s) => {
        s.on('data', (d: Buffer) => frames.push(d.toString()));
      },
    );
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const r = await startRelay({
      syslog: { host: '127.0.0.1', port: (srv.address() as AddressInfo).port, protocol: 'tls' },
      tlsclient: { cacertfile: f('ca.crt') },
    });
    try {
      const uuid = (await post(r.url, alert({ rule: 'over-tls' }))).headers.get('x-peregrine-uuid')!;
      await until(() => frames.join('').includes(uuid), 5000, 'syslog over TLS');
      expect(frames.join('')).toMatch(/^\d+ <\d+>1 \S+ \S+ Falco /);
    } finally {
      await r.stop();
      srv.close();
    }
  });

  it('mutualtls presents the mutualtlsclient certificate', async () => {
    const r = await startRelay({
      webhook: { address: `${mtlsUrl}/mtls`, mutualtls: true },
      mutualtlsclient: { certfile: f('client.crt'), keyfile: f('client.key'), cacertfile: f('ca.crt') },
    });
    try {
      await post(r.url, alert());
      await until(() => got.some((g) => g.path === '/mtls'), 5000);
      expect(got.find((g) => g.path === '/mtls')!.cn).toBe('peregrine-relay');
    } finally {
      await r.stop();
    }
  });
});
