/** Datadog Events API (Falcosidekick's `datadog.*` keys). */
import type { SinkDefinition } from '../../delivery/sink.js';

export const datadogSink: SinkDefinition = {
  name: 'datadog',
  displayName: 'Datadog',
  defaults: () => ({ apikey: '', host: 'https://api.datadoghq.com' }),
  enabled: (s) => s.apikey !== '',
  load: () => import('./sink.js'),
};
