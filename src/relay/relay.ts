/**
 * The relay runtime: intake servers → spool → one delivery pipeline per sink.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { FalcoAlert } from '../alert/falco-alert.js';
import { createLogger, type Logger } from '../common/log.js';
import { JetStreamBus } from './bus/jetstream.js';
import { ConfigError } from './config/load.js';
import { type RelayConfig, readConfigFile } from './config/relay-config.js';
import { DeliveryHost } from './delivery/host.js';
import { RelayMetrics } from './delivery/metrics.js';
import type { CursorLike, SinkPipeline } from './delivery/pipeline.js';
import { DeliveryThread, deliveryWorkerScript } from './delivery/thread.js';
import { createIntakeHandler } from './intake/server.js';
import { CursorStore, DeadLetter } from './spool/cursor.js';
import { SharedSpoolState } from './spool/shared.js';
import { Spool } from './spool/spool.js';

export interface RelayOptions {
  log?: Logger;
}

export class Relay {
  readonly metrics = new RelayMetrics();
  spool: Spool | undefined;
  /** The shared JetStream bus when `bus.type: jetstream` (then there is no local spool). */
  bus: JetStreamBus | undefined;
  /** Sinks and pipelines on this thread (bus mode, or `delivery.workerthread: false`). */
  private host: DeliveryHost | undefined;
  /** The delivery thread running the sinks (local spool, `delivery.workerthread: true`). */
  thread: DeliveryThread | undefined;
  private shared: SharedSpoolState | undefined;
  private spoolOpenError: string | undefined;
  private servers: http.Server[] = [];
  private timers: NodeJS.Timeout[] = [];
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
    try {
      await r.init();
    } catch (e) {
      await r.close().catch(() => undefined);
      throw e;
    }
    return r;
  }

  get spoolDir(): string {
    return resolve(this.config.spool.dir);
  }

  /** The pipelines running on this thread (none when the delivery thread runs them). */
  get pipelines(): SinkPipeline[] {
    return this.host?.pipelines ?? [];
  }

  private async init(): Promise<void> {
    for (const w of this.config.warnings) this.log.warn(w);
    const bc = this.config.bus;
    if (bc.type === 'jetstream') {
      const busScript = this.config.delivery.workerThread ? deliveryWorkerScript() : undefined;
      if (busScript) {
        // this thread publishes; the delivery thread has its own connection and the sinks' consumers,
        // created before it reports ready (so before the intake listens)
        try {
          this.bus = await JetStreamBus.open(bc, this.log.child('bus'));
        } catch (e) {
          throw new ConfigError((e as Error).message);
        }
        this.shared = new SharedSpoolState();
        try {
          this.thread = await DeliveryThread.start(
            this.config,
            this.spoolDir,
            this.shared,
            this.log,
            busScript,
          );
        } catch (e) {
          await this.bus.close();
          throw e;
        }
        const thread = this.thread;
        this.metrics.registry.remote = () => thread.metricsJson();
        this.pipelinesStarted = true;
        await this.listen();
        return;
      }
      this.host = await DeliveryHost.create(this.config, this.metrics, this.log);
      try {
        this.bus = await JetStreamBus.open(bc, this.log.child('bus'));
      } catch (e) {
        throw new ConfigError((e as Error).message);
      }
      // dead letters stay local (spool.dir/deadletter); cursors are the consumers' acks
      this.deadLetter = new DeadLetter(this.spoolDir);
      const acks: CursorLike = { load: () => 0, save: async () => undefined, saveSync: () => undefined };
      const bus = this.bus;
      await this.host.start((name) => bus.source(name), acks, this.deadLetter);
      this.pipelinesStarted = true;
      await this.listen();
      return;
    }
    const script = this.config.delivery.workerThread ? deliveryWorkerScript() : undefined;
    if (script) {
      this.shared = new SharedSpoolState();
      this.thread = await DeliveryThread.start(this.config, this.spoolDir, this.shared, this.log, script);
      const thread = this.thread;
      this.metrics.registry.remote = () => thread.metricsJson();
    } else {
      if (this.config.delivery.workerThread)
        this.log.debug('delivery thread script not available; sinks run on the main thread');
      this.host = await DeliveryHost.create(this.config, this.metrics, this.log);
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
        // with the delivery thread, recent records are kept there (SpoolTail), not twice
        memoryRecords: this.shared ? 0 : this.config.spool.memoryRecords,
      });
      spool.open();
      const shared = this.shared;
      if (shared) {
        spool.onPublish = (visible, last) => shared.publish(visible, last);
        shared.publish(spool.visibleSeq, spool.lastSeq);
      }
      this.spool = spool;
      this.spoolOpenError = undefined;
      this.startPipelines();
    } catch (e) {
      this.spoolOpenError = (e as Error).message;
    }
  }

  private startPipelines(): void {
    if (this.pipelinesStarted) return;
    this.pipelinesStarted = true;
    if (this.thread) {
      this.thread.startPipelines(this.spool!.lastSeq);
      return;
    }
    const spool = this.spool!;
    this.deadLetter = new DeadLetter(this.spoolDir);
    void this.host!.start(() => spool, new CursorStore(this.spoolDir), this.deadLetter);
  }

  private async gc(): Promise<void> {
    if (!this.spool) return;
    const min = this.shared ? this.shared.minCursor : this.host!.minCursor(this.spool.lastSeq);
    if (min < 0) return; // the delivery thread has not reported yet
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
    await this.thread?.close();
    await this.host?.close();
    this.spool?.close();
    this.shared?.close();
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
