import type { FalcoAlert } from '../../../alert/falco-alert.js';
import type { ConfigTree } from '../../config/load.js';
import { sidekickPayload } from '../../delivery/format.js';
import { httpSink } from '../../delivery/http.js';
import type { SinkContext, SinkInstance } from '../../delivery/sink.js';

export function webuiEndpoint(base: string): string {
  const b = base.replace(/\/+$/, '');
  return b.endsWith('/api/v1/events/add') ? b : `${b}/api/v1/events/add`;
}

export const encode = (a: FalcoAlert, outputs: string[]): string =>
  JSON.stringify({ event: sidekickPayload(a), outputs });

export function create(section: ConfigTree, ctx: SinkContext): SinkInstance[] {
  const url = webuiEndpoint(String(section.url));
  return [
    httpSink({
      name: 'webui',
      section,
      tls: ctx.tls(section),
      healthUrl: url,
      send: (http, batch, signal) => http.post(url, encode(batch[0]!, ctx.enabledOutputs), signal),
    }),
  ];
}
