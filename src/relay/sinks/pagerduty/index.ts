/** PagerDuty Events API v2 `trigger` (Falcosidekick's `pagerduty.*` keys). */
import type { SinkDefinition } from '../../delivery/sink.js';

export const pagerdutySink: SinkDefinition = {
  name: 'pagerduty',
  displayName: 'Pagerduty',
  // endpoint (ours): overrides the region's Events API URL (proxies, tests)
  defaults: () => ({ routingkey: '', region: 'us', endpoint: '' }),
  enabled: (s) => s.routingkey !== '',
  load: () => import('./sink.js'),
};
