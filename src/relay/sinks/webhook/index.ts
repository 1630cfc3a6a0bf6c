/** webhook: the Falcosidekick payload JSON posted (or PUT) to `webhook.address`, one request per alert. */
import { mapDefault } from '../../config/load.js';
import type { SinkDefinition } from '../../delivery/sink.js';

export const webhookSink: SinkDefinition = {
  name: 'webhook',
  displayName: 'Webhook',
  defaults: () => ({ address: '', method: 'POST', customheaders: mapDefault() }),
  enabled: (s) => typeof s.address === 'string' && s.address !== '',
  load: () => import('./sink.js'),
};
