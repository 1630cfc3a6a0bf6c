/**
 * The sinks and their delivery pipelines, built from the relay config: created once (so configuration
 * errors of a sink surface at start), started against a record source (the spool, its tail in the
 * delivery thread, or the JetStream bus). Runs on the relay's main thread or in the delivery thread.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { Logger } from '../../common/log.js';
import { ConfigError, type ConfigTree } from '../config/load.js';
import { type RelayConfig, readConfigFile } from '../config/relay-config.js';
import type { DeadLetter } from '../spool/cursor.js';
import type { RelayMetrics } from './metrics.js';
import { type CursorLike, type RecordSource, SinkPipeline } from './pipeline.js';
import type { SinkContext, SinkInstance } from './sink.js';

interface PendingSink {
  name: string;
  make: (src: RecordSource, cur: CursorLike, dl: DeadLetter) => SinkPipeline;
  instance: SinkInstance;
}

export class DeliveryHost {
  readonly pipelines: SinkPipeline[] = [];
  private sinks: PendingSink[] = [];
  private started = false;

  private constructor(
    private readonly config: RelayConfig,
    private readonly metrics: RelayMetrics,
    private readonly log: Logger,
  ) {}

  /** Create every configured sink (throws ConfigError for a bad sink section). */
  static async create(config: RelayConfig, metrics: RelayMetrics, log: Logger): Promise<DeliveryHost> {
    const h = new DeliveryHost(config, metrics, log);
    await h.createSinks();
    return h;
  }

  get sinkNames(): string[] {
    return this.sinks.map((s) => s.name);
  }

  private sinkContext(): SinkContext {
    const c = this.config.clientTls;
    let extraCa: Buffer | undefined;
    if (c.cacertfile) {
      try {
        extraCa = readFileSync(c.cacertfile);
      } catch {
        this.log.warn('tlsclient.cacertfile unreadable, using system CAs only', { file: c.cacertfile });
      }
    }
    const ca = extraCa ? Buffer.from(`${rootCertificates.join('\n')}\n${extraCa.toString()}`) : undefined;
    return {
      log: this.log.child('sink'),
      enabledOutputs: this.config.sinks.map((s) => s.def.displayName),
      customFieldNames: [...Object.keys(this.config.customFields), ...this.config.templatedFields.keys()],
      tls: (section: ConfigTree) => {
        if (section.mutualtls === true) {
          return {
            rejectUnauthorized: true,
            cert: readConfigFile('mutualtlsclient.certfile', c.certfile),
            key: readConfigFile('mutualtlsclient.keyfile', c.keyfile),
            ca: readConfigFile('mutualtlsclient.cacertfile', c.mutualcacertfile),
          };
        }
        return { rejectUnauthorized: section.checkcert !== false, ca };
      },
    };
  }

  private async createSinks(): Promise<void> {
    const ctx = this.sinkContext();
    const d = this.config.delivery;
    for (const s of this.config.sinks) {
      const mod = await s.def.load();
      let instances: Awaited<ReturnType<typeof mod.create>>;
      try {
        instances = await mod.create(s.section, ctx);
      } catch (e) {
        if (e instanceof ConfigError) throw e;
        throw new ConfigError(`${s.def.name}: ${(e as Error).message}`);
      }
      for (const inst of instances) {
        this.sinks.push({
          name: inst.name,
          instance: inst,
          make: (src, cur, dl) =>
            new SinkPipeline(
              inst,
              src,
              cur,
              dl,
              { minimumPriority: s.minimumPriority, rules: s.rules, tags: s.tags, sources: s.sources },
              {
                initialBackoffMs: d.initialBackoffMs,
                maxBackoffMs: d.maxBackoffMs,
                maxAttempts: d.maxAttempts,
                maxAgeMs: d.maxAgeMs,
                timeoutMs: d.timeoutMs,
                batchSize: Math.max(1, inst.maxBatch),
                concurrency: s.concurrency,
                dedupWindowMs: s.dedupWindowMs,
                dedupFields: s.dedupFields,
                destination: s.def.name,
              },
              this.metrics,
              this.log.child(inst.name),
            ),
        });
        inst.healthcheck().then(
          () => this.log.info('sink ready', { sink: inst.name }),
          (e: Error) =>
            this.log.warn('sink healthcheck failed (alerts wait in the spool)', {
              sink: inst.name,
              error: e.message,
            }),
        );
      }
    }
  }

  /** Start one pipeline per sink. `source(name)` gives each sink its record source. */
  async start(
    source: (sink: string) => RecordSource | Promise<RecordSource>,
    cursors: CursorLike,
    deadLetter: DeadLetter,
  ): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const s of this.sinks) {
      const p = s.make(await source(s.name), cursors, deadLetter);
      this.pipelines.push(p);
      p.start();
    }
  }

  /** Lowest delivered-through sequence number over the sinks (`fallback` without sinks). */
  minCursor(fallback: number): number {
    return this.pipelines.length ? Math.min(...this.pipelines.map((p) => p.cursor)) : fallback;
  }

  /** Stop the pipelines (cursors saved) and close the sinks; sinks never started are closed too. */
  async close(): Promise<void> {
    await Promise.all(this.pipelines.map((p) => p.close()));
    if (!this.started) await Promise.all(this.sinks.map((s) => s.instance.close().catch(() => undefined)));
  }
}
