/**
 * The live syscall source: runs the collector, keeps process / fd / container /
 * user state current from its records, and delivers SyscallEvents (lazily
 * decoded) for the event types the rules need. Structurally an agent
 * EventSource (name, extractor, start, stop, info).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';
import type { Logger } from '../../common/log.js';
import { containerFromCgroupPath } from '../../state/cgroup.js';
import { type ContainerInfo, ContainerRegistry } from '../../state/containers.js';
import { type FdEntry, fdTypeOf, ipFdName, l4protoOf } from '../../state/fds.js';
import { type ProcessEntry, ProcessTable } from '../../state/processes.js';
import { type GroupEntry, UserDb, type UserEntry } from '../../state/users.js';
import { sockaddrText } from './args.js';
import { CollectorProcess, defaultCollectorPath } from './collector.js';
import { type EventContext, normalizePath, SyscallEvent } from './event.js';
import { SyscallExtractor } from './extractor.js';
import { type Frame, Kind, type SockRec, Tag } from './frame.js';

/** Event types covered by the collector's process records rather than by a traced syscall. */
const PROCESS_RECORD_TYPES = new Set(['execve', 'execveat', 'clone', 'clone3', 'fork', 'vfork', 'procexit']);
/** Traced in addition to the rules' types so the fd table and cwd stay right. */
export const STATE_SYSCALLS = ['close', 'dup', 'dup2', 'dup3', 'chdir', 'fchdir'] as const;
const EINPROGRESS = -115;

/**
 * Why the live syscall source cannot run here (undefined when it can): the agent
 * turns the source on by default when this returns undefined, and logs the reason otherwise.
 */
export function syscallSourceUnavailableReason(collectorPath = defaultCollectorPath()): string | undefined {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.arch !== 'x64') return `the collector supports x86_64 only (this is ${process.arch})`;
  if (process.getuid?.() !== 0) return 'not running as root (loading eBPF programs needs root)';
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'kernel BTF (/sys/kernel/btf/vmlinux) is missing';
  if (!existsSync(collectorPath))
    return `collector binary not found at ${collectorPath} (build it: scripts/setup.d/collector.sh)`;
  return undefined;
}

let knownCache: { path: string; names: Set<string> } | undefined;
/** Syscall names the collector binary can trace (`--list-syscalls`). */
export function collectorSyscalls(path = defaultCollectorPath()): Set<string> {
  if (knownCache?.path === path) return knownCache.names;
  const out = execFileSync(path, ['--list-syscalls'], { encoding: 'utf8' });
  const names = new Set(
    out
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter((n) => n !== ''),
  );
  knownCache = { path, names };
  return names;
}

/**
 * What to ask the kernel for, given the engine's event-type union: the traced
 * syscalls, and the requested types the collector cannot produce.
 */
export function kernelSelection(
  eventTypes: Iterable<string>,
  known: Set<string>,
  trackFds = true,
): { syscalls: string[]; unsupported: string[] } {
  const sel = new Set<string>();
  const unsupported: string[] = [];
  for (let t of eventTypes) {
    if (t === 'umount') t = 'umount2';
    if (PROCESS_RECORD_TYPES.has(t)) {
      if (t === 'execve' || t === 'execveat') sel.add(t); // failed execs come from sys_exit
      continue;
    }
    if (known.has(t)) sel.add(t);
    else unsupported.push(t);
  }
  if (trackFds) for (const s of STATE_SYSCALLS) sel.add(s);
  return { syscalls: [...sel].sort(), unsupported: unsupported.sort() };
}

export interface DropReport {
  /** Events the kernel could not queue in the last interval, and since start. */
  drops: number;
  /** Events the kernel did queue in the same interval. */
  events: number;
  totalDrops: number;
  perCpuDrops: number[];
  intervalNs: number;
  /** Drop reports suppressed by the rate limit since the last delivered one. */
  suppressed: number;
}

export interface SyscallSourceOptions {
  /** Event types the rules need (engine.eventTypes('syscall')); undefined = every type the collector knows. */
  eventTypes?: Iterable<string>;
  collectorPath?: string;
  /** Docker-compatible API socket for container metadata (docker or `podman system service`). */
  containerSocket?: string;
  excludePids?: number[];
  procRoot?: string;
  ringbufMb?: number;
  wakeupKb?: number;
  statsMs?: number;
  /** Collector drain interval in ms (default 50: larger batches cost less CPU per event; adds latency). */
  pollMs?: number;
  /** Keep the fd table (adds close/dup/chdir to the kernel selection). Default true. */
  trackFds?: boolean;
  /** Hold events of a container whose metadata is being fetched, at most this long. Default 500 ms. */
  containerWaitMs?: number;
  /** Report drops only when they exceed this fraction of the interval's events (Falco: 0.1). */
  dropThreshold?: number;
  /** Drop alerts: at most `rate` per second with bursts of `maxBurst` (Falco: 1/30 s, burst 1). */
  dropAlertRate?: number;
  dropAlertMaxBurst?: number;
  onDrops?(r: DropReport): void;
  restartInitialMs?: number;
  restartMaxMs?: number;
  maxProcesses?: number;
  log?: Logger;
}

export interface SyscallSourceMetrics {
  eventsByType: Record<string, number>;
  /** Events per second per type over the last stats interval. */
  rateByType: Record<string, number>;
  frames: number;
  delivered: number;
  kernelEmitted: number;
  drops: number;
  perCpuDrops: number[];
  truncated: number;
  decodeErrors: number;
  restarts: number;
  collectorRunning: boolean;
  processes: number;
  fds: number;
  containers: number;
  containerMisses: number;
  containerApiErrors: number;
  heldEvents: number;
}

class LiveContext implements EventContext {
  constructor(
    private readonly src: SyscallSource,
    private readonly p: ProcessEntry | undefined,
    private readonly fdEntry: FdEntry | undefined,
  ) {}
  proc() {
    return this.p;
  }
  ancestor(n: number) {
    if (n === 0) return this.p;
    if (!this.p) return undefined;
    return this.src.table.ancestor(this.p.pid, n);
  }
  ancestors() {
    return this.p ? this.src.table.ancestors(this.p.pid) : [];
  }
  byPid(pid: number) {
    return this.src.table.get(pid);
  }
  loginShellId() {
    return this.p ? this.src.table.loginShellId(this.p.pid) : undefined;
  }
  fd() {
    return this.fdEntry;
  }
  fdOf(num: number) {
    return this.p?.fds.get(num);
  }
  container(): ContainerInfo | undefined {
    const p = this.p;
    if (!p?.containerId) return undefined;
    return this.src.containers.get(p.containerId, (p.containerType as ContainerInfo['type']) ?? 'docker');
  }
  user(uid: number): UserEntry | undefined {
    const p = this.p;
    if (!p?.containerId) return this.src.users.user(uid, '', 0);
    const [first = 0, ...rest] = this.containerPids();
    return this.src.users.user(uid, p.containerId, first, ...rest);
  }
  group(gid: number): GroupEntry | undefined {
    const p = this.p;
    if (!p?.containerId) return this.src.users.group(gid, '', 0);
    const [first = 0, ...rest] = this.containerPids();
    return this.src.users.group(gid, p.containerId, first, ...rest);
  }
  /**
   * Other processes whose root is the container's: its parent when that is in the same
   * container (a `podman exec`'d process has a host parent), and the container's init.
   */
  private containerPids(): number[] {
    const p = this.p;
    if (!p?.containerId) return [];
    // A process still in the host's mount namespace (the runtime's init before pivot_root)
    // would show the host's files: skip it.
    const inContainerFs = (q: ProcessEntry | undefined) => !q?.mntns || q.mntns !== this.src.hostMntns;
    const out: number[] = [];
    if (inContainerFs(p)) out.push(p.pid);
    const parent = this.src.table.peek(p.ppid);
    if (parent?.containerId === p.containerId && inContainerFs(parent)) out.push(p.ppid);
    const init = this.container()?.pid;
    if (init) out.push(init);
    return out;
  }
}

function sockEntry(num: number, s: SockRec, saddr: Buffer | undefined): FdEntry {
  if (s.family === 1) return { num, type: 'unix', name: sockaddrText(saddr).text };
  if (s.family === 16) return { num, type: 'netlink', name: '' };
  if (s.family !== 2 && s.family !== 10) return { num, type: 'unknown', name: '' };
  const zero = s.family === 2 ? '0.0.0.0' : '::';
  const e: FdEntry = {
    num,
    type: s.family === 2 ? 'ipv4' : 'ipv6',
    name: '',
    l4proto: l4protoOf(s.type, s.proto),
    lip: s.laddr || zero,
    lport: s.lport,
    rip: s.raddr || zero,
    rport: s.rport,
  };
  return e;
}

export class SyscallSource {
  readonly name = 'syscall';
  readonly extractor = new SyscallExtractor();
  readonly table: ProcessTable;
  readonly users: UserDb;
  readonly containers: ContainerRegistry;
  /** Mount namespace of the host (pid 1): a container process still in it is not in its own root yet. */
  readonly hostMntns: number;
  private collector: CollectorProcess | undefined;
  private onEvent: ((ev: SyscallEvent) => void) | undefined;
  private names = new Map<number, string>();
  private wanted: Set<string> | undefined;
  private seq = 0;
  private queue: { ev: SyscallEvent; cid: string }[] = [];
  private holdTimer: NodeJS.Timeout | undefined;
  private countsAtStats = new Map<string, number>();
  private dropTokens: number;
  private dropTokensAt = Date.now();
  private suppressedDrops = 0;
  private expireTimer: NodeJS.Timeout | undefined;
  readonly unsupportedTypes: string[] = [];
  readonly selectedSyscalls: string[] = [];
  private readonly m: SyscallSourceMetrics = {
    eventsByType: {},
    rateByType: {},
    frames: 0,
    delivered: 0,
    kernelEmitted: 0,
    drops: 0,
    perCpuDrops: [],
    truncated: 0,
    decodeErrors: 0,
    restarts: 0,
    collectorRunning: false,
    processes: 0,
    fds: 0,
    containers: 0,
    containerMisses: 0,
    containerApiErrors: 0,
    heldEvents: 0,
  };

  constructor(private readonly opts: SyscallSourceOptions = {}) {
    this.table = new ProcessTable({ procRoot: opts.procRoot, maxProcesses: opts.maxProcesses });
    this.users = new UserDb({ procRoot: opts.procRoot });
    this.containers = new ContainerRegistry({
      socketPath: opts.containerSocket,
      onError: (msg) => opts.log?.warn(msg),
    });
    this.dropTokens = opts.dropAlertMaxBurst ?? 1;
    let mnt = 0;
    try {
      mnt = Number(/\[(\d+)\]/.exec(readlinkSync(`${opts.procRoot ?? '/proc'}/1/ns/mnt`))?.[1] ?? 0);
    } catch {
      mnt = 0;
    }
    this.hostMntns = mnt;
  }

  /** Snapshot /proc, start the collector; resolves once its programs are loaded. */
  async start(onEvent: (ev: SyscallEvent) => void): Promise<void> {
    this.onEvent = onEvent;
    const path = this.opts.collectorPath ?? defaultCollectorPath();
    if (!existsSync(path))
      throw new Error(`collector binary not found at ${path} (build it: scripts/setup.d/collector.sh)`);
    const known = collectorSyscalls(path);
    const types = this.opts.eventTypes ? [...this.opts.eventTypes] : [...known, ...PROCESS_RECORD_TYPES];
    this.wanted = this.opts.eventTypes ? new Set(types) : undefined;
    const sel = kernelSelection(types, known, this.opts.trackFds ?? true);
    this.selectedSyscalls.splice(0, this.selectedSyscalls.length, ...sel.syscalls);
    this.unsupportedTypes.splice(0, this.unsupportedTypes.length, ...sel.unsupported);
    if (sel.unsupported.length)
      this.opts.log?.info('event types the collector does not trace (rules on them never match live)', {
        types: sel.unsupported.join(','),
      });
    const n = this.table.snapshot();
    // Metadata of containers already running, so their first events carry it.
    const ids = new Map<string, string>();
    for (const p of this.table.values())
      if (p.containerId) ids.set(p.containerId, p.containerType ?? 'docker');
    await Promise.race([
      Promise.all([...ids].map(([id, t]) => this.containers.fetch(id, t as ContainerInfo['type']))),
      new Promise((r) => setTimeout(r, 2000).unref()),
    ]);
    this.opts.log?.info('process snapshot', { processes: n, containers: ids.size });
    this.collector = new CollectorProcess(
      {
        path,
        syscalls: sel.syscalls,
        excludePids: this.opts.excludePids,
        ringbufMb: this.opts.ringbufMb,
        wakeupKb: this.opts.wakeupKb,
        statsMs: this.opts.statsMs,
        pollMs: this.opts.pollMs ?? 50,
        restartInitialMs: this.opts.restartInitialMs,
        restartMaxMs: this.opts.restartMaxMs,
        log: this.opts.log,
      },
      {
        frame: (f) => this.handleFrame(f),
        decodeError: () => this.m.decodeErrors++,
        started: () => {
          this.m.collectorRunning = true;
          this.m.restarts = this.collector?.restarts ?? 0;
          // After a restart, records were missed while the collector was down: refresh from /proc.
          if (this.m.restarts > 0) this.table.snapshot();
        },
        exited: (i) => {
          this.m.collectorRunning = false;
          const log = this.opts.log;
          if (i.willRestart)
            log?.error('collector died', { code: i.code, signal: i.signal, stderr: i.stderr });
        },
      },
    );
    await this.collector.start();
    this.expireTimer = setInterval(() => this.table.expire(Date.now()), 2000);
    this.expireTimer.unref();
  }

  /**
   * Deliver events for frames handed to handleFrame() without running a collector
   * (tests, replay of recorded raw frames).
   */
  attachOffline(onEvent: (ev: SyscallEvent) => void): void {
    this.onEvent = onEvent;
    this.wanted = this.opts.eventTypes ? new Set(this.opts.eventTypes) : undefined;
  }

  async stop(): Promise<void> {
    if (this.expireTimer) clearInterval(this.expireTimer);
    await this.collector?.stop();
    this.flushQueue(true);
    this.m.collectorRunning = false;
  }

  /** The collector child's pid (tests kill it to exercise the restart). */
  get collectorPid(): number | undefined {
    return this.collector?.pid;
  }

  info(): Record<string, unknown> {
    return {
      collector: this.collector?.path,
      selectedSyscalls: this.selectedSyscalls,
      unsupportedEventTypes: this.unsupportedTypes,
      containerSocket: this.opts.containerSocket ?? null,
    };
  }

  metrics(): SyscallSourceMetrics {
    const t = this.table.snapshotStats();
    this.m.processes = t.processes;
    this.m.fds = t.fds;
    this.m.containers = this.containers.stats.size;
    this.m.containerMisses = this.containers.stats.misses;
    this.m.containerApiErrors = this.containers.stats.apiErrors;
    this.m.restarts = this.collector?.restarts ?? 0;
    this.m.heldEvents = this.queue.length;
    return this.m;
  }

  /** Process one frame (public for replaying raw frame streams in tests). */
  handleFrame(f: Frame): void {
    this.m.frames++;
    try {
      switch (f.kind) {
        case Kind.Hello:
          this.onHello(f);
          return;
        case Kind.Stats:
          this.onStats(f);
          return;
        case Kind.Exec:
          this.onExec(f);
          return;
        case Kind.Fork:
          this.onFork(f);
          return;
        case Kind.Exit:
          this.onExit(f);
          return;
        case Kind.Syscall:
          this.onSyscall(f);
          return;
        default:
          this.m.decodeErrors++;
      }
    } catch (e) {
      this.m.decodeErrors++;
      this.opts.log?.debug('frame decode error', { error: String(e) });
    }
  }

  private onHello(f: Frame): void {
    const h = f.hello();
    this.names.clear();
    for (const pair of (h.get('syscalls') ?? '').split(',')) {
      const [n, nr] = pair.split(':');
      if (n && nr) this.names.set(Number(nr), n);
    }
    this.opts.log?.info('collector ready', { pid: h.get('pid'), selected: h.get('selected') });
  }

  private onStats(f: Frame): void {
    const s = f.stats();
    if (!s) return;
    const events = Math.max(0, s.emitted - this.m.kernelEmitted);
    this.m.kernelEmitted = s.emitted;
    this.m.drops = s.drops;
    this.m.perCpuDrops = s.perCpuDrops;
    this.m.truncated = s.truncated;
    const secs = s.intervalNs / 1e9 || 1;
    const rate: Record<string, number> = {};
    for (const [t, n] of Object.entries(this.m.eventsByType)) {
      rate[t] = Math.round((n - (this.countsAtStats.get(t) ?? 0)) / secs);
      this.countsAtStats.set(t, n);
    }
    this.m.rateByType = rate;
    if (s.dropsDelta > 0) {
      this.opts.log?.warn('kernel dropped events', { drops: s.dropsDelta, events, total: s.drops });
      if (s.dropsDelta / (s.dropsDelta + events) <= (this.opts.dropThreshold ?? 0.1)) return;
      const now = Date.now();
      const rateLimit = this.opts.dropAlertRate ?? 1 / 30;
      const burst = this.opts.dropAlertMaxBurst ?? 1;
      this.dropTokens = Math.min(burst, this.dropTokens + ((now - this.dropTokensAt) / 1000) * rateLimit);
      this.dropTokensAt = now;
      if (this.dropTokens >= 1) {
        this.dropTokens -= 1;
        this.opts.onDrops?.({
          drops: s.dropsDelta,
          events,
          totalDrops: s.drops,
          perCpuDrops: s.perCpuDrops,
          intervalNs: s.intervalNs,
          suppressed: this.suppressedDrops,
        });
        this.suppressedDrops = 0;
      } else {
        this.suppressedDrops++;
      }
    }
  }

  private onExec(f: Frame): void {
    const pi = f.procInfo();
    const cgroup = f.str(Tag.Cgroup) ?? '/';
    const c = containerFromCgroupPath(cgroup);
    const argv = f.argv();
    const p = this.table.exec({
      pid: f.tgid,
      tid: f.tid,
      ppid: pi?.ppid ?? 0,
      vpid: pi?.vpid ?? f.tgid,
      comm: f.str(Tag.Comm) ?? '',
      argv,
      exepath: f.str(Tag.Exe) ?? f.str(Tag.Filename) ?? '',
      cwd: f.str(Tag.Cwd) ?? '',
      tty: pi?.tty ?? 0,
      sid: pi?.sid ?? 0,
      pgid: pi?.pgid ?? 0,
      loginuid: pi?.loginuid ?? -1,
      uid: f.uid,
      gid: f.gid,
      capEff: pi?.capEff ?? 0n,
      capPrm: pi?.capPrm ?? 0n,
      capInh: pi?.capInh ?? 0n,
      exeIno: pi?.exeIno ?? 0,
      exeMode: pi?.exeMode ?? 0,
      exeUid: pi?.exeUid ?? 0,
      exeGid: pi?.exeGid ?? 0,
      exeNlink: pi?.exeNlink ?? 1,
      exeUpperLayer: ((pi?.exeFlags ?? 0) & 1) !== 0,
      exeLowerLayer: ((pi?.exeFlags ?? 0) & 2) !== 0,
      exeMtimeNs: pi?.exeMtimeNs || undefined,
      exeCtimeNs: pi?.exeCtimeNs || undefined,
      startNs: Number(f.ts),
      cgroup,
      containerId: c?.id ?? '',
      containerType: c?.runtime,
      pidns: pi?.pidns ?? 0,
      mntns: pi?.mntns ?? 0,
      netns: pi?.netns ?? 0,
      env: f.env(),
      ts: Number(f.ts),
    });
    if (c && !this.containers.peek(c.id)?.hasMetadata) void this.containers.fetch(c.id, c.runtime);
    const type = this.names.get(f.nr) === 'execveat' ? 'execveat' : 'execve';
    this.deliver(f, type, p, undefined);
  }

  private onFork(f: Frame): void {
    const fi = f.forkInfo();
    if (!fi) return;
    this.table.fork(f.tgid, fi.childTgid, fi.childTid, fi.childVpid, fi.thread, Number(f.ts));
    const n = this.names.get(f.nr);
    const type = n === 'clone3' || n === 'fork' || n === 'vfork' ? n : 'clone';
    if (this.wanted && !this.wanted.has(type)) return;
    this.deliver(f, type, this.table.get(f.tgid), undefined);
  }

  private onExit(f: Frame): void {
    const p = this.table.peek(f.tgid);
    if (!this.wanted || this.wanted.has('procexit')) this.deliver(f, 'procexit', p, undefined);
    this.table.exit(f.tgid, Number(f.ts), f.exitCode() ?? 0);
  }

  private fdFromFrame(f: Frame, num: number): FdEntry | undefined {
    const s = f.sock();
    if (s) return sockEntry(num, s, f.bytes(Tag.SAddr));
    const fi = f.fdInfo();
    const path = f.str(Tag.FdPath);
    if (!fi && path === undefined) return undefined;
    const name = path !== undefined ? path : '';
    return { num, type: fdTypeOf(fi?.mode ?? 0, name), name, dev: fi?.dev, ino: fi?.ino };
  }

  private onSyscall(f: Frame): void {
    const name = this.names.get(f.nr) ?? `syscall_${f.nr}`;
    const pid = f.tgid;
    const ret = f.ret;
    let fdE: FdEntry | undefined;
    let closeAfter = -1;
    switch (name) {
      case 'open':
      case 'openat':
      case 'openat2':
      case 'creat': {
        const flagsArg = name === 'open' ? 1 : name === 'openat' ? 2 : -1;
        if (ret >= 0) {
          fdE = this.fdFromFrame(f, ret) ?? { num: ret, type: 'file', name: '' };
          if (!fdE.name) fdE.name = this.pathOf(f, pid) ?? '';
          fdE.name = normalizePath(fdE.name);
          if (flagsArg >= 0) fdE.openFlags = f.argU(flagsArg);
          this.table.addFd(pid, fdE);
        } else {
          fdE = { num: ret, type: 'file', name: this.pathOf(f, pid) ?? '' };
        }
        break;
      }
      case 'memfd_create':
        if (ret >= 0) {
          fdE = { num: ret, type: 'memfd', name: f.str(Tag.FdPath) ?? `/memfd:${f.str(Tag.Str0) ?? ''}` };
          this.table.addFd(pid, fdE);
        }
        break;
      case 'socket':
      case 'accept':
      case 'accept4':
        if (ret >= 0) {
          fdE = this.fdFromFrame(f, ret);
          if (fdE) {
            if (name !== 'socket') {
              fdE.isServer = true;
              fdE.connected = true;
            }
            if (fdE.type === 'ipv4' || fdE.type === 'ipv6') fdE.name = ipFdName(fdE);
            this.table.addFd(pid, fdE);
          }
        }
        break;
      case 'connect':
      case 'bind':
      case 'listen':
      case 'sendto':
      case 'sendmsg': {
        const num = f.argInt(0);
        fdE = this.fdFromFrame(f, num) ?? this.table.fd(pid, num);
        if (fdE && (fdE.type === 'ipv4' || fdE.type === 'ipv6')) {
          const sa = sockaddrText(f.bytes(Tag.SAddr));
          const zero = fdE.type === 'ipv4' ? '0.0.0.0' : '::';
          if (name === 'connect' || name === 'sendto' || name === 'sendmsg') {
            if (sa.ip && (!fdE.rport || fdE.rip === zero)) {
              fdE.rip = sa.ip;
              fdE.rport = sa.port;
            }
            fdE.isServer = false;
            fdE.connected = name === 'connect' ? ret === 0 || ret === EINPROGRESS : !!f.sock()?.rport;
          } else {
            fdE.isServer = true;
            if (name === 'bind' && sa.ip && !fdE.lport) {
              fdE.lip = sa.ip;
              fdE.lport = sa.port;
            }
          }
          fdE.name = ipFdName(fdE);
        } else if (fdE?.type === 'unix' && !fdE.name) {
          fdE.name = sockaddrText(f.bytes(Tag.SAddr)).text;
        }
        if (fdE && ret >= 0) this.table.addFd(pid, fdE);
        break;
      }
      case 'close':
        fdE = this.table.fd(pid, f.argInt(0));
        if (ret === 0) closeAfter = f.argInt(0);
        break;
      case 'dup':
      case 'dup2':
      case 'dup3':
        if (ret >= 0) {
          fdE = this.table.dupFd(pid, f.argInt(0), ret);
          if (!fdE) {
            fdE = this.fdFromFrame(f, ret);
            if (fdE) this.table.addFd(pid, fdE);
          }
        }
        break;
      case 'chdir':
      case 'fchdir': {
        const cwd = f.str(Tag.FdPath);
        const p = this.table.get(pid);
        if (ret === 0 && cwd && p) p.cwd = cwd;
        if (name === 'fchdir') fdE = this.table.fd(pid, f.argInt(0));
        break;
      }
      case 'fchmod':
      case 'fchown':
      case 'finit_module':
      case 'setns':
        fdE = this.fdFromFrame(f, f.argInt(0)) ?? this.table.fd(pid, f.argInt(0));
        break;
      case 'bpf':
        if (ret >= 0) fdE = { num: ret, type: 'bpf', name: '' };
        break;
    }
    if (!this.wanted || this.wanted.has(name)) this.deliver(f, name, this.table.get(pid), fdE);
    if (closeAfter >= 0) this.table.closeFd(pid, closeAfter);
  }

  private pathOf(f: Frame, pid: number): string | undefined {
    const raw = f.str(Tag.Str0);
    if (raw === undefined) return undefined;
    if (raw.startsWith('/')) return normalizePath(raw);
    const base = f.str(Tag.Base0) ?? this.table.peek(pid)?.cwd;
    return base ? normalizePath(`${base}/${raw}`) : raw;
  }

  private deliver(f: Frame, type: string, p: ProcessEntry | undefined, fdE: FdEntry | undefined): void {
    const ev = new SyscallEvent(f, type, ++this.seq, new LiveContext(this, p, fdE));
    this.m.eventsByType[type] = (this.m.eventsByType[type] ?? 0) + 1;
    const cid = p?.containerId ?? '';
    if (this.queue.length > 0 || (cid && this.containers.isPending(cid))) {
      this.queue.push({ ev, cid });
      if (this.queue.length >= 50_000) this.flushQueue(true);
      else this.armHold();
      return;
    }
    this.m.delivered++;
    this.onEvent?.(ev);
  }

  private armHold(): void {
    if (this.holdTimer) return;
    const head = this.queue[0];
    if (!head) return;
    const wait = this.opts.containerWaitMs ?? 500;
    const p = head.cid ? this.containers.fetch(head.cid, 'docker') : Promise.resolve(undefined);
    const timer = setTimeout(() => this.releaseHold(true), wait);
    this.holdTimer = timer;
    void p.then(() => {
      if (this.holdTimer === timer) this.releaseHold(false);
    });
  }

  private releaseHold(timedOut: boolean): void {
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    this.flushQueue(timedOut);
  }

  /** Deliver queued events in order, stopping at one whose container is still being fetched. */
  private flushQueue(force: boolean): void {
    let i = 0;
    for (; i < this.queue.length; i++) {
      const q = this.queue[i]!;
      if (!force && q.cid && this.containers.isPending(q.cid)) break;
      this.m.delivered++;
      this.onEvent?.(q.ev);
    }
    this.queue.splice(0, i);
    if (this.queue.length) this.armHold();
  }
}
