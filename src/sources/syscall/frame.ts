/**
 * Binary frames written by collector/ (layout in collector/src/events.h and
 * docs/syscall-source.md): a 96-byte little-endian header, then TLVs
 * (u16 tag, u16 len, bytes). Decoding is lazy: a Frame reads header fields on
 * access and indexes its TLVs only when one is first asked for.
 */

export const HDR_SIZE = 96;
/** Frames larger than this are rejected as corrupt (the kernel side caps records at 16 KiB). */
export const MAX_FRAME = 1 << 20;

export const Kind = {
  Syscall: 1,
  Exec: 2,
  Fork: 3,
  Exit: 4,
  Stats: 5,
  Hello: 6,
} as const;
export type KindCode = (typeof Kind)[keyof typeof Kind];

export const Tag = {
  Str0: 1,
  Str1: 2,
  Str2: 3,
  Base0: 4,
  Base1: 5,
  Base2: 6,
  FdPath: 7,
  FdInfo: 8,
  Sock: 9,
  SAddr: 10,
  OpenHow: 11,
  Filename: 12,
  Exe: 13,
  Cwd: 14,
  Argv: 15,
  Cgroup: 16,
  Comm: 17,
  ProcInfo: 18,
  ForkInfo: 19,
  ExitInfo: 20,
  Stats: 21,
  Hello: 22,
  Env: 23,
} as const;

export class FrameError extends Error {}

export interface FdInfoRec {
  fd: number;
  mode: number;
  flags: number;
  dev: number;
  ino: number;
}

export interface SockRec {
  family: number;
  type: number;
  proto: number;
  lport: number;
  rport: number;
  state: number;
  laddr: string;
  raddr: string;
}

export interface ProcInfoRec {
  ppid: number;
  ruid: number;
  rgid: number;
  loginuid: number;
  tty: number;
  vpid: number;
  vtid: number;
  sid: number;
  pgid: number;
  pidns: number;
  mntns: number;
  netns: number;
  capEff: bigint;
  capPrm: bigint;
  capInh: bigint;
  exeIno: number;
  exeMode: number;
  exeUid: number;
  exeGid: number;
  exeNlink: number;
  startNs: bigint;
  /** 1: executable in an overlayfs upper layer, 2: in a lower layer, 0: not on overlayfs. */
  exeFlags: number;
  /** Executable inode mtime / ctime, ns since the epoch (0 = unknown). */
  exeMtimeNs: number;
  exeCtimeNs: number;
}

export interface ForkInfoRec {
  childTgid: number;
  childTid: number;
  childVpid: number;
  childVtid: number;
  thread: boolean;
}

export interface StatsRec {
  intervalNs: number;
  emitted: number;
  drops: number;
  dropsDelta: number;
  truncated: number;
  perCpuDrops: number[];
}

/** IPv4 from 4 network-order bytes, IPv6 in RFC 5952 short form. */
export function formatIp(b: Uint8Array, family: number): string {
  if (family === 2) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((b[i] ?? 0) << 8) | (b[i + 1] ?? 0));
  // IPv4-mapped ::ffff:a.b.c.d
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff)
    return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/**
 * One record, read in place from a chunk of the stream (`data` from `base`, `size`
 * bytes): no copy and no Buffer allocation per frame. TLVs are found by a short
 * scan on each access (a frame has a handful).
 */
export class Frame {
  private readonly d: Buffer;
  private readonly b: number;
  private readonly n: number;

  constructor(data: Buffer, base = 0, size = data.length - base) {
    if (size < HDR_SIZE) throw new FrameError(`frame of ${size} bytes is shorter than the header`);
    this.d = data;
    this.b = base;
    this.n = size;
  }

  /** The frame's bytes (a view, allocated on demand). */
  get buf(): Buffer {
    return this.d.subarray(this.b, this.b + this.n);
  }
  get size(): number {
    return this.n;
  }
  get len(): number {
    return this.d.readUInt32LE(this.b);
  }
  get kind(): number {
    return this.d.readUInt16LE(this.b + 4);
  }
  get nr(): number {
    return this.d.readUInt16LE(this.b + 6);
  }
  get ts(): bigint {
    return this.d.readBigUInt64LE(this.b + 8);
  }
  get tgid(): number {
    return this.d.readUInt32LE(this.b + 16);
  }
  get tid(): number {
    return this.d.readUInt32LE(this.b + 20);
  }
  get uid(): number {
    return this.d.readUInt32LE(this.b + 24);
  }
  get gid(): number {
    return this.d.readUInt32LE(this.b + 28);
  }
  get cgroupId(): bigint {
    return this.d.readBigUInt64LE(this.b + 32);
  }
  get ret(): number {
    return this.d.readInt32LE(this.b + 44) * 4294967296 + this.d.readUInt32LE(this.b + 40);
  }
  /** Raw 64-bit argument as a bigint. */
  argRaw(i: number): bigint {
    return this.d.readBigUInt64LE(this.b + 48 + 8 * i);
  }
  /** Argument as an unsigned number (exact below 2^53; addresses: use argRaw). */
  argU(i: number): number {
    const o = this.b + 48 + 8 * i;
    return this.d.readUInt32LE(o + 4) * 4294967296 + this.d.readUInt32LE(o);
  }
  /** int-typed argument: the kernel zero-extends, so sign-extend the low 32 bits. */
  argInt(i: number): number {
    return this.d.readInt32LE(this.b + 48 + 8 * i);
  }

  /** Absolute offset of the value of the first TLV with `tag` (-1 if none); its length in `lastLen`. */
  private lastLen = 0;
  private find(tag: number): number {
    const d = this.d;
    const end = this.b + this.n;
    let off = this.b + HDR_SIZE;
    while (off + 4 <= end) {
      const t = d.readUInt16LE(off);
      const len = d.readUInt16LE(off + 2);
      if (off + 4 + len > end)
        throw new FrameError(
          `TLV tag ${t} at offset ${off - this.b} runs past the frame (${len} bytes, frame ${this.n})`,
        );
      if (t === tag) {
        this.lastLen = len;
        return off + 4;
      }
      off += 4 + len;
    }
    return -1;
  }

  has(tag: number): boolean {
    return this.find(tag) >= 0;
  }
  bytes(tag: number): Buffer | undefined {
    const o = this.find(tag);
    return o < 0 ? undefined : this.d.subarray(o, o + this.lastLen);
  }
  str(tag: number): string | undefined {
    const o = this.find(tag);
    return o < 0 ? undefined : this.d.toString('utf8', o, o + this.lastLen);
  }

  fdInfo(): FdInfoRec | undefined {
    const o = this.find(Tag.FdInfo);
    if (o < 0 || this.lastLen < 24) return undefined;
    const d = this.d;
    return {
      fd: d.readUInt32LE(o),
      mode: d.readUInt32LE(o + 4),
      flags: d.readUInt32LE(o + 8),
      dev: d.readUInt32LE(o + 12),
      ino: d.readUInt32LE(o + 20) * 4294967296 + d.readUInt32LE(o + 16),
    };
  }

  sock(): SockRec | undefined {
    const o = this.find(Tag.Sock);
    if (o < 0 || this.lastLen < 44) return undefined;
    const d = this.d;
    const family = d.readUInt16LE(o);
    const ip = family === 2 || family === 10;
    return {
      family,
      type: d.readUInt16LE(o + 2),
      proto: d.readUInt16LE(o + 4),
      lport: d.readUInt16LE(o + 6),
      rport: d.readUInt16LE(o + 8),
      state: d.readUInt16LE(o + 10),
      laddr: ip ? formatIp(d.subarray(o + 12, o + 28), family) : '',
      raddr: ip ? formatIp(d.subarray(o + 28, o + 44), family) : '',
    };
  }

  procInfo(): ProcInfoRec | undefined {
    const b = this.bytes(Tag.ProcInfo);
    if (!b || b.length < 104) return undefined;
    return {
      ppid: b.readUInt32LE(0),
      ruid: b.readUInt32LE(4),
      rgid: b.readUInt32LE(8),
      loginuid: b.readInt32LE(12),
      tty: b.readUInt32LE(16),
      vpid: b.readUInt32LE(20),
      vtid: b.readUInt32LE(24),
      sid: b.readUInt32LE(28),
      pgid: b.readUInt32LE(32),
      pidns: b.readUInt32LE(36),
      mntns: b.readUInt32LE(40),
      netns: b.readUInt32LE(44),
      capEff: b.readBigUInt64LE(48),
      capPrm: b.readBigUInt64LE(56),
      capInh: b.readBigUInt64LE(64),
      exeIno: Number(b.readBigUInt64LE(72)),
      exeMode: b.readUInt32LE(80),
      exeUid: b.readUInt32LE(84),
      exeGid: b.readUInt32LE(88),
      exeNlink: b.readUInt32LE(92),
      startNs: b.readBigUInt64LE(96),
      exeFlags: b.length >= 108 ? b.readUInt32LE(104) : 0,
      exeMtimeNs: b.length >= 128 ? Number(b.readBigUInt64LE(112)) : 0,
      exeCtimeNs: b.length >= 128 ? Number(b.readBigUInt64LE(120)) : 0,
    };
  }

  forkInfo(): ForkInfoRec | undefined {
    const b = this.bytes(Tag.ForkInfo);
    if (!b || b.length < 20) return undefined;
    return {
      childTgid: b.readUInt32LE(0),
      childTid: b.readUInt32LE(4),
      childVpid: b.readUInt32LE(8),
      childVtid: b.readUInt32LE(12),
      thread: (b.readUInt32LE(16) & 1) === 1,
    };
  }

  exitCode(): number | undefined {
    const o = this.find(Tag.ExitInfo);
    return o >= 0 && this.lastLen >= 4 ? this.d.readInt32LE(o) : undefined;
  }

  /** Environment of an exec record (first 4 KiB), one `K=V` per entry. */
  env(): string[] {
    return this.nulList(Tag.Env);
  }

  argv(): string[] {
    return this.nulList(Tag.Argv);
  }

  private nulList(tag: number): string[] {
    const s = this.str(tag);
    if (s === undefined) return [];
    const parts = s.split('\0');
    if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
    return parts;
  }

  stats(): StatsRec | undefined {
    const b = this.bytes(Tag.Stats);
    if (!b || b.length < 48) return undefined;
    const ncpu = b.readUInt32LE(40);
    const perCpuDrops: number[] = [];
    for (let i = 0; i < ncpu && 48 + 8 * (i + 1) <= b.length; i++)
      perCpuDrops.push(Number(b.readBigUInt64LE(48 + 8 * i)));
    return {
      intervalNs: Number(b.readBigUInt64LE(0)),
      emitted: Number(b.readBigUInt64LE(8)),
      drops: Number(b.readBigUInt64LE(16)),
      dropsDelta: Number(b.readBigUInt64LE(24)),
      truncated: Number(b.readBigUInt64LE(32)),
      perCpuDrops,
    };
  }

  /** key=value lines of the hello frame. */
  hello(): Map<string, string> {
    const m = new Map<string, string>();
    for (const line of (this.str(Tag.Hello) ?? '').split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) m.set(line.slice(0, i), line.slice(i + 1));
    }
    return m;
  }
}

/**
 * Splits a byte stream into frames. Feed chunks as they arrive; complete frames
 * are returned (each backed by its own memory: chunks are not retained across
 * frames except where a frame spans chunks, which is copied).
 */
export class FrameReader {
  private pending: Buffer | undefined;

  /** Throws FrameError on a corrupt length (the stream cannot be resynchronised). */
  push(chunk: Buffer, out: (f: Frame) => void): void {
    let b = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let off = 0;
    while (b.length - off >= 4) {
      const len = b.readUInt32LE(off);
      if (len < HDR_SIZE || len > MAX_FRAME) {
        throw new FrameError(
          `corrupt frame length ${len} at stream offset ${off} (expected ${HDR_SIZE}..${MAX_FRAME})`,
        );
      }
      if (b.length - off < len) break;
      out(new Frame(b, off, len));
      off += len;
    }
    if (off < b.length) this.pending = Buffer.from(b.subarray(off));
    b = Buffer.alloc(0);
  }

  /** Bytes of an incomplete frame held back. */
  get buffered(): number {
    return this.pending?.length ?? 0;
  }
}
