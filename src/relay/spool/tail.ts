/**
 * The delivery thread's view of the spool: follows the segment files as the intake thread writes them
 * (positions from SharedSpoolState, synchronous reads from the page cache — this thread does nothing
 * else), keeps the newest records in memory with their parsed alert so every sink shares one parse, and
 * serves readers that lag further behind from the segment files.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { FalcoAlert } from '../../alert/falco-alert.js';
import type { RecordSource } from '../delivery/pipeline.js';
import {
  CHUNK,
  listSegments,
  parseLine,
  ReadPosition,
  readSegments,
  type SpoolRecord,
  segmentIndexFor,
} from './segments.js';
import type { SharedSpoolState } from './shared.js';

/** Newest records whose parsed alert is kept once parsed (older ones are parsed again by a lagging sink). */
const PARSED_WINDOW = 8192;

export class SpoolTail implements RecordSource {
  private readonly segDir: string;
  private mem: SpoolRecord[] = [];
  private fd = -1;
  private file = '';
  private first = 0;
  private offset = 0;
  /** Highest sequence number the tail has read (-1: not positioned yet). */
  private tailSeq = -1;
  /**
   * Read buffer: small (the writer's segments are zero-filled up front, so a large read would copy mostly
   * zeros on every call); grown when one record does not fit.
   */
  private buf = Buffer.allocUnsafe(64 * 1024);

  constructor(
    dir: string,
    private readonly shared: SharedSpoolState,
    /** The spool's end when the relay started its sinks: where a new sink starts. */
    readonly startSeq?: number,
    private readonly memoryRecords = 50_000,
  ) {
    this.segDir = join(dir, 'segments');
  }

  get visibleSeq(): number {
    return this.shared.visible;
  }

  get lastSeq(): number {
    return this.shared.last;
  }

  waitFor(afterSeq: number): Promise<void> {
    return this.shared.waitFor(afterSeq);
  }

  async read(afterSeq: number, max: number, pos?: ReadPosition): Promise<SpoolRecord[]> {
    if (afterSeq >= this.visibleSeq) return [];
    if (this.tailSeq < 0) this.seek(afterSeq);
    this.fill();
    const m0 = this.mem[0];
    if (m0 ? m0.seq <= afterSeq + 1 : afterSeq >= this.tailSeq) {
      let lo = 0;
      let hi = this.mem.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.mem[mid]!.seq <= afterSeq) lo = mid + 1;
        else hi = mid;
      }
      return this.mem.slice(lo, lo + max);
    }
    // behind the memory window: read the files (the records before the tail's start, or trimmed ones)
    return readSegments(listSegments(this.segDir), this.visibleSeq, afterSeq, max, pos ?? new ReadPosition());
  }

  parsed(rec: SpoolRecord): FalcoAlert {
    if (rec.alert) return rec.alert;
    const a = JSON.parse(rec.json) as FalcoAlert;
    if (rec.seq > this.tailSeq - PARSED_WINDOW) rec.alert = a;
    return a;
  }

  peekReceivedAt(afterSeq: number): number | undefined {
    const m0 = this.mem[0];
    if (!m0 || afterSeq >= this.visibleSeq) return undefined;
    if (m0.seq > afterSeq + 1) return m0.receivedAt;
    return this.mem.find((r) => r.seq > afterSeq)?.receivedAt;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /** Start following at the first record after `afterSeq`: open the segment holding it. */
  private seek(afterSeq: number): void {
    const segs = listSegments(this.segDir);
    const seg = segs[segmentIndexFor(segs, afterSeq + 1)];
    if (!seg) return;
    this.openSegment(seg.file, seg.first);
    this.tailSeq = afterSeq;
  }

  private openSegment(file: string, first: number): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = openSync(file, 'r');
    this.file = file;
    this.first = first;
    this.offset = 0;
  }

  /** Read every complete record up to the published end into memory. */
  private fill(): void {
    if (this.fd < 0) return;
    const visible = this.visibleSeq;
    let added = false;
    while (this.tailSeq < visible) {
      const n = readSync(this.fd, this.buf, 0, this.buf.length, this.offset);
      let start = 0;
      let consumed = false;
      let stop = false;
      while (start < n) {
        const nl = this.buf.indexOf(10, start);
        if (nl < 0 || nl >= n) break;
        const rec = parseLine(this.buf.toString('utf8', start, nl));
        // not yet published (written after `visible` was read), or bytes a failed write left behind
        if (!rec || rec.seq > visible) {
          stop = true;
          break;
        }
        this.offset += nl + 1 - start;
        start = nl + 1;
        consumed = true;
        if (rec.seq > this.tailSeq) {
          this.mem.push(rec);
          const old = this.mem[this.mem.length - 1 - PARSED_WINDOW];
          if (old) old.alert = undefined;
          this.tailSeq = rec.seq;
          added = true;
          if (this.tailSeq >= visible) break;
        }
      }
      if (stop) break;
      if (consumed) continue;
      if (n === this.buf.length && this.buf.indexOf(0, 0) < 0) {
        // a record longer than the buffer (up to the intake's body limit): read it with a bigger buffer
        if (this.buf.length >= CHUNK) break;
        this.buf = Buffer.allocUnsafe(Math.min(CHUNK, this.buf.length * 4));
        continue;
      }
      // Nothing more in this file although records are published: the writer moved to the next segment.
      const next = listSegments(this.segDir).find((s) => s.first > this.first);
      if (!next || next.file === this.file) break;
      this.openSegment(next.file, next.first);
    }
    if (added) this.trim();
  }

  private trim(): void {
    const keep = this.memoryRecords;
    if (this.mem.length > keep * 2) this.mem = this.mem.slice(this.mem.length - keep);
  }
}
