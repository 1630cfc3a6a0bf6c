/** RocketChat incoming webhook: Slack-compatible attachments (Falcosidekick's `rocketchat.*` keys). */
import type { SinkDefinition } from '../../delivery/sink.js';

export const rocketchatSink: SinkDefinition = {
  name: 'rocketchat',
  displayName: 'RocketChat',
  defaults: () => ({
    webhookurl: '',
    footer: '',
    icon: '',
    username: 'Falcosidekick',
    outputformat: 'all',
    messageformat: '',
  }),
  enabled: (s) => s.webhookurl !== '',
  load: () => import('./sink.js'),
};
