/**
 * Relay metrics on a private prom-client registry: Falcosidekick's names (so dashboards keep working)
 * plus per-sink delivery metrics of ours.
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

export interface SinkGaugeSource {
  name: string;
  backlog(): number;
  oldestAgeSeconds(): number;
}

export class RelayMetrics {
  readonly registry = new Registry();
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

  constructor() {
    const r = this.registry;
    collectDefaultMetrics({ register: r });
    this.inputs = new Counter({
      name: 'falcosecurity_falcosidekick_inputs_total',
      help: 'Alerts received, by status (accepted|rejected)',
      labelNames: ['source', 'status'],
      registers: [r],
    });
    this.events = new Counter({
      name: 'falcosecurity_falcosidekick_falco_events_total',
      help: 'Accepted Falco alerts',
      labelNames: ['hostname', 'rule', 'priority', 'priority_raw', 'source', 'k8s_ns_name', 'k8s_pod_name'],
      registers: [r],
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

  addSink(s: SinkGaugeSource): void {
    this.sources.push(s);
  }
}
