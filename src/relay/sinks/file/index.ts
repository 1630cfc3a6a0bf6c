/** file: appends one alert JSON per line to a file (ours); `fsync: true` flushes each batch to disk. */
import type { SinkDefinition } from '../../delivery/sink.js';

export const fileSink: SinkDefinition = {
  name: 'file',
  displayName: 'File',
  defaults: () => ({ path: '', format: 'json', fsync: false }),
  enabled: (s) => typeof s.path === 'string' && s.path !== '',
  batch: 256,
  load: () => import('./sink.js'),
};
