/** MQTT with one long-lived client (Falcosidekick's `mqtt.*` keys). */
import type { SinkDefinition } from '../../delivery/sink.js';

export const mqttSink: SinkDefinition = {
  name: 'mqtt',
  displayName: 'MQTT',
  defaults: () => ({ broker: '', topic: 'falco/events', qos: 0, retained: false, user: '', password: '' }),
  enabled: (s) => s.broker !== '',
  batch: 64,
  load: () => import('./sink.js'),
};
