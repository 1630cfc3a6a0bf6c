/** Elasticsearch / OpenSearch `_bulk` indexing (Falcosidekick's `elasticsearch.*` keys). */
import { mapDefault } from '../../config/load.js';
import type { SinkDefinition } from '../../delivery/sink.js';

export const elasticsearchSink: SinkDefinition = {
  name: 'elasticsearch',
  displayName: 'Elasticsearch',
  defaults: () => ({
    hostport: '',
    index: 'falco',
    type: '_doc',
    suffix: 'daily',
    apikey: '',
    username: '',
    password: '',
    pipeline: '',
    flattenfields: false,
    customheaders: mapDefault(),
  }),
  enabled: (s) => s.hostport !== '',
  batch: 500,
  load: () => import('./sink.js'),
};
