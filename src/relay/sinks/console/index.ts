/** The peregrine console: token-authenticated batch ingest at `<url>/api/v2/events` (ours). */
import type { SinkDefinition } from '../../delivery/sink.js';

export const consoleSink: SinkDefinition = {
  name: 'console',
  displayName: 'Console',
  defaults: () => ({ url: '', token: '' }),
  enabled: (s) => s.url !== '',
  batch: 200,
  load: () => import('./sink.js'),
};
