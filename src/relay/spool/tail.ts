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
  RecentRecords,
  readSegments,
  type SpoolRecord,
  segmentIndexFor,
} from './segments.js';
import type { SharedSpoolState } from './shared.js';

export class SpoolTail implements RecordSource {
  private readonly segDir: string;
  private readonly recent: RecentRecords;
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
    memoryRecords = 50_000,
  ) {
    this.segDir = join(dir, 'segments');
    this.recent = new RecentRecords(memoryRecords);
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
    if (this.recent.first ? this.recent.covers(afterSeq) : afterSeq >= this.tailSeq)
      return this.recent.after(afterSeq, max);
    // behind the memory window: read the files (the records before the tail's start, or trimmed ones)
    return readSegments(listSegments(this.segDir), this.visibleSeq, afterSeq, max, pos ?? new ReadPosition());
  }

  parsed(rec: SpoolRecord): FalcoAlert {
    return this.recent.parsed(rec, this.tailSeq);
  }

  peekReceivedAt(afterSeq: number): number | undefined {
    return afterSeq >= this.visibleSeq ? undefined : this.recent.receivedAfter(afterSeq);
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
    const added: SpoolRecord[] = [];
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
          added.push(rec);
          this.tailSeq = rec.seq;
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
    this.recent.push(added);
  }
}
