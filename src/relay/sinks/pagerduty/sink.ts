import type { FalcoAlert } from '../../../alert/falco-alert.js';
import type { ConfigTree } from '../../config/load.js';
import { httpSink } from '../../delivery/http.js';
import type { SinkContext, SinkInstance } from '../../delivery/sink.js';

export function endpointFor(region: string): string {
  return region.toLowerCase() === 'eu'
    ? 'https://events.eu.pagerduty.com/v2/enqueue'
    : 'https://events.pagerduty.com/v2/enqueue';
}

/** PagerDuty severities are critical|error|warning|info. */
export function severity(p: string): string {
  if (['Emergency', 'Alert', 'Critical'].includes(p)) return 'critical';
  if (p === 'Error') return 'error';
  if (p === 'Warning') return 'warning';
  return 'info';
}

/** Events API v2 body; `dedup_key` is the alert uuid, so a re-delivery after a crash is merged by PagerDuty. */
export function encode(a: FalcoAlert, routingKey: string): Record<string, unknown> {
  const details: Record<string, unknown> = { ...a.output_fields };
  if (a.hostname) details.hostname = a.hostname;
  if (a.tags?.length) details.tags = a.tags.join(', ');
  if (a.count && a.count > 1) details.count = a.count;
  const body: Record<string, unknown> = {
    routing_key: routingKey,
    event_action: 'trigger',
    payload: {
      summary: (a.output || a.rule).slice(0, 1024),
      source: a.hostname || 'falco',
      severity: severity(a.priority),
      timestamp: a.time,
      component: a.source,
      class: a.rule,
      custom_details: details,
    },
  };
  if (a.uuid) body.dedup_key = a.uuid;
  return body;
}

export function create(section: ConfigTree, ctx: SinkContext): SinkInstance[] {
  const url = String(section.endpoint) || endpointFor(String(section.region));
  const key = String(section.routingkey);
  return [
    httpSink({
      name: 'pagerduty',
      section,
      tls: ctx.tls(section),
      healthUrl: url,
      send: (http, batch, signal) => http.post(url, JSON.stringify(encode(batch[0]!, key)), signal),
    }),
  ];
}
