/**
 * Live: the real collector (eBPF) + the syscall source. Real syscalls made by
 * child processes are asserted through the extractor's fields; the collector is
 * killed mid-run and must come back; the events round-trip through a capture.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FieldValue } from '../../../src/engine/api.js';
import { CaptureWriter, readCapture } from '../../../src/sources/syscall/capture.js';
import { defaultCollectorPath } from '../../../src/sources/syscall/collector.js';
import type { SyscallEvent } from '../../../src/sources/syscall/event.js';
import { Kind } from '../../../src/sources/syscall/frame.js';
import { SyscallSource } from '../../../src/sources/syscall/source.js';
import { liveOrSkip } from '../../harness/live.js';
import { waitFor } from '../../harness/servers.js';

const run = promisify(execFile);
const FIELDS: [string, string?][] = [
  ['evt.type'],
  ['proc.name'],
  ['proc.cmdline'],
  ['proc.pname'],
  ['proc.aname', '2'],
  ['proc.exepath'],
  ['fd.name'],
  ['fd.sip'],
  ['fd.sport'],
  ['user.name'],
  ['group.name'],
  ['container.id'],
  ['evt.arg', 'flags'],
  ['fs.path.source'],
  ['fs.path.target'],
  ['evt.res'],
  ['proc.tty'],
  ['evt.time.iso8601'],
  ['evt.args'],
];
const live = liveOrSkip('syscall collector e2e');
const TYPES = [
  'execve',
  'openat',
  'open',
  'renameat2',
  'rename',
  'unlinkat',
  'connect',
  'procexit',
  'mkdir',
  'mkdirat',
  'symlinkat',
  'chmod',
  'fchmodat',
  'setuid',
  'unshare',
  'memfd_create',
  'kill',
];

describe.runIf(live)('syscall source, live on this kernel', () => {
  let src: SyscallSource;
  let dir: string;
  const events: SyscallEvent[] = [];
  const snapshots = new Map<number, FieldValue[]>();
  let capture: CaptureWriter;
  let server: net.Server;
  let port = 0;

  const get = (ev: SyscallEvent, name: string, arg?: string): FieldValue =>
    src.extractor.bind(name, arg)!(ev);
  const mine = () =>
    events.filter(
      (e) =>
        (e.ctx.proc()?.cwd ?? '').startsWith(dir) || JSON.stringify(e.ctx.proc()?.args ?? []).includes(dir),
    );

  beforeAll(async () => {
    if (!existsSync(defaultCollectorPath()))
      throw new Error(`collector not built at ${defaultCollectorPath()}: run scripts/setup.d/collector.sh`);
    dir = mkdtempSync(join(tmpdir(), 'pg-live-'));
    capture = new CaptureWriter(join(dir, 'run.capture.jsonl'));
    server = net.createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
    src = new SyscallSource({ eventTypes: TYPES, restartInitialMs: 100 });
    await src.start((ev) => {
      events.push(ev);
      if (ev.ctx.proc()?.cwd?.startsWith(dir)) {
        // field values as the rules see them (at delivery), to compare with the replay
        snapshots.set(
          ev.num,
          FIELDS.map(([f, a]) => src.extractor.bind(f, a)!(ev)),
        );
        capture.write(ev);
      }
    });
  }, 30_000);

  afterAll(async () => {
    await src?.stop();
    server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('sees exec, file and network syscalls of child processes with resolved paths and tuples', async () => {
    const script = [
      'echo hello > a.txt',
      'mv a.txt b.txt',
      'mkdir sub',
      'ln -s b.txt sub/link',
      'chmod 4755 b.txt',
      'rm b.txt',
      `node -e "require('net').connect(${port},'127.0.0.1',function(){this.destroy()})"`,
    ].join(' && ');
    await run('sh', ['-c', script], { cwd: dir, env: { ...process.env, PEREGRINE_E2E: 'env-seen' } });
    await waitFor(
      async () => mine().some((e) => e.type === 'connect' && get(e, 'fd.sport') === port),
      10_000,
    );

    const evs = mine();
    // the exec record (PATH lookups before it are failed execve events of the caller)
    const shExec = evs.find(
      (e) => e.type === 'execve' && e.frame.kind === Kind.Exec && get(e, 'proc.name') === 'sh',
    );
    expect(shExec, 'execve of sh').toBeDefined();
    expect(get(shExec!, 'proc.cmdline')).toBe(`sh -c ${script}`);
    expect(get(shExec!, 'proc.exepath')).toMatch(/\/(dash|sh|bash)$/);
    expect(get(shExec!, 'proc.cwd')).toBe(`${dir}/`);
    expect(get(shExec!, 'user.name')).toBe('root');
    expect(get(shExec!, 'container.id')).toBe('host');
    expect(get(shExec!, 'proc.env', 'PEREGRINE_E2E')).toBe('env-seen');
    const st = statSync(String(get(shExec!, 'proc.exepath')), { bigint: true });
    expect(get(shExec!, 'proc.exe_ino.mtime')).toBe(Number(st.mtimeNs));
    expect(get(shExec!, 'proc.exe_ino')).toBe(Number(st.ino));
    expect(get(shExec!, 'proc.is_exe_upper_layer')).toBe(false);

    const open = evs.find((e) => e.type === 'openat' && get(e, 'fd.name') === `${dir}/a.txt`);
    expect(open, 'openat of a.txt (relative path resolved in the kernel)').toBeDefined();
    expect(get(open!, 'evt.arg', 'flags')).toContain('O_CREAT');
    expect(get(open!, 'evt.is_open_write')).toBe(true);
    expect(get(open!, 'proc.name')).toBe('sh');

    const mv = evs.find(
      (e) => (e.type === 'renameat2' || e.type === 'rename') && get(e, 'proc.name') === 'mv',
    );
    expect(mv, 'rename by mv').toBeDefined();
    expect(get(mv!, 'fs.path.source')).toBe(`${dir}/a.txt`);
    expect(get(mv!, 'fs.path.target')).toBe(`${dir}/b.txt`);
    expect(get(mv!, 'proc.pname')).toBe('sh');

    const mk = evs.find(
      (e) => (e.type === 'mkdir' || e.type === 'mkdirat') && get(e, 'fs.path.name') === `${dir}/sub`,
    );
    expect(mk, 'mkdir sub').toBeDefined();
    const ln = evs.find((e) => e.type === 'symlinkat');
    expect(ln && get(ln, 'fs.path.target')).toBe(`${dir}/sub/link`);
    expect(ln && get(ln, 'evt.arg', 'target')).toBe('b.txt');
    const ch = evs.find((e) => e.type === 'fchmodat' || e.type === 'chmod');
    expect(ch && get(ch, 'evt.arg', 'mode')).toContain('S_ISUID');

    const rm = evs.find((e) => e.type === 'unlinkat' && get(e, 'proc.name') === 'rm');
    expect(rm && get(rm, 'fs.path.name')).toBe(`${dir}/b.txt`);
    expect(rm && get(rm, 'evt.res')).toBe('SUCCESS');

    const conn = evs.find((e) => e.type === 'connect' && get(e, 'fd.sport') === port)!;
    expect(get(conn, 'proc.name')).toBe('node');
    expect(get(conn, 'fd.sip')).toBe('127.0.0.1');
    expect(get(conn, 'fd.l4proto')).toBe('tcp');
    expect(get(conn, 'fd.typechar')).toBe('4');
    expect(get(conn, 'fd.name')).toMatch(new RegExp(`^127\\.0\\.0\\.1:\\d+->127\\.0\\.0\\.1:${port}$`));

    expect(evs.some((e) => e.type === 'procexit' && get(e, 'proc.name') === 'rm')).toBe(true);
    // the test process (the agent stand-in) is excluded in the kernel
    expect(events.some((e) => e.frame.tgid === process.pid)).toBe(false);
  });

  it('sees privileged and namespace syscalls: unshare, setuid, memfd_create, kill', async () => {
    const r = spawnSync('unshare', ['-U', 'true'], { cwd: dir });
    expect(r.status).toBe(0);
    writeFileSync(
      join(dir, 'memfd.py'),
      [
        'import os',
        "fd = os.memfd_create('pgpayload')",
        'os.setuid(0)',
        'os.kill(os.getpid(), 0)',
        "os.write(fd, open('/bin/true', 'rb').read())",
        'pid = os.fork()',
        "if pid == 0: os.execve('/proc/self/fd/%d' % fd, ['pgexe-run'], {})",
        'os.waitpid(pid, 0)',
        '',
      ].join('\n'),
    );
    const py = spawnSync('python3', [join(dir, 'memfd.py')], { cwd: dir });
    expect(py.status, String(py.stderr)).toBe(0);
    await waitFor(async () => mine().some((e) => e.type === 'kill'), 10_000);
    const evs = mine();
    const u = evs.find((e) => e.type === 'unshare');
    expect(u && get(u, 'evt.arg', 'flags')).toContain('CLONE_NEWUSER');
    const m = evs.find((e) => e.type === 'memfd_create');
    expect(m && get(m, 'evt.arg', 'name')).toBe('pgpayload');
    expect(m && get(m, 'fd.type')).toBe('memfd');
    expect(m && get(m, 'fd.name')).toBe('/memfd:pgpayload');
    const s = evs.find((e) => e.type === 'setuid');
    expect(s && get(s, 'evt.arg', 'uid')).toBe('root');
    const k = evs.find((e) => e.type === 'kill');
    expect(k && get(k, 'proc.name')).toMatch(/^python3/);
    await waitFor(
      async () => mine().some((e) => e.type === 'execve' && get(e, 'proc.exe') === 'pgexe-run'),
      10_000,
    );
    const mx = mine().find((e) => e.type === 'execve' && get(e, 'proc.exe') === 'pgexe-run')!;
    expect(get(mx, 'proc.exepath')).toBe('/memfd:pgpayload');
    expect(get(mx, 'proc.is_exe_from_memfd')).toBe(true);
  });

  it('restarts the collector when it is killed, and keeps delivering', async () => {
    const pid = src.collectorPid!;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    await waitFor(
      async () =>
        src.collectorPid !== undefined && src.collectorPid !== pid && src.metrics().collectorRunning,
      15_000,
    );
    expect(src.metrics().restarts).toBeGreaterThanOrEqual(1);
    const n = events.length;
    await run('sh', ['-c', 'cat /etc/hostname > after-restart.txt'], { cwd: dir });
    await waitFor(
      async () =>
        events.slice(n).some((e) => e.type === 'openat' && get(e, 'fd.name') === `${dir}/after-restart.txt`),
      10_000,
    );
  });

  it('reports kernel stats every second (drops counted, none at this load)', async () => {
    await waitFor(async () => src.metrics().kernelEmitted > 0, 5_000);
    const m = src.metrics();
    expect(m.drops).toBe(0);
    expect(m.perCpuDrops.length).toBeGreaterThan(0);
    expect(m.decodeErrors).toBe(0);
  });

  it('captures round-trip: replayed events extract the same field values', async () => {
    await capture.close();
    const replayed = readCapture(capture.path);
    expect(replayed.length).toBe(capture.count);
    expect(replayed.length).toBeGreaterThan(5);
    for (const r of replayed) {
      const atDelivery = snapshots.get(r.num)!;
      FIELDS.forEach(([f, a], i) => {
        expect(get(r, f, a), `${r.type} ${f}`).toEqual(atDelivery[i]);
      });
    }
    if (process.env.PEREGRINE_RECORD_FIXTURE)
      execFileSync('cp', [capture.path, process.env.PEREGRINE_RECORD_FIXTURE]);
  });
});
