import type { FalcoAlert } from '../../../alert/falco-alert.js';
import type { ConfigTree } from '../../config/load.js';
import { fieldText, stringFieldKeys } from '../../delivery/format.js';
import { httpSink } from '../../delivery/http.js';
import type { SinkContext, SinkInstance } from '../../delivery/sink.js';

export function alertType(p: string): string {
  if (['Emergency', 'Alert', 'Critical', 'Error'].includes(p)) return 'error';
  if (p === 'Warning') return 'warning';
  return 'info';
}

/** POST /api/v1/events body: title = rule, text = output, tags `k:v` for string fields, source, host, rule tags. */
export function encode(a: FalcoAlert): Record<string, unknown> {
  const tags = stringFieldKeys(a).map((k) => `${k}:${fieldText(a.output_fields[k])}`);
  tags.push(`source:${a.source}`, 'source:falco');
  if (a.hostname) tags.push(`hostname:${a.hostname}`);
  for (const t of a.tags ?? []) tags.push(t);
  return {
    title: a.rule,
    text: a.output ?? '',
    alert_type: alertType(a.priority),
    source_type_name: 'falco',
    tags,
  };
}

export function create(section: ConfigTree, ctx: SinkContext): SinkInstance[] {
  const url = `${String(section.host).replace(/\/$/, '')}/api/v1/events`;
  const headers = { 'dd-api-key': String(section.apikey) };
  return [
    httpSink({
      name: 'datadog',
      section,
      tls: ctx.tls(section),
      healthUrl: url,
      send: (http, batch, signal) => http.post(url, JSON.stringify(encode(batch[0]!)), signal, headers),
    }),
  ];
}
