/**
 * Process table: a snapshot of /proc at start, then kept current from the
 * collector's exec/fork/exit records. One entry per process (tgid) with its
 * fd table; ancestors are found by walking ppid. Bounded: at most `maxProcesses`
 * entries and `maxFdsPerProcess` descriptors each; exited processes stay
 * `deadTtlMs` (children's events still name them as parent), then are dropped.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { containerFromProcCgroup } from './cgroup.js';
import { type FdEntry, fdTypeOf, ipFdName } from './fds.js';

export interface ProcessEntry {
  pid: number;
  ppid: number;
  vpid: number;
  /** comm (proc.name). */
  comm: string;
  /** argv[0] (proc.exe). */
  exe: string;
  /** Absolute executable path (proc.exepath). */
  exepath: string;
  /** Arguments after argv[0]. */
  args: string[];
  cwd: string;
  tty: number;
  sid: number;
  pgid: number;
  vpgid: number;
  loginuid: number;
  /** Effective uid/gid at the last exec or setuid-family call. */
  uid: number;
  gid: number;
  capEff: bigint;
  capPrm: bigint;
  capInh: bigint;
  exeIno: number;
  exeMode: number;
  exeUid: number;
  exeGid: number;
  exeNlink: number;
  /** The executable lives in an overlayfs upper / lower layer (containers). */
  exeUpperLayer?: boolean;
  exeLowerLayer?: boolean;
  /** Executable inode mtime / ctime, ns since the epoch. */
  exeMtimeNs?: number;
  exeCtimeNs?: number;
  /** Start time, ns since the epoch. */
  startNs: number;
  cgroup: string;
  /** Full container id, '' for host processes. */
  containerId: string;
  containerType?: string;
  pidns: number;
  mntns: number;
  netns: number;
  nthreads: number;
  fds: Map<number, FdEntry>;
  env?: string[];
  /** Set when the process exited (ns since epoch). */
  exitNs?: number;
  exitCode?: number;
  /** Came from the /proc snapshot or a lazy /proc read rather than an exec record. */
  fromProc?: boolean;
}

/** An exec record: the entry's identity, credentials, executable and namespaces, plus argv and the time. */
export type ExecData = Pick<
  ProcessEntry,
  | 'pid'
  | 'ppid'
  | 'vpid'
  | 'comm'
  | 'exepath'
  | 'cwd'
  | 'tty'
  | 'sid'
  | 'pgid'
  | 'loginuid'
  | 'uid'
  | 'gid'
  | 'capEff'
  | 'capPrm'
  | 'capInh'
  | 'exeIno'
  | 'exeMode'
  | 'exeUid'
  | 'exeGid'
  | 'exeNlink'
  | 'exeUpperLayer'
  | 'exeLowerLayer'
  | 'exeMtimeNs'
  | 'exeCtimeNs'
  | 'startNs'
  | 'cgroup'
  | 'containerId'
  | 'containerType'
  | 'pidns'
  | 'mntns'
  | 'netns'
  | 'env'
> & { tid: number; argv: string[]; ts: number };

export interface ProcessTableOptions {
  procRoot?: string;
  maxProcesses?: number;
  maxFdsPerProcess?: number;
  deadTtlMs?: number;
  /** Read unknown pids from /proc on first use (live); off for replay. */
  lazyProcRead?: boolean;
}

export interface ProcessTableStats {
  processes: number;
  dead: number;
  fds: number;
  evicted: number;
  fdOverflow: number;
  procReads: number;
}

const O_CLOEXEC = 0o2000000;
const SHELLS = new Set(['ash', 'bash', 'csh', 'ksh', 'sh', 'tcsh', 'zsh', 'dash', 'fish', 'busybox']);

const bootNsCache = new Map<string, number>();
/** Boot time in ns since the epoch (from /proc/stat btime). */
function bootNs(procRoot: string): number {
  const cached = bootNsCache.get(procRoot);
  if (cached !== undefined) return cached;
  let v = 0;
  try {
    const m = /^btime (\d+)$/m.exec(readFileSync(`${procRoot}/stat`, 'utf8'));
    v = m ? Number(m[1]) * 1e9 : 0;
  } catch {
    v = 0;
  }
  bootNsCache.set(procRoot, v);
  return v;
}

function readOr(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
function linkOr(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

interface NetSock {
  type: 'ipv4' | 'ipv6' | 'unix';
  l4proto?: 'tcp' | 'udp';
  lip?: string;
  lport?: number;
  rip?: string;
  rport?: number;
  listening?: boolean;
  path?: string;
}

function hexIp(h: string): string {
  if (h.length === 8) {
    const n = Number.parseInt(h, 16);
    return `${n & 255}.${(n >>> 8) & 255}.${(n >>> 16) & 255}.${(n >>> 24) & 255}`;
  }
  const words: string[] = [];
  for (let i = 0; i < 32; i += 8) {
    const n = Number.parseInt(h.slice(i, i + 8), 16);
    const le = ((n & 255) << 24) | (((n >>> 8) & 255) << 16) | (((n >>> 16) & 255) << 8) | ((n >>> 24) & 255);
    words.push(((le >>> 16) & 0xffff).toString(16), (le & 0xffff).toString(16));
  }
  return words.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

/** Socket inode → tuple, from /proc/net/{tcp,tcp6,udp,udp6,unix}. */
function readNetSockets(procRoot: string): Map<number, NetSock> {
  const m = new Map<number, NetSock>();
  for (const [file, type, l4] of [
    ['tcp', 'ipv4', 'tcp'],
    ['tcp6', 'ipv6', 'tcp'],
    ['udp', 'ipv4', 'udp'],
    ['udp6', 'ipv6', 'udp'],
  ] as const) {
    const text = readOr(`${procRoot}/net/${file}`);
    if (!text) continue;
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const [la, lp] = (f[1] ?? '').split(':');
      const [ra, rp] = (f[2] ?? '').split(':');
      const ino = Number(f[9]);
      m.set(ino, {
        type,
        l4proto: l4,
        lip: hexIp(la ?? ''),
        lport: Number.parseInt(lp ?? '0', 16),
        rip: hexIp(ra ?? ''),
        rport: Number.parseInt(rp ?? '0', 16),
        listening: f[3] === '0A',
      });
    }
  }
  const unix = readOr(`${procRoot}/net/unix`);
  if (unix) {
    for (const line of unix.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 7) continue;
      m.set(Number(f[6]), { type: 'unix', path: f[7] ?? '' });
    }
  }
  return m;
}

export class ProcessTable {
  private readonly procs = new Map<number, ProcessEntry>();
  /** tid → tgid for threads seen in fork records. */
  private readonly threads = new Map<number, number>();
  private readonly dead: [pid: number, atMs: number][] = [];
  private readonly procRoot: string;
  private readonly maxProcesses: number;
  private readonly maxFds: number;
  private readonly deadTtlMs: number;
  private readonly lazy: boolean;
  private netCache: { at: number; m: Map<number, NetSock> } | undefined;
  readonly stats: ProcessTableStats = {
    processes: 0,
    dead: 0,
    fds: 0,
    evicted: 0,
    fdOverflow: 0,
    procReads: 0,
  };

  constructor(opts: ProcessTableOptions = {}) {
    this.procRoot = opts.procRoot ?? '/proc';
    this.maxProcesses = opts.maxProcesses ?? 32_768;
    this.maxFds = opts.maxFdsPerProcess ?? 1024;
    this.deadTtlMs = opts.deadTtlMs ?? 10_000;
    this.lazy = opts.lazyProcRead ?? true;
  }

  get size(): number {
    return this.procs.size;
  }

  /** Entry for a pid (or a thread id), reading /proc when unknown and lazy reads are on. */
  get(pid: number): ProcessEntry | undefined {
    const p = this.procs.get(pid);
    if (p) return p;
    const tg = this.threads.get(pid);
    if (tg !== undefined) return this.procs.get(tg);
    if (!this.lazy || pid <= 0) return undefined;
    const r = this.readProc(pid);
    if (r) this.put(r);
    return r;
  }

  /** Entry without any /proc fallback. */
  peek(pid: number): ProcessEntry | undefined {
    return this.procs.get(pid) ?? this.procs.get(this.threads.get(pid) ?? -1);
  }

  /** n-th ancestor: 0 = the process itself, 1 = parent … */
  ancestor(pid: number, n: number): ProcessEntry | undefined {
    let p = this.get(pid);
    for (let i = 0; i < n && p; i++) {
      if (p.ppid <= 0 || p.ppid === p.pid) return undefined;
      p = this.get(p.ppid);
    }
    return p;
  }

  /** Ancestors from the parent up (at most `max`). */
  ancestors(pid: number, max = 64): ProcessEntry[] {
    const out: ProcessEntry[] = [];
    let p = this.get(pid);
    while (p && out.length < max) {
      if (p.ppid <= 0 || p.ppid === p.pid) break;
      const q = this.get(p.ppid);
      if (!q) break;
      out.push(q);
      p = q;
    }
    return out;
  }

  /** pid of the oldest shell ancestor (proc.loginshellid), including the process itself. */
  loginShellId(pid: number): number | undefined {
    let found: number | undefined;
    let p = this.get(pid);
    let hops = 0;
    while (p && hops++ < 64) {
      if (SHELLS.has(p.comm)) found = p.pid;
      if (p.ppid <= 0 || p.ppid === p.pid) break;
      p = this.get(p.ppid);
    }
    return found;
  }

  /** Load every process of /proc (startup snapshot). Returns the number loaded. */
  snapshot(): number {
    let names: string[];
    try {
      names = readdirSync(this.procRoot);
    } catch {
      return 0;
    }
    let n = 0;
    for (const name of names) {
      if (!/^\d+$/.test(name)) continue;
      const p = this.readProc(Number(name), true);
      if (p) {
        this.put(p);
        n++;
      }
    }
    return n;
  }

  /** Read one process from /proc (undefined if gone). */
  readProc(pid: number, withFds = true): ProcessEntry | undefined {
    this.stats.procReads++;
    const base = `${this.procRoot}/${pid}`;
    const stat = readOr(`${base}/stat`);
    if (!stat) return undefined;
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const f = stat.slice(close + 2).split(' ');
    // f[0]=state f[1]=ppid f[2]=pgrp f[3]=session f[4]=tty_nr … f[19]=starttime
    const status = readOr(`${base}/status`) ?? '';
    const field = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '';
    const ids = (k: string) => field(k).split(/\s+/).map(Number);
    const nspid = ids('NSpid');
    const nspgid = ids('NSpgid');
    const cmdline = (readOr(`${base}/cmdline`) ?? '').split('\0');
    if (cmdline.length && cmdline[cmdline.length - 1] === '') cmdline.pop();
    const exepath = (linkOr(`${base}/exe`) ?? '').replace(/ \(deleted\)$/, '');
    const cg = containerFromProcCgroup(readOr(`${base}/cgroup`) ?? '');
    const nsIno = (ns: string) => Number(/\[(\d+)\]/.exec(linkOr(`${base}/ns/${ns}`) ?? '')?.[1] ?? 0);
    const hz = 100;
    const loginuid = Number(readOr(`${base}/loginuid`) ?? '-1');
    const entry: ProcessEntry = {
      pid,
      ppid: Number(f[1]),
      vpid: nspid.length ? (nspid[nspid.length - 1] ?? pid) : pid,
      comm,
      exe: cmdline[0] ?? comm,
      exepath,
      args: cmdline.slice(1),
      cwd: linkOr(`${base}/cwd`) ?? '',
      tty: Number(f[4]),
      sid: Number(f[3]),
      pgid: Number(f[2]),
      vpgid: nspgid.length ? (nspgid[nspgid.length - 1] ?? Number(f[2])) : Number(f[2]),
      loginuid: loginuid === 4294967295 ? -1 : loginuid,
      uid: ids('Uid')[1] ?? 0,
      gid: ids('Gid')[1] ?? 0,
      capEff: BigInt(`0x${field('CapEff') || '0'}`),
      capPrm: BigInt(`0x${field('CapPrm') || '0'}`),
      capInh: BigInt(`0x${field('CapInh') || '0'}`),
      exeIno: 0,
      exeMode: 0,
      exeUid: 0,
      exeGid: 0,
      exeNlink: 1,
      startNs: bootNs(this.procRoot) + (Number(f[19]) / hz) * 1e9,
      cgroup: cg.cgroup,
      containerId: cg.container?.id ?? '',
      containerType: cg.container?.runtime,
      pidns: nsIno('pid'),
      mntns: nsIno('mnt'),
      netns: nsIno('net'),
      nthreads: Number(field('Threads') || 1),
      fds: new Map(),
      env: (readOr(`${base}/environ`) ?? '').split('\0').filter((e) => e !== ''),
      fromProc: true,
    };
    if (withFds) this.readFds(entry);
    return entry;
  }

  private readFds(p: ProcessEntry): void {
    let names: string[];
    try {
      names = readdirSync(`${this.procRoot}/${p.pid}/fd`);
    } catch {
      return;
    }
    for (const n of names) {
      if (p.fds.size >= this.maxFds) break;
      const num = Number(n);
      const link = linkOr(`${this.procRoot}/${p.pid}/fd/${n}`);
      if (link === undefined) continue;
      const sock = /^socket:\[(\d+)\]$/.exec(link);
      if (sock) {
        const now = Date.now();
        if (!this.netCache || now - this.netCache.at > 1000)
          this.netCache = { at: now, m: readNetSockets(this.procRoot) };
        const s = this.netCache.m.get(Number(sock[1]));
        if (!s) continue;
        if (s.type === 'unix') {
          p.fds.set(num, { num, type: 'unix', name: s.path ?? '' });
        } else {
          const e: FdEntry = {
            num,
            type: s.type,
            name: '',
            l4proto: s.l4proto,
            lip: s.lip,
            lport: s.lport,
            rip: s.rip,
            rport: s.rport,
            isServer: s.listening,
            connected: !!s.rport,
          };
          e.name = ipFdName(e);
          p.fds.set(num, e);
        }
        continue;
      }
      const type = link.startsWith('pipe:') ? 'pipe' : link.startsWith('/') ? 'file' : fdTypeOf(0, link);
      p.fds.set(num, { num, type, name: link });
    }
  }

  private put(p: ProcessEntry): void {
    if (!this.procs.has(p.pid) && this.procs.size >= this.maxProcesses) this.evict();
    this.procs.set(p.pid, p);
    this.stats.processes = this.procs.size;
  }

  private evict(): void {
    // Oldest dead first, then the oldest entry.
    const d = this.dead.shift()?.[0];
    if (d !== undefined && this.procs.get(d)?.exitNs !== undefined) {
      this.procs.delete(d);
    } else {
      const oldest = this.procs.keys().next().value;
      if (oldest !== undefined) this.procs.delete(oldest);
    }
    this.stats.evicted++;
  }

  /** A successful execve/execveat replaced the image of `pid`. */
  exec(d: ExecData): ProcessEntry {
    const prev = this.procs.get(d.pid);
    const fds = prev?.fds ?? new Map<number, FdEntry>();
    for (const [n, e] of fds) if (e.openFlags !== undefined && e.openFlags & O_CLOEXEC) fds.delete(n);
    const p: ProcessEntry = {
      pid: d.pid,
      ppid: d.ppid,
      vpid: d.vpid,
      comm: d.comm,
      exe: d.argv[0] ?? d.comm,
      exepath: d.exepath,
      args: d.argv.slice(1),
      cwd: d.cwd,
      tty: d.tty,
      sid: d.sid,
      pgid: d.pgid,
      vpgid: prev?.vpgid ?? d.pgid,
      loginuid: d.loginuid,
      uid: d.uid,
      gid: d.gid,
      capEff: d.capEff,
      capPrm: d.capPrm,
      capInh: d.capInh,
      exeIno: d.exeIno,
      exeMode: d.exeMode,
      exeUid: d.exeUid,
      exeGid: d.exeGid,
      exeNlink: d.exeNlink,
      exeUpperLayer: d.exeUpperLayer,
      exeLowerLayer: d.exeLowerLayer,
      exeMtimeNs: d.exeMtimeNs,
      exeCtimeNs: d.exeCtimeNs,
      startNs: prev?.startNs ?? d.startNs,
      cgroup: d.cgroup,
      containerId: d.containerId,
      containerType: d.containerType,
      pidns: d.pidns,
      mntns: d.mntns,
      netns: d.netns,
      nthreads: 1,
      fds,
      env: d.env,
    };
    this.put(p);
    return p;
  }

  /** fork/clone: a new process (copy of the parent) or a new thread. */
  fork(
    parentPid: number,
    childPid: number,
    childTid: number,
    childVpid: number,
    thread: boolean,
    ts: number,
  ): void {
    const parent = this.get(parentPid);
    if (thread) {
      this.threads.set(childTid, childPid);
      if (parent) parent.nthreads++;
      if (this.threads.size > this.maxProcesses * 4) {
        const first = this.threads.keys().next().value;
        if (first !== undefined) this.threads.delete(first);
      }
      return;
    }
    if (!parent) return;
    let fds = new Map(parent.fds);
    if (fds.size > this.maxFds) fds = new Map([...fds].slice(0, this.maxFds));
    this.put({
      ...parent,
      pid: childPid,
      ppid: parent.pid,
      vpid: childVpid,
      fds,
      nthreads: 1,
      startNs: ts,
      exitNs: undefined,
      exitCode: undefined,
      fromProc: false,
    });
  }

  /** The whole process exited; kept `deadTtlMs` for its children's ancestry. */
  exit(pid: number, ts: number, code: number): void {
    const p = this.procs.get(pid);
    if (!p) return;
    p.exitNs = ts;
    p.exitCode = code;
    p.fds.clear();
    const now = Date.now();
    this.dead.push([pid, now]);
    this.stats.dead = this.dead.length;
    this.expire(now);
  }

  /** Drop dead processes older than the TTL. */
  expire(nowMs: number): void {
    while (this.dead.length) {
      const [pid, at] = this.dead[0]!;
      if (nowMs - at < this.deadTtlMs) break;
      const p = this.procs.get(pid);
      this.dead.shift();
      if (p?.exitNs !== undefined) this.procs.delete(pid);
    }
    this.stats.dead = this.dead.length;
    this.stats.processes = this.procs.size;
  }

  addFd(pid: number, e: FdEntry): void {
    const p = this.get(pid);
    if (!p) return;
    if (!p.fds.has(e.num) && p.fds.size >= this.maxFds) {
      this.stats.fdOverflow++;
      return;
    }
    p.fds.set(e.num, e);
  }

  fd(pid: number, num: number): FdEntry | undefined {
    return this.get(pid)?.fds.get(num);
  }

  closeFd(pid: number, num: number): void {
    this.peek(pid)?.fds.delete(num);
  }

  dupFd(pid: number, from: number, to: number): FdEntry | undefined {
    const p = this.get(pid);
    const src = p?.fds.get(from);
    if (!p || !src) return undefined;
    const e = { ...src, num: to, openFlags: undefined };
    this.addFd(pid, e);
    return e;
  }

  /** Counts for metrics. */
  snapshotStats(): ProcessTableStats {
    let fds = 0;
    for (const p of this.procs.values()) fds += p.fds.size;
    this.stats.fds = fds;
    this.stats.processes = this.procs.size;
    return this.stats;
  }

  values(): IterableIterator<ProcessEntry> {
    return this.procs.values();
  }
}
