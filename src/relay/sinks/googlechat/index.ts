/** Google Chat incoming webhook: text plus a card of the alert's fields (Falcosidekick's `googlechat.*` keys). */
import type { SinkDefinition } from '../../delivery/sink.js';

export const googlechatSink: SinkDefinition = {
  name: 'googlechat',
  displayName: 'GoogleChat',
  defaults: () => ({ webhookurl: '', outputformat: 'all', messageformat: '' }),
  enabled: (s) => s.webhookurl !== '',
  load: () => import('./sink.js'),
};
