/**
 * SourceExtractor for the 'syscall' source: binds every field of
 * SYSCALL_FIELDS (src/engine/fields/syscall.ts) that has a meaning here to a
 * getter over SyscallEvent, with Falco's semantics. Getters decode only what
 * they need from the frame.
 */
import { hostname } from 'node:os';
import type { FieldSpec, FieldValue, SourceExtractor } from '../../engine/api.js';
import { SYSCALL_FIELDS } from '../../engine/fields/syscall.js';
import type { ContainerInfo, ContainerMount } from '../../state/containers.js';
import { FD_TYPECHAR, type FdEntry } from '../../state/fds.js';
import type { ProcessEntry } from '../../state/processes.js';
import { argsText, errText, paramOf } from './args.js';
import { capsText, ERRNO, O_ACCMODE, O_CREAT, O_RDWR, O_WRONLY } from './consts.js';
import type { SyscallEvent } from './event.js';
import { Kind, Tag } from './frame.js';

type Getter = (ev: SyscallEvent) => FieldValue;

const HOST = hostname();

const OPEN_TYPES = new Set(['open', 'openat', 'openat2', 'creat']);
const TWO_PATH = new Set(['rename', 'renameat', 'renameat2', 'link', 'linkat', 'symlink', 'symlinkat']);
const FILE_CAT = new Set([
  'open',
  'openat',
  'openat2',
  'creat',
  'close',
  'rename',
  'renameat',
  'renameat2',
  'unlink',
  'unlinkat',
  'mkdir',
  'mkdirat',
  'rmdir',
  'link',
  'linkat',
  'symlink',
  'symlinkat',
  'chmod',
  'fchmod',
  'fchmodat',
  'fchmodat2',
  'chown',
  'lchown',
  'fchown',
  'fchownat',
  'truncate',
  'dup',
  'dup2',
  'dup3',
  'chdir',
  'fchdir',
  'memfd_create',
]);
const NET_CAT = new Set(['socket', 'connect', 'accept', 'accept4', 'bind', 'listen', 'sendto', 'sendmsg']);
const PROC_CAT = new Set([
  'execve',
  'execveat',
  'clone',
  'clone3',
  'fork',
  'vfork',
  'procexit',
  'kill',
  'tkill',
  'tgkill',
  'ptrace',
  'setuid',
  'setgid',
  'setreuid',
  'setregid',
  'setresuid',
  'setresgid',
  'setfsuid',
  'setfsgid',
  'prctl',
  'unshare',
  'setns',
  'chroot',
]);

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}
function nsParts(ts: bigint): { d: Date; ns: string } {
  const ms = Number(ts / 1_000_000n);
  return { d: new Date(ms), ns: pad(Number(ts % 1_000_000_000n), 9) };
}

const proc = (f: (p: ProcessEntry, ev: SyscallEvent) => FieldValue): Getter => {
  return (ev) => {
    const p = ev.ctx.proc();
    return p ? f(p, ev) : undefined;
  };
};
const parent = (f: (p: ProcessEntry) => FieldValue): Getter => {
  return (ev) => {
    const p = ev.ctx.ancestor(1);
    return p ? f(p) : undefined;
  };
};
const fd = (f: (e: FdEntry, ev: SyscallEvent) => FieldValue): Getter => {
  return (ev) => {
    const e = ev.ctx.fd();
    return e ? f(e, ev) : undefined;
  };
};
const ctr = (f: (c: ContainerInfo) => FieldValue, host?: FieldValue): Getter => {
  return (ev) => {
    const c = ev.ctx.container();
    return c ? f(c) : host;
  };
};

const cmdline = (p: ProcessEntry) => (p.args.length ? `${p.comm} ${p.args.join(' ')}` : p.comm);
const isIp = (e: FdEntry) => e.type === 'ipv4' || e.type === 'ipv6';
/** Client/server ends of an IP socket. */
const cip = (e: FdEntry) => (isIp(e) ? (e.isServer ? e.rip : e.lip) : undefined);
const sip = (e: FdEntry) => (isIp(e) ? (e.isServer ? e.lip : e.rip) : undefined);
const cport = (e: FdEntry) => (isIp(e) ? (e.isServer ? e.rport : e.lport) : undefined);
const sport = (e: FdEntry) => (isIp(e) ? (e.isServer ? e.lport : e.rport) : undefined);

function dirOf(name: string): string | undefined {
  if (!name.startsWith('/')) return undefined;
  const i = name.lastIndexOf('/');
  return i <= 0 ? '/' : name.slice(0, i);
}
function fileOf(name: string): string | undefined {
  if (!name.startsWith('/')) return undefined;
  return name.slice(name.lastIndexOf('/') + 1);
}

function isOpenEv(ev: SyscallEvent): boolean {
  return OPEN_TYPES.has(ev.type);
}
function openFlags(ev: SyscallEvent): number {
  switch (ev.type) {
    case 'open':
      return ev.frame.argU(1);
    case 'openat':
      return ev.frame.argU(2);
    case 'openat2': {
      const b = ev.frame.bytes(Tag.OpenHow);
      return b ? Number(b.readBigUInt64LE(0)) : 0;
    }
    case 'creat':
      return O_CREAT | O_WRONLY;
    default:
      return 0;
  }
}
function openMode(ev: SyscallEvent): number {
  switch (ev.type) {
    case 'open':
      return ev.frame.argU(2);
    case 'openat':
      return ev.frame.argU(3);
    case 'creat':
      return ev.frame.argU(1);
    case 'openat2': {
      const b = ev.frame.bytes(Tag.OpenHow);
      return b ? Number(b.readBigUInt64LE(8)) : 0;
    }
    default:
      return 0;
  }
}

function labelsText(l: Record<string, string>): string | undefined {
  const e = Object.entries(l);
  return e.length ? e.map(([k, v]) => `${k}:${v}`).join(', ') : undefined;
}

function findMount(
  c: ContainerInfo,
  arg: string | undefined,
  by: 'source' | 'dest',
): ContainerMount | undefined {
  if (arg === undefined) return undefined;
  if (/^\d+$/.test(arg)) return c.mounts[Number(arg)];
  return c.mounts.find((m) => (by === 'source' ? m.source === arg : m.dest === arg));
}
function mountText(m: ContainerMount): string {
  return `${m.source}:${m.dest}:${m.mode}:${m.rdwr}:${m.propagation}`;
}

/** proc.is_exe_writable: the process's user may write the executable (root always may). */
function exeWritable(p: ProcessEntry, uid: number, gid: number): boolean {
  if (!p.exeMode) return false;
  if (uid === 0) return true;
  if (p.exeUid === uid) return (p.exeMode & 0o200) !== 0;
  if (p.exeGid === gid) return (p.exeMode & 0o020) !== 0;
  return (p.exeMode & 0o002) !== 0;
}

function ancestorGetter(pick: (p: ProcessEntry) => FieldValue, arg: string | undefined): Getter | undefined {
  if (arg === undefined) {
    // Any ancestor (parent and up): the engine compares against each value.
    return (ev) => {
      const out: (string | number | boolean)[] = [];
      for (const a of ev.ctx.ancestors()) {
        const v = pick(a);
        if (v !== undefined && !Array.isArray(v)) out.push(v);
      }
      return out.length ? out : undefined;
    };
  }
  if (!/^\d+$/.test(arg)) return undefined;
  const n = Number(arg);
  return (ev) => {
    const a = ev.ctx.ancestor(n);
    return a ? pick(a) : undefined;
  };
}

function stdFd(n: number, what: 'type' | 'name'): Getter {
  return (ev) => {
    const e = ev.ctx.fdOf(n);
    if (!e) return undefined;
    return what === 'type' ? e.type : e.name;
  };
}

function fsPath(ev: SyscallEvent, which: 'name' | 'source' | 'target', raw: boolean): string | undefined {
  if (ev.frame.kind !== Kind.Syscall) return undefined;
  const two = TWO_PATH.has(ev.type);
  if (which === 'name' ? two : !two) return undefined;
  if (ev.type === 'symlink' || ev.type === 'symlinkat') {
    if (which === 'source') return ev.path(0)?.raw;
    const p = ev.path(1);
    return raw ? p?.raw : p?.abs;
  }
  const k = which === 'target' ? 1 : 0;
  const p = ev.path(k);
  if (p) return raw ? p.raw : p.abs;
  if (which === 'name') {
    const e = ev.ctx.fd();
    if (e && (e.type === 'file' || e.type === 'directory')) return e.name;
  }
  return undefined;
}

const fixed: Record<string, Getter> = {
  // generic
  'evt.num': (ev) => ev.num,
  'evt.time': (ev) => {
    const { d, ns } = nsParts(ev.tsNs);
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${ns}`;
  },
  'evt.time.s': (ev) => {
    const { d } = nsParts(ev.tsNs);
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  },
  'evt.time.iso8601': (ev) => {
    const { d, ns } = nsParts(ev.tsNs);
    return `${d.toISOString().slice(0, 19)}.${ns}Z`;
  },
  'evt.datetime': (ev) => {
    const { d, ns } = nsParts(ev.tsNs);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${ns}`;
  },
  'evt.datetime.s': (ev) => {
    const { d } = nsParts(ev.tsNs);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  },
  'evt.rawtime': (ev) => Number(ev.tsNs),
  'evt.rawtime.s': (ev) => Number(ev.tsNs / 1_000_000_000n),
  'evt.rawtime.ns': (ev) => Number(ev.tsNs % 1_000_000_000n),
  'evt.source': () => 'syscall',
  'evt.is_async': () => false,
  'evt.hostname': () => HOST,
  // syscall event
  'evt.type': (ev) => ev.type,
  'syscall.type': (ev) =>
    ev.frame.kind === Kind.Syscall || ev.frame.kind === Kind.Exec ? ev.type : undefined,
  'evt.category': (ev) =>
    FILE_CAT.has(ev.type)
      ? 'file'
      : NET_CAT.has(ev.type)
        ? 'net'
        : PROC_CAT.has(ev.type)
          ? 'process'
          : 'other',
  'evt.dir': () => '<',
  'evt.args': (ev) => argsText(ev),
  'evt.info': (ev) => argsText(ev),
  'evt.res': (ev) => (ev.frame.ret < 0 ? (ERRNO[-ev.frame.ret] ?? `E${-ev.frame.ret}`) : 'SUCCESS'),
  'evt.rawres': (ev) => ev.frame.ret,
  'evt.failed': (ev) => ev.frame.kind === Kind.Syscall && ev.frame.ret < 0,
  'evt.is_io': () => false,
  'evt.is_io_read': () => false,
  'evt.is_io_write': () => false,
  'evt.is_wait': () => false,
  'evt.is_syslog': () => false,
  'evt.count': () => 1,
  'evt.count.error': (ev) => (ev.frame.kind === Kind.Syscall && ev.frame.ret < 0 ? 1 : 0),
  'evt.count.error.file': (ev) => (ev.frame.ret < 0 && FILE_CAT.has(ev.type) ? 1 : 0),
  'evt.count.error.net': (ev) => (ev.frame.ret < 0 && NET_CAT.has(ev.type) ? 1 : 0),
  'evt.count.error.memory': () => 0,
  'evt.count.error.other': (ev) =>
    ev.frame.kind === Kind.Syscall && ev.frame.ret < 0 && !FILE_CAT.has(ev.type) && !NET_CAT.has(ev.type)
      ? 1
      : 0,
  'evt.count.exit': () => 1,
  'evt.abspath.src': (ev) => (TWO_PATH.has(ev.type) ? ev.path(0)?.abs : undefined),
  'evt.abspath.dst': (ev) => (TWO_PATH.has(ev.type) ? ev.path(1)?.abs : undefined),
  'evt.is_open_read': (ev) => {
    if (!isOpenEv(ev)) return false;
    const a = openFlags(ev) & O_ACCMODE;
    return a === 0 || a === O_RDWR;
  },
  'evt.is_open_write': (ev) => {
    if (!isOpenEv(ev)) return false;
    const a = openFlags(ev) & O_ACCMODE;
    return a === O_WRONLY || a === O_RDWR;
  },
  'evt.is_open_create': (ev) => isOpenEv(ev) && (openFlags(ev) & O_CREAT) !== 0,
  'evt.is_open_exec': (ev) => isOpenEv(ev) && (openFlags(ev) & O_CREAT) !== 0 && (openMode(ev) & 0o111) !== 0,
  'evt.outputtime': (ev) => Number(ev.tsNs),
  'evt.latency': () => 0,
  'evt.latency.s': () => 0,
  'evt.latency.ns': () => 0,
  // process
  'proc.exe': proc((p) => p.exe),
  'proc.pexe': parent((p) => p.exe),
  'proc.exepath': proc((p) => p.exepath),
  'proc.pexepath': parent((p) => p.exepath),
  'proc.name': proc((p) => p.comm),
  'proc.pname': parent((p) => p.comm),
  'proc.args': proc((p) => p.args.join(' ')),
  'proc.cmdline': proc(cmdline),
  'proc.pcmdline': parent(cmdline),
  'proc.cmdnargs': proc((p) => p.args.length),
  'proc.cmdlenargs': proc((p) => p.args.reduce((n, a) => n + a.length, 0)),
  'proc.exeline': proc((p) => (p.args.length ? `${p.exe} ${p.args.join(' ')}` : p.exe)),
  'proc.cwd': proc((p) => (p.cwd && !p.cwd.endsWith('/') ? `${p.cwd}/` : p.cwd)),
  'proc.loginshellid': (ev) => ev.ctx.loginShellId(),
  'proc.tty': proc((p) => p.tty),
  'proc.pid': (ev) => ev.frame.tgid,
  'proc.ppid': proc((p) => p.ppid),
  'proc.vpid': proc((p) => p.vpid),
  'proc.pvpid': parent((p) => p.vpid),
  'proc.sid': proc((p) => p.sid),
  'proc.sname': (ev) => {
    const p = ev.ctx.proc();
    return p ? ev.ctx.byPid(p.sid)?.comm : undefined;
  },
  'proc.sid.exe': (ev) => {
    const p = ev.ctx.proc();
    return p ? ev.ctx.byPid(p.sid)?.exe : undefined;
  },
  'proc.sid.exepath': (ev) => {
    const p = ev.ctx.proc();
    return p ? ev.ctx.byPid(p.sid)?.exepath : undefined;
  },
  'proc.pgid': proc((p) => p.pgid),
  'proc.vpgid': proc((p) => p.vpgid),
  'proc.pgid.name': (ev) => {
    const p = ev.ctx.proc();
    return p ? ev.ctx.byPid(p.pgid)?.comm : undefined;
  },
  'proc.pgid.exe': (ev) => {
    const p = ev.ctx.proc();
    return p ? ev.ctx.byPid(p.pgid)?.exe : undefined;
  },
  'proc.pgid.exepath': (ev) => {
    const p = ev.ctx.proc();
    return p ? ev.ctx.byPid(p.pgid)?.exepath : undefined;
  },
  'proc.vpgid.name': (ev) => {
    const p = ev.ctx.proc();
    return p ? ev.ctx.byPid(p.pgid)?.comm : undefined;
  },
  'proc.vpgid.exe': (ev) => {
    const p = ev.ctx.proc();
    return p ? ev.ctx.byPid(p.pgid)?.exe : undefined;
  },
  'proc.vpgid.exepath': (ev) => {
    const p = ev.ctx.proc();
    return p ? ev.ctx.byPid(p.pgid)?.exepath : undefined;
  },
  'proc.is_sid_leader': proc((p) => p.sid === p.pid),
  'proc.is_vpgid_leader': proc((p) => p.vpgid === p.vpid),
  'proc.is_pgid_leader': proc((p) => p.pgid === p.pid),
  'proc.duration': proc((p, ev) => Math.max(0, Number(ev.tsNs) - p.startNs)),
  'proc.ppid.duration': (ev) => {
    const p = ev.ctx.ancestor(1);
    return p ? Math.max(0, Number(ev.tsNs) - p.startNs) : undefined;
  },
  'proc.pid.ts': proc((p) => p.startNs),
  'proc.ppid.ts': parent((p) => p.startNs),
  'proc.is_exe_writable': proc((p, ev) => exeWritable(p, ev.frame.uid, ev.frame.gid)),
  'proc.is_exe_upper_layer': proc((p) => p.exeUpperLayer === true),
  'proc.is_exe_lower_layer': proc((p) => p.exeLowerLayer === true),
  'proc.is_exe_from_memfd': proc((p) => p.exepath.startsWith('/memfd:') || p.exepath.startsWith('memfd:')),
  'proc.exe_ino': proc((p) => p.exeIno || undefined),
  'proc.exe_ino.ctime': proc((p) => p.exeCtimeNs),
  'proc.exe_ino.mtime': proc((p) => p.exeMtimeNs),
  'proc.exe_ino.ctime_duration_proc_start': proc((p) =>
    p.exeCtimeNs !== undefined ? Math.max(0, p.startNs - p.exeCtimeNs) : undefined,
  ),
  'proc.nthreads': proc((p) => p.nthreads),
  'proc.nchilds': proc((p) => Math.max(0, p.nthreads - 1)),
  'proc.fdopencount': proc((p) => p.fds.size),
  'proc.stdin.type': stdFd(0, 'type'),
  'proc.stdout.type': stdFd(1, 'type'),
  'proc.stderr.type': stdFd(2, 'type'),
  'proc.stdin.name': stdFd(0, 'name'),
  'proc.stdout.name': stdFd(1, 'name'),
  'proc.stderr.name': stdFd(2, 'name'),
  'proc.is_container_healthcheck': () => false,
  'proc.is_container_liveness_probe': () => false,
  'proc.is_container_readiness_probe': () => false,
  // thread
  'thread.tid': (ev) => ev.frame.tid,
  'thread.ismain': (ev) => ev.frame.tid === ev.frame.tgid,
  'thread.vtid': (ev) => {
    const p = ev.ctx.proc();
    if (!p) return undefined;
    return ev.frame.tid === ev.frame.tgid ? p.vpid : (ev.frame.procInfo()?.vtid ?? undefined);
  },
  'thread.cap_permitted': proc((p) => capsText(p.capPrm)),
  'thread.cap_inheritable': proc((p) => capsText(p.capInh)),
  'thread.cap_effective': proc((p) => capsText(p.capEff)),
  'thread.cgroups': proc((p) => `unified=${p.cgroup}`),
  'thread.nametid': proc((p, ev) => `${p.comm}${ev.frame.tid}`),
  // user / group
  'user.uid': (ev) => ev.frame.uid,
  'user.name': (ev) => ev.ctx.user(ev.frame.uid)?.name,
  'user.homedir': (ev) => ev.ctx.user(ev.frame.uid)?.homedir,
  'user.shell': (ev) => ev.ctx.user(ev.frame.uid)?.shell,
  'user.loginuid': proc((p) => p.loginuid),
  'user.loginname': (ev) => {
    const l = ev.ctx.proc()?.loginuid;
    return l === undefined || l < 0 ? undefined : ev.ctx.user(l)?.name;
  },
  'group.gid': (ev) => ev.frame.gid,
  'group.name': (ev) => ev.ctx.group(ev.frame.gid)?.name,
  // fd
  'fd.num': fd((e) => e.num),
  'fd.type': fd((e) => e.type),
  'fd.typechar': fd((e) => FD_TYPECHAR[e.type]),
  'fd.name': fd((e) => e.name),
  'fd.nameraw': (ev) => {
    if (isOpenEv(ev)) return ev.path(0)?.raw ?? ev.ctx.fd()?.name;
    return ev.ctx.fd()?.name;
  },
  'fd.directory': fd((e) => (e.type === 'file' || e.type === 'directory' ? dirOf(e.name) : undefined)),
  'fd.filename': fd((e) => (e.type === 'file' || e.type === 'directory' ? fileOf(e.name) : undefined)),
  'fd.ip': fd((e) => (isIp(e) ? [e.lip ?? '', e.rip ?? ''].filter((x) => x !== '') : undefined)),
  'fd.cip': fd(cip),
  'fd.sip': fd(sip),
  'fd.lip': fd((e) => (isIp(e) ? e.lip : undefined)),
  'fd.rip': fd((e) => (isIp(e) ? e.rip : undefined)),
  'fd.port': fd((e) => (isIp(e) ? [e.lport ?? 0, e.rport ?? 0] : undefined)),
  'fd.cport': fd(cport),
  'fd.sport': fd(sport),
  'fd.lport': fd((e) => (isIp(e) ? e.lport : undefined)),
  'fd.rport': fd((e) => (isIp(e) ? e.rport : undefined)),
  'fd.net': fd((e) => (isIp(e) ? [e.lip ?? '', e.rip ?? ''].filter((x) => x !== '') : undefined)),
  'fd.cnet': fd(cip),
  'fd.snet': fd(sip),
  'fd.lnet': fd((e) => (isIp(e) ? e.lip : undefined)),
  'fd.rnet': fd((e) => (isIp(e) ? e.rip : undefined)),
  'fd.l4proto': fd((e) => (isIp(e) ? e.l4proto : undefined)),
  'fd.sockfamily': fd((e) => (isIp(e) ? 'ip' : e.type === 'unix' ? 'unix' : undefined)),
  'fd.is_server': fd((e) => e.isServer ?? false),
  'fd.connected': fd((e) => e.connected ?? false),
  'fd.name_changed': (ev) =>
    (ev.type === 'sendto' || ev.type === 'sendmsg') &&
    ev.frame.has(Tag.SAddr) &&
    ev.ctx.fd()?.connected !== true,
  'fd.uid': (ev) => {
    const e = ev.ctx.fd();
    return e ? `${ev.frame.tgid}${e.num}` : undefined;
  },
  'fd.containername': (ev) => {
    const e = ev.ctx.fd();
    if (!e) return undefined;
    return `${ev.ctx.container()?.id.slice(0, 12) ?? 'host'}${e.name}`;
  },
  'fd.containerdirectory': (ev) => {
    const e = ev.ctx.fd();
    if (!e) return undefined;
    return `${ev.ctx.container()?.id.slice(0, 12) ?? 'host'}${dirOf(e.name) ?? ''}`;
  },
  'fd.dev': fd((e) => e.dev),
  'fd.dev.major': fd((e) => (e.dev === undefined ? undefined : e.dev >>> 20)),
  'fd.dev.minor': fd((e) => (e.dev === undefined ? undefined : e.dev & 0xfffff)),
  'fd.ino': fd((e) => e.ino),
  'fd.is_upper_layer': fd(() => false),
  'fd.is_lower_layer': fd(() => false),
  'fd.cproto': fd((e) => (isIp(e) ? e.l4proto : undefined)),
  'fd.sproto': fd((e) => (isIp(e) ? e.l4proto : undefined)),
  'fd.lproto': fd((e) => (isIp(e) ? e.l4proto : undefined)),
  'fd.rproto': fd((e) => (isIp(e) ? e.l4proto : undefined)),
  // fs.path
  'fs.path.name': (ev) => fsPath(ev, 'name', false),
  'fs.path.nameraw': (ev) => fsPath(ev, 'name', true),
  'fs.path.source': (ev) => fsPath(ev, 'source', false),
  'fs.path.sourceraw': (ev) => fsPath(ev, 'source', true),
  'fs.path.target': (ev) => fsPath(ev, 'target', false),
  'fs.path.targetraw': (ev) => fsPath(ev, 'target', true),
  'util.cnt': () => 1,
  // container
  'container.id': ctr((c) => c.id.slice(0, 12), 'host'),
  'container.full_id': ctr((c) => c.id, 'host'),
  'container.name': ctr((c) => c.name, 'host'),
  'container.image': ctr((c) => c.image),
  'container.image.id': ctr((c) => c.imageId),
  'container.type': ctr((c) => c.type),
  'container.privileged': ctr((c) => c.privileged),
  'container.mounts': ctr((c) => (c.mounts.length ? c.mounts.map(mountText).join(',') : undefined)),
  'container.image.repository': ctr((c) => c.imageRepository),
  'container.image.tag': ctr((c) => c.imageTag),
  'container.image.digest': ctr((c) => c.imageDigest),
  'container.healthcheck': ctr((c) => c.healthcheck),
  'container.start_ts': ctr((c) => c.startTs),
  'container.duration': (ev) => {
    const c = ev.ctx.container();
    return c?.startTs !== undefined ? Math.max(0, Number(ev.tsNs) - c.startTs) : undefined;
  },
  'container.ip': ctr((c) => c.ip),
  'container.host_pid': ctr((c) => c.hostPid),
  'container.host_network': ctr((c) => c.hostNetwork),
  'container.host_ipc': ctr((c) => c.hostIpc),
  'container.labels': ctr((c) => labelsText(c.labels)),
  'k8s.pod.name': ctr((c) => c.podName),
  'k8s.ns.name': ctr((c) => c.podNamespace),
  'k8s.pod.id': ctr((c) => c.podUid),
  'k8s.pod.uid': ctr((c) => c.podUid),
  'k8s.pod.sandbox_id': ctr((c) => c.podSandboxId?.slice(0, 12)),
  'k8s.pod.full_sandbox_id': ctr((c) => c.podSandboxId),
  'k8s.pod.labels': ctr((c) => (c.podName !== undefined ? labelsText(c.podLabels) : undefined)),
  'k8s.pod.ip': ctr((c) => (c.podName !== undefined ? c.ip : undefined)),
};

function bindWithArg(name: string, arg: string | undefined): Getter | undefined {
  switch (name) {
    case 'evt.arg':
      if (arg === undefined) return undefined;
      return (ev) => paramOf(ev, arg)?.text(ev);
    case 'evt.rawarg':
      if (arg === undefined) return undefined;
      return (ev) => paramOf(ev, arg)?.raw(ev);
    case 'evt.abspath':
      return (ev) => {
        if (TWO_PATH.has(ev.type)) return arg === 'dst' ? ev.path(1)?.abs : ev.path(0)?.abs;
        return ev.path(0)?.abs;
      };
    case 'proc.aname':
      return ancestorGetter((p) => p.comm, arg);
    case 'proc.apid':
      return ancestorGetter((p) => p.pid, arg);
    case 'proc.aexe':
      return ancestorGetter((p) => p.exe, arg);
    case 'proc.aexepath':
      return ancestorGetter((p) => p.exepath, arg);
    case 'proc.acmdline':
      return ancestorGetter(cmdline, arg);
    case 'proc.env':
      return (ev) => {
        const env = ev.ctx.proc()?.env;
        if (!env) return undefined;
        if (arg === undefined) return env.join(' ');
        const hit = env.find((e) => e.startsWith(`${arg}=`));
        return hit?.slice(arg.length + 1);
      };
    case 'fd.types':
      return (ev) => {
        const p = ev.ctx.proc();
        if (!p) return undefined;
        const types = [...new Set([...p.fds.values()].map((e) => e.type))];
        if (arg === undefined) return types;
        const e = p.fds.get(Number(arg));
        return e ? [e.type] : undefined;
      };
    case 'thread.cgroup':
      return proc((p) => p.cgroup);
    case 'container.label':
      if (arg === undefined) return undefined;
      return ctr((c) => c.labels[arg]);
    case 'k8s.pod.label':
      if (arg === undefined) return undefined;
      return ctr((c) => (c.podName !== undefined ? (c.podLabels[arg] ?? c.labels[arg]) : undefined));
    case 'container.mount':
      return ctr((c) => {
        const m = findMount(c, arg, 'source');
        return m ? mountText(m) : undefined;
      });
    case 'container.mount.source':
      return ctr((c) => findMount(c, arg, 'dest')?.source);
    case 'container.mount.dest':
      return ctr((c) => findMount(c, arg, 'source')?.dest);
    case 'container.mount.mode':
      return ctr((c) => findMount(c, arg, 'source')?.mode);
    case 'container.mount.rdwr':
      return ctr((c) => {
        const m = findMount(c, arg, 'source');
        return m ? String(m.rdwr) : undefined;
      });
    case 'container.mount.propagation':
      return ctr((c) => findMount(c, arg, 'source')?.propagation);
    default:
      return undefined;
  }
}

const WITH_ARG = new Set([
  'evt.arg',
  'evt.rawarg',
  'evt.abspath',
  'proc.aname',
  'proc.apid',
  'proc.aexe',
  'proc.aexepath',
  'proc.acmdline',
  'proc.env',
  'fd.types',
  'thread.cgroup',
  'container.label',
  'k8s.pod.label',
  'container.mount',
  'container.mount.source',
  'container.mount.dest',
  'container.mount.mode',
  'container.mount.rdwr',
  'container.mount.propagation',
]);

/** Deprecated k8s.* stubs and fields without data on this platform: always "no value". */
const ALWAYS_NA =
  /^(k8s\.(rc|svc|rs|deployment)\.|k8s\.ns\.(id|label|labels)$|container\.(info|cni\.json|liveness_probe|readiness_probe)$|k8s\.pod\.cni\.json$|evt\.(cpu|buffer|buflen|io_dir|deltatime.*|wait_latency|latency\.human|around|type\.is|reltime.*|pluginname|plugininfo|asynctype|count\.(procinfo|threadinfo))$|proc\.(aenv|fdlimit|fdusage|vmsize|vmrss|vmswap|pfmajor|pfminor|exe_ino\.ctime_duration_pidns_start|pidns_init_start_ts)$|thread\.(exectime|totexectime|pfmajor|pfminor|vmsize|vmrss)$|fdlist\.|fd\.(cip|sip|lip|rip)\.name$)/;

export class SyscallExtractor implements SourceExtractor<SyscallEvent> {
  readonly source = 'syscall';
  readonly fields: readonly FieldSpec[] = SYSCALL_FIELDS;

  bind(name: string, arg: string | undefined): ((ev: SyscallEvent) => FieldValue) | undefined {
    if (WITH_ARG.has(name)) return bindWithArg(name, arg);
    const g = fixed[name];
    if (g) return g;
    if (ALWAYS_NA.test(name)) return () => undefined;
    return undefined;
  }

  eventType(ev: SyscallEvent): string {
    return ev.type;
  }

  timeNs(ev: SyscallEvent): bigint {
    return ev.tsNs;
  }
}

/** Field names of the table this extractor binds (for tests and docs). */
export function boundFieldNames(): string[] {
  const x = new SyscallExtractor();
  return x.fields.filter((f) => x.bind(f.name, f.arg === 'required' ? '0' : undefined)).map((f) => f.name);
}

export { errText };
