/** Falcosidekick-UI: `{event, outputs}` to `<url>/api/v1/events/add` (Falcosidekick's `webui.*` keys). */
import type { SinkDefinition } from '../../delivery/sink.js';

export const webuiSink: SinkDefinition = {
  name: 'webui',
  displayName: 'WebUI',
  defaults: () => ({ url: '' }),
  enabled: (s) => s.url !== '',
  ignoresMinimumPriority: true,
  load: () => import('./sink.js'),
};
