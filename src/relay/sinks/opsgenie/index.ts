/** Opsgenie Alert API v2 (Falcosidekick's `opsgenie.*` keys). */
import type { SinkDefinition } from '../../delivery/sink.js';

export const opsgenieSink: SinkDefinition = {
  name: 'opsgenie',
  displayName: 'Opsgenie',
  // endpoint (ours): overrides the region's API URL
  defaults: () => ({ apikey: '', region: 'us', endpoint: '' }),
  enabled: (s) => s.apikey !== '',
  load: () => import('./sink.js'),
};
