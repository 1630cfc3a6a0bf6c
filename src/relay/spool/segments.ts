/**
 * Spool segment files, as read by the spool's readers: listing, the record line format, and reading records
 * by sequence number. Shared by the writer (`Spool`, for readers older than its memory) and the delivery
 * thread's `SpoolTail`.
 *
 * A segment is `<first seq, 20 digits>.seg`; one record per line: `<seq>\t<received ms>\t<json>\n`.
 */
import { readdirSync } from 'node:fs';
import { open as openAsync } from 'node:fs/promises';
import { join } from 'node:path';
import type { FalcoAlert } from '../../alert/falco-alert.js';

export interface SpoolRecord {
  seq: number;
  /** Milliseconds since the epoch when the relay received the alert. */
  receivedAt: number;
  /** The alert JSON. */
  json: string;
  /**
   * The parsed alert, cached by the first reader of an in-memory record so that every other sink shares
   * it instead of parsing the JSON again. Readers must treat it as read-only.
   */
  alert?: FalcoAlert;
}

export interface Segment {
  first: number;
  file: string;
}

const SEG_RE = /^(\d{20})\.seg$/;
/** Disk read chunk: larger than the biggest record (the intake body limit defaults to 4 MiB). */
export const CHUNK = 8 << 20;

export const segmentName = (first: number) => `${String(first).padStart(20, '0')}.seg`;

/** The segments of a spool directory, oldest first. */
export function listSegments(segDir: string): Segment[] {
  return readdirSync(segDir)
    .map((f) => SEG_RE.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ first: Number(m[1]), file: join(segDir, m[0]) }))
    .sort((a, b) => a.first - b.first);
}

/** Index of the segment that holds `seq` (the last one starting at or before it), or 0. */
export function segmentIndexFor(segments: Segment[], seq: number): number {
  let idx = segments.length - 1;
  while (idx > 0 && segments[idx]!.first > seq) idx--;
  return idx;
}

/**
 * The newest records of a spool, in memory for readers that are caught up: the newest `PARSED_WINDOW` of them
 * keep their parsed alert once a reader parsed it, so every sink shares one parse; memory is bounded by
 * `keep` (0 = keep nothing).
 */
export class RecentRecords {
  static readonly PARSED_WINDOW = 8192;
  private mem: SpoolRecord[] = [];

  constructor(private readonly keep: number) {}

  get first(): SpoolRecord | undefined {
    return this.mem[0];
  }

  /** Add records in sequence order. */
  push(recs: Iterable<SpoolRecord>): void {
    if (this.keep === 0) return;
    for (const r of recs) {
      this.mem.push(r);
      const old = this.mem[this.mem.length - 1 - RecentRecords.PARSED_WINDOW];
      if (old) old.alert = undefined;
    }
    if (this.mem.length > this.keep * 2) this.mem = this.mem.slice(this.mem.length - this.keep);
  }

  /** Whether the records after `afterSeq` start in memory (nothing older is needed from disk). */
  covers(afterSeq: number): boolean {
    const m0 = this.mem[0];
    return m0 !== undefined && m0.seq <= afterSeq + 1;
  }

  /** Up to `max` records with seq > afterSeq (binary search). */
  after(afterSeq: number, max: number): SpoolRecord[] {
    let lo = 0;
    let hi = this.mem.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.mem[mid]!.seq <= afterSeq) lo = mid + 1;
      else hi = mid;
    }
    return this.mem.slice(lo, lo + max);
  }

  /** The record's alert; cached on the record while it is within the window below `endSeq`. Throws on bad JSON. */
  parsed(rec: SpoolRecord, endSeq: number): FalcoAlert {
    if (rec.alert) return rec.alert;
    const a = JSON.parse(rec.json) as FalcoAlert;
    if (rec.seq > endSeq - RecentRecords.PARSED_WINDOW) rec.alert = a;
    return a;
  }

  /** Received time of the first record after `afterSeq` (a lower bound when older ones are on disk only). */
  receivedAfter(afterSeq: number): number | undefined {
    const m0 = this.mem[0];
    if (!m0) return undefined;
    if (m0.seq > afterSeq + 1) return m0.receivedAt;
    return this.mem.find((r) => r.seq > afterSeq)?.receivedAt;
  }
}

export class ReadPosition {
  file = '';
  offset = 0;
  lastSeq = -1;
}

export function parseLine(line: string): SpoolRecord | undefined {
  const t1 = line.indexOf('\t');
  const t2 = t1 < 0 ? -1 : line.indexOf('\t', t1 + 1);
  if (t2 < 0) return undefined;
  const seq = Number(line.slice(0, t1));
  const receivedAt = Number(line.slice(t1 + 1, t2));
  const json = line.slice(t2 + 1);
  if (
    !Number.isInteger(seq) ||
    !Number.isFinite(receivedAt) ||
    json[0] !== '{' ||
    json[json.length - 1] !== '}'
  )
    return undefined;
  return { seq, receivedAt, json };
}

/**
 * Up to `max` records with afterSeq < seq ≤ visibleSeq from the segment files, in order. `pos` remembers
 * where the previous call stopped so a reader walking forward does not rescan the file.
 */
export async function readSegments(
  segments: Segment[],
  visibleSeq: number,
  afterSeq: number,
  max: number,
  pos: ReadPosition,
): Promise<SpoolRecord[]> {
  const out: SpoolRecord[] = [];
  let idx = segmentIndexFor(segments, afterSeq + 1);
  if (idx < 0 || !segments[idx]) return out;
  if (pos.file !== segments[idx]!.file || pos.lastSeq !== afterSeq) {
    pos.file = segments[idx]!.file;
    pos.offset = 0;
    pos.lastSeq = afterSeq;
  }
  while (out.length < max && idx < segments.length) {
    const fh = await openAsync(pos.file, 'r').catch(() => undefined);
    if (!fh) break;
    let stop = false;
    try {
      const chunk = Buffer.allocUnsafe(CHUNK);
      while (out.length < max && !stop) {
        const { bytesRead } = await fh.read(chunk, 0, chunk.length, pos.offset);
        if (bytesRead === 0) break;
        const data = chunk.subarray(0, bytesRead);
        let start = 0;
        let progressed = false;
        for (;;) {
          const nl = data.indexOf(10, start);
          if (nl < 0) break;
          const rec = parseLine(data.subarray(start, nl).toString('utf8'));
          if (!rec || rec.seq > visibleSeq) {
            stop = true;
            break;
          }
          pos.offset += nl + 1 - start;
          start = nl + 1;
          progressed = true;
          if (rec.seq > afterSeq) {
            out.push(rec);
            pos.lastSeq = rec.seq;
            if (out.length >= max) break;
          }
        }
        if (!progressed) break; // a line longer than the chunk cannot happen (body limit) — stop safely
      }
    } finally {
      await fh.close();
    }
    if (out.length >= max || stop) break;
    idx++;
    const next = segments[idx];
    if (!next) break;
    pos.file = next.file;
    pos.offset = 0;
  }
  return out;
}
