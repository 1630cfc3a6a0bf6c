import type { FalcoAlert } from '../../../alert/falco-alert.js';
import { alertToJson } from '../../../alert/falco-alert.js';
import { ConfigError, type ConfigTree } from '../../config/load.js';
import { httpSink } from '../../delivery/http.js';
import type { SinkContext, SinkInstance } from '../../delivery/sink.js';

/** The console's ingest endpoint for a base URL (a URL already ending in the path is kept). */
export function consoleEndpoint(base: string): string {
  const b = base.replace(/\/+$/, '');
  return b.endsWith('/api/v2/events') ? b : `${b}/api/v2/events`;
}

/** Body: a JSON array of Falco alerts (Falco's key order), uuid included so the console stores each once. */
export const encode = (batch: FalcoAlert[]): string => `[${batch.map(alertToJson).join(',')}]`;

export function create(section: ConfigTree, ctx: SinkContext): SinkInstance[] {
  const url = consoleEndpoint(String(section.url));
  const token = String(section.token);
  if (!token) throw new ConfigError('console.token is required (create an ingest token in the console)');
  const headers = { authorization: `Bearer ${token}` };
  return [
    httpSink({
      name: 'console',
      section,
      tls: ctx.tls(section),
      maxBatch: Number(section.batchsize),
      healthUrl: url,
      send: (http, batch, signal) => http.post(url, encode(batch), signal, headers),
    }),
  ];
}
