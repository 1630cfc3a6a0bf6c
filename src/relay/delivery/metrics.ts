/**
 * Relay metrics on a private prom-client registry: Falcosidekick's names (so dashboards keep working)
 * plus per-sink delivery metrics of ours.
 */
import {
  AggregatorRegistry,
  Counter,
  collectDefaultMetrics,
  Gauge,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
} from 'prom-client';
import type { FalcoAlert } from '../../alert/falco-alert.js';

type EventLabel =
  | 'hostname'
  | 'rule'
  | 'priority'
  | 'priority_raw'
  | 'source'
  | 'k8s_ns_name'
  | 'k8s_pod_name';

/** Falcosidekick's `priority` label: 8 for Emergency … 1 for Debug. */
const PRIORITY_LABEL: Record<string, { n: string; raw: string }> = {};
['Emergency', 'Alert', 'Critical', 'Error', 'Warning', 'Notice', 'Informational', 'Debug'].forEach((p, i) => {
  PRIORITY_LABEL[p] = { n: String(8 - i), raw: p.toLowerCase() };
});

/** Label sets kept between scrapes before they are flushed early (bounds memory with many hosts/rules). */
const MAX_PENDING_LABEL_SETS = 10_000;

export interface SinkGaugeSource {
  name: string;
  backlog(): number;
  oldestAgeSeconds(): number;
}

export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/**
 * The relay's registry. With the delivery thread, the per-sink metrics live in that thread's registry:
 * `remote` fetches them, and `/metrics` shows the two merged (counters summed by label set).
 */
export class RelayRegistry extends Registry {
  remote: (() => Promise<MetricsJson>) | undefined;

  override async metrics(): Promise<string> {
    if (!this.remote) return super.metrics();
    const [local, remote] = await Promise.all([
      this.getMetricsAsJSON(),
      this.remote().catch(() => [] as MetricsJson),
    ]);
    return AggregatorRegistry.aggregate([local, remote]).metrics();
  }
}

export class RelayMetrics {
  readonly registry = new RelayRegistry();
  readonly inputs: Counter<'source' | 'status'>;
  readonly events: Counter<
    'hostname' | 'rule' | 'priority' | 'priority_raw' | 'source' | 'k8s_ns_name' | 'k8s_pod_name'
  >;
  readonly outputs: Counter<'destination' | 'status'>;
  readonly delivered: Counter<'sink'>;
  readonly failed: Counter<'sink'>;
  readonly retried: Counter<'sink'>;
  readonly deadlettered: Counter<'sink'>;
  readonly filtered: Counter<'sink'>;
  readonly deduplicated: Counter<'sink'>;
  readonly spoolErrors: Counter;
  private readonly sources: SinkGaugeSource[] = [];
  /**
   * Accepted alerts not yet added to `events`, per label set. The intake counts into this map (one string
   * key, no prom-client label validation or hashing per alert); the counts reach the counter whenever it is
   * collected (scrape, `get()`), so what `/metrics` shows is always complete.
   */
  private pendingEvents = new Map<string, { labels: Record<EventLabel, string>; n: number }>();
  private pendingAccepted = 0;
  /** The label set of the last counted alert and its pending entry (cleared when entries are dropped). */
  private lastEvent:
    | {
        entry: { n: number };
        hostname: string;
        rule: string;
        priorityRaw: string;
        source: string;
        ns: string;
        pod: string;
      }
    | undefined;

  /** `defaultMetrics: false` in the delivery thread: process metrics come from the main thread. */
  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const r = this.registry;
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: r });
    this.inputs = new Counter({
      name: 'falcosecurity_falcosidekick_inputs_total',
      help: 'Alerts received, by status (accepted|rejected)',
      labelNames: ['source', 'status'],
      registers: [r],
      collect: () => this.flushAccepted(),
    });
    this.events = new Counter({
      name: 'falcosecurity_falcosidekick_falco_events_total',
      help: 'Accepted Falco alerts',
      labelNames: ['hostname', 'rule', 'priority', 'priority_raw', 'source', 'k8s_ns_name', 'k8s_pod_name'],
      registers: [r],
      collect: () => this.flushEvents(),
    });
    this.outputs = new Counter({
      name: 'falcosecurity_falcosidekick_outputs_total',
      help: 'Send attempts per output, by status (ok|error)',
      labelNames: ['destination', 'status'],
      registers: [r],
    });
    const c = (name: string, help: string) =>
      new Counter({ name, help, labelNames: ['sink'] as const, registers: [r] });
    this.delivered = c('peregrine_relay_sink_delivered_total', 'Alerts delivered per sink');
    this.failed = c(
      'peregrine_relay_sink_failed_total',
      'Failed send attempts per sink (alerts in the attempt)',
    );
    this.retried = c('peregrine_relay_sink_retried_total', 'Retries scheduled per sink');
    this.deadlettered = c('peregrine_relay_sink_deadlettered_total', 'Alerts moved to the dead-letter file');
    this.filtered = c('peregrine_relay_sink_filtered_total', 'Alerts not routed to the sink by its filters');
    this.deduplicated = c('peregrine_relay_sink_deduplicated_total', 'Alerts collapsed by dedup/throttle');
    this.spoolErrors = new Counter({
      name: 'peregrine_relay_spool_errors_total',
      help: 'Spool append failures (answered 503)',
      registers: [r],
    });
    const sources = this.sources;
    new Gauge({
      name: 'peregrine_relay_sink_backlog',
      help: 'Spooled alerts the sink has not finished yet',
      labelNames: ['sink'],
      registers: [r],
      collect() {
        for (const s of sources) this.set({ sink: s.name }, s.backlog());
      },
    });
    new Gauge({
      name: 'peregrine_relay_sink_oldest_undelivered_seconds',
      help: 'Age of the oldest alert the sink has not delivered (0 when caught up)',
      labelNames: ['sink'],
      registers: [r],
      collect() {
        for (const s of sources) this.set({ sink: s.name }, s.oldestAgeSeconds());
      },
    });
  }

  /** Count `n` alerts accepted from requests (inputs_total{source="requests",status="accepted"}). */
  countAccepted(n: number): void {
    this.pendingAccepted += n;
  }

  /** Count one accepted alert in falco_events_total (Falcosidekick's labels). */
  countEvent(a: FalcoAlert): void {
    const f = a.output_fields;
    const nsv = f['k8s.ns.name'];
    const podv = f['k8s.pod.name'];
    const ns = typeof nsv === 'string' ? nsv : '';
    const pod = typeof podv === 'string' ? podv : '';
    const hostname = a.hostname || 'unknown';
    // consecutive alerts usually share their label set: compare with the last one before building a key
    const last = this.lastEvent;
    if (
      last &&
      last.hostname === hostname &&
      last.rule === a.rule &&
      last.priorityRaw === a.priority &&
      last.source === a.source &&
      last.ns === ns &&
      last.pod === pod
    ) {
      last.entry.n++;
      return;
    }
    const key = `${hostname}\u0000${a.rule}\u0000${a.priority}\u0000${a.source}\u0000${ns}\u0000${pod}`;
    let e = this.pendingEvents.get(key);
    if (e) e.n++;
    else {
      if (this.pendingEvents.size >= MAX_PENDING_LABEL_SETS) this.flushEvents(true);
      const p = PRIORITY_LABEL[a.priority] ?? { n: '0', raw: String(a.priority).toLowerCase() };
      e = {
        labels: {
          hostname,
          rule: a.rule,
          priority: p.n,
          priority_raw: p.raw,
          source: a.source,
          k8s_ns_name: ns,
          k8s_pod_name: pod,
        },
        n: 1,
      };
      this.pendingEvents.set(key, e);
    }
    this.lastEvent = { entry: e, hostname, rule: a.rule, priorityRaw: a.priority, source: a.source, ns, pod };
  }

  private flushEvents(drop = false): void {
    for (const e of this.pendingEvents.values()) {
      if (e.n > 0) this.events.inc(e.labels, e.n);
      e.n = 0;
    }
    if (drop) {
      this.pendingEvents.clear();
      this.lastEvent = undefined;
    }
  }

  private flushAccepted(): void {
    if (this.pendingAccepted > 0)
      this.inputs.inc({ source: 'requests', status: 'accepted' }, this.pendingAccepted);
    this.pendingAccepted = 0;
  }

  addSink(s: SinkGaugeSource): void {
    this.sources.push(s);
  }
}
