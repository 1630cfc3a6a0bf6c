import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import type { FalcoAlert } from '../../../alert/falco-alert.js';
import type { ConfigTree } from '../../config/load.js';
import { sidekickJson } from '../../delivery/format.js';
import { OK, type SendResult, type SinkContext, type SinkInstance } from '../../delivery/sink.js';

export function create(section: ConfigTree, ctx: SinkContext): SinkInstance[] {
  const broker = String(section.broker)
    .replace(/^ssl:\/\//, 'mqtts://')
    .replace(/^tcp:\/\//, 'mqtt://');
  const topic = String(section.topic);
  const qos = Number(section.qos) as 0 | 1 | 2;
  const retain = section.retained === true;
  const tls = ctx.tls(section);
  const client = mqtt.connect(broker, {
    clientId: `peregrine-${randomBytes(3).toString('hex')}`,
    username: String(section.user) || undefined,
    password: String(section.password) || undefined,
    reconnectPeriod: 500,
    connectTimeout: 5000,
    queueQoSZero: false,
    rejectUnauthorized: tls.rejectUnauthorized,
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
  });
  client.on('error', (e) => ctx.log.debug('mqtt error', { error: e.message }));
  return [
    {
      name: 'mqtt',
      maxBatch: Number(section.batchsize),
      async send(batch: FalcoAlert[]): Promise<SendResult> {
        if (!client.connected) return { kind: 'retry', reason: `mqtt: not connected to ${broker}` };
        await Promise.all(batch.map((a) => client.publishAsync(topic, sidekickJson(a), { qos, retain })));
        return OK;
      },
      async healthcheck() {
        if (client.connected) return;
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`mqtt: no connection to ${broker}`)), 5000);
          client.once('connect', () => {
            clearTimeout(t);
            resolve();
          });
        });
      },
      async close() {
        await client.endAsync();
      },
    },
  ];
}
