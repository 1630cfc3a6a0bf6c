/**
 * A decoded syscall-source event: the raw frame (decoded lazily), its event
 * type, sequence number, and a context giving the process, fd, container and
 * user state as it was when the event arrived.
 */
import type { ContainerInfo } from '../../state/containers.js';
import type { FdEntry } from '../../state/fds.js';
import type { ProcessEntry } from '../../state/processes.js';
import type { GroupEntry, UserEntry } from '../../state/users.js';
import { type Frame, Kind, Tag } from './frame.js';

export interface EventContext {
  /** The process (undefined if unknown). */
  proc(): ProcessEntry | undefined;
  /** n-th ancestor, 0 = the process itself. */
  ancestor(n: number): ProcessEntry | undefined;
  /** Ancestors from the parent up. */
  ancestors(): ProcessEntry[];
  /** Any process by pid (session / group leaders). */
  byPid(pid: number): ProcessEntry | undefined;
  loginShellId(): number | undefined;
  /** The descriptor the event is about (the opened fd, the connected socket …). */
  fd(): FdEntry | undefined;
  /** Another descriptor of the process (proc.stdin …). */
  fdOf(num: number): FdEntry | undefined;
  /** Container of the process; undefined for host processes. */
  container(): ContainerInfo | undefined;
  user(uid: number): UserEntry | undefined;
  group(gid: number): GroupEntry | undefined;
}

export class SyscallEvent {
  constructor(
    readonly frame: Frame,
    /** Falco event type name: 'openat', 'execve', 'procexit', 'clone' … */
    readonly type: string,
    /** Sequence number (evt.num). */
    readonly num: number,
    readonly ctx: EventContext,
  ) {}

  get kind(): number {
    return this.frame.kind;
  }
  get tsNs(): bigint {
    return this.frame.ts;
  }

  /** Raw path argument k (as passed) and its absolute form (dirfd/cwd resolved). */
  path(k: 0 | 1 | 2): { raw: string; abs: string } | undefined {
    const raw = this.frame.str(Tag.Str0 + k);
    if (raw === undefined) return undefined;
    if (raw.startsWith('/')) return { raw, abs: normalizePath(raw) };
    const base = this.frame.str(Tag.Base0 + k) ?? this.ctx.proc()?.cwd;
    return { raw, abs: base ? normalizePath(`${base}/${raw}`) : raw };
  }

  get isProcessRecord(): boolean {
    const k = this.frame.kind;
    return k === Kind.Exec || k === Kind.Fork || k === Kind.Exit;
  }
}

/** Collapse `//`, `/./` and `/../` (lexically, as libsinsp does for fd names). */
export function normalizePath(p: string): string {
  if (!p.startsWith('/')) return p;
  if (!/\/\/|\/\.\.?(\/|$)/.test(p)) return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}
