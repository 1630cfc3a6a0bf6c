import type { FalcoAlert } from '../../../alert/falco-alert.js';
import type { ConfigTree } from '../../config/load.js';
import { fieldText, sidekickJson, unixNanos } from '../../delivery/format.js';
import { basic, httpSink } from '../../delivery/http.js';
import type { SinkContext, SinkInstance } from '../../delivery/sink.js';

const labelKey = (k: string) => k.replaceAll('.', '_').replace(/[[\]]/g, '');

export function labels(a: FalcoAlert, extra: string[]): Record<string, string> {
  const l: Record<string, string> = { rule: a.rule, source: a.source, priority: a.priority };
  for (const k of ['k8s.ns.name', 'k8s.pod.name', ...extra]) {
    const v = a.output_fields[k];
    if (v !== undefined && v !== null && v !== '') l[labelKey(k)] = fieldText(v).replaceAll('"', '');
  }
  if (a.hostname) l.hostname = a.hostname;
  if (a.tags?.length) l.tags = [...a.tags].sort().join(',');
  return l;
}

/** Push body: alerts grouped into one stream per label set, values `[unix ns, line]`. */
export function encode(batch: FalcoAlert[], format: string, extra: string[]): Record<string, unknown> {
  const streams = new Map<string, { stream: Record<string, string>; values: [string, string][] }>();
  for (const a of batch) {
    const stream = labels(a, extra);
    const key = JSON.stringify(stream);
    let s = streams.get(key);
    if (!s) streams.set(key, (s = { stream, values: [] }));
    s.values.push([unixNanos(a.time), format === 'json' ? sidekickJson(a) : (a.output ?? '')]);
  }
  return { streams: [...streams.values()] };
}

export function create(section: ConfigTree, ctx: SinkContext): SinkInstance[] {
  const url = `${String(section.hostport).replace(/\/$/, '')}${String(section.endpoint)}`;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...(section.customheaders as Record<string, string>),
  };
  if (section.tenant) headers['x-scope-orgid'] = String(section.tenant);
  if (section.user && section.apikey)
    headers.authorization = basic(String(section.user), String(section.apikey));
  const extra = [...(section.extralabels as string[]), ...ctx.customFieldNames];
  const format = String(section.format);
  return [
    httpSink({
      name: 'loki',
      section,
      tls: ctx.tls(section),
      maxBatch: Number(section.batchsize),
      healthUrl: `${String(section.hostport).replace(/\/$/, '')}/ready`,
      send: (http, batch, signal) =>
        http.post(url, JSON.stringify(encode(batch, format, extra)), signal, headers),
    }),
  ];
}
