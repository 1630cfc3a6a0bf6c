/** stdout: one alert JSON per line on the relay's standard output (ours; Falcosidekick logs with `debug`). */
import type { SinkDefinition } from '../../delivery/sink.js';

export const stdoutSink: SinkDefinition = {
  name: 'stdout',
  displayName: 'Stdout',
  defaults: () => ({ enabled: false, format: 'json' }),
  enabled: (s) => s.enabled === true,
  batch: 256,
  load: () => import('./sink.js'),
};
