import { createClient } from 'redis';
import type { FalcoAlert } from '../../../alert/falco-alert.js';
import { ConfigError, type ConfigTree } from '../../config/load.js';
import { sidekickJson } from '../../delivery/format.js';
import { OK, type SendResult, type SinkContext, type SinkInstance } from '../../delivery/sink.js';

export function create(section: ConfigTree, ctx: SinkContext): SinkInstance[] {
  const kind = String(section.storagetype).toLowerCase();
  if (!['list', 'hashmap', 'stream'].includes(kind))
    throw new ConfigError(`redis.storagetype: "${kind}" is not list, hashmap or stream`);
  const key = String(section.key);
  const addr = String(section.address).replace(/^rediss?:\/\//, '');
  const useTls = section.tls === true || String(section.address).startsWith('rediss://');
  const tls = ctx.tls(section);
  const client = createClient({
    url: `${useTls ? 'rediss' : 'redis'}://${addr}`,
    username: String(section.username) || undefined,
    password: String(section.password) || undefined,
    database: Number(section.database),
    disableOfflineQueue: true,
    socket: {
      reconnectStrategy: (n: number) => Math.min(100 * 2 ** n, 2000),
      connectTimeout: 5000,
      ...(useTls
        ? {
            tls: true as const,
            rejectUnauthorized: tls.rejectUnauthorized,
            ca: tls.ca,
            cert: tls.cert,
            key: tls.key,
          }
        : {}),
    },
  });
  client.on('error', (e: Error) => ctx.log.debug('redis error', { error: e.message }));
  let connecting: Promise<unknown> | undefined;
  const ready = async () => {
    if (client.isReady) return;
    if (!client.isOpen) connecting ??= client.connect().finally(() => (connecting = undefined));
    if (connecting) await connecting;
    if (!client.isReady) throw new Error('redis: not connected');
  };
  return [
    {
      name: 'redis',
      maxBatch: Number(section.batchsize),
      async send(batch: FalcoAlert[]): Promise<SendResult> {
        try {
          await ready();
        } catch (e) {
          return { kind: 'retry', reason: `redis ${addr}: ${(e as Error).message}` };
        }
        const m = client.multi();
        for (const a of batch) {
          const json = sidekickJson(a);
          // hash/stream entries carry the uuid: a re-delivered alert overwrites itself in a hash
          if (kind === 'list') m.rPush(key, json);
          else if (kind === 'hashmap') m.hSet(key, a.uuid ?? '', json);
          else m.xAdd(key, '*', { uuid: a.uuid ?? '', rule: a.rule, priority: a.priority, alert: json });
        }
        await m.exec();
        return OK;
      },
      async healthcheck() {
        await ready();
        await client.ping();
      },
      async close() {
        if (client.isOpen) await client.quit().catch(() => client.destroy());
      },
    },
  ];
}
