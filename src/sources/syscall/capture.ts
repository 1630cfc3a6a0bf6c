/**
 * Capture files: a recording of decoded syscall events that replays without
 * the kernel or the live state. JSON lines: a header line, then one line per
 * event with the raw frame (base64) and the state the event was enriched
 * with (process and ancestors, the fd, the container, the users and groups it
 * names). Replaying yields SyscallEvents whose fields extract exactly as live.
 *
 *   {"format":"peregrine-syscall-capture","version":1,"created":"…","hostname":"…"}
 *   {"n":12,"t":"openat","f":"<base64>","p":[{…self},{…parent},…],"fd":{…},"std":{…},"c":{…},"u":{…},"g":{…}}
 */
import { createReadStream, createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { hostname } from 'node:os';
import { createInterface } from 'node:readline';
import type { ContainerInfo } from '../../state/containers.js';
import type { FdEntry } from '../../state/fds.js';
import type { ProcessEntry } from '../../state/processes.js';
import type { GroupEntry, UserEntry } from '../../state/users.js';
import { type EventContext, SyscallEvent } from './event.js';
import { Frame, FrameError, Kind } from './frame.js';

export const CAPTURE_FORMAT = 'peregrine-syscall-capture';
export const CAPTURE_VERSION = 1;
const MAX_ANCESTORS = 16;
const UID_ARG_TYPES = new Set([
  'setuid',
  'setgid',
  'setreuid',
  'setregid',
  'setresuid',
  'setresgid',
  'setfsuid',
  'setfsgid',
  'chown',
  'lchown',
  'fchown',
  'fchownat',
]);

type JsonProc = Omit<ProcessEntry, 'fds' | 'capEff' | 'capPrm' | 'capInh'> & {
  capEff: string;
  capPrm: string;
  capInh: string;
  nfds: number;
};

interface CaptureLine {
  n: number;
  t: string;
  f: string;
  p: JsonProc[];
  x?: Record<string, JsonProc>;
  ls?: number;
  fd?: FdEntry;
  std?: Record<string, FdEntry>;
  fdt?: string[];
  c?: ContainerInfo;
  u?: Record<string, UserEntry>;
  g?: Record<string, GroupEntry>;
}

/** `withEnv` false for ancestors: only the process's own environment is a field (proc.env). */
function procToJson(p: ProcessEntry, withEnv = true): JsonProc {
  const { fds, capEff, capPrm, capInh, env, ...rest } = p;
  const j: JsonProc = {
    ...rest,
    capEff: capEff.toString(),
    capPrm: capPrm.toString(),
    capInh: capInh.toString(),
    nfds: fds.size,
  };
  if (withEnv && env) j.env = env;
  return j;
}

function procFromJson(j: JsonProc, fds?: Map<number, FdEntry>): ProcessEntry {
  const { nfds: _n, capEff, capPrm, capInh, ...rest } = j;
  return {
    ...rest,
    capEff: BigInt(capEff),
    capPrm: BigInt(capPrm),
    capInh: BigInt(capInh),
    fds: fds ?? new Map(),
  };
}

/** The capture line for one event (everything its fields can read). */
export function eventToLine(ev: SyscallEvent): CaptureLine {
  const ctx = ev.ctx;
  const self = ctx.proc();
  const p: JsonProc[] = [];
  const line: CaptureLine = { n: ev.num, t: ev.type, f: ev.frame.buf.toString('base64'), p };
  if (self) {
    p.push(procToJson(self));
    for (const a of ctx.ancestors().slice(0, MAX_ANCESTORS)) p.push(procToJson(a, false));
    const x: Record<string, JsonProc> = {};
    for (const pid of [self.sid, self.pgid]) {
      const q = ctx.byPid(pid);
      if (q) x[pid] = procToJson(q, false);
    }
    line.x = x;
    const ls = ctx.loginShellId();
    if (ls !== undefined) line.ls = ls;
    const std: Record<string, FdEntry> = {};
    // stdio (proc.stdin.*) and descriptors named by fd arguments (evt.arg.fd …)
    const nums = new Set([0, 1, 2]);
    if (ev.frame.kind === Kind.Syscall) for (let i = 0; i < 3; i++) nums.add(ev.frame.argInt(i));
    for (const n of nums) {
      if (n < 0) continue;
      const e = ctx.fdOf(n);
      if (e) std[n] = e;
    }
    line.std = std;
    line.fdt = [...new Set([...self.fds.values()].map((e) => e.type))];
  }
  const fd = ctx.fd();
  if (fd) line.fd = fd;
  const c = ctx.container();
  if (c) line.c = c;
  const u: Record<string, UserEntry> = {};
  const g: Record<string, GroupEntry> = {};
  const uids = [ev.frame.uid, self?.loginuid ?? -1];
  const gids = [ev.frame.gid];
  if (UID_ARG_TYPES.has(ev.type)) {
    for (let i = 0; i < 4; i++) {
      uids.push(ev.frame.argInt(i));
      gids.push(ev.frame.argInt(i));
    }
  }
  for (const id of uids) {
    if (id < 0) continue;
    const e = ctx.user(id);
    if (e) u[id] = e;
  }
  for (const id of gids) {
    if (id < 0) continue;
    const e = ctx.group(id);
    if (e) g[id] = e;
  }
  line.u = u;
  line.g = g;
  return line;
}

class ReplayContext implements EventContext {
  private readonly procs: ProcessEntry[];
  private readonly extra = new Map<number, ProcessEntry>();
  constructor(private readonly l: CaptureLine) {
    const std = new Map<number, FdEntry>();
    for (const [k, v] of Object.entries(l.std ?? {})) std.set(Number(k), v);
    // fd.types needs every type: stand-in entries at negative numbers keep std fds exact.
    let i = -1;
    for (const t of l.fdt ?? [])
      if (![...std.values()].some((e) => e.type === t)) {
        std.set(i, { num: i, type: t as FdEntry['type'], name: '' });
        i--;
      }
    this.procs = l.p.map((j, idx) => procFromJson(j, idx === 0 ? std : undefined));
    for (const [pid, j] of Object.entries(l.x ?? {})) this.extra.set(Number(pid), procFromJson(j));
  }
  proc() {
    return this.procs[0];
  }
  ancestor(n: number) {
    return this.procs[n];
  }
  ancestors() {
    return this.procs.slice(1);
  }
  byPid(pid: number) {
    return this.procs.find((p) => p.pid === pid) ?? this.extra.get(pid);
  }
  loginShellId() {
    return this.l.ls;
  }
  fd() {
    return this.l.fd;
  }
  fdOf(num: number) {
    return num >= 0 ? this.procs[0]?.fds.get(num) : undefined;
  }
  container() {
    return this.l.c;
  }
  user(uid: number) {
    return this.l.u?.[uid];
  }
  group(gid: number) {
    return this.l.g?.[gid];
  }
}

export class CaptureError extends Error {}

/** One capture line → event. Throws CaptureError naming what is wrong. */
export function lineToEvent(text: string, lineNo: number): SyscallEvent {
  let l: CaptureLine;
  try {
    l = JSON.parse(text) as CaptureLine;
  } catch (e) {
    throw new CaptureError(`capture line ${lineNo}: not JSON (${(e as Error).message})`);
  }
  if (
    typeof l !== 'object' ||
    l === null ||
    typeof l.f !== 'string' ||
    typeof l.t !== 'string' ||
    !Array.isArray(l.p)
  )
    throw new CaptureError(`capture line ${lineNo}: missing "f" (frame), "t" (type) or "p" (processes)`);
  let frame: Frame;
  try {
    frame = new Frame(Buffer.from(l.f, 'base64'));
  } catch (e) {
    throw new CaptureError(
      `capture line ${lineNo}: bad frame: ${e instanceof FrameError ? e.message : String(e)}`,
    );
  }
  return new SyscallEvent(frame, l.t, typeof l.n === 'number' ? l.n : lineNo, new ReplayContext(l));
}

function header(): string {
  return JSON.stringify({
    format: CAPTURE_FORMAT,
    version: CAPTURE_VERSION,
    created: new Date().toISOString(),
    hostname: hostname(),
  });
}

function checkHeader(text: string, file: string): void {
  let h: { format?: string; version?: number };
  try {
    h = JSON.parse(text) as typeof h;
  } catch {
    throw new CaptureError(`${file}: first line is not a capture header`);
  }
  if (h.format !== CAPTURE_FORMAT)
    throw new CaptureError(`${file}: not a ${CAPTURE_FORMAT} file (format ${String(h.format)})`);
  if (h.version !== CAPTURE_VERSION)
    throw new CaptureError(
      `${file}: capture version ${String(h.version)} is not supported (expected ${CAPTURE_VERSION})`,
    );
}

/** Streams events into a capture file. */
export class CaptureWriter {
  private readonly out: WriteStream;
  count = 0;
  constructor(readonly path: string) {
    this.out = createWriteStream(path, { flags: 'w' });
    this.out.write(`${header()}\n`);
  }
  write(ev: SyscallEvent): void {
    this.out.write(`${JSON.stringify(eventToLine(ev))}\n`);
    this.count++;
  }
  close(): Promise<void> {
    return new Promise((res, rej) => {
      this.out.once('error', rej);
      this.out.end(() => res());
    });
  }
}

/** Parse a whole capture held in memory. */
export function parseCapture(text: string, file = 'capture'): SyscallEvent[] {
  const lines = text.split('\n');
  checkHeader(lines[0] ?? '', file);
  const out: SyscallEvent[] = [];
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.trim() === '') continue;
    out.push(lineToEvent(l, i + 1));
  }
  return out;
}

export function readCapture(path: string): SyscallEvent[] {
  return parseCapture(readFileSync(path, 'utf8'), path);
}

/** Stream a capture file event by event. */
export async function* streamCapture(path: string): AsyncGenerator<SyscallEvent> {
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  let n = 0;
  for await (const line of rl) {
    n++;
    if (n === 1) {
      checkHeader(line, path);
      continue;
    }
    if (line.trim() === '') continue;
    yield lineToEvent(line, n);
  }
  if (n === 0) throw new CaptureError(`${path}: empty file`);
}
