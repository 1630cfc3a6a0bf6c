/** Grafana Loki push API (Falcosidekick's `loki.*` keys). */
import { mapDefault } from '../../config/load.js';
import type { SinkDefinition } from '../../delivery/sink.js';

export const lokiSink: SinkDefinition = {
  name: 'loki',
  displayName: 'Loki',
  defaults: () => ({
    hostport: '',
    endpoint: '/loki/api/v1/push',
    user: '',
    apikey: '',
    tenant: '',
    format: 'text',
    extralabels: [],
    customheaders: mapDefault(),
  }),
  enabled: (s) => s.hostport !== '',
  batch: 200,
  load: () => import('./sink.js'),
};
