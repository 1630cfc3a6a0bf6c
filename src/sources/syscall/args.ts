/**
 * Event parameters by Falco name (evt.arg.<name>, evt.rawarg.<name>, evt.args),
 * per event type, computed from the frame. Text follows libsinsp's rendering:
 * fds as `3(<f>/etc/passwd)`, flags as `O_WRONLY|O_CREAT`, errors as `-2(ENOENT)`.
 */
import { FD_TYPECHAR, ipFdName } from '../../state/fds.js';
import {
  BPF_CMD,
  cloneFlagsText,
  ERRNO,
  modeText,
  mountFlagsText,
  openFlagsText,
  PTRACE_REQ,
  SIGNALS,
  SOCKET_FAMILY,
} from './consts.js';
import type { SyscallEvent } from './event.js';
import { formatIp, Kind, Tag } from './frame.js';

export interface Param {
  raw(ev: SyscallEvent): string | number | undefined;
  text(ev: SyscallEvent): string | undefined;
}

export function errText(ret: number): string {
  return ret < 0 ? `${ret}(${ERRNO[-ret] ?? `E${-ret}`})` : String(ret);
}

/** Decoded sockaddr: `ip:port` for inet, path for unix. */
export function sockaddrText(b: Buffer | undefined): {
  family: number;
  text: string;
  ip?: string;
  port?: number;
} {
  if (!b || b.length < 2) return { family: 0, text: '' };
  const family = b.readUInt16LE(0);
  if (family === 2 && b.length >= 8) {
    const ip = formatIp(b.subarray(4, 8), 2);
    const port = b.readUInt16BE(2);
    return { family, text: `${ip}:${port}`, ip, port };
  }
  if (family === 10 && b.length >= 24) {
    const ip = formatIp(b.subarray(8, 24), 10);
    const port = b.readUInt16BE(2);
    return { family, text: `${ip}:${port}`, ip, port };
  }
  if (family === 1) {
    let s = b.subarray(2);
    if (s[0] === 0) return { family, text: `@${s.subarray(1).toString('utf8').replace(/\0+$/, '')}` };
    const nul = s.indexOf(0);
    if (nul >= 0) s = s.subarray(0, nul);
    return { family, text: s.toString('utf8') };
  }
  return { family, text: '' };
}

const res: Param = { raw: (e) => e.frame.ret, text: (e) => errText(e.frame.ret) };

function fdText(e: SyscallEvent, fd: number): string {
  if (fd < 0) return errText(fd);
  const f = e.ctx.fd()?.num === fd ? e.ctx.fd() : e.ctx.fdOf(fd);
  return f ? `${fd}(<${FD_TYPECHAR[f.type]}>${f.name})` : String(fd);
}
const fdRet: Param = { raw: (e) => e.frame.ret, text: (e) => fdText(e, e.frame.ret) };
const fdArg = (i: number): Param => ({
  raw: (e) => e.frame.argInt(i),
  text: (e) => fdText(e, e.frame.argInt(i)),
});
const dirfd = (i: number): Param => ({
  raw: (e) => e.frame.argInt(i),
  text: (e) => {
    const d = e.frame.argInt(i);
    return d === -100 ? '-100(AT_FDCWD)' : fdText(e, d);
  },
});
const str = (k: 0 | 1 | 2): Param => ({
  raw: (e) => e.path(k)?.raw,
  text: (e) => e.path(k)?.raw,
});
const num = (i: number): Param => ({ raw: (e) => e.frame.argU(i), text: (e) => String(e.frame.argU(i)) });
const int = (i: number): Param => ({ raw: (e) => e.frame.argInt(i), text: (e) => String(e.frame.argInt(i)) });
const hex = (i: number): Param => ({
  raw: (e) => e.frame.argU(i),
  text: (e) => `0x${e.frame.argRaw(i).toString(16)}`,
});
const openFlags = (i: number): Param => ({
  raw: (e) => e.frame.argU(i),
  text: (e) => openFlagsText(e.frame.argU(i)),
});
const openHowFlags: Param = {
  raw: (e) => {
    const b = e.frame.bytes(Tag.OpenHow);
    return b ? Number(b.readBigUInt64LE(0)) : undefined;
  },
  text: (e) => {
    const b = e.frame.bytes(Tag.OpenHow);
    return b ? openFlagsText(Number(b.readBigUInt64LE(0))) : undefined;
  },
};
const openHowMode: Param = {
  raw: (e) => {
    const b = e.frame.bytes(Tag.OpenHow);
    return b ? Number(b.readBigUInt64LE(8)) : undefined;
  },
  text: (e) => {
    const b = e.frame.bytes(Tag.OpenHow);
    return b ? modeText(Number(b.readBigUInt64LE(8))) : undefined;
  },
};
const mode = (i: number): Param => ({ raw: (e) => e.frame.argU(i), text: (e) => modeText(e.frame.argU(i)) });
const uid = (i: number): Param => ({
  raw: (e) => e.frame.argInt(i),
  text: (e) => {
    const u = e.frame.argInt(i);
    if (u < 0) return String(u);
    return e.ctx.user(u)?.name ?? String(u);
  },
});
const gid = (i: number): Param => ({
  raw: (e) => e.frame.argInt(i),
  text: (e) => {
    const g = e.frame.argInt(i);
    if (g < 0) return String(g);
    return e.ctx.group(g)?.name ?? String(g);
  },
});
const sig = (i: number): Param => ({
  raw: (e) => e.frame.argInt(i),
  text: (e) => {
    const s = e.frame.argInt(i);
    return SIGNALS[s] ? `${s}(${SIGNALS[s]})` : String(s);
  },
});
const fdInfoDev: Param = {
  raw: (e) => e.frame.fdInfo()?.dev,
  text: (e) => e.frame.fdInfo()?.dev?.toString(16),
};
const fdInfoIno: Param = {
  raw: (e) => e.frame.fdInfo()?.ino,
  text: (e) => e.frame.fdInfo()?.ino?.toString(),
};
const tuple: Param = {
  raw: (e) => tupleText(e),
  text: (e) => tupleText(e),
};
function tupleText(e: SyscallEvent): string | undefined {
  const f = e.ctx.fd();
  if (f && (f.type === 'ipv4' || f.type === 'ipv6')) return ipFdName(f);
  if (f?.type === 'unix') return f.name;
  const sa = sockaddrText(e.frame.bytes(Tag.SAddr));
  return sa.text || undefined;
}
const addr: Param = {
  raw: (e) => sockaddrText(e.frame.bytes(Tag.SAddr)).text || undefined,
  text: (e) => sockaddrText(e.frame.bytes(Tag.SAddr)).text || undefined,
};
const ptraceReq: Param = {
  raw: (e) => e.frame.argInt(0),
  text: (e) => PTRACE_REQ[e.frame.argInt(0)] ?? String(e.frame.argInt(0)),
};
const family: Param = {
  raw: (e) => e.frame.argInt(0),
  text: (e) => SOCKET_FAMILY[e.frame.argInt(0)] ?? String(e.frame.argInt(0)),
};
const cloneFlags = (i: number): Param => ({
  raw: (e) => e.frame.argU(i),
  text: (e) => cloneFlagsText(e.frame.argU(i)),
});

/** execve `flags` (libsinsp PPM_EXE_*): writable, upper layer, from memfd, lower layer. */
function exeFlags(e: SyscallEvent): number | undefined {
  const p = e.ctx.proc();
  if (!p) return undefined;
  let f = 0;
  const uid = e.frame.uid;
  const writable =
    p.exeMode !== 0 &&
    (uid === 0 ||
      (p.exeUid === uid && (p.exeMode & 0o200) !== 0) ||
      (p.exeGid === e.frame.gid && (p.exeMode & 0o020) !== 0) ||
      (p.exeMode & 0o002) !== 0);
  if (writable) f |= 1;
  if (p.exeUpperLayer) f |= 2;
  if (p.exepath.startsWith('/memfd:')) f |= 4;
  if (p.exeLowerLayer) f |= 8;
  return f;
}
const EXE_FLAG_NAMES: [number, string][] = [
  [1, 'EXE_WRITABLE'],
  [2, 'EXE_UPPER_LAYER'],
  [4, 'EXE_FROM_MEMFD'],
  [8, 'EXE_LOWER_LAYER'],
];

const execParams: Record<string, Param> = {
  res: { raw: () => 0, text: () => '0' },
  exe: { raw: (e) => e.ctx.proc()?.exe, text: (e) => e.ctx.proc()?.exe },
  args: { raw: (e) => e.ctx.proc()?.args.join(' '), text: (e) => e.ctx.proc()?.args.join(' ') },
  tid: { raw: (e) => e.frame.tid, text: (e) => String(e.frame.tid) },
  pid: { raw: (e) => e.frame.tgid, text: (e) => String(e.frame.tgid) },
  ptid: { raw: (e) => e.ctx.proc()?.ppid, text: (e) => String(e.ctx.proc()?.ppid ?? '') },
  cwd: { raw: (e) => e.ctx.proc()?.cwd, text: (e) => e.ctx.proc()?.cwd },
  comm: { raw: (e) => e.frame.str(Tag.Comm), text: (e) => e.frame.str(Tag.Comm) },
  filename: { raw: (e) => e.frame.str(Tag.Filename), text: (e) => e.frame.str(Tag.Filename) },
  trusted_exepath: { raw: (e) => e.frame.str(Tag.Exe), text: (e) => e.frame.str(Tag.Exe) },
  uid: { raw: (e) => e.frame.uid, text: (e) => String(e.frame.uid) },
  loginuid: { raw: (e) => e.ctx.proc()?.loginuid, text: (e) => String(e.ctx.proc()?.loginuid ?? '') },
  tty: { raw: (e) => e.ctx.proc()?.tty, text: (e) => String(e.ctx.proc()?.tty ?? '') },
};
// Falco's execve `flags` parameter comes late in its list.
execParams.flags = {
  raw: (e) => exeFlags(e),
  text: (e) => {
    const f = exeFlags(e);
    if (f === undefined) return undefined;
    return (
      EXE_FLAG_NAMES.filter(([b]) => f & b)
        .map(([, n]) => n)
        .join('|') || '0'
    );
  },
};

/** Parameters per event type, in Falco's order. */
export const PARAMS: Record<string, Record<string, Param>> = {
  open: { fd: fdRet, name: str(0), flags: openFlags(1), mode: mode(2), dev: fdInfoDev, ino: fdInfoIno },
  openat: {
    fd: fdRet,
    dirfd: dirfd(0),
    name: str(0),
    flags: openFlags(2),
    mode: mode(3),
    dev: fdInfoDev,
    ino: fdInfoIno,
  },
  openat2: {
    fd: fdRet,
    dirfd: dirfd(0),
    name: str(0),
    flags: openHowFlags,
    mode: openHowMode,
    dev: fdInfoDev,
    ino: fdInfoIno,
  },
  creat: { fd: fdRet, name: str(0), mode: mode(1), dev: fdInfoDev, ino: fdInfoIno },
  close: { res, fd: fdArg(0) },
  rename: { res, oldpath: str(0), newpath: str(1) },
  renameat: { res, olddirfd: dirfd(0), oldpath: str(0), newdirfd: dirfd(2), newpath: str(1) },
  renameat2: { res, olddirfd: dirfd(0), oldpath: str(0), newdirfd: dirfd(2), newpath: str(1), flags: num(4) },
  unlink: { res, path: str(0) },
  unlinkat: { res, dirfd: dirfd(0), name: str(0), flags: num(2) },
  mkdir: { res, path: str(0), mode: mode(1) },
  mkdirat: { res, dirfd: dirfd(0), path: str(0), mode: mode(2) },
  rmdir: { res, path: str(0) },
  link: { res, oldpath: str(0), newpath: str(1) },
  linkat: { res, olddir: dirfd(0), oldpath: str(0), newdir: dirfd(2), newpath: str(1), flags: num(4) },
  symlink: { res, target: str(0), linkpath: str(1) },
  symlinkat: { res, target: str(0), linkdirfd: dirfd(1), linkpath: str(1) },
  chmod: { res, filename: str(0), mode: mode(1) },
  fchmod: { res, fd: fdArg(0), mode: mode(1) },
  fchmodat: { res, dirfd: dirfd(0), filename: str(0), mode: mode(2) },
  fchmodat2: { res, dirfd: dirfd(0), filename: str(0), mode: mode(2) },
  chown: { res, path: str(0), uid: uid(1), gid: gid(2) },
  lchown: { res, path: str(0), uid: uid(1), gid: gid(2) },
  fchown: { res, fd: fdArg(0), uid: uid(1), gid: gid(2) },
  fchownat: { res, dirfd: dirfd(0), pathname: str(0), uid: uid(2), gid: gid(3), flags: num(4) },
  truncate: { res, path: str(0), length: num(1) },
  chdir: { res, path: str(0) },
  fchdir: { res, fd: fdArg(0) },
  chroot: { res, path: str(0) },
  dup: { res: fdRet, oldfd: fdArg(0) },
  dup2: { res: fdRet, oldfd: fdArg(0), newfd: fdArg(1) },
  dup3: { res: fdRet, oldfd: fdArg(0), newfd: fdArg(1), flags: num(2) },
  socket: { fd: fdRet, domain: family, type: num(1), proto: num(2) },
  connect: { res, tuple, fd: fdArg(0), addr },
  accept: { fd: fdRet, tuple },
  accept4: { fd: fdRet, tuple, flags: num(3) },
  bind: { res, addr, fd: fdArg(0) },
  listen: { res, fd: fdArg(0), backlog: int(1) },
  sendto: { res, fd: fdArg(0), size: num(2), tuple },
  sendmsg: { res, fd: fdArg(0), tuple },
  setuid: { res, uid: uid(0) },
  setgid: { res, gid: gid(0) },
  setreuid: { res, ruid: uid(0), euid: uid(1) },
  setregid: { res, rgid: gid(0), egid: gid(1) },
  setresuid: { res, ruid: uid(0), euid: uid(1), suid: uid(2) },
  setresgid: { res, rgid: gid(0), egid: gid(1), sgid: gid(2) },
  setfsuid: { res, uid: uid(0) },
  setfsgid: { res, gid: gid(0) },
  ptrace: { res, addr: hex(2), data: hex(3), request: ptraceReq, pid: int(1) },
  kill: { res, pid: int(0), sig: sig(1) },
  tkill: { res, tid: int(0), sig: sig(1) },
  tgkill: { res, pid: int(0), tid: int(1), sig: sig(2) },
  mount: {
    res,
    dev: str(0),
    dir: str(1),
    type: str(2),
    flags: { raw: (e) => e.frame.argU(3), text: (e) => mountFlagsText(e.frame.argU(3)) },
  },
  umount2: { res, name: str(0), flags: num(1) },
  umount: { res, name: str(0), flags: num(1) },
  unshare: { res, flags: cloneFlags(0) },
  setns: { res, fd: fdArg(0), nstype: cloneFlags(1) },
  memfd_create: { fd: fdRet, name: str(0), flags: num(1) },
  init_module: { res, length: num(1), uargs: str(0) },
  finit_module: { res, fd: fdArg(0), uargs: str(0), flags: num(2) },
  bpf: {
    res_or_fd: fdRet,
    fd: fdRet,
    cmd: {
      raw: (e) => e.frame.argInt(0),
      text: (e) => BPF_CMD[e.frame.argInt(0)] ?? String(e.frame.argInt(0)),
    },
  },
  prctl: { res, option: int(0), arg2_int: num(1) },
  execve: execParams,
  execveat: execParams,
  procexit: {
    status: { raw: (e) => e.frame.exitCode(), text: (e) => String(e.frame.exitCode() ?? '') },
    ret: { raw: (e) => (e.frame.exitCode() ?? 0) >> 8, text: (e) => String((e.frame.exitCode() ?? 0) >> 8) },
    sig: {
      raw: (e) => (e.frame.exitCode() ?? 0) & 0x7f,
      text: (e) => {
        const s = (e.frame.exitCode() ?? 0) & 0x7f;
        return s ? `${s}(${SIGNALS[s] ?? ''})` : '0';
      },
    },
    core: {
      raw: (e) => ((e.frame.exitCode() ?? 0) & 0x80 ? 1 : 0),
      text: (e) => ((e.frame.exitCode() ?? 0) & 0x80 ? '1' : '0'),
    },
  },
};
for (const t of ['clone', 'clone3', 'fork', 'vfork']) {
  PARAMS[t] = {
    res: { raw: (e) => e.frame.ret, text: (e) => String(e.frame.ret) },
    exe: execParams.exe!,
    args: execParams.args!,
    tid: execParams.tid!,
    pid: execParams.pid!,
    ptid: execParams.ptid!,
    cwd: execParams.cwd!,
    comm: execParams.comm!,
  };
}

/** Find a parameter by name for an event, or by index. */
export function paramOf(ev: SyscallEvent, nameOrIndex: string): Param | undefined {
  const t = PARAMS[ev.type];
  if (!t) return undefined;
  if (/^\d+$/.test(nameOrIndex)) {
    const keys = Object.keys(t);
    const k = keys[Number(nameOrIndex)];
    return k ? t[k] : undefined;
  }
  return t[nameOrIndex];
}

/** `evt.args`: `name=value` pairs. */
export function argsText(ev: SyscallEvent): string {
  const t = PARAMS[ev.type];
  if (!t) return ev.frame.kind === Kind.Syscall ? `res=${errText(ev.frame.ret)}` : '';
  const out: string[] = [];
  for (const [k, p] of Object.entries(t)) {
    const v = p.text(ev);
    if (v !== undefined) out.push(`${k}=${v}`);
  }
  return out.join(' ');
}
