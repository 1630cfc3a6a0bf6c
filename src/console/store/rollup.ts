import type { EventRow } from './normalize.js';
import type { Dimension, EventFilter } from './types.js';

/**
 * Hourly pre-aggregated counts: (hour, dimension, value, priority) → n. They make
 * dashboard counts independent of the number of stored events: a count over a
 * day reads at most 24 hours of aggregates, plus raw events for the partial hours
 * at either end of the range. Insert adds to them, retention subtracts.
 */
export const HOUR_US = 3_600_000_000;

/** Dimensions kept in the rollup (priority is the fourth key column of every row). */
export const ROLLUP_DIMS = [
  'rule',
  'source',
  'hostname',
  'cluster',
  'container_image',
  'k8s_ns',
  'tags',
] as const;
export type RollupDim = (typeof ROLLUP_DIMS)[number];

/** The fields of a stored row the rollup counts. */
export type RollupRow = Pick<
  EventRow,
  'ts' | 'priority' | 'rule' | 'source' | 'hostname' | 'cluster' | 'containerImage' | 'k8sNs' | 'tags'
>;

const GET: Record<Exclude<RollupDim, 'tags'>, (r: RollupRow) => string> = {
  rule: (r) => r.rule,
  source: (r) => r.source,
  hostname: (r) => r.hostname,
  cluster: (r) => r.cluster,
  container_image: (r) => r.containerImage,
  k8s_ns: (r) => r.k8sNs,
};

export interface RollupDelta {
  hour: number[];
  dim: string[];
  value: string[];
  priority: number[];
  n: number[];
}

const KEYED = Object.keys(GET) as (keyof typeof GET)[];
const TAGS = KEYED.length;
/** (dimension, priority) slots per hour: the keyed dimensions and tags, times 8 priorities. */
const SLOTS = (TAGS + 1) * 8;

/** Aggregate a batch of newly stored rows into rollup increments, in a stable key order. */
export function rollupDeltas(rows: RollupRow[]): RollupDelta {
  // Per hour: one value -> count map per (dimension, priority) slot (slot = dimension * 8 + priority),
  // so no key strings are built; slots in order give the (dimension, priority, value) key order.
  const hours = new Map<number, (Map<string, number> | undefined)[]>();
  for (const r of rows) {
    const hour = Math.floor(r.ts / HOUR_US);
    let slots = hours.get(hour);
    if (!slots) {
      slots = new Array<Map<string, number> | undefined>(SLOTS).fill(undefined);
      hours.set(hour, slots);
    }
    const p = r.priority;
    for (let d = 0; d < KEYED.length; d++) {
      let m = slots[d * 8 + p];
      if (!m) {
        m = new Map();
        slots[d * 8 + p] = m;
      }
      const v = GET[KEYED[d]!](r);
      m.set(v, (m.get(v) ?? 0) + 1);
    }
    if (r.tags.length) {
      let m = slots[TAGS * 8 + p];
      if (!m) {
        m = new Map();
        slots[TAGS * 8 + p] = m;
      }
      for (const t of r.tags) m.set(t, (m.get(t) ?? 0) + 1);
    }
  }
  const out: RollupDelta = { hour: [], dim: [], value: [], priority: [], n: [] };
  for (const hour of [...hours.keys()].sort((a, b) => a - b)) {
    const slots = hours.get(hour)!;
    for (let i = 0; i < SLOTS; i++) {
      const m = slots[i];
      if (!m) continue;
      const d = i >> 3;
      const dim = d === TAGS ? 'tags' : KEYED[d]!;
      for (const v of [...m.keys()].sort()) {
        out.hour.push(hour);
        out.dim.push(dim);
        out.value.push(v);
        out.priority.push(i & 7);
        out.n.push(m.get(v)!);
      }
    }
  }
  return out;
}

const LIST_DIM: [keyof EventFilter, RollupDim][] = [
  ['rules', 'rule'],
  ['sources', 'source'],
  ['hostnames', 'hostname'],
  ['clusters', 'cluster'],
  ['namespaces', 'k8s_ns'],
  ['tags', 'tags'],
];

export interface RollupPlan {
  /** Rollup dimension to read. */
  dim: RollupDim;
  /** Restrict to these values of `dim`. */
  values?: string[];
  /** Group by the rollup's priority column instead of its value. */
  byPriority: boolean;
}

/**
 * Whether a count (grouped by `countDim`, or a plain total when undefined) over
 * `f` can be answered from the rollup, and how. Possible when the filter has only
 * time and priority constraints, plus at most a list on the dimension being counted.
 */
export function planRollup(f: EventFilter, countDim?: Dimension): RollupPlan | undefined {
  if (f.text?.trim() || f.containers?.length) return undefined;
  const lists = LIST_DIM.filter(([k]) => (f[k] as string[] | undefined)?.length);
  if (lists.length > 1) return undefined;
  const only = lists[0];
  if (countDim === undefined || countDim === 'priority') {
    // A total (or per-priority): read one dimension where each event counts once.
    if (!only) return { dim: 'source', byPriority: countDim === 'priority' };
    if (only[1] === 'tags') return undefined; // an event may carry several of the tags
    return { dim: only[1], values: f[only[0]] as string[], byPriority: countDim === 'priority' };
  }
  if (!(ROLLUP_DIMS as readonly string[]).includes(countDim)) return undefined;
  if (only && only[1] !== countDim) return undefined;
  return {
    dim: countDim as RollupDim,
    ...(only ? { values: f[only[0]] as string[] } : {}),
    byPriority: false,
  };
}

/**
 * Split a time range into whole hours (answered by the rollup) and the partial
 * hours at its ends (answered from raw events). `undefined` bounds are open.
 */
export function splitHours(
  fromUs: number | undefined,
  toUs: number | undefined,
): { hourFrom?: number; hourTo?: number; edges: { fromUs?: number; toUs?: number }[] } | undefined {
  const hourFrom = fromUs === undefined ? undefined : Math.ceil(fromUs / HOUR_US);
  const hourTo = toUs === undefined ? undefined : Math.floor(toUs / HOUR_US);
  if (hourFrom !== undefined && hourTo !== undefined && hourFrom >= hourTo) return undefined;
  const edges: { fromUs?: number; toUs?: number }[] = [];
  if (fromUs !== undefined && hourFrom !== undefined && fromUs < hourFrom * HOUR_US)
    edges.push({ fromUs, toUs: hourFrom * HOUR_US });
  if (toUs !== undefined && hourTo !== undefined && hourTo * HOUR_US < toUs)
    edges.push({ fromUs: hourTo * HOUR_US, toUs });
  return {
    ...(hourFrom !== undefined ? { hourFrom } : {}),
    ...(hourTo !== undefined ? { hourTo } : {}),
    edges,
  };
}
