import type { FalcoAlert } from '../../../alert/falco-alert.js';
import type { ConfigTree } from '../../config/load.js';
import { sidekickPayload } from '../../delivery/format.js';
import { basic, classify, httpSink } from '../../delivery/http.js';
import type { SendResult, SinkContext, SinkInstance } from '../../delivery/sink.js';

/** Index name with the date suffix taken from the alert time: daily `-YYYY.MM.DD`, monthly, annually, none. */
export function indexName(index: string, suffix: string, time: string): string {
  const d = time.slice(0, 10).split('-');
  if (suffix === 'none' || d.length !== 3) return index;
  if (suffix === 'monthly') return `${index}-${d[0]}.${d[1]}`;
  if (suffix === 'annually') return `${index}-${d[0]}`;
  return `${index}-${d[0]}.${d[1]}.${d[2]}`;
}

export function document(a: FalcoAlert, flatten: boolean): Record<string, unknown> {
  const doc: Record<string, unknown> = { ...sidekickPayload(a), '@timestamp': a.time };
  if (flatten) {
    const f: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(a.output_fields)) f[k.replaceAll('.', '_')] = v;
    doc.output_fields = f;
  }
  return doc;
}

/**
 * `_bulk` body: `create` actions with `_id` = uuid, so a re-delivery after a crash is a 409 conflict
 * (counted as delivered) instead of a duplicate document.
 */
export function encodeBulk(batch: FalcoAlert[], index: string, suffix: string, flatten: boolean): string {
  let out = '';
  for (const a of batch) {
    const action: Record<string, string> = { _index: indexName(index, suffix, a.time) };
    if (a.uuid) action._id = a.uuid;
    out += `${JSON.stringify({ create: action })}\n${JSON.stringify(document(a, flatten))}\n`;
  }
  return out;
}

interface BulkItem {
  create?: { status: number; error?: { type?: string; reason?: string } };
}

/** Per-item outcome: 2xx and 409 are delivered; any 429/5xx item retries the batch; other errors are permanent. */
export function classifyBulk(body: string): SendResult {
  let parsed: { errors?: boolean; items?: BulkItem[] };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    return { kind: 'retry', reason: 'unreadable _bulk response' };
  }
  if (!parsed.errors) return { kind: 'ok' };
  let retry: string | undefined;
  let permanent: string | undefined;
  for (const it of parsed.items ?? []) {
    const c = it.create;
    if (!c || (c.status >= 200 && c.status < 300) || c.status === 409) continue;
    const why = `item ${c.status} ${c.error?.type ?? ''}: ${c.error?.reason ?? ''}`;
    if (c.status === 429 || c.status >= 500) retry ??= why;
    else permanent ??= why;
  }
  if (retry) return { kind: 'retry', reason: retry };
  if (permanent) return { kind: 'permanent', reason: permanent };
  return { kind: 'ok' };
}

export function create(section: ConfigTree, ctx: SinkContext): SinkInstance[] {
  const host = String(section.hostport).replace(/\/$/, '');
  const url = `${host}/_bulk${section.pipeline ? `?pipeline=${encodeURIComponent(String(section.pipeline))}` : ''}`;
  const headers: Record<string, string> = {
    'content-type': 'application/x-ndjson',
    ...(section.customheaders as Record<string, string>),
  };
  if (section.apikey) headers.authorization = `APIKey ${String(section.apikey)}`;
  else if (section.username)
    headers.authorization = basic(String(section.username), String(section.password));
  const index = String(section.index);
  const suffix = String(section.suffix);
  const flatten = section.flattenfields === true;
  return [
    httpSink({
      name: 'elasticsearch',
      section,
      tls: ctx.tls(section),
      maxBatch: Number(section.batchsize),
      healthUrl: host,
      async send(http, batch, signal) {
        const res = await http.send(url, {
          method: 'POST',
          headers,
          body: encodeBulk(batch, index, suffix, flatten),
          signal,
        });
        const c = classify(res);
        return c.kind === 'ok' ? classifyBulk(res.body) : c;
      },
    }),
  ];
}
