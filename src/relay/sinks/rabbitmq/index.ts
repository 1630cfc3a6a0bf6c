/** AMQP 0-9-1 (RabbitMQ) with one long-lived confirm channel (Falcosidekick's `rabbitmq.*` keys). */
import type { SinkDefinition } from '../../delivery/sink.js';

export const rabbitmqSink: SinkDefinition = {
  name: 'rabbitmq',
  displayName: 'RabbitMQ',
  defaults: () => ({ url: '', queue: 'falco' }),
  enabled: (s) => s.url !== '',
  batch: 128,
  load: () => import('./sink.js'),
};
