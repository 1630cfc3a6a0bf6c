/** Redis list, hash or stream with one long-lived client (Falcosidekick's `redis.*` keys; `stream` is ours). */
import type { SinkDefinition } from '../../delivery/sink.js';

export const redisSink: SinkDefinition = {
  name: 'redis',
  displayName: 'Redis',
  defaults: () => ({
    address: '',
    username: '',
    password: '',
    database: 0,
    storagetype: 'list',
    key: 'falco',
    tls: false,
  }),
  enabled: (s) => s.address !== '',
  batch: 256,
  load: () => import('./sink.js'),
};
