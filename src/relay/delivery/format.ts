/** Formatting helpers shared by sink encoders. */
import type { FalcoAlert } from '../../alert/falco-alert.js';

/**
 * The alert as Falcosidekick serialises its payload: `uuid, output, priority, rule, time, output_fields,
 * source, tags, hostname`, then our additions (`count`, `cluster`, `message`) when present.
 */
export function sidekickPayload(a: FalcoAlert): Record<string, unknown> {
  const p: Record<string, unknown> = {
    uuid: a.uuid ?? '',
    output: a.output ?? '',
    priority: a.priority,
    rule: a.rule,
    time: a.time,
    output_fields: a.output_fields,
    source: a.source,
  };
  if (a.tags?.length) p.tags = a.tags;
  if (a.hostname) p.hostname = a.hostname;
  if (a.count !== undefined) p.count = a.count;
  if (a.cluster) p.cluster = a.cluster;
  if (a.message) p.message = a.message;
  return p;
}

const sidekickCache = new WeakMap<FalcoAlert, string>();

/**
 * `sidekickPayload` as JSON. Cached per alert object: the sinks of one relay share the parsed alert of a
 * spool record (read-only), so webhook, NATS, file … serialise it once between them.
 */
export function sidekickJson(a: FalcoAlert): string {
  let s = sidekickCache.get(a);
  if (s === undefined) {
    s = JSON.stringify(sidekickPayload(a));
    sidekickCache.set(a, s);
  }
  return s;
}

/** Keys of output_fields whose value is a string, sorted. */
export function stringFieldKeys(a: FalcoAlert): string[] {
  return Object.keys(a.output_fields)
    .filter((k) => typeof a.output_fields[k] === 'string')
    .sort();
}

/** Output field value as text (null → `<NA>` as Falco prints it). */
export function fieldText(v: unknown): string {
  if (v === null || v === undefined) return '<NA>';
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}

/** Go's time.Time.String() for a UTC RFC 3339 time: `2001-01-01 01:10:00 +0000 UTC`. */
export function goTimeString(rfc3339: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?Z$/i.exec(rfc3339);
  if (!m) return rfc3339;
  const frac = m[3] ? m[3].replace(/0+$/, '') : '';
  return `${m[1]} ${m[2]}${frac === '.' ? '' : frac} +0000 UTC`;
}

/** Unix time in nanoseconds as a decimal string (exact, from the RFC 3339 text). */
export function unixNanos(rfc3339: string): string {
  const m = /^(.*?)(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/i.exec(rfc3339);
  const base = m ? Date.parse(`${m[1]}${m[3]}`) : Date.parse(rfc3339);
  const frac = (m?.[2] ?? '').padEnd(9, '0').slice(0, 9);
  return (BigInt(Math.floor(base / 1000)) * 1_000_000_000n + BigInt(frac || '0')).toString();
}

/** The data given to messageformat templates (Falcosidekick's payload struct field names). */
export function templateData(a: FalcoAlert): Record<string, unknown> {
  return {
    UUID: a.uuid ?? '',
    Output: a.output ?? '',
    Priority: a.priority,
    Rule: a.rule,
    Time: a.time,
    Source: a.source,
    Hostname: a.hostname ?? '',
    Tags: a.tags ?? [],
    OutputFields: a.output_fields,
    Count: a.count ?? 1,
  };
}

/** Slack-style attachment colours (also used by Rocket.Chat and Mattermost). */
export const SLACK_COLORS: Record<string, string> = {
  Emergency: '#e20b0b',
  Alert: '#ff5400',
  Critical: '#ff5400',
  Error: '#e20b0b',
  Warning: '#ffc700',
  Notice: '#5bffb5',
  Informational: '#68c2ff',
  Debug: '#ccfff2',
};
