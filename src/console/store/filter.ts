import { type PriorityLevel, parsePriority } from '../../alert/priority.js';
import type { EventRow } from './normalize.js';
import { AlertError, parseTimeUs, words } from './normalize.js';
import type { Dimension, EventFilter } from './types.js';

/** Column holding each countable dimension (tags are a separate table). */
export const DIM_COLUMN: Record<Exclude<Dimension, 'tags'>, string> = {
  priority: 'priority',
  rule: 'rule',
  source: 'source',
  hostname: 'hostname',
  cluster: 'cluster',
  container_image: 'container_image',
  container_name: 'container_name',
  k8s_ns: 'k8s_ns',
};

export interface SqlDialect {
  /** Placeholder for the next parameter. */
  ph(params: unknown[], value: unknown): string;
  /** Clause restricting `e.id` to rows whose text contains `text`. */
  text(params: unknown[], text: string): string;
  /** Clause for "has at least one of these tags" (default: an EXISTS over the event_tags table). */
  tags?(params: unknown[], tags: string[]): string;
}

/** WHERE clause (without the keyword; `1=1` when empty) over table alias `e`. */
export function whereSql(f: EventFilter, d: SqlDialect, params: unknown[]): string {
  const parts: string[] = [];
  const inList = (col: string, vals: unknown[] | undefined) => {
    if (!vals?.length) return;
    parts.push(`${col} IN (${vals.map((v) => d.ph(params, v)).join(',')})`);
  };
  inList('e.priority', f.priorities);
  if (f.minPriority !== undefined) parts.push(`e.priority <= ${d.ph(params, f.minPriority)}`);
  inList('e.rule', f.rules);
  inList('e.source', f.sources);
  inList('e.hostname', f.hostnames);
  inList('e.cluster', f.clusters);
  inList('e.k8s_ns', f.namespaces);
  if (f.containers?.length) {
    const ors = ['container_id', 'container_name', 'container_image'].map(
      (c) => `e.${c} IN (${f.containers!.map((v) => d.ph(params, v)).join(',')})`,
    );
    parts.push(`(${ors.join(' OR ')})`);
  }
  if (f.tags?.length && d.tags) parts.push(d.tags(params, f.tags));
  else if (f.tags?.length)
    parts.push(
      `EXISTS (SELECT 1 FROM event_tags t WHERE t.event_id = e.id AND t.tag IN (${f.tags.map((v) => d.ph(params, v)).join(',')}))`,
    );
  if (f.fromUs !== undefined) parts.push(`e.ts >= ${d.ph(params, f.fromUs)}`);
  if (f.toUs !== undefined) parts.push(`e.ts < ${d.ph(params, f.toUs)}`);
  if (f.text?.trim()) parts.push(d.text(params, f.text.trim()));
  return parts.length ? parts.join(' AND ') : '1=1';
}

/** Same filter evaluated in memory (live stream). */
export function matchesFilter(f: EventFilter, r: EventRow): boolean {
  if (f.priorities?.length && !f.priorities.includes(r.priority)) return false;
  if (f.minPriority !== undefined && r.priority > f.minPriority) return false;
  if (f.rules?.length && !f.rules.includes(r.rule)) return false;
  if (f.sources?.length && !f.sources.includes(r.source)) return false;
  if (f.hostnames?.length && !f.hostnames.includes(r.hostname)) return false;
  if (f.clusters?.length && !f.clusters.includes(r.cluster)) return false;
  if (f.namespaces?.length && !f.namespaces.includes(r.k8sNs)) return false;
  if (
    f.containers?.length &&
    !f.containers.some((c) => c === r.containerId || c === r.containerName || c === r.containerImage)
  )
    return false;
  if (f.tags?.length && !f.tags.some((t) => r.tags.includes(t))) return false;
  if (f.fromUs !== undefined && r.ts < f.fromUs) return false;
  if (f.toUs !== undefined && r.ts >= f.toUs) return false;
  if (f.text?.trim()) {
    const q = words(f.text);
    if (
      q.length
        ? !` ${r.text}`.includes(` ${q.join(' ')}`)
        : !r.raw.toLowerCase().includes(f.text.trim().toLowerCase())
    )
      return false;
  }
  return true;
}

const UNITS: Record<string, number> = {
  s: 1000,
  sec: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  M: 30 * 86_400_000,
  y: 365 * 86_400_000,
};

/** Durations like `15min`, `24h`, `7d`, `1w`, `3M`, `1y` (Falcosidekick-UI's `since` values) → ms. */
export function parseDurationMs(s: string): number {
  const m = /^(\d+)\s*(s|sec|m|min|h|d|w|M|y)$/.exec(s.trim());
  if (!m) throw new AlertError(`invalid duration "${s}" (use e.g. 15min, 24h, 7d, 1w, 1M, 1y)`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

function list(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  const items = (Array.isArray(v) ? v : [v])
    .flatMap((x) => String(x).split(','))
    .map((x) => x.trim())
    .filter((x) => x !== '' && x !== 'null');
  return items.length ? items : undefined;
}

function timeParam(name: string, v: unknown): number | undefined {
  if (v === undefined || v === '') return undefined;
  const s = String(v);
  if (/^\d+$/.test(s)) return Number(s) * 1000; // epoch milliseconds
  const us = parseTimeUs(s);
  if (us === undefined) throw new AlertError(`"${name}" must be RFC 3339 or epoch milliseconds`);
  return us;
}

function priorityList(v: string[] | undefined): PriorityLevel[] | undefined {
  return v?.map((p) => {
    const l = parsePriority(p);
    if (l === undefined) throw new AlertError(`unknown priority "${p}"`);
    return l;
  });
}

/**
 * Query string → filter. Keys: priority (set), min_priority, rule, source,
 * hostname, tags (alias tag), cluster, container, namespace, q (alias filter),
 * since (duration), from, to (RFC 3339 or epoch ms).
 */
export function filterFromQuery(q: Record<string, unknown>, nowMs = Date.now()): EventFilter {
  const f: EventFilter = {};
  f.priorities = priorityList(list(q.priority));
  const minP = list(q.min_priority);
  if (minP) f.minPriority = priorityList(minP)![0];
  f.rules = list(q.rule);
  f.sources = list(q.source);
  f.hostnames = list(q.hostname);
  f.tags = list(q.tags ?? q.tag);
  f.clusters = list(q.cluster);
  f.containers = list(q.container);
  f.namespaces = list(q.namespace);
  const text = q.q ?? q.filter;
  if (typeof text === 'string' && text.trim() !== '' && text !== 'null') f.text = text;
  const since = q.since;
  if (typeof since === 'string' && since !== '' && since !== 'null') {
    f.fromUs = (nowMs - (/^\d+$/.test(since) ? Number(since) * 1000 : parseDurationMs(since))) * 1000;
  }
  const from = timeParam('from', q.from);
  if (from !== undefined) f.fromUs = from;
  f.toUs = timeParam('to', q.to);
  for (const k of Object.keys(f) as (keyof EventFilter)[]) if (f[k] === undefined) delete f[k];
  return f;
}
