import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** The agent's Prometheus metrics (one registry per agent). */
export class AgentMetrics {
  readonly registry = new Registry();
  readonly events = new Counter({
    name: 'peregrine_events_total',
    help: 'Events received, per source',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly eventsSkipped = new Counter({
    name: 'peregrine_events_skipped_total',
    help: 'Events not processed, per source and reason (oversized, invalid)',
    labelNames: ['source', 'reason'] as const,
    registers: [this.registry],
  });
  readonly webhookRequests = new Counter({
    name: 'peregrine_k8s_audit_webhook_requests_total',
    help: 'Audit webhook requests, per HTTP status code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly alerts = new Counter({
    name: 'peregrine_alerts_total',
    help: 'Alerts raised, per rule, priority and source',
    labelNames: ['rule', 'priority', 'source'] as const,
    registers: [this.registry],
  });
  readonly queueDrops = new Counter({
    name: 'peregrine_outputs_queue_drops_total',
    help: 'Alerts dropped because the outputs queue was full',
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'peregrine_outputs_queue_depth',
    help: 'Alerts waiting in the outputs queue',
    registers: [this.registry],
  });
  readonly channelSent = new Counter({
    name: 'peregrine_channel_alerts_sent_total',
    help: 'Alerts delivered, per channel',
    labelNames: ['channel'] as const,
    registers: [this.registry],
  });
  readonly channelErrors = new Counter({
    name: 'peregrine_channel_errors_total',
    help: 'Alerts a channel failed to deliver, per channel',
    labelNames: ['channel'] as const,
    registers: [this.registry],
  });
  readonly ruleEval = new Histogram({
    name: 'peregrine_rule_evaluation_seconds',
    help: 'Time to evaluate the rules on one event, per source',
    labelNames: ['source'] as const,
    buckets: [1e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05],
    registers: [this.registry],
  });
  readonly rulesLoaded = new Gauge({
    name: 'peregrine_rules_loaded',
    help: 'Rules currently loaded',
    registers: [this.registry],
  });
  readonly reloads = new Counter({
    name: 'peregrine_rules_reloads_total',
    help: 'Rule reloads, per result (ok, error)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  constructor() {
    // process_cpu_seconds_total, process_resident_memory_bytes, heap, event loop lag …
    collectDefaultMetrics({ register: this.registry, prefix: '' });
  }
}
