/** Microsoft Teams incoming webhook: a MessageCard (Falcosidekick's `teams.*` keys). */
import type { SinkDefinition } from '../../delivery/sink.js';

export const teamsSink: SinkDefinition = {
  name: 'teams',
  displayName: 'Teams',
  defaults: () => ({ webhookurl: '', activityimage: '', outputformat: 'all' }),
  enabled: (s) => s.webhookurl !== '',
  load: () => import('./sink.js'),
};
