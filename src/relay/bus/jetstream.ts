/**
 * The scale-out bus: relay replicas share one NATS JetStream stream instead of each keeping a local spool.
 *
 * - Intake: every accepted alert is published to the stream with `Nats-Msg-Id` = its uuid, and the relay
 *   answers 200 only after JetStream acknowledged every publish of the request (stored on the stream's
 *   replicas). A failed or timed-out publish answers 503 (the sender retries: a duplicate at worst).
 * - Delivery: each sink has one durable pull consumer (`peregrine_<sink>`) shared by every replica, so the
 *   sink workers of all replicas form a consumer group: each alert goes to one replica's worker for that
 *   sink. A message is acknowledged only once delivered, dead-lettered or filtered out; messages held by a
 *   replica that dies are redelivered to the others after `bus.nats.ackwait`. Workers that are still
 *   retrying a message send "in progress" so it is not redelivered elsewhere meanwhile.
 * - The stream uses interest retention: a message is removed once every sink's consumer acknowledged it
 *   (and after `bus.nats.maxage` in any case).
 */
import {
  AckPolicy,
  type ConsumerMessages,
  connect,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
  nanos,
  RetentionPolicy,
  StorageType,
} from 'nats';
import type { FalcoAlert } from '../../alert/falco-alert.js';
import type { Logger } from '../../common/log.js';
import type { BusConfig } from '../config/relay-config.js';
import { type SpoolRecord, SpoolUnavailable } from '../spool/spool.js';

type JsConfig = Extract<BusConfig, { type: 'jetstream' }>;

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Durable consumer name of a sink (`alertmanager_0` → `peregrine_alertmanager_0`). */
export const consumerName = (sink: string) => `peregrine_${sink.replace(/[^A-Za-z0-9_-]/g, '_')}`;

export class JetStreamBus {
  private connected = true;
  private readonly sources: JetStreamSource[] = [];

  private constructor(
    readonly cfg: JsConfig,
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly log: Logger,
  ) {
    void (async () => {
      for await (const st of nc.status()) {
        if (st.type === 'disconnect') this.connected = false;
        else if (st.type === 'reconnect') this.connected = true;
        log.debug('nats status', { type: st.type });
      }
    })();
  }

  /** Connect and make sure the stream exists. Throws with a message naming the key on failure. */
  static async open(cfg: JsConfig, log: Logger): Promise<JetStreamBus> {
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: cfg.servers.map((s) => s.replace(/^nats:\/\//, '')),
        name: 'peregrine-relay-bus',
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        user: cfg.user || undefined,
        pass: cfg.password || undefined,
        token: cfg.token || undefined,
      });
    } catch (e) {
      throw new Error(`bus.nats.url: cannot connect to ${cfg.servers.join(',')}: ${(e as Error).message}`);
    }
    const jsm = await nc.jetstreamManager();
    try {
      await jsm.streams.info(cfg.stream);
    } catch {
      try {
        await jsm.streams.add({
          name: cfg.stream,
          subjects: [cfg.subject],
          retention: RetentionPolicy.Interest,
          storage: StorageType.File,
          num_replicas: cfg.replicas,
          max_age: nanos(cfg.maxAgeMs),
          duplicate_window: nanos(2 * 60_000),
        });
        log.info('created JetStream stream', { stream: cfg.stream, subject: cfg.subject });
      } catch (e) {
        // another replica may have created it at the same moment
        await jsm.streams.info(cfg.stream).catch(() => {
          throw new Error(`bus.nats.stream: cannot create ${cfg.stream}: ${(e as Error).message}`);
        });
      }
    }
    return new JetStreamBus(cfg, nc, nc.jetstream(), jsm, log);
  }

  /** undefined when alerts can be accepted, else why not (the intake answers 503). */
  problem(): string | undefined {
    if (this.nc.isClosed()) return 'nats connection closed';
    return this.connected ? undefined : 'nats disconnected (reconnecting)';
  }

  /** Publish every alert of a request; resolves once JetStream acknowledged all of them. */
  async append(jsons: string[], uuids: string[]): Promise<void> {
    try {
      await Promise.all(
        jsons.map((j, i) =>
          this.js.publish(this.cfg.subject, enc.encode(j), {
            msgID: uuids[i],
            timeout: this.cfg.publishTimeoutMs,
          }),
        ),
      );
    } catch (e) {
      throw new SpoolUnavailable(`JetStream publish failed: ${(e as Error).message}`);
    }
  }

  /**
   * Create (or join) the sink's durable consumer. Called before the intake listens, so every alert this
   * replica acknowledges is already covered by each of its sinks' consumers.
   */
  async source(sink: string): Promise<JetStreamSource> {
    const name = consumerName(sink);
    const config = {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(this.cfg.ackWaitMs),
      max_ack_pending: this.cfg.maxAckPending,
      // a sink seen for the first time starts with new alerts, as with the spool
      deliver_policy: DeliverPolicy.New,
      filter_subject: this.cfg.subject,
    };
    try {
      await this.jsm.consumers.info(this.cfg.stream, name);
    } catch {
      try {
        await this.jsm.consumers.add(this.cfg.stream, config);
      } catch (e) {
        await this.jsm.consumers.info(this.cfg.stream, name).catch(() => {
          throw new Error(`bus: cannot create consumer ${name}: ${(e as Error).message}`);
        });
      }
    }
    const src = new JetStreamSource(this.js, this.cfg, name, this.log.child(name));
    this.sources.push(src);
    return src;
  }

  async close(): Promise<void> {
    for (const s of this.sources) s.close();
    await this.nc.drain().catch(() => this.nc.close());
  }
}

/**
 * One sink's view of the stream, shaped like the spool's reader interface for the delivery pipeline:
 * messages get local, increasing sequence numbers in arrival order; `advance(n)` acknowledges every
 * message up to n (the pipeline calls it when its cursor moves, i.e. when they are finished).
 */
export class JetStreamSource {
  visibleSeq = 0;
  /** Received, not yet read records: `buf[bufHead…]`. */
  private buf: SpoolRecord[] = [];
  private bufHead = 0;
  private readonly held = new Map<number, JsMsg>();
  private waiters: Array<() => void> = [];
  private messages: ConsumerMessages | undefined;
  private closed = false;
  private readonly beat: NodeJS.Timeout;

  constructor(
    private readonly js: JetStreamClient,
    private readonly cfg: JsConfig,
    private readonly consumer: string,
    private readonly log: Logger,
  ) {
    // keep messages that are still being worked on (retries, slow sinks) from being redelivered elsewhere
    this.beat = setInterval(
      () => {
        for (const m of this.held.values()) m.working();
      },
      Math.max(500, Math.floor(cfg.ackWaitMs / 3)),
    );
    this.beat.unref();
    void this.run();
  }

  /** Everything received is stored on the stream: durable = visible. */
  get lastSeq(): number {
    return this.visibleSeq;
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      try {
        const c = await this.js.consumers.get(this.cfg.stream, this.consumer);
        this.messages = await c.consume({ max_messages: 512 });
        for await (const m of this.messages) {
          const seq = ++this.visibleSeq;
          this.held.set(seq, m);
          this.buf.push({
            seq,
            receivedAt: Math.floor(m.info.timestampNanos / 1e6),
            json: dec.decode(m.data),
          });
          const w = this.waiters;
          this.waiters = [];
          for (const f of w) f();
        }
      } catch (e) {
        if (this.closed) return;
        this.log.warn('consumer stopped, resubscribing', { error: (e as Error).message });
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  async read(afterSeq: number, max: number): Promise<SpoolRecord[]> {
    while (this.bufHead < this.buf.length && this.buf[this.bufHead]!.seq <= afterSeq) this.bufHead++;
    if (this.bufHead > 4096 && this.bufHead * 2 > this.buf.length) {
      this.buf = this.buf.slice(this.bufHead);
      this.bufHead = 0;
    }
    return this.buf.slice(this.bufHead, this.bufHead + max);
  }

  waitFor(afterSeq: number): Promise<void> {
    if (this.visibleSeq > afterSeq || this.closed) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  parsed(rec: SpoolRecord): FalcoAlert {
    return JSON.parse(rec.json) as FalcoAlert;
  }

  peekReceivedAt(afterSeq: number): number | undefined {
    for (let i = this.bufHead; i < this.buf.length; i++)
      if (this.buf[i]!.seq > afterSeq) return this.buf[i]!.receivedAt;
    return undefined;
  }

  /** Acknowledge every held message up to `through` (delivered, dead-lettered or filtered out). */
  advance(through: number): void {
    for (const [seq, m] of this.held) {
      if (seq > through) break;
      m.ack();
      this.held.delete(seq);
    }
  }

  close(): void {
    this.closed = true;
    clearInterval(this.beat);
    this.messages?.stop();
    // unfinished messages go back to the stream at once for the other replicas (no ackwait delay)
    for (const m of this.held.values()) m.nak();
    this.held.clear();
    for (const w of this.waiters) w();
    this.waiters = [];
  }
}
