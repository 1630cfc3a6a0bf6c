/** NATS (core or JetStream) with one long-lived connection (Falcosidekick's `nats.*` keys; `jetstream*` are ours). */
import type { SinkDefinition } from '../../delivery/sink.js';

export const natsSink: SinkDefinition = {
  name: 'nats',
  displayName: 'NATS',
  defaults: () => ({
    hostport: '',
    subjecttemplate: 'falco.<priority>.<rule>',
    user: '',
    password: '',
    token: '',
    jetstream: { enabled: false, stream: 'FALCO', subjects: ['falco.>'], createstream: true },
  }),
  enabled: (s) => s.hostport !== '',
  batch: 256,
  load: () => import('./sink.js'),
};
