import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { FalcoAlert } from '../../../alert/falco-alert.js';
import type { ConfigTree } from '../../config/load.js';
import { sidekickJson } from '../../delivery/format.js';
import { OK, type SendResult, type SinkContext, type SinkInstance } from '../../delivery/sink.js';

export function create(section: ConfigTree, ctx: SinkContext): SinkInstance[] {
  const url = String(section.url);
  const queue = String(section.queue);
  let conn: ChannelModel | undefined;
  let ch: ConfirmChannel | undefined;
  let opening: Promise<ConfirmChannel> | undefined;
  const reset = () => {
    ch = undefined;
    conn = undefined;
  };
  const channel = (): Promise<ConfirmChannel> => {
    if (ch) return Promise.resolve(ch);
    opening ??= (async () => {
      const c = await amqp.connect(url);
      c.on('error', (e: Error) => ctx.log.debug('amqp connection error', { error: e.message }));
      c.on('close', reset);
      const channel = await c.createConfirmChannel();
      channel.on('error', (e: Error) => ctx.log.debug('amqp channel error', { error: e.message }));
      channel.on('close', () => {
        ch = undefined;
      });
      await channel.assertQueue(queue, { durable: true });
      conn = c;
      ch = channel;
      return channel;
    })().finally(() => {
      opening = undefined;
    });
    return opening;
  };
  return [
    {
      name: 'rabbitmq',
      maxBatch: Number(section.batchsize),
      async send(batch: FalcoAlert[]): Promise<SendResult> {
        try {
          const c = await channel();
          for (const a of batch) {
            c.sendToQueue(queue, Buffer.from(sidekickJson(a)), {
              persistent: true,
              contentType: 'application/json',
              messageId: a.uuid,
              timestamp: Math.floor(Date.now() / 1000),
            });
          }
          // publisher confirms: the broker has taken every message of the batch
          await c.waitForConfirms();
          return OK;
        } catch (e) {
          try {
            await conn?.close();
          } catch {
            /* already closed */
          }
          reset();
          return { kind: 'retry', reason: `amqp: ${(e as Error).message}` };
        }
      },
      async healthcheck() {
        await channel();
      },
      async close() {
        try {
          await conn?.close();
        } catch {
          /* closed */
        }
        reset();
      },
    },
  ];
}
