import type { FalcoAlert } from '../../../alert/falco-alert.js';
import type { ConfigTree } from '../../config/load.js';
import { fieldText, stringFieldKeys, unixNanos } from '../../delivery/format.js';
import { httpSink } from '../../delivery/http.js';
import type { SinkContext, SinkInstance } from '../../delivery/sink.js';

/** Line-protocol escaping: tag keys/values escape `,`, `=` and space; string field values escape `"` and `\`. */
const tagEsc = (s: string) => s.replace(/[,= \\]/g, (c) => `\\${c}`).replace(/\n/g, ' ');
const strEsc = (s: string) => s.replace(/[\\"]/g, (c) => `\\${c}`);

const PRECISION: Record<string, bigint> = { ns: 1n, us: 1000n, ms: 1_000_000n, s: 1_000_000_000n };

/** One point: measurement `events`, tags rule/priority/source/fields/hostname/tags, field `value`, timestamp. */
export function encodeLine(a: FalcoAlert, precision = 'ns'): string {
  let line = `events,rule=${tagEsc(a.rule)},priority=${tagEsc(a.priority)},source=${tagEsc(a.source)}`;
  for (const k of stringFieldKeys(a)) {
    const v = fieldText(a.output_fields[k]);
    if (v !== '') line += `,${tagEsc(k)}=${tagEsc(v)}`;
  }
  if (a.hostname) line += `,hostname=${tagEsc(a.hostname)}`;
  if (a.tags?.length) line += `,tags=${tagEsc(a.tags.join('_'))}`;
  line += ` value="${strEsc(a.output ?? '')}"`;
  if (a.uuid) line += `,uuid="${strEsc(a.uuid)}"`;
  const ts = BigInt(unixNanos(a.time)) / (PRECISION[precision] ?? 1n);
  return `${line} ${ts}`;
}

export function create(section: ConfigTree, ctx: SinkContext): SinkInstance[] {
  const host = String(section.hostport).replace(/\/$/, '');
  const precision = String(section.precision);
  const token = String(section.token);
  const user = String(section.user);
  let url: string;
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
  if (token) {
    url = `${host}/api/v2/write?org=${encodeURIComponent(String(section.organization))}&bucket=${encodeURIComponent(String(section.bucket))}&precision=${precision}`;
    headers.authorization = `Token ${token}`;
  } else {
    url = `${host}/write?db=${encodeURIComponent(String(section.database))}&precision=${precision}`;
    if (user) url += `&u=${encodeURIComponent(user)}&p=${encodeURIComponent(String(section.password))}`;
  }
  return [
    httpSink({
      name: 'influxdb',
      section,
      tls: ctx.tls(section),
      maxBatch: Number(section.batchsize),
      healthUrl: `${host}/ping`,
      send: (http, batch, signal) =>
        http.post(url, batch.map((a) => encodeLine(a, precision)).join('\n'), signal, headers),
    }),
  ];
}
