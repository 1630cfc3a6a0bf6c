/** Email through one pooled SMTP connection (Falcosidekick's `smtp.*` keys). */
import type { SinkDefinition } from '../../delivery/sink.js';

export const smtpSink: SinkDefinition = {
  name: 'smtp',
  displayName: 'SMTP',
  defaults: () => ({
    hostport: '',
    tls: true,
    authmechanism: 'plain',
    user: '',
    password: '',
    token: '',
    from: '',
    to: [],
    outputformat: 'html',
  }),
  enabled: (s) => s.hostport !== '' && s.from !== '' && Array.isArray(s.to) && s.to.length > 0,
  load: () => import('./sink.js'),
};
