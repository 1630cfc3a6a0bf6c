/** Prometheus Alertmanager API v2 (Falcosidekick's `alertmanager.*` keys; one delivery per host of the list). */
import { mapDefault } from '../../config/load.js';
import type { SinkDefinition } from '../../delivery/sink.js';

export const alertmanagerSink: SinkDefinition = {
  name: 'alertmanager',
  displayName: 'AlertManager',
  defaults: () => ({
    hostport: [],
    endpoint: '/api/v2/alerts',
    expiresafter: 0,
    extralabels: mapDefault(),
    extraannotations: mapDefault(),
    customseveritymap: mapDefault(),
    dropeventdefaultpriority: 'critical',
    dropeventthresholds: '10000:critical, 1000:critical, 100:critical, 10:warning, 1:warning',
    customheaders: mapDefault(),
  }),
  enabled: (s) => Array.isArray(s.hostport) && s.hostport.length > 0,
  batch: 100,
  load: () => import('./sink.js'),
};
