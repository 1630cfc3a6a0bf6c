/** InfluxDB line protocol, v1 (`/write?db=`) or v2 (`/api/v2/write?org=&bucket=`) (Falcosidekick's `influxdb.*` keys). */
import type { SinkDefinition } from '../../delivery/sink.js';

export const influxdbSink: SinkDefinition = {
  name: 'influxdb',
  displayName: 'Influxdb',
  defaults: () => ({
    hostport: '',
    database: 'falco',
    organization: '',
    bucket: 'falco',
    precision: 'ns',
    user: '',
    password: '',
    token: '',
  }),
  enabled: (s) => s.hostport !== '',
  batch: 500,
  load: () => import('./sink.js'),
};
