/** Discord webhook: one embed per alert (Falcosidekick's `discord.*` keys). */
import type { SinkDefinition } from '../../delivery/sink.js';

export const discordSink: SinkDefinition = {
  name: 'discord',
  displayName: 'Discord',
  defaults: () => ({ webhookurl: '', icon: '' }),
  enabled: (s) => s.webhookurl !== '',
  load: () => import('./sink.js'),
};
