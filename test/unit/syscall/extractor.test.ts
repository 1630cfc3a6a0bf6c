import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FieldValue } from '../../../src/engine/api.js';
import { SYSCALL_FIELDS } from '../../../src/engine/fields/syscall.js';
import type { SyscallEvent } from '../../../src/sources/syscall/event.js';
import { boundFieldNames } from '../../../src/sources/syscall/extractor.js';
import { Frame, Kind, Tag } from '../../../src/sources/syscall/frame.js';
import { SyscallSource } from '../../../src/sources/syscall/source.js';
import { execFrame, exitFrame, fdInfo, forkFrame, frame, hello, NR, sock, sockaddrIn } from './frames.js';

const CID = 'e'.repeat(64);
let root: string;
let src: SyscallSource;
let events: SyscallEvent[];

function feed(b: Buffer): SyscallEvent | undefined {
  const before = events.length;
  src.handleFrame(new Frame(b));
  return events.length > before ? events[events.length - 1] : undefined;
}

function field(ev: SyscallEvent, name: string, arg?: string): FieldValue {
  const g = src.extractor.bind(name, arg);
  if (!g) throw new Error(`field ${name} not bound`);
  return g(ev);
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'pg-extract-'));
  mkdirSync(join(root, 'proc', '200', 'root', 'etc'), { recursive: true });
  writeFileSync(
    join(root, 'proc', '200', 'root', 'etc', 'passwd'),
    'root:x:0:0:root:/root:/bin/ash\napp:x:1000:1000::/home/app:/bin/ash\n',
  );
  writeFileSync(join(root, 'proc', '200', 'root', 'etc', 'group'), 'root:x:0:\napp:x:1000:\n');
  src = new SyscallSource({ procRoot: join(root, 'proc') });
  events = [];
  src.attachOffline((ev) => events.push(ev));
  feed(hello());
  feed(
    execFrame({
      pid: 100,
      ppid: 1,
      argv: ['bash', '-i'],
      exe: '/usr/bin/bash',
      cwd: '/root',
      tty: 34816,
      cgroup: `/libpod_parent/libpod-${CID}`,
    }),
  );
  feed(forkFrame(100, 200));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('SyscallExtractor over live-decoded frames', () => {
  it('binds every field of the syscall table that has data on this platform', () => {
    const bound = new Set(boundFieldNames());
    // the fields used by the upstream rules must all be bound
    for (const f of [
      'proc.name',
      'fd.name',
      'proc.cmdline',
      'user.name',
      'proc.pname',
      'evt.type',
      'proc.aname',
      'proc.tty',
      'user.uid',
      'user.loginuid',
      'proc.exepath',
      'container.image.repository',
      'proc.args',
      'proc.pcmdline',
      'evt.arg',
      'fd.sport',
      'fd.type',
      'fd.typechar',
      'fd.l4proto',
      'fd.directory',
      'proc.pexe',
      'fd.rport',
      'fd.lport',
      'evt.res',
      'proc.exe',
      'evt.rawres',
      'proc.cwd',
      'fd.sip',
      'container.mount.dest',
      'thread.cap_permitted',
      'fd.num',
      'fd.net',
      'fd.ip',
      'k8s.ns.name',
      'fd.sip.name',
      'evt.num',
      'thread.cap_effective',
      'fd.types',
      'fd.snet',
      'container.id',
      'fd.nameraw',
      'fd.name_changed',
      'fd.connected',
      'proc.env',
      'fd.filename',
      'evt.is_open_read',
      'evt.hostname',
      'evt.args',
      'user.loginname',
      'proc.sname',
      'proc.pexepath',
      'group.name',
      'group.gid',
      'evt.is_open_write',
      'container.start_ts',
      'container.privileged',
      'proc.vpid',
      'proc.is_vpgid_leader',
      'proc.vpgid.name',
      'proc.vpgid.exe',
      'proc.ppid.duration',
      'proc.is_exe_upper_layer',
      'proc.is_exe_from_memfd',
      'proc.duration',
      'proc.aexepath',
      'fd.cip.name',
      'k8s.pod.name',
      'fd.sockfamily',
      'fd.rnet',
      'fd.rip',
      'fd.port',
      'fd.cnet',
      'fd.cip',
      'evt.is_open_exec',
      'container.mounts',
      'proc.apid',
      'proc.acmdline',
      'fs.path.name',
      'fs.path.source',
      'fs.path.target',
      'container.name',
      'container.image.tag',
      'k8s.pod.label',
    ]) {
      expect(bound.has(f), f).toBe(true);
    }
    expect(bound.size).toBeGreaterThan(SYSCALL_FIELDS.length * 0.9);
  });

  it('execve: process, parent, ancestors, user from the container passwd, tty, container id', () => {
    const ev = feed(
      execFrame({
        pid: 200,
        ppid: 100,
        argv: ['cat', '/etc/shadow'],
        exe: '/usr/bin/cat',
        cwd: '/root',
        uid: 1000,
        gid: 1000,
        loginuid: 1000,
        cgroup: `/libpod_parent/libpod-${CID}`,
        sid: 100,
        capEff: 0x3n,
        env: ['HOME=/home/app', 'GLIBC_TUNABLES=glibc.malloc=1'],
      }),
    )!;
    expect(ev.type).toBe('execve');
    expect(field(ev, 'evt.type')).toBe('execve');
    expect(field(ev, 'proc.name')).toBe('cat');
    expect(field(ev, 'proc.exe')).toBe('cat');
    expect(field(ev, 'proc.exepath')).toBe('/usr/bin/cat');
    expect(field(ev, 'proc.cmdline')).toBe('cat /etc/shadow');
    expect(field(ev, 'proc.args')).toBe('/etc/shadow');
    expect(field(ev, 'proc.cwd')).toBe('/root/');
    expect(field(ev, 'proc.pid')).toBe(200);
    expect(field(ev, 'proc.ppid')).toBe(100);
    expect(field(ev, 'proc.pname')).toBe('bash');
    expect(field(ev, 'proc.pcmdline')).toBe('bash -i');
    expect(field(ev, 'proc.aname', '0')).toBe('cat');
    expect(field(ev, 'proc.aname', '1')).toBe('bash');
    expect(field(ev, 'proc.aname', '2')).toBeUndefined();
    expect(field(ev, 'proc.aname')).toEqual(['bash']);
    expect(field(ev, 'proc.apid', '1')).toBe(100);
    expect(field(ev, 'proc.sname')).toBe('bash');
    expect(field(ev, 'user.uid')).toBe(1000);
    expect(field(ev, 'user.name')).toBe('app'); // from the container's /etc/passwd
    expect(field(ev, 'user.homedir')).toBe('/home/app');
    expect(field(ev, 'user.loginuid')).toBe(1000);
    expect(field(ev, 'user.loginname')).toBe('app');
    expect(field(ev, 'group.name')).toBe('app');
    expect(field(ev, 'thread.cap_effective')).toBe('CAP_CHOWN CAP_DAC_OVERRIDE');
    expect(field(ev, 'container.id')).toBe(CID.slice(0, 12));
    expect(field(ev, 'container.full_id')).toBe(CID);
    expect(field(ev, 'container.type')).toBe('podman');
    expect(field(ev, 'container.name')).toBeUndefined(); // no API socket: id only
    expect(field(ev, 'evt.res')).toBe('SUCCESS');
    expect(field(ev, 'evt.arg', 'exe')).toBe('cat');
    expect(field(ev, 'proc.is_exe_from_memfd')).toBe(false);
    expect(field(ev, 'proc.env')).toBe('HOME=/home/app GLIBC_TUNABLES=glibc.malloc=1');
    expect(field(ev, 'proc.env', 'HOME')).toBe('/home/app');
    expect(field(ev, 'proc.env', 'NOPE')).toBeUndefined();
  });

  it('openat: fd from the kernel-resolved path, flags text, open_read/write, failures keep the path', () => {
    const ok = feed(
      frame(
        {
          kind: Kind.Syscall,
          nr: NR.openat,
          tgid: 200,
          uid: 1000,
          ret: 3,
          args: [4294967196, 0, 0o2000000, 0],
        },
        [
          [Tag.Str0, 'shadow'],
          [Tag.Base0, '/etc'],
          [Tag.FdInfo, fdInfo(3, 0o100640)],
          [Tag.FdPath, '/etc/shadow'],
        ],
      ),
    )!;
    expect(field(ok, 'fd.name')).toBe('/etc/shadow');
    expect(field(ok, 'fd.nameraw')).toBe('shadow');
    expect(field(ok, 'fd.directory')).toBe('/etc');
    expect(field(ok, 'fd.filename')).toBe('shadow');
    expect(field(ok, 'fd.num')).toBe(3);
    expect(field(ok, 'fd.typechar')).toBe('f');
    expect(field(ok, 'fd.type')).toBe('file');
    expect(field(ok, 'evt.is_open_read')).toBe(true);
    expect(field(ok, 'evt.is_open_write')).toBe(false);
    expect(field(ok, 'evt.arg', 'flags')).toBe('O_RDONLY|O_CLOEXEC');
    expect(field(ok, 'evt.arg', 'name')).toBe('shadow');
    expect(field(ok, 'evt.arg', 'dirfd')).toBe('-100(AT_FDCWD)');
    expect(field(ok, 'evt.arg', 'fd')).toBe('3(<f>/etc/shadow)');
    expect(field(ok, 'evt.rawarg', 'flags')).toBe(0o2000000);
    expect(field(ok, 'fs.path.name')).toBe('/etc/shadow');
    expect(field(ok, 'evt.abspath')).toBe('/etc/shadow');
    expect(field(ok, 'evt.args')).toContain('flags=O_RDONLY|O_CLOEXEC');
    const bad = feed(
      frame(
        { kind: Kind.Syscall, nr: NR.openat, tgid: 200, ret: -13, args: [4294967196, 0, 0o1101, 0o755] },
        [[Tag.Str0, '/usr/bin/../bin/evil']],
      ),
    )!;
    expect(field(bad, 'fd.name')).toBe('/usr/bin/evil');
    expect(field(bad, 'evt.res')).toBe('EACCES');
    expect(field(bad, 'evt.rawres')).toBe(-13);
    expect(field(bad, 'evt.failed')).toBe(true);
    expect(field(bad, 'fd.num')).toBe(-13);
    expect(field(bad, 'evt.is_open_write')).toBe(true);
    expect(field(bad, 'evt.is_open_create')).toBe(true);
    expect(field(bad, 'evt.is_open_exec')).toBe(true);
    expect(field(bad, 'evt.arg', 'flags')).toBe('O_WRONLY|O_CREAT|O_TRUNC');
  });

  it('connect / accept / sendto: client and server ends, l4proto, name_changed', () => {
    const c = feed(
      frame({ kind: Kind.Syscall, nr: NR.connect, tgid: 200, ret: 0, args: [4, 0, 16] }, [
        [Tag.FdInfo, fdInfo(4, 0o140777)],
        [
          Tag.Sock,
          sock({ family: 2, laddr: [10, 0, 0, 2], lport: 40000, raddr: [93, 184, 216, 34], rport: 443 }),
        ],
        [Tag.SAddr, sockaddrIn([93, 184, 216, 34], 443)],
      ]),
    )!;
    expect(field(c, 'fd.name')).toBe('10.0.0.2:40000->93.184.216.34:443');
    expect(field(c, 'fd.typechar')).toBe('4');
    expect(field(c, 'fd.l4proto')).toBe('tcp');
    expect(field(c, 'fd.sockfamily')).toBe('ip');
    expect(field(c, 'fd.cip')).toBe('10.0.0.2');
    expect(field(c, 'fd.sip')).toBe('93.184.216.34');
    expect(field(c, 'fd.sport')).toBe(443);
    expect(field(c, 'fd.cport')).toBe(40000);
    expect(field(c, 'fd.rip')).toBe('93.184.216.34');
    expect(field(c, 'fd.lport')).toBe(40000);
    expect(field(c, 'fd.is_server')).toBe(false);
    expect(field(c, 'fd.connected')).toBe(true);
    expect(field(c, 'fd.ip')).toEqual(['10.0.0.2', '93.184.216.34']);
    expect(field(c, 'evt.arg', 'tuple')).toBe('10.0.0.2:40000->93.184.216.34:443');
    expect(field(c, 'evt.category')).toBe('net');
    const a = feed(
      frame({ kind: Kind.Syscall, nr: NR.accept4, tgid: 200, ret: 5, args: [3, 0, 0, 0] }, [
        [Tag.FdInfo, fdInfo(5, 0o140777)],
        [
          Tag.Sock,
          sock({ family: 2, laddr: [10, 0, 0, 2], lport: 22, raddr: [192, 168, 1, 9], rport: 51000 }),
        ],
      ]),
    )!;
    expect(field(a, 'fd.is_server')).toBe(true);
    expect(field(a, 'fd.sport')).toBe(22);
    expect(field(a, 'fd.cip')).toBe('192.168.1.9');
    expect(field(a, 'fd.name')).toBe('192.168.1.9:51000->10.0.0.2:22');
    const u = feed(
      frame({ kind: Kind.Syscall, nr: NR.sendto, tgid: 200, ret: 10, args: [6, 0, 10, 0, 0, 16] }, [
        [Tag.FdInfo, fdInfo(6, 0o140777)],
        [
          Tag.Sock,
          sock({
            family: 2,
            type: 2,
            proto: 17,
            laddr: [0, 0, 0, 0],
            lport: 33000,
            raddr: [0, 0, 0, 0],
            rport: 0,
          }),
        ],
        [Tag.SAddr, sockaddrIn([8, 8, 8, 8], 53)],
      ]),
    )!;
    expect(field(u, 'fd.l4proto')).toBe('udp');
    expect(field(u, 'fd.connected')).toBe(false);
    expect(field(u, 'fd.name_changed')).toBe(true);
    expect(field(u, 'fd.sip')).toBe('8.8.8.8');
    expect(field(u, 'fd.sport')).toBe(53);
  });

  it('dup2 onto stdin and close keep the fd table right', () => {
    feed(
      frame({ kind: Kind.Syscall, nr: NR.dup2, tgid: 200, ret: 0, args: [4, 0] }, [
        [Tag.FdInfo, fdInfo(0, 0o140777)],
      ]),
    );
    const later = feed(frame({ kind: Kind.Syscall, nr: NR.setuid, tgid: 200, uid: 0, ret: 0, args: [0] }))!;
    expect(field(later, 'proc.stdin.type')).toBe('ipv4');
    expect(field(later, 'proc.stdin.name')).toBe('10.0.0.2:40000->93.184.216.34:443');
    expect(field(later, 'evt.arg', 'uid')).toBe('root');
    expect(field(later, 'user.name')).toBe('root');
    const cl = feed(frame({ kind: Kind.Syscall, nr: NR.close, tgid: 200, ret: 0, args: [3] }))!;
    expect(field(cl, 'fd.name')).toBe('/etc/shadow'); // the fd as it was when closed
    const types = field(later, 'fd.types') as string[];
    expect(types).toContain('ipv4');
    const after = feed(frame({ kind: Kind.Syscall, nr: NR.fchmod, tgid: 200, ret: -9, args: [3, 0o4755] }))!;
    expect(field(after, 'fd.name')).toBeUndefined();
    expect(field(after, 'evt.arg', 'mode')).toContain('S_ISUID');
  });

  it('two-path calls: fs.path.source/target and evt.arg names; symlink target is not resolved', () => {
    const r = feed(
      frame(
        { kind: Kind.Syscall, nr: NR.renameat2, tgid: 200, ret: 0, args: [4294967196, 0, 4294967196, 0, 1] },
        [
          [Tag.Str0, 'a.txt'],
          [Tag.Str1, '/etc/cron.d/x'],
          [Tag.Base0, '/tmp'],
        ],
      ),
    )!;
    expect(field(r, 'fs.path.source')).toBe('/tmp/a.txt');
    expect(field(r, 'fs.path.sourceraw')).toBe('a.txt');
    expect(field(r, 'fs.path.target')).toBe('/etc/cron.d/x');
    expect(field(r, 'fs.path.name')).toBeUndefined();
    expect(field(r, 'evt.arg', 'oldpath')).toBe('a.txt');
    expect(field(r, 'evt.arg', 'newpath')).toBe('/etc/cron.d/x');
    expect(field(r, 'evt.abspath.dst')).toBe('/etc/cron.d/x');
    const s = feed(
      frame({ kind: Kind.Syscall, nr: NR.symlinkat, tgid: 200, ret: 0, args: [0, 4294967196, 0] }, [
        [Tag.Str0, '/etc/shadow'],
        [Tag.Str1, 'link'],
        [Tag.Base1, '/home/app'],
      ]),
    )!;
    expect(field(s, 'evt.arg', 'target')).toBe('/etc/shadow');
    expect(field(s, 'fs.path.source')).toBe('/etc/shadow');
    expect(field(s, 'fs.path.target')).toBe('/home/app/link');
    expect(field(s, 'evt.arg', 'linkpath')).toBe('link');
  });

  it('ptrace, mount, memfd_create, kill render their arguments', () => {
    const p = feed(frame({ kind: Kind.Syscall, nr: NR.ptrace, tgid: 200, ret: 0, args: [16, 4242, 0, 0] }))!;
    expect(field(p, 'evt.arg', 'request')).toBe('PTRACE_ATTACH');
    expect(field(p, 'evt.arg', 'pid')).toBe('4242');
    const m = feed(
      frame({ kind: Kind.Syscall, nr: NR.mount, tgid: 200, ret: 0, args: [0, 0, 0, 4096 | 16384] }, [
        [Tag.Str0, '/'],
        [Tag.Str1, '/mnt/host'],
        [Tag.Str2, 'none'],
      ]),
    )!;
    expect(field(m, 'evt.arg', 'dir')).toBe('/mnt/host');
    expect(field(m, 'evt.arg', 'flags')).toBe('BIND|REC');
    const mf = feed(
      frame({ kind: Kind.Syscall, nr: NR.memfd_create, tgid: 200, ret: 7, args: [0, 1] }, [
        [Tag.Str0, 'payload'],
        [Tag.FdInfo, fdInfo(7, 0o100777)],
        [Tag.FdPath, '/memfd:payload (deleted)'],
      ]),
    )!;
    expect(field(mf, 'fd.type')).toBe('memfd');
    expect(field(mf, 'evt.arg', 'name')).toBe('payload');
    const k = feed(frame({ kind: Kind.Syscall, nr: NR.kill, tgid: 200, ret: 0, args: [1, 9] }))!;
    expect(field(k, 'evt.arg', 'sig')).toBe('9(SIGKILL)');
  });

  it('procexit is delivered with the process, then the process is marked dead', () => {
    const ev = feed(exitFrame(200, 9))!;
    expect(ev.type).toBe('procexit');
    expect(field(ev, 'proc.name')).toBe('cat');
    expect(field(ev, 'evt.arg', 'sig')).toBe('9(SIGKILL)');
    expect(src.table.peek(200)?.exitNs).toBeDefined();
  });

  it('host processes: container.id host, k8s fields absent', () => {
    const ev = feed(execFrame({ pid: 300, ppid: 1, argv: ['ls'], exe: '/bin/ls' }))!;
    expect(field(ev, 'proc.is_exe_upper_layer')).toBe(false);
    const up = feed(
      execFrame({
        pid: 301,
        ppid: 1,
        argv: ['dropped'],
        exe: '/tmp/dropped',
        exeFlags: 1,
        exeCtimeNs: 1_600_000_000_000_000_000n,
      }),
    )!;
    expect(field(up, 'proc.exe_ino.ctime')).toBe(1.6e18);
    expect(field(up, 'proc.exe_ino.mtime')).toBe(1.6e18);
    expect(field(up, 'proc.exe_ino.ctime_duration_proc_start')).toBe(1.7e18 - 1.6e18);
    expect(field(up, 'proc.is_exe_upper_layer')).toBe(true);
    expect(field(up, 'proc.is_exe_lower_layer')).toBe(false);
    expect(field(up, 'evt.arg', 'flags')).toBe('EXE_WRITABLE|EXE_UPPER_LAYER'); // root may write it
    const low = feed(execFrame({ pid: 302, ppid: 1, argv: ['cat'], exe: '/bin/cat', exeFlags: 2 }))!;
    expect(field(low, 'proc.is_exe_lower_layer')).toBe(true);
    expect(field(ev, 'container.id')).toBe('host');
    expect(field(ev, 'container.name')).toBe('host');
    expect(field(ev, 'k8s.pod.name')).toBeUndefined();
    expect(field(ev, 'evt.source')).toBe('syscall');
    expect(typeof field(ev, 'evt.time')).toBe('string');
    expect(field(ev, 'evt.time.iso8601')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  });

  it('counts events per type and frames', () => {
    const m = src.metrics();
    expect(m.eventsByType.openat).toBe(2);
    expect(m.eventsByType.execve).toBeGreaterThanOrEqual(3);
    expect(m.decodeErrors).toBe(0);
    expect(m.processes).toBeGreaterThanOrEqual(2);
  });
});
