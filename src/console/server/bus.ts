import { EventEmitter } from 'node:events';
import type { EventRow } from '../store/normalize.js';

/** In-process fan-out of newly stored events to live streams, plus the ingest rate. */
export class LiveBus {
  private readonly em = new EventEmitter();
  private readonly perSecond = new Map<number, number>();
  total = 0;
  lastUs = 0;

  constructor() {
    this.em.setMaxListeners(0);
  }

  publish(rows: EventRow[]): void {
    if (!rows.length) return;
    const sec = Math.floor(Date.now() / 1000);
    this.perSecond.set(sec, (this.perSecond.get(sec) ?? 0) + rows.length);
    for (const k of this.perSecond.keys()) if (k < sec - 120) this.perSecond.delete(k);
    this.total += rows.length;
    this.lastUs = Date.now() * 1000;
    if (this.em.listenerCount('rows')) this.em.emit('rows', rows);
  }

  subscribe(fn: (rows: EventRow[]) => void): () => void {
    this.em.on('rows', fn);
    return () => this.em.off('rows', fn);
  }

  get subscribers(): number {
    return this.em.listenerCount('rows');
  }

  /** Events stored per second, averaged over the last 60 complete seconds. */
  ratePerSecond(): number {
    const now = Math.floor(Date.now() / 1000);
    let n = 0;
    for (const [k, v] of this.perSecond) if (k >= now - 60 && k < now) n += v;
    return n / 60;
  }
}
