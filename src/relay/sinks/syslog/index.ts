/** Syslog over UDP, TCP or TLS, RFC 5424 framing (Falcosidekick's `syslog.*` keys; `tls`, `rfc5424`, `facility` are ours). */
import type { SinkDefinition } from '../../delivery/sink.js';

export const syslogSink: SinkDefinition = {
  name: 'syslog',
  displayName: 'Syslog',
  defaults: () => ({ host: '', port: 514, protocol: 'tcp', format: 'json', facility: 16, appname: 'Falco' }),
  enabled: (s) => s.host !== '',
  batch: 128,
  load: () => import('./sink.js'),
};
