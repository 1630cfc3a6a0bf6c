/** Builds collector frames in tests (same layout as collector/src/events.h). */
import { HDR_SIZE, Kind, Tag } from '../../../src/sources/syscall/frame.js';

export interface HdrInit {
  kind: number;
  nr?: number;
  ts?: bigint;
  tgid?: number;
  tid?: number;
  uid?: number;
  gid?: number;
  cgroupId?: bigint;
  ret?: number;
  args?: (number | bigint)[];
}

export type Tlv = [tag: number, value: Buffer | string];

export function frame(h: HdrInit, tlvs: Tlv[] = []): Buffer {
  const body = tlvs.map(([tag, v]) => {
    const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
    const t = Buffer.alloc(4);
    t.writeUInt16LE(tag, 0);
    t.writeUInt16LE(b.length, 2);
    return Buffer.concat([t, b]);
  });
  const hdr = Buffer.alloc(HDR_SIZE);
  const len = HDR_SIZE + body.reduce((n, b) => n + b.length, 0);
  hdr.writeUInt32LE(len, 0);
  hdr.writeUInt16LE(h.kind, 4);
  hdr.writeUInt16LE(h.nr ?? 0, 6);
  hdr.writeBigUInt64LE(h.ts ?? 1_700_000_000_000_000_000n, 8);
  hdr.writeUInt32LE(h.tgid ?? 100, 16);
  hdr.writeUInt32LE(h.tid ?? h.tgid ?? 100, 20);
  hdr.writeUInt32LE(h.uid ?? 0, 24);
  hdr.writeUInt32LE(h.gid ?? 0, 28);
  hdr.writeBigUInt64LE(h.cgroupId ?? 1n, 32);
  hdr.writeBigInt64LE(BigInt(h.ret ?? 0), 40);
  (h.args ?? []).forEach((a, i) => {
    hdr.writeBigUInt64LE(BigInt.asUintN(64, BigInt(a)), 48 + 8 * i);
  });
  return Buffer.concat([hdr, ...body]);
}

/** The syscall numbers used in tests (x86_64). */
export const NR: Record<string, number> = {
  open: 2,
  openat: 257,
  openat2: 437,
  creat: 85,
  close: 3,
  rename: 82,
  renameat: 264,
  renameat2: 316,
  unlink: 87,
  unlinkat: 263,
  mkdir: 83,
  mkdirat: 258,
  rmdir: 84,
  link: 86,
  linkat: 265,
  symlink: 88,
  symlinkat: 266,
  chmod: 90,
  fchmod: 91,
  fchmodat: 268,
  chown: 92,
  fchown: 93,
  chdir: 80,
  fchdir: 81,
  dup: 32,
  dup2: 33,
  dup3: 292,
  socket: 41,
  connect: 42,
  accept: 43,
  accept4: 288,
  bind: 49,
  listen: 50,
  sendto: 44,
  sendmsg: 46,
  setuid: 105,
  setgid: 106,
  ptrace: 101,
  kill: 62,
  mount: 165,
  umount2: 166,
  unshare: 272,
  setns: 308,
  memfd_create: 319,
  init_module: 175,
  finit_module: 313,
  bpf: 321,
  execve: 59,
  execveat: 322,
  clone: 56,
  clone3: 435,
  fork: 57,
  vfork: 58,
};

export function hello(): Buffer {
  const table = Object.entries(NR)
    .map(([n, nr]) => `${n}:${nr}`)
    .join(',');
  return frame({ kind: Kind.Hello, tgid: 1 }, [
    [Tag.Hello, `version=1\nncpu=2\npid=1\nselected=\nsyscalls=${table}\n`],
  ]);
}

export function procInfo(p: {
  ppid: number;
  ruid?: number;
  loginuid?: number;
  tty?: number;
  vpid?: number;
  sid?: number;
  pgid?: number;
  capEff?: bigint;
  exeMode?: number;
  exeUid?: number;
  startNs?: bigint;
  exeFlags?: number;
  exeCtimeNs?: bigint;
}): Buffer {
  const b = Buffer.alloc(128);
  b.writeUInt32LE(p.ppid, 0);
  b.writeUInt32LE(p.ruid ?? 0, 4);
  b.writeInt32LE(p.loginuid ?? -1, 12);
  b.writeUInt32LE(p.tty ?? 0, 16);
  b.writeUInt32LE(p.vpid ?? 0, 20);
  b.writeUInt32LE(p.vpid ?? 0, 24);
  b.writeUInt32LE(p.sid ?? 0, 28);
  b.writeUInt32LE(p.pgid ?? 0, 32);
  b.writeBigUInt64LE(p.capEff ?? 0n, 48);
  b.writeBigUInt64LE(p.capEff ?? 0n, 56);
  b.writeUInt32LE(p.exeMode ?? 0o100755, 80);
  b.writeUInt32LE(p.exeUid ?? 0, 84);
  b.writeBigUInt64LE(p.startNs ?? 0n, 96);
  b.writeUInt32LE(p.exeFlags ?? 0, 104);
  b.writeBigUInt64LE(p.exeCtimeNs ?? 0n, 120);
  b.writeBigUInt64LE(p.exeCtimeNs ?? 0n, 112);
  return b;
}

export function execFrame(o: {
  pid: number;
  ppid: number;
  argv: string[];
  exe: string;
  cwd?: string;
  comm?: string;
  cgroup?: string;
  uid?: number;
  gid?: number;
  loginuid?: number;
  tty?: number;
  ts?: bigint;
  nr?: number;
  sid?: number;
  capEff?: bigint;
  env?: string[];
  exeFlags?: number;
  exeCtimeNs?: bigint;
}): Buffer {
  return frame(
    { kind: Kind.Exec, nr: o.nr ?? NR.execve, tgid: o.pid, uid: o.uid ?? 0, gid: o.gid ?? 0, ts: o.ts },
    [
      [
        Tag.ProcInfo,
        procInfo({
          ppid: o.ppid,
          loginuid: o.loginuid,
          tty: o.tty,
          vpid: o.pid,
          sid: o.sid ?? o.pid,
          pgid: o.pid,
          capEff: o.capEff,
          exeFlags: o.exeFlags,
          exeCtimeNs: o.exeCtimeNs,
        }),
      ],
      [Tag.Comm, o.comm ?? (o.exe.split('/').pop() ?? '').slice(0, 15)],
      [Tag.Filename, o.exe],
      [Tag.Exe, o.exe],
      [Tag.Cwd, o.cwd ?? '/'],
      [Tag.Cgroup, o.cgroup ?? '/'],
      [Tag.Argv, `${o.argv.join('\0')}\0`],
      ...(o.env ? ([[Tag.Env, `${o.env.join('\0')}\0`]] as Tlv[]) : []),
    ],
  );
}

export function forkFrame(parent: number, child: number, thread = false): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt32LE(thread ? parent : child, 0);
  b.writeUInt32LE(child, 4);
  b.writeUInt32LE(child, 8);
  b.writeUInt32LE(child, 12);
  b.writeUInt32LE(thread ? 1 : 0, 16);
  return frame({ kind: Kind.Fork, nr: NR.clone, tgid: parent, ret: child }, [[Tag.ForkInfo, b]]);
}

export function exitFrame(pid: number, code = 0): Buffer {
  const b = Buffer.alloc(8);
  b.writeInt32LE(code, 0);
  b.writeUInt32LE(1, 4);
  return frame({ kind: Kind.Exit, tgid: pid, ret: code }, [[Tag.ExitInfo, b]]);
}

export function fdInfo(fd: number, mode: number, ino = 42): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt32LE(fd, 0);
  b.writeUInt32LE(mode, 4);
  b.writeUInt32LE(0, 8);
  b.writeUInt32LE(0x800001, 12);
  b.writeBigUInt64LE(BigInt(ino), 16);
  return b;
}

export function sock(s: {
  family: number;
  type?: number;
  proto?: number;
  laddr: number[];
  lport: number;
  raddr: number[];
  rport: number;
}): Buffer {
  const b = Buffer.alloc(44);
  b.writeUInt16LE(s.family, 0);
  b.writeUInt16LE(s.type ?? 1, 2);
  b.writeUInt16LE(s.proto ?? 6, 4);
  b.writeUInt16LE(s.lport, 6);
  b.writeUInt16LE(s.rport, 8);
  Buffer.from(s.laddr).copy(b, 12);
  Buffer.from(s.raddr).copy(b, 28);
  return b;
}

export function sockaddrIn(ip: number[], port: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(2, 0);
  b.writeUInt16BE(port, 2);
  Buffer.from(ip).copy(b, 4);
  return b;
}
