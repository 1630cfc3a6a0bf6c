/**
 * Write-ahead spool: every accepted alert is appended to a segment file and fsynced before the intake
 * answers 200. Appends that arrive while a write+fsync is in flight wait and share the next one (group
 * commit), so concurrent requests cost one fsync between them.
 *
 * On disk: `<dir>/segments/<first seq, 20 digits>.seg` (and `next.tmp`, the next segment being zero-filled
 * in the background), one record per line: `<seq>\t<received ms>\t<json>\n`.
 * Sequence numbers grow by one per record and may skip (a failed write burns its numbers). Readers (one per
 * sink) read by sequence number: recent records from memory, older ones from the segment files. A torn
 * last line (crash during a write) is cut off when the spool opens: it was never acknowledged.
 */
import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { open as openFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FalcoAlert } from '../../alert/falco-alert.js';
import {
  listSegments,
  parseLine,
  ReadPosition,
  RecentRecords,
  readSegments,
  type Segment,
  type SpoolRecord,
  segmentName,
} from './segments.js';

export { parseLine, ReadPosition, type SpoolRecord } from './segments.js';

export interface SpoolOptions {
  segmentBytes?: number;
  memoryRecords?: number;
}

interface Pending {
  recs: SpoolRecord[];
  resolve: () => void;
  reject: (e: Error) => void;
}

interface InFlight {
  recs: SpoolRecord[];
  batch: Pending[];
  state: 'syncing' | 'durable' | 'failed';
  error?: Error;
}

/** fdatasyncs allowed in flight at once (pipelined group commit). */
const MAX_SYNCS = 2;

export class SpoolUnavailable extends Error {}

export class Spool {
  readonly segDir: string;
  private segments: Segment[] = [];
  private fd = -1;
  private size = 0;
  private nextSeq = 1;
  /** Highest durable (fsynced, acknowledged) sequence number. */
  lastSeq = 0;
  /**
   * Highest written sequence number. Readers see records as soon as they are written, before their fsync
   * completes, so delivery latency does not include the disk flush. This is safe for at-least-once: if that
   * fsync fails the intake answers 503 and the sender retries (a duplicate, not a loss); cursors are never
   * saved beyond `lastSeq`, so a record lost with the page cache is never skipped.
   */
  visibleSeq = 0;
  private readonly recent: RecentRecords;
  private pending: Pending[] = [];
  private flushing = false;
  private inflight: InFlight[] = [];
  private syncsInFlight = 0;
  private rollPending = false;
  /** Background preparation of the next segment (`next.tmp`), and whether it finished. */
  private spare: Promise<void> | undefined;
  private spareReady = false;
  private waiters: Array<() => void> = [];
  private readonly segmentBytes: number;
  private closed = false;
  /** Last write error, cleared by the next successful write. */
  lastError: Error | undefined;
  /** Called after every write (visibleSeq moved) and fsync (lastSeq moved): the delivery thread's view. */
  onPublish: ((visibleSeq: number, lastSeq: number) => void) | undefined;
  /** Number of fsyncs done (group commit shows as appends ≫ fsyncs). */
  fsyncs = 0;
  /** Total milliseconds spent waiting for fdatasync (fsyncMs / fsyncs = mean fsync latency). */
  fsyncMs = 0;

  constructor(
    readonly dir: string,
    opts: SpoolOptions = {},
  ) {
    this.segDir = join(dir, 'segments');
    this.segmentBytes = opts.segmentBytes ?? 64 * 1024 * 1024;
    this.recent = new RecentRecords(opts.memoryRecords ?? 50_000);
  }

  /** Open (or create) the spool and recover its end. Throws if the directory cannot be used. */
  open(): void {
    mkdirSync(this.segDir, { recursive: true });
    rmSync(this.spareFile, { force: true }); // a spare left by an earlier run: prepared again when needed
    this.segments = listSegments(this.segDir);
    const last = this.segments[this.segments.length - 1];
    if (last) {
      // The valid prefix ends at the first line that does not parse: a torn record or the zero fill.
      // Writing resumes there; whatever follows is overwritten.
      const { lastSeq, validBytes } = scanSegment(last.file);
      this.lastSeq = lastSeq ?? last.first - 1;
      this.visibleSeq = this.lastSeq;
      this.nextSeq = this.lastSeq + 1;
      this.fd = openSync(last.file, 'r+');
      this.size = validBytes;
    } else {
      this.newSegment();
    }
  }

  /** First sequence number still on disk. */
  get firstSeq(): number {
    return this.segments[0]?.first ?? this.nextSeq;
  }

  /**
   * Start a segment named after the next sequence number. The file is filled with zeros up front (like a
   * database WAL) so that appends overwrite allocated blocks: fdatasync then flushes data only, without an
   * ext4 journal commit for the growing file size, which is most of an fsync's cost on a busy disk. If the
   * fill fails (disk nearly full) the segment simply grows as it is written.
   */
  private newSegment(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    const file = join(this.segDir, segmentName(this.nextSeq));
    if (this.spareReady) {
      // zero-filled ahead of time off this thread: the roll is a rename, not 64 MiB of writes and an fsync
      this.spare = undefined;
      this.spareReady = false;
      try {
        renameSync(this.spareFile, file);
        syncDir(this.segDir);
        this.fd = openSync(file, 'r+');
        this.size = 0;
        this.segments.push({ first: this.nextSeq, file });
        return;
      } catch {
        /* fall back to creating it here */
      }
    }
    const fd = openSync(file, 'w+');
    try {
      const zeros = Buffer.alloc(Math.min(1 << 20, this.segmentBytes));
      for (let off = 0; off < this.segmentBytes; off += zeros.length)
        writeSync(fd, zeros, 0, Math.min(zeros.length, this.segmentBytes - off), off);
      fdatasyncSync(fd);
    } catch {
      ftruncateSync(fd, 0);
    }
    syncDir(this.segDir);
    this.fd = fd;
    this.size = 0;
    this.segments.push({ first: this.nextSeq, file });
  }

  private get spareFile(): string {
    return join(this.segDir, 'next.tmp');
  }

  /**
   * Zero-fill the next segment in the background (libuv's threads) once the current one is half full, so
   * that the roll does not stall the intake thread.
   */
  private prepareSpare(): void {
    if (this.spare || this.closed) return;
    const tmp = this.spareFile;
    const bytes = this.segmentBytes;
    this.spare = (async () => {
      const fh = await openFile(tmp, 'w+');
      try {
        const zeros = Buffer.alloc(Math.min(1 << 20, bytes));
        for (let off = 0; off < bytes; off += zeros.length)
          await fh.write(zeros, 0, Math.min(zeros.length, bytes - off), off);
        await fh.datasync();
      } finally {
        await fh.close();
      }
    })().then(
      () => {
        this.spareReady = true;
      },
      () => {
        this.spare = undefined; // retried at the next write past half
      },
    );
  }

  /**
   * Append records; resolves once they are on disk (fsynced). Assigns their sequence numbers in call order.
   * Rejects with SpoolUnavailable when the write or the fsync fails.
   */
  append(jsons: string[], receivedAt = Date.now(), alerts?: FalcoAlert[]): Promise<SpoolRecord[]> {
    if (this.closed) return Promise.reject(new SpoolUnavailable('spool is closed'));
    const recs: SpoolRecord[] = new Array(jsons.length);
    for (let i = 0; i < jsons.length; i++) {
      const rec: SpoolRecord = { seq: this.nextSeq++, receivedAt, json: jsons[i]! };
      // The caller's parsed alert (same content as the JSON): readers share it instead of parsing the line.
      const a = alerts?.[i];
      if (a) rec.alert = a;
      recs[i] = rec;
    }
    return new Promise<SpoolRecord[]>((resolve, reject) => {
      this.pending.push({ recs, resolve: () => resolve(recs), reject });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => {
          this.flushing = false;
          this.kick();
        });
      }
    });
  }

  /**
   * Group commit, pipelined: everything pending is written in one write (synchronous, so file order = sequence
   * order) and an fdatasync is started for it; up to MAX_SYNCS fsyncs may be in flight, so requests that arrive
   * during an fsync do not wait for it to finish before theirs starts. A batch is acknowledged when its own
   * fsync succeeds, in sequence order.
   */
  private kick(): void {
    while (this.pending.length && this.syncsInFlight < MAX_SYNCS && !this.rollPending) {
      const batch = this.pending;
      this.pending = [];
      const recs = batch.flatMap((p) => p.recs);
      let text = '';
      for (const r of recs) text += `${r.seq}\t${r.receivedAt}\t${r.json}\n`;
      const buf = Buffer.from(text);
      try {
        if (this.fd < 0) throw new Error('no open segment');
        let off = 0;
        while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off, this.size + off);
      } catch (err) {
        this.fail(batch, err as Error);
        continue;
      }
      this.size += buf.length;
      this.visibleSeq = recs[recs.length - 1]!.seq;
      this.recent.push(recs);
      this.notify();
      this.onPublish?.(this.visibleSeq, this.lastSeq);
      const entry: InFlight = { recs, batch, state: 'syncing' };
      this.inflight.push(entry);
      this.syncsInFlight++;
      if (this.size >= this.segmentBytes) this.rollPending = true;
      else if (!this.spare && this.size * 2 >= this.segmentBytes) this.prepareSpare();
      const t0 = performance.now();
      fdatasync(this.fd, (err) => {
        this.fsyncMs += performance.now() - t0;
        this.syncsInFlight--;
        if (err) {
          entry.state = 'failed';
          entry.error = err;
        } else {
          entry.state = 'durable';
          this.fsyncs++;
        }
        this.settle();
        if (this.closed) {
          if (this.syncsInFlight === 0) this.closeFd();
          return;
        }
        if (this.rollPending && this.syncsInFlight === 0) {
          this.rollPending = false;
          try {
            this.newSegment();
          } catch (e) {
            this.lastError = e as Error;
          }
        }
        this.kick();
      });
    }
  }

  private fail(batch: Pending[], err: Error): void {
    this.lastError = err;
    // Nothing to undo: `size` did not move, so the next write overwrites any partial bytes.
    const e = new SpoolUnavailable(`spool write failed: ${err.message}`);
    for (const p of batch) p.reject(e);
  }

  /** Acknowledge finished batches in sequence order. */
  private settle(): void {
    while (this.inflight.length && this.inflight[0]!.state !== 'syncing') {
      const e = this.inflight.shift()!;
      if (e.state === 'failed') {
        this.lastError = e.error;
        const err = new SpoolUnavailable(`spool fsync failed: ${e.error?.message}`);
        for (const p of e.batch) p.reject(err);
        continue;
      }
      this.lastError = undefined;
      this.lastSeq = e.recs[e.recs.length - 1]!.seq;
      for (const p of e.batch) p.resolve();
      this.onPublish?.(this.visibleSeq, this.lastSeq);
    }
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** The record's alert, parsed once for every reader while the record is among the newest. Throws on bad JSON. */
  parsed(rec: SpoolRecord): FalcoAlert {
    return this.recent.parsed(rec, this.visibleSeq);
  }

  /** Resolves when a record with seq > afterSeq is written (or the spool closes). */
  waitFor(afterSeq: number): Promise<void> {
    if (this.visibleSeq > afterSeq || this.closed) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  /** Up to `max` written records with seq > afterSeq, in order ([] if none yet). */
  async read(afterSeq: number, max: number, pos?: ReadPosition): Promise<SpoolRecord[]> {
    if (afterSeq >= this.visibleSeq) return [];
    if (this.recent.covers(afterSeq)) return this.recent.after(afterSeq, max);
    return this.readDisk(afterSeq, max, pos ?? new ReadPosition());
  }

  /** Received time of the first durable record after `afterSeq` (for the oldest-undelivered gauge). */
  peekReceivedAt(afterSeq: number): number | undefined {
    return afterSeq >= this.visibleSeq ? undefined : this.recent.receivedAfter(afterSeq);
  }

  private readDisk(afterSeq: number, max: number, pos: ReadPosition): Promise<SpoolRecord[]> {
    return readSegments(this.segments, this.visibleSeq, afterSeq, max, pos);
  }

  /** Delete whole segments every reader has passed (`minCursor` = lowest delivered-through seq). */
  async gc(minCursor: number): Promise<number> {
    let removed = 0;
    while (this.segments.length > 1) {
      const next = this.segments[1]!;
      if (next.first - 1 > minCursor) break;
      const seg = this.segments.shift()!;
      await rm(seg.file, { force: true });
      removed++;
    }
    return removed;
  }

  /** Refuse new appends and close the file (after the fsyncs in flight finish). */
  close(): void {
    this.closed = true;
    for (const w of this.waiters) w();
    this.waiters = [];
    if (this.syncsInFlight === 0) this.closeFd();
  }

  private closeFd(): void {
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        /* already closed */
      }
      this.fd = -1;
    }
  }

  get segmentCount(): number {
    return this.segments.length;
  }
}

/** fsync a directory so a new file's entry survives a power loss. */
function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* not supported on this filesystem */
  }
}

/** Last complete record of a segment and the byte length of its valid prefix. */
function scanSegment(file: string): { lastSeq: number | undefined; validBytes: number } {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    let valid = 0;
    let lastSeq: number | undefined;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(10, start);
      if (nl < 0) break;
      const rec = parseLine(buf.subarray(start, nl).toString('utf8'));
      if (!rec) break;
      try {
        JSON.parse(rec.json);
      } catch {
        break;
      }
      lastSeq = rec.seq;
      start = nl + 1;
      valid = start;
    }
    return { lastSeq, validBytes: valid };
  } finally {
    closeSync(fd);
  }
}
