import type { FalcoAlert } from '../../../alert/falco-alert.js';
import type { ConfigTree } from '../../config/load.js';
import { sidekickJson } from '../../delivery/format.js';
import { HttpSender } from '../../delivery/http.js';
import type { SendResult, SinkContext, SinkInstance } from '../../delivery/sink.js';

export function encode(a: FalcoAlert): string {
  return sidekickJson(a);
}

export function create(section: ConfigTree, ctx: SinkContext): SinkInstance[] {
  const url = String(section.address);
  const method = String(section.method).toUpperCase() === 'PUT' ? 'PUT' : 'POST';
  const headers = { ...(section.customheaders as Record<string, string>) };
  const http = new HttpSender({
    tls: ctx.tls(section),
    connections: Number(section.maxconcurrentrequests) || 64,
    pipelining: Number(section.pipelining) || 0,
  });
  return [
    {
      name: 'webhook',
      maxBatch: 1,
      send: (batch: FalcoAlert[], signal: AbortSignal): Promise<SendResult> =>
        http.post(url, encode(batch[0]!), signal, headers, method),
      healthcheck: () => http.reachable(url),
      close: () => http.close(),
    },
  ];
}
