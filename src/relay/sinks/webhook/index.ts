/**
 * webhook: the Falcosidekick payload JSON posted (or PUT) to `webhook.address`, one request per alert.
 * `pipelining` (ours, default 0 = off): HTTP/1.1 pipelining, requests per connection.
 */
import { mapDefault } from '../../config/load.js';
import type { SinkDefinition } from '../../delivery/sink.js';

export const webhookSink: SinkDefinition = {
  name: 'webhook',
  displayName: 'Webhook',
  defaults: () => ({ address: '', method: 'POST', customheaders: mapDefault(), pipelining: 0 }),
  enabled: (s) => typeof s.address === 'string' && s.address !== '',
  load: () => import('./sink.js'),
};
