import { randomUUID } from 'node:crypto';
import type { FalcoAlert } from '../../../alert/falco-alert.js';
import type { ConfigTree } from '../../config/load.js';
import { sidekickJson } from '../../delivery/format.js';
import { httpSink } from '../../delivery/http.js';
import type { SinkContext, SinkInstance } from '../../delivery/sink.js';

/** Binary mode: attributes as `ce-*` headers, the alert JSON as the body. `ce-id` is the alert uuid. */
export function encode(
  a: FalcoAlert,
  extensions: Record<string, string>,
): { headers: Record<string, string>; body: string } {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'ce-specversion': '1.0',
    'ce-id': a.uuid ?? randomUUID(),
    'ce-source': 'https://falco.org',
    'ce-type': 'falco.rule.output.v1',
    'ce-time': a.time,
    'ce-priority': a.priority,
    'ce-rule': a.rule,
    'ce-eventsource': a.source,
  };
  if (a.hostname) headers['ce-hostname'] = a.hostname;
  for (const [k, v] of Object.entries(extensions))
    headers[`ce-${k.toLowerCase().replace(/[^a-z0-9]/g, '')}`] = v;
  return { headers, body: sidekickJson(a) };
}

export function create(section: ConfigTree, ctx: SinkContext): SinkInstance[] {
  const url = String(section.address);
  const ext = section.extensions as Record<string, string>;
  return [
    httpSink({
      name: 'cloudevents',
      section,
      tls: ctx.tls(section),
      healthUrl: url,
      send: (http, batch, signal) => {
        const e = encode(batch[0]!, ext);
        return http.post(url, e.body, signal, e.headers);
      },
    }),
  ];
}
