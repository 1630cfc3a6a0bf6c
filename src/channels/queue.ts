import type { Channel, OutputItem } from './types.js';

export interface QueueHooks {
  /** An alert was dropped because the queue was full. */
  onDrop?: (dropped: number) => void;
  /** A channel failed to deliver `count` alerts. */
  onError?: (channel: string, err: Error, count: number) => void;
  /** A channel delivered `count` alerts. */
  onSent?: (channel: string, count: number) => void;
  /** Queue depth changed. */
  onDepth?: (depth: number) => void;
}

/**
 * The outputs queue: the engine pushes without ever waiting; one worker hands
 * batches to every channel (in parallel across channels, in order within each).
 * With a capacity > 0 a full queue drops the new alert and counts it (Falco's
 * outputs_queue.capacity; 0 = unbounded).
 */
export class OutputQueue {
  private items: OutputItem[] = [];
  private head = 0;
  private running = false;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  dropped = 0;
  /** Alerts handed to the channels and not yet delivered by all of them. */
  private inflight = 0;

  constructor(
    private readonly channels: readonly Channel[],
    private readonly capacity: number,
    private readonly hooks: QueueHooks = {},
    private readonly maxBatch = 512,
  ) {}

  get depth(): number {
    return this.items.length - this.head;
  }

  /** Enqueue; returns false (and counts a drop) when the queue is full or closed. */
  push(item: OutputItem): boolean {
    if (this.closed || (this.capacity > 0 && this.depth >= this.capacity)) {
      this.dropped++;
      this.hooks.onDrop?.(this.dropped);
      return false;
    }
    this.items.push(item);
    this.hooks.onDepth?.(this.depth);
    if (!this.running) {
      this.running = true;
      queueMicrotask(() => void this.pump());
    }
    return true;
  }

  private async pump(): Promise<void> {
    try {
      while (this.depth > 0) {
        const end = Math.min(this.items.length, this.head + this.maxBatch);
        const batch = this.items.slice(this.head, end);
        this.head = end;
        if (this.head > 4096 && this.head * 2 > this.items.length) {
          this.items = this.items.slice(this.head);
          this.head = 0;
        }
        this.hooks.onDepth?.(this.depth);
        this.inflight = batch.length;
        await Promise.all(
          this.channels.map(async (ch) => {
            try {
              await ch.send(batch);
              this.hooks.onSent?.(ch.name, batch.length);
            } catch (e) {
              const err = e as Error & { failed?: number };
              const failed = err.failed ?? batch.length;
              this.hooks.onError?.(ch.name, err, failed);
              if (failed < batch.length) this.hooks.onSent?.(ch.name, batch.length - failed);
            }
          }),
        );
        this.inflight = 0;
      }
    } finally {
      this.running = false;
      if (this.depth > 0) {
        this.running = true;
        queueMicrotask(() => void this.pump());
      } else {
        const w = this.idleWaiters;
        this.idleWaiters = [];
        for (const f of w) f();
      }
    }
  }

  /** Resolves when everything queued so far has been handed to every channel. */
  idle(): Promise<void> {
    if (!this.running && this.depth === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stop accepting alerts and wait for the queue to drain, at most `timeoutMs`.
   * Returns the number of alerts still undelivered when the time ran out (queued or in flight).
   */
  async drain(timeoutMs: number): Promise<number> {
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.idle().then(() => false),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(true), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return timedOut ? this.depth + this.inflight : 0;
  }

  /** Reopen every channel that supports it (SIGUSR1). */
  reopen(): void {
    for (const ch of this.channels) ch.reopen?.();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.channels.map((c) => c.close().catch(() => {})));
  }
}
