/** Mattermost incoming webhook: Slack-compatible attachments (Falcosidekick's `mattermost.*` keys). */
import type { SinkDefinition } from '../../delivery/sink.js';

export const mattermostSink: SinkDefinition = {
  name: 'mattermost',
  displayName: 'Mattermost',
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
