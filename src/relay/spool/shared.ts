/**
 * Spool positions shared between the intake thread (which writes the spool) and the delivery thread (which
 * reads it): the written and durable ends, published by the writer after every write and fsync, and the
 * lowest sink cursor, published by the delivery thread so the writer can delete finished segments.
 * One SharedArrayBuffer; the reader waits for a change with Atomics.waitAsync (no polling).
 */
/** Atomics.waitAsync (Node 20 has it; the ES2023 lib types do not). */
type WaitAsyncResult = { async: false; value: string } | { async: true; value: Promise<string> };
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): WaitAsyncResult })
  .waitAsync;

const VISIBLE = 0;
const LAST = 1;
const MIN_CURSOR = 2;
const CLOSED = 3;

export class SharedSpoolState {
  readonly buffer: SharedArrayBuffer;
  private readonly seqs: BigInt64Array;
  /** Bumped on every publish: the futex word readers wait on. */
  private readonly gen: Int32Array;

  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(48);
    this.seqs = new BigInt64Array(this.buffer, 0, 4);
    this.gen = new Int32Array(this.buffer, 32, 1);
    if (!buffer) Atomics.store(this.seqs, MIN_CURSOR, -1n);
  }

  /**
   * Writer: records up to `visible` are written, up to `last` are durable. Wakes waiting readers only when
   * `visible` moved: they wait for new records, and a wake-up costs a thread hand-off (the writer publishes
   * after every write and again after its fsync).
   */
  publish(visible: number, last: number): void {
    Atomics.store(this.seqs, LAST, BigInt(last));
    if (Atomics.exchange(this.seqs, VISIBLE, BigInt(visible)) === BigInt(visible)) return;
    Atomics.add(this.gen, 0, 1);
    Atomics.notify(this.gen, 0);
  }

  /** Writer: no more records (readers stop waiting). */
  close(): void {
    Atomics.store(this.seqs, CLOSED, 1n);
    Atomics.add(this.gen, 0, 1);
    Atomics.notify(this.gen, 0);
  }

  get visible(): number {
    return Number(Atomics.load(this.seqs, VISIBLE));
  }

  get last(): number {
    return Number(Atomics.load(this.seqs, LAST));
  }

  get closed(): boolean {
    return Atomics.load(this.seqs, CLOSED) === 1n;
  }

  /** Lowest delivered-through sequence number over every sink, or -1 before the delivery thread reports. */
  get minCursor(): number {
    return Number(Atomics.load(this.seqs, MIN_CURSOR));
  }

  set minCursor(seq: number) {
    Atomics.store(this.seqs, MIN_CURSOR, BigInt(seq));
  }

  /** Resolves once something is published after `visible` was above `afterSeq`… or immediately if it is. */
  waitFor(afterSeq: number): Promise<void> {
    const g = Atomics.load(this.gen, 0);
    if (this.visible > afterSeq || this.closed) return Promise.resolve();
    const w = waitAsync(this.gen, 0, g);
    return w.async ? w.value.then(() => undefined) : Promise.resolve();
  }
}
