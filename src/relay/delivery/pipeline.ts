/**
 * One sink's delivery pipeline: reads the spool from the sink's own cursor, routes and dedups, batches,
 * sends with bounded concurrency, retries with exponential backoff and full jitter (or the server's
 * Retry-After), dead-letters after too many attempts or too much age, and persists its cursor.
 *
 * The cursor only passes a record once it is delivered, dead-lettered or filtered out, so a crash at any
 * moment re-delivers at most what was in flight (at least once). With maxconcurrentrequests = 1 (the
 * default) delivery is in spool order, retries included.
 */
import { setMaxListeners } from 'node:events';
import type { FalcoAlert } from '../../alert/falco-alert.js';
import type { Logger } from '../../common/log.js';
import { compileRoute, Deduper, type Matcher, type RouteSpec } from '../router/route.js';
import type { CursorStore, DeadLetter } from '../spool/cursor.js';
import { ReadPosition, type SpoolRecord } from '../spool/spool.js';
import type { RelayMetrics } from './metrics.js';
import type { SendResult, SinkInstance } from './sink.js';

export interface DeliveryOptions {
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** 0 = unlimited. */
  maxAttempts: number;
  maxAgeMs: number;
  timeoutMs: number;
  batchSize: number;
  concurrency: number;
  dedupWindowMs: number;
  dedupFields: string[];
  /** Falcosidekick display name for `outputs_total{destination}` (lower-cased). */
  destination: string;
}

/** What a pipeline reads from: the local spool, or a sink's JetStream consumer (src/relay/bus). */
export interface RecordSource {
  readonly visibleSeq: number;
  /** Highest durable sequence number: cursors are never saved beyond it. */
  readonly lastSeq: number;
  read(afterSeq: number, max: number, pos?: ReadPosition): Promise<SpoolRecord[]>;
  waitFor(afterSeq: number): Promise<void>;
  parsed(rec: SpoolRecord): FalcoAlert;
  peekReceivedAt(afterSeq: number): number | undefined;
  /**
   * Where a sink seen for the first time starts (default `lastSeq`): the delivery thread starts later than
   * the intake, so it uses the spool's end when the relay started, not when the thread got to it.
   */
  readonly startSeq?: number;
  /** Called when the cursor moves: everything up to `through` is finished (the JetStream bus acks). */
  advance?(through: number): void;
}

/** Sends started within one 100 ms window share an AbortController and a deadline. */
interface SendWindow {
  ac: AbortController;
  /** End of the window (ms since the epoch): later sends get a new window. */
  until: number;
  deadline: number;
  /** Sends of this window still in flight. */
  active: number;
}

export type CursorLike = Pick<CursorStore, 'load' | 'save' | 'saveSync'>;

interface Item {
  alert: FalcoAlert;
  json: string;
  seqs: number[];
  receivedAt: number;
}

/** Exponential backoff with full jitter: uniform in [base/2, min(max, initial·2^(attempt-1))]. */
export function backoffMs(attempt: number, initial: number, max: number, rnd = Math.random): number {
  const cap = Math.min(max, initial * 2 ** Math.min(attempt - 1, 30));
  return Math.round(cap / 2 + rnd() * (cap / 2));
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

export class SinkPipeline {
  /** Everything ≤ cursor is finished for this sink. */
  cursor = 0;
  private readSeq = 0;
  private readonly order: Array<{ seq: number; receivedAt: number }> = [];
  private head = 0;
  private readonly done = new Set<number>();
  /** Items ready to send: `queue[qHead…]` (a head index instead of shift/splice, which copy the array). */
  private queue: Item[] = [];
  private qHead = 0;
  private wakeSenders: Array<() => void> = [];
  private wakeReader: (() => void) | undefined;
  /** Resolves the reader's wait for new spool records (close() calls it). */
  private wakeIdle: (() => void) | undefined;
  /** Send windows with sends in flight: one sweeper timer enforces `delivery.timeout` for all of them. */
  private readonly sends = new Set<SendWindow>();
  private window: SendWindow | undefined;
  private readonly stop = new AbortController();
  private readonly match: Matcher;
  private readonly dedup: Deduper<number> | undefined;
  private savedSeq = -1;
  private saving = false;
  private timers: NodeJS.Timeout[] = [];
  private loops: Promise<void>[] = [];
  private readonly pos = new ReadPosition();
  private readonly highWater: number;
  /** Attempts of the batch currently failing (for logs/tests). */
  inflight = 0;

  constructor(
    readonly sink: SinkInstance,
    private readonly spool: RecordSource,
    private readonly cursors: CursorLike,
    private readonly deadLetter: DeadLetter,
    route: RouteSpec,
    private readonly opts: DeliveryOptions,
    private readonly metrics: RelayMetrics,
    private readonly log: Logger,
  ) {
    // every concurrent send and wait listens on the stop signal
    setMaxListeners(0, this.stop.signal);
    this.match = compileRoute(route);
    this.dedup = opts.dedupWindowMs > 0 ? new Deduper(opts.dedupWindowMs, opts.dedupFields) : undefined;
    this.highWater = Math.max(1024, opts.batchSize * opts.concurrency * 4);
    metrics.addSink({
      name: sink.name,
      backlog: () => Math.max(0, this.spool.visibleSeq - this.cursor),
      oldestAgeSeconds: () => this.oldestAgeSeconds(),
    });
  }

  get name(): string {
    return this.sink.name;
  }

  private get queued(): number {
    return this.queue.length - this.qHead;
  }

  private take(n: number): Item[] {
    const batch = this.queue.slice(this.qHead, this.qHead + n);
    this.qHead += batch.length;
    if (this.qHead === this.queue.length) {
      this.queue = [];
      this.qHead = 0;
    } else if (this.qHead > 4096 && this.qHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.qHead);
      this.qHead = 0;
    }
    return batch;
  }

  /** Records after the cursor (filtered ones included until read). */
  get backlog(): number {
    return Math.max(0, this.spool.visibleSeq - this.cursor);
  }

  oldestAgeSeconds(now = Date.now()): number {
    for (let i = this.head; i < this.order.length; i++) {
      const o = this.order[i]!;
      if (!this.done.has(o.seq)) return (now - o.receivedAt) / 1000;
    }
    const r = this.spool.peekReceivedAt(this.readSeq);
    return r === undefined ? 0 : (now - r) / 1000;
  }

  start(): void {
    let saved = this.cursors.load(this.sink.name);
    // A cursor past the spool's end means records were lost with the page cache (power loss) and their
    // numbers will be reused: start from the durable end so nothing new is skipped.
    if (saved !== undefined && saved > this.spool.lastSeq) saved = this.spool.lastSeq;
    // A sink seen for the first time starts at the current end of the spool (no replay of old history).
    this.cursor = saved ?? Math.min(this.spool.startSeq ?? this.spool.lastSeq, this.spool.lastSeq);
    if (saved === undefined || saved !== this.cursors.load(this.sink.name))
      this.cursors.saveSync(this.sink.name, this.cursor);
    this.savedSeq = this.cursor;
    this.readSeq = this.cursor;
    this.loops.push(this.readLoop());
    for (let i = 0; i < this.opts.concurrency; i++) this.loops.push(this.sendLoop());
    this.timers.push(setInterval(() => void this.saveCursor(), 200));
    this.timers.push(
      setInterval(() => this.sweepTimeouts(), Math.max(10, Math.min(250, this.opts.timeoutMs / 4))),
    );
    if (this.dedup) {
      const every = Math.max(10, Math.min(1000, this.opts.dedupWindowMs / 4));
      this.timers.push(setInterval(() => this.releaseDedup(Date.now()), every));
    }
  }

  private releaseDedup(now: number): void {
    for (const s of this.dedup!.expire(now)) {
      const first = s.items[0]!;
      const o = this.order.find((x) => x.seq === first);
      this.queue.push({
        alert: s.alert,
        json: JSON.stringify(s.alert),
        seqs: s.items,
        receivedAt: o?.receivedAt ?? now,
      });
    }
    this.wake();
  }

  /** Wake as many idle senders as there are batches queued (all of them when stopping). */
  private wake(): void {
    if (this.wakeSenders.length === 0) return;
    const want = this.stop.signal.aborted
      ? this.wakeSenders.length
      : Math.ceil(this.queued / this.opts.batchSize);
    for (const f of this.wakeSenders.splice(0, want)) f();
  }

  private sweepTimeouts(): void {
    if (this.sends.size === 0) return;
    const now = Date.now();
    for (const w of this.sends) {
      if (now < w.until) continue;
      if (w.active === 0) this.sends.delete(w);
      else if (now >= w.deadline) {
        w.ac.abort(new Error(`timeout after ${this.opts.timeoutMs} ms`));
        this.sends.delete(w);
      }
    }
  }

  private async readLoop(): Promise<void> {
    const signal = this.stop.signal;
    while (!signal.aborted) {
      if (this.queued >= this.highWater) {
        await new Promise<void>((r) => {
          this.wakeReader = r;
        });
        continue;
      }
      let recs: SpoolRecord[];
      try {
        recs = await this.spool.read(this.readSeq, 512, this.pos);
      } catch (e) {
        this.log.error('spool read failed', { sink: this.name, error: (e as Error).message });
        await sleep(1000, signal);
        continue;
      }
      if (recs.length === 0) {
        // No timer here: a 60 s sleep per empty read would pile up timers and abort listeners under load.
        await new Promise<void>((r) => {
          this.wakeIdle = r;
          void this.spool.waitFor(this.readSeq).then(r);
        });
        this.wakeIdle = undefined;
        continue;
      }
      const now = Date.now();
      for (const rec of recs) {
        this.readSeq = rec.seq;
        this.order.push({ seq: rec.seq, receivedAt: rec.receivedAt });
        let alert: FalcoAlert;
        try {
          // parsed once per record for all sinks (in-memory records keep the parsed alert)
          alert = this.spool.parsed(rec);
        } catch {
          await this.deadLetter.add(
            this.name,
            [JSON.stringify({ raw: rec.json })],
            'unreadable spool record',
            0,
          );
          this.markDone([rec.seq]);
          continue;
        }
        if (!this.match(alert)) {
          this.metrics.filtered.inc({ sink: this.name });
          this.markDone([rec.seq]);
          continue;
        }
        if (this.dedup && !this.dedup.offer(alert, rec.seq, now)) {
          this.metrics.deduplicated.inc({ sink: this.name });
          continue;
        }
        this.queue.push({ alert, json: rec.json, seqs: [rec.seq], receivedAt: rec.receivedAt });
      }
      this.wake();
    }
  }

  private async sendLoop(): Promise<void> {
    const signal = this.stop.signal;
    while (!signal.aborted) {
      if (this.queued === 0) {
        await new Promise<void>((r) => {
          this.wakeSenders.push(r);
        });
        continue;
      }
      const batch = this.take(this.opts.batchSize);
      if (this.wakeReader && this.queued < this.highWater / 2) {
        const w = this.wakeReader;
        this.wakeReader = undefined;
        w();
      }
      await this.deliver(batch);
    }
  }

  /**
   * The abort controller for a send starting now. Sends that start within the same 100 ms share one
   * controller (one AbortSignal per alert is a measurable cost at thousands of sends per second); its
   * deadline is the window's end + delivery.timeout, so a timeout fires at most 100 ms late.
   */
  private controller(now: number): SendWindow {
    let w = this.window;
    if (!w || now >= w.until) {
      w = {
        ac: new AbortController(),
        until: now + 100,
        deadline: now + 100 + this.opts.timeoutMs,
        active: 0,
      };
      this.window = w;
      this.sends.add(w);
    }
    return w;
  }

  private async sendOnce(batch: Item[]): Promise<SendResult> {
    if (this.stop.signal.aborted) return { kind: 'retry', reason: 'relay stopping' };
    const w = this.controller(Date.now());
    w.active++;
    const signal = w.ac.signal;
    try {
      return await this.sink.send(
        batch.map((b) => b.alert),
        signal,
      );
    } catch (e) {
      const reason = signal.aborted
        ? String((signal.reason as Error)?.message ?? signal.reason)
        : (e as Error).message;
      return { kind: 'retry', reason };
    } finally {
      w.active--;
    }
  }

  private async deliver(batch: Item[]): Promise<void> {
    const n = batch.length;
    const label = { sink: this.name };
    for (let attempt = 1; ; attempt++) {
      if (this.stop.signal.aborted) return; // not acknowledged: redelivered after restart
      this.inflight = attempt;
      const res = await this.sendOnce(batch);
      if (this.stop.signal.aborted && res.kind !== 'ok') return;
      if (res.kind === 'ok') {
        this.metrics.delivered.inc(label, n);
        this.metrics.outputs.inc({ destination: this.opts.destination, status: 'ok' }, 1);
        this.markDone(batch.flatMap((b) => b.seqs));
        this.inflight = 0;
        return;
      }
      this.metrics.failed.inc(label, n);
      this.metrics.outputs.inc({ destination: this.opts.destination, status: 'error' }, 1);
      const oldest = Math.min(...batch.map((b) => b.receivedAt));
      const tooOld = Date.now() - oldest > this.opts.maxAgeMs;
      const tooMany = this.opts.maxAttempts > 0 && attempt >= this.opts.maxAttempts;
      if (res.kind === 'permanent' || tooOld || tooMany) {
        const why =
          res.kind === 'permanent'
            ? `permanent: ${res.reason}`
            : tooOld
              ? `gave up after ${Math.round((Date.now() - oldest) / 1000)} s (delivery.maxage): ${res.reason}`
              : `gave up after ${attempt} attempts (delivery.maxattempts): ${res.reason}`;
        this.log.warn('dead-lettering alerts', { sink: this.name, count: n, reason: why });
        try {
          await this.deadLetter.add(
            this.name,
            batch.map((b) => b.json),
            why,
            attempt,
          );
        } catch (e) {
          this.log.error('dead-letter write failed; will retry', {
            sink: this.name,
            error: (e as Error).message,
          });
          await sleep(1000, this.stop.signal);
          continue;
        }
        this.metrics.deadlettered.inc(label, n);
        this.markDone(batch.flatMap((b) => b.seqs));
        this.inflight = 0;
        return;
      }
      this.metrics.retried.inc(label);
      const delay =
        res.retryAfterMs !== undefined
          ? Math.min(res.retryAfterMs, 10 * 60_000)
          : backoffMs(attempt, this.opts.initialBackoffMs, this.opts.maxBackoffMs);
      if (attempt === 1 || attempt % 10 === 0)
        this.log.warn('send failed, retrying', {
          sink: this.name,
          attempt,
          delayMs: delay,
          reason: res.reason,
        });
      await sleep(delay, this.stop.signal);
    }
  }

  private markDone(seqs: number[]): void {
    for (const s of seqs) this.done.add(s);
    while (this.head < this.order.length && this.done.has(this.order[this.head]!.seq)) {
      const s = this.order[this.head]!.seq;
      this.done.delete(s);
      this.cursor = s;
      this.head++;
    }
    if (this.spool.advance && this.head > 0) this.spool.advance(this.cursor);
    if (this.head > 4096 && this.head * 2 > this.order.length) {
      this.order.splice(0, this.head);
      this.head = 0;
    }
  }

  private async saveCursor(): Promise<void> {
    // never persist a position beyond what is durable
    const target = Math.min(this.cursor, this.spool.lastSeq);
    if (target === this.savedSeq || this.saving) return;
    this.saving = true;
    try {
      await this.cursors.save(this.sink.name, target);
      this.savedSeq = target;
    } catch (e) {
      this.log.error('cursor save failed', { sink: this.name, error: (e as Error).message });
    } finally {
      this.saving = false;
    }
  }

  /** Wait until everything up to `seq` is finished (tests, graceful shutdown). */
  async drained(seq: number, timeoutMs = 10_000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (this.cursor < seq) {
      if (Date.now() > end) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
    return true;
  }

  async close(): Promise<void> {
    this.stop.abort();
    for (const t of this.timers) clearInterval(t);
    for (const w of this.sends) w.ac.abort(new Error('relay stopping'));
    this.wake();
    this.wakeReader?.();
    this.wakeIdle?.();
    await Promise.allSettled(this.loops);
    // Held dedup items are not acknowledged: they are read again on the next start.
    while (this.saving) await new Promise((r) => setTimeout(r, 5));
    this.cursors.saveSync(this.sink.name, Math.min(this.cursor, this.spool.lastSeq));
    await this.sink.close().catch(() => undefined);
  }
}
