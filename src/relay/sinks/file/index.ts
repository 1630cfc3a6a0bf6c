/** file: appends one alert JSON per line to a file (ours), fsynced per batch. */
import type { SinkDefinition } from '../../delivery/sink.js';

export const fileSink: SinkDefinition = {
  name: 'file',
  displayName: 'File',
  defaults: () => ({ path: '', format: 'json', fsync: true }),
  enabled: (s) => typeof s.path === 'string' && s.path !== '',
  batch: 256,
  load: () => import('./sink.js'),
};
