/** Slack incoming webhook (Falcosidekick's `slack.*` keys and attachment format). */
import type { SinkDefinition } from '../../delivery/sink.js';

export const slackSink: SinkDefinition = {
  name: 'slack',
  displayName: 'Slack',
  defaults: () => ({
    webhookurl: '',
    channel: '',
    footer: '',
    icon: '',
    username: 'Falcosidekick',
    outputformat: 'all',
    messageformat: '',
  }),
  enabled: (s) => s.webhookurl !== '',
  load: () => import('./sink.js'),
};
