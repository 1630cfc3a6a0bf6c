/** CloudEvents over HTTP, binary content mode (Falcosidekick's `cloudevents.*` keys). */
import { mapDefault } from '../../config/load.js';
import type { SinkDefinition } from '../../delivery/sink.js';

export const cloudeventsSink: SinkDefinition = {
  name: 'cloudevents',
  displayName: 'CloudEvents',
  defaults: () => ({ address: '', extensions: mapDefault() }),
  enabled: (s) => s.address !== '',
  load: () => import('./sink.js'),
};
