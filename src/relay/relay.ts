/**
 * The relay runtime: intake servers → spool → one delivery pipeline per sink.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { rootCertificates } from 'node:tls';
import type { FalcoAlert } from '../alert/falco-alert.js';
import { createLogger, type Logger } from '../common/log.js';
import { JetStreamBus } from './bus/jetstream.js';
import { ConfigError, type ConfigTree } from './config/load.js';
import { type RelayConfig, readConfigFile } from './config/relay-config.js';
import { RelayMetrics } from './delivery/metrics.js';
import { type CursorLike, type RecordSource, SinkPipeline } from './delivery/pipeline.js';
import type { SinkContext } from './delivery/sink.js';
import { createIntakeHandler } from './intake/server.js';
import { CursorStore, DeadLetter } from './spool/cursor.js';
import { Spool } from './spool/spool.js';

export interface RelayOptions {
  log?: Logger;
}

export class Relay {
  readonly metrics = new RelayMetrics();
  readonly pipelines: SinkPipeline[] = [];
  spool: Spool | undefined;
  /** The shared JetStream bus when `bus.type: jetstream` (then there is no local spool). */
  bus: JetStreamBus | undefined;
  private spoolOpenError: string | undefined;
  private servers: http.Server[] = [];
  private timers: NodeJS.Timeout[] = [];
  private cursors: CursorStore | undefined;
  private deadLetter: DeadLetter | undefined;
  private pipelinesStarted = false;
  private readonly log: Logger;

  private constructor(
    readonly config: RelayConfig,
    opts: RelayOptions,
  ) {
    this.log = opts.log ?? createLogger('relay');
  }

  static async start(config: RelayConfig, opts: RelayOptions = {}): Promise<Relay> {
    const r = new Relay(config, opts);
    await r.init();
    return r;
  }

  get spoolDir(): string {
    return resolve(this.config.spool.dir);
  }

  private async init(): Promise<void> {
    for (const w of this.config.warnings) this.log.warn(w);
    await this.createPipelines();
    const bc = this.config.bus;
    if (bc.type === 'jetstream') {
      try {
        this.bus = await JetStreamBus.open(bc, this.log.child('bus'));
      } catch (e) {
        throw new ConfigError((e as Error).message);
      }
      // dead letters stay local (spool.dir/deadletter); cursors are the consumers' acks
      this.deadLetter = new DeadLetter(this.spoolDir);
      const acks: CursorLike = { load: () => 0, save: async () => undefined, saveSync: () => undefined };
      for (const p of this.pending) {
        const pipeline = p.make(await this.bus.source(p.name), acks);
        this.pipelines.push(pipeline);
      }
      this.pending = [];
      this.pipelinesStarted = true;
      for (const p of this.pipelines) p.start();
      await this.listen();
      return;
    }
    this.tryOpenSpool();
    if (!this.spool) {
      this.log.error('spool unavailable; answering 503 until it can be opened', {
        dir: this.spoolDir,
        error: this.spoolOpenError,
      });
      this.timers.push(
        setInterval(() => {
          if (!this.spool) this.tryOpenSpool();
        }, 1000),
      );
    }
    this.timers.push(setInterval(() => void this.gc(), 1000));
    await this.listen();
  }

  private tryOpenSpool(): void {
    try {
      const spool = new Spool(this.spoolDir, {
        segmentBytes: this.config.spool.segmentBytes,
        memoryRecords: this.config.spool.memoryRecords,
      });
      spool.open();
      this.cursors = new CursorStore(this.spoolDir);
      this.deadLetter = new DeadLetter(this.spoolDir);
      this.spool = spool;
      this.spoolOpenError = undefined;
      this.startPipelines();
    } catch (e) {
      this.spoolOpenError = (e as Error).message;
    }
  }

  private pending: Array<{ name: string; make: (src: RecordSource, cur: CursorLike) => SinkPipeline }> = [];

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

  private async createPipelines(): Promise<void> {
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
        this.pending.push({
          name: inst.name,
          make: (src, cur) =>
            new SinkPipeline(
              inst,
              src,
              cur,
              this.deadLetter!,
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

  private startPipelines(): void {
    if (this.pipelinesStarted) return;
    this.pipelinesStarted = true;
    for (const { make } of this.pending) {
      const p = make(this.spool!, this.cursors!);
      this.pipelines.push(p);
      p.start();
    }
    this.pending = [];
  }

  private async gc(): Promise<void> {
    if (!this.spool) return;
    const min = this.pipelines.length ? Math.min(...this.pipelines.map((p) => p.cursor)) : this.spool.lastSeq;
    try {
      await this.spool.gc(min);
    } catch (e) {
      this.log.warn('spool gc failed', { error: (e as Error).message });
    }
  }

  spoolProblem(): string | undefined {
    if (this.bus) return this.bus.problem();
    if (!this.spool) return this.spoolOpenError ?? 'not open';
    return undefined;
  }

  private async listen(): Promise<void> {
    const cfg = this.config;
    const handlerDeps = {
      enrichment: {
        customFields: cfg.customFields,
        customTags: cfg.customTags,
        templatedFields: cfg.templatedFields,
        bracketReplacer: cfg.bracketReplacer,
        outputFieldFormat: cfg.outputFieldFormat,
      },
      maxBodyBytes: cfg.maxBodyBytes,
      bearerToken: cfg.bearerToken,
      metrics: this.metrics,
      log: this.log.child('intake'),
      debug: cfg.debug,
      append: async (jsons: string[], uuids: string[], alerts?: FalcoAlert[]) => {
        if (this.bus) await this.bus.append(jsons, uuids);
        else await this.spool!.append(jsons, Date.now(), alerts);
      },
      spoolProblem: () => this.spoolProblem(),
    };
    const t = cfg.tlsServer;
    const host = cfg.listenAddress || undefined;
    let main: http.Server;
    if (t.deploy) {
      const noTls = new Set(t.notlspaths);
      const tlsPaths = noTls.size
        ? new Set(['/', '/ping', '/healthz', '/test', '/metrics'].filter((p) => !noTls.has(p)))
        : undefined;
      // With notlspaths, those paths are served only by the plain server; every other path stays on TLS.
      const handler = createIntakeHandler(handlerDeps);
      const tlsHandler = tlsPaths
        ? (req: http.IncomingMessage, res: http.ServerResponse) => {
            const p = (req.url ?? '/').split('?')[0]!;
            if (noTls.has(p)) {
              res.writeHead(404).end();
              req.resume();
              return;
            }
            void handler(req, res);
          }
        : (req: http.IncomingMessage, res: http.ServerResponse) => void handler(req, res);
      main = https.createServer(
        {
          cert: readConfigFile('tlsserver.certfile', t.certfile),
          key: readConfigFile('tlsserver.keyfile', t.keyfile),
          minVersion: 'TLSv1.2',
          ...(t.mutualtls
            ? {
                requestCert: true,
                rejectUnauthorized: true,
                ca: readConfigFile('tlsserver.cacertfile', t.cacertfile),
              }
            : {}),
        },
        tlsHandler,
      );
      if (noTls.size) {
        const plain = http.createServer((req, res) => void createIntakeHandler(handlerDeps, noTls)(req, res));
        await listenOn(plain, t.notlsport, host);
        this.servers.push(plain);
      } else {
        this.log.warn(
          'tlsserver.deploy is true and tlsserver.notlspaths is empty: every path is served over TLS',
        );
      }
    } else {
      const handler = createIntakeHandler(handlerDeps);
      main = http.createServer((req, res) => void handler(req, res));
    }
    main.keepAliveTimeout = 65_000;
    main.requestTimeout = 60_000;
    await listenOn(main, cfg.listenPort, host);
    this.servers.unshift(main);
    this.log.info('relay listening', {
      address: `${t.deploy ? 'https' : 'http'}://${host ?? '0.0.0.0'}:${this.port}`,
      sinks: this.config.sinks.map((s) => s.def.name).join(',') || '(none)',
      spool: this.spoolDir,
    });
  }

  /** Port of the main intake server. */
  get port(): number {
    return (this.servers[0]!.address() as AddressInfo).port;
  }

  /** Port of the plain-HTTP server for tlsserver.notlspaths (if any). */
  get noTlsPort(): number | undefined {
    const s = this.servers[1];
    return s ? (s.address() as AddressInfo).port : undefined;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((r) => {
            s.close(() => r());
            s.closeAllConnections();
          }),
      ),
    );
    await Promise.all(this.pipelines.map((p) => p.close()));
    this.spool?.close();
    await this.bus?.close();
  }
}

function listenOn(server: http.Server, port: number, host: string | undefined): Promise<void> {
  return new Promise((resolveP, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new ConfigError(`cannot listen on ${host ?? '0.0.0.0'}:${port}: ${e.code ?? e.message}`)),
    );
    server.listen(port, host, () => resolveP());
  });
}
