import type { FalcoAlert } from '../../../alert/falco-alert.js';
import type { ConfigTree } from '../../config/load.js';
import { fieldText, stringFieldKeys } from '../../delivery/format.js';
import { httpSink } from '../../delivery/http.js';
import type { SinkContext, SinkInstance } from '../../delivery/sink.js';

export function endpointFor(region: string): string {
  return region.toLowerCase() === 'eu'
    ? 'https://api.eu.opsgenie.com/v2/alerts'
    : 'https://api.opsgenie.com/v2/alerts';
}

export function opsgeniePriority(p: string): string {
  if (p === 'Emergency' || p === 'Alert') return 'P1';
  if (p === 'Critical') return 'P2';
  if (p === 'Error') return 'P3';
  if (p === 'Warning') return 'P4';
  return 'P5';
}

/** Create-alert body. The API caps `message` at 130 characters; `alias` = uuid dedupes re-deliveries. */
export function encode(a: FalcoAlert): Record<string, unknown> {
  const details: Record<string, string> = {};
  for (const k of stringFieldKeys(a)) details[k.replaceAll('.', '_')] = fieldText(a.output_fields[k]);
  details.source = a.source;
  details.rule = a.rule;
  details.priority = a.priority;
  if (a.hostname) details.hostname = a.hostname;
  if (a.tags?.length) details.tags = a.tags.join(', ');
  const body: Record<string, unknown> = {
    message: (a.output || a.rule).slice(0, 130),
    entity: 'Falcosidekick',
    description: a.rule,
    details,
    priority: opsgeniePriority(a.priority),
  };
  if (a.uuid) body.alias = a.uuid;
  return body;
}

export function create(section: ConfigTree, ctx: SinkContext): SinkInstance[] {
  const url = String(section.endpoint) || endpointFor(String(section.region));
  const headers = { authorization: `GenieKey ${String(section.apikey)}` };
  return [
    httpSink({
      name: 'opsgenie',
      section,
      tls: ctx.tls(section),
      healthUrl: url,
      send: (http, batch, signal) => http.post(url, JSON.stringify(encode(batch[0]!)), signal, headers),
    }),
  ];
}
