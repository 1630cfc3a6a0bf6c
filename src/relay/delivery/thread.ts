/**
 * Main-thread side of the delivery thread (worker.ts): starts it, forwards its log records, fetches its
 * metrics for `/metrics`, restarts it if it dies (the sinks resume from their saved cursors: at least
 * once), and stops it on close.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../common/log.js';
import { ConfigError } from '../config/load.js';
import type { RelayConfig } from '../config/relay-config.js';
import type { SharedSpoolState } from '../spool/shared.js';
import type { MetricsJson } from './metrics.js';
import type { DeliveryWorkerData, FromWorker, ToWorker } from './worker.js';

/** The worker script: the compiled file, or the TypeScript source when a loader for it is given (tests). */
export function deliveryWorkerScript(): { url: URL; execArgv?: string[] } | undefined {
  const here = import.meta.url;
  if (here.endsWith('.js')) {
    const js = new URL('./worker.js', here);
    return existsSync(fileURLToPath(js)) ? { url: js } : undefined;
  }
  const loader = process.env.PEREGRINE_TS_LOADER;
  if (!loader) return undefined;
  return { url: new URL('./worker.ts', here), execArgv: ['--import', loader] };
}

export class DeliveryThread {
  private worker: Worker | undefined;
  /** The spool's end when the pipelines were started (where new sinks begin), undefined before. */
  private startSeq: number | undefined;
  private closing = false;
  private nextId = 1;
  private readonly metricWaiters = new Map<number, (json: MetricsJson) => void>();
  private readonly loggers = new Map<string, Logger>();
  sinks: string[] = [];
  /** Times the thread died and was started again. */
  restarts = 0;

  private constructor(
    private readonly script: { url: URL; execArgv?: string[] },
    private readonly data: DeliveryWorkerData,
    private readonly log: Logger,
  ) {}

  /** Start the thread and wait until its sinks exist (a bad sink section rejects with ConfigError). */
  static async start(
    config: RelayConfig,
    spoolDir: string,
    shared: SharedSpoolState,
    log: Logger,
    script: { url: URL; execArgv?: string[] },
  ): Promise<DeliveryThread> {
    const t = new DeliveryThread(script, { source: config.source, spoolDir, shared: shared.buffer }, log);
    await t.spawn();
    return t;
  }

  private logger(component: string): Logger {
    let l = this.loggers.get(component);
    if (!l) {
      l = component ? this.log.child(component) : this.log;
      this.loggers.set(component, l);
    }
    return l;
  }

  private spawn(): Promise<void> {
    return new Promise((resolve, reject) => {
      const w = new Worker(this.script.url, {
        workerData: this.data,
        ...(this.script.execArgv ? { execArgv: this.script.execArgv } : {}),
      });
      this.worker = w;
      let ready = false;
      w.on('message', (m: FromWorker) => {
        switch (m.type) {
          case 'ready':
            ready = true;
            this.sinks = m.sinks;
            if (m.warning) this.log.warn(m.warning);
            if (this.startSeq !== undefined) this.send({ type: 'start', startSeq: this.startSeq });
            resolve();
            break;
          case 'fatal':
            if (!ready) reject(m.config ? new ConfigError(m.message) : new Error(m.message));
            else this.log.error('delivery thread failed', { error: m.message });
            break;
          case 'log':
            this.logger(m.component)[m.level](m.msg, m.fields);
            break;
          case 'metrics':
            this.metricWaiters.get(m.id)?.(m.json as MetricsJson);
            this.metricWaiters.delete(m.id);
            break;
          case 'closed':
            break;
        }
      });
      w.on('error', (e) => {
        if (!ready) reject(e);
        else this.log.error('delivery thread error', { error: e.message });
      });
      w.on('exit', (code) => {
        for (const f of this.metricWaiters.values()) f([]);
        this.metricWaiters.clear();
        if (this.worker === w) this.worker = undefined;
        if (!ready) {
          reject(new Error(`delivery thread exited (${code}) before it was ready`));
          return;
        }
        if (this.closing) return;
        this.restarts++;
        this.log.error('delivery thread exited; restarting it (sinks resume from their saved cursors)', {
          code,
        });
        setTimeout(() => {
          if (!this.closing)
            this.spawn().catch((e: Error) =>
              this.log.error('delivery thread restart failed', { error: e.message }),
            );
        }, 1000).unref();
      });
    });
  }

  private send(m: ToWorker): void {
    this.worker?.postMessage(m);
  }

  /** Start the pipelines (once the spool is open); sinks seen for the first time start after `startSeq`. */
  startPipelines(startSeq: number): void {
    this.startSeq = startSeq;
    this.send({ type: 'start', startSeq });
  }

  /** The thread's metrics (prom-client JSON), [] if it does not answer within 2 s. */
  metricsJson(): Promise<MetricsJson> {
    if (!this.worker) return Promise.resolve([]);
    const id = this.nextId++;
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.metricWaiters.delete(id);
        resolve([]);
      }, 2000);
      this.metricWaiters.set(id, (json) => {
        clearTimeout(t);
        resolve(json);
      });
      this.send({ type: 'metrics', id });
    });
  }

  /** Stop the thread abruptly, as a crash would (tests): it is restarted like after a real failure. */
  async kill(): Promise<void> {
    await this.worker?.terminate();
  }

  /** Stop the pipelines (cursors saved, sinks closed), then the thread. */
  async close(timeoutMs = 15_000): Promise<void> {
    this.closing = true;
    const w = this.worker;
    if (!w) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      w.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      w.on('message', (m: FromWorker) => {
        if (m.type === 'closed') {
          clearTimeout(t);
          resolve();
        }
      });
      w.postMessage({ type: 'close' } satisfies ToWorker);
    });
    await w.terminate();
  }
}
