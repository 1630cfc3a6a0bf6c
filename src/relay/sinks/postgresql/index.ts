/** PostgreSQL table of alerts, idempotent by uuid, through one connection pool (ours). */
import type { SinkDefinition } from '../../delivery/sink.js';

export const postgresqlSink: SinkDefinition = {
  name: 'postgresql',
  displayName: 'PostgreSQL',
  defaults: () => ({ url: '', table: 'falco_events', createtable: true }),
  enabled: (s) => s.url !== '',
  batch: 500,
  load: () => import('./sink.js'),
};
