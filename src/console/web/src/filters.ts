import { navigate } from './router';

/** Filter keys kept in the URL (same names as the API's query parameters). */
export const FILTER_KEYS = [
  'since',
  'from',
  'to',
  'priority',
  'min_priority',
  'rule',
  'source',
  'hostname',
  'tags',
  'container',
  'namespace',
  'cluster',
  'q',
] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];

export const TIME_PRESETS = ['15min', '1h', '6h', '24h', '7d', '30d'];
export const DEFAULT_SINCE = '24h';

/** The API query string for the filter in `search` (default range: last 24 h). */
export function apiQuery(search: URLSearchParams, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams();
  for (const k of FILTER_KEYS) {
    const v = search.get(k);
    if (v) q.set(k, v);
  }
  if (!q.get('from') && !q.get('since')) q.set('since', DEFAULT_SINCE);
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  return q.toString();
}

export function listOf(search: URLSearchParams, key: FilterKey): string[] {
  return (search.get(key) ?? '').split(',').filter(Boolean);
}

/** Change filter keys in the current URL (undefined/empty removes a key). */
export function setFilters(
  changes: Partial<Record<FilterKey, string | undefined>>,
  path = location.pathname,
): void {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) {
    if (v) q.set(k, v);
    else q.delete(k);
  }
  const s = q.toString();
  navigate(`${path}${s ? `?${s}` : ''}`);
}

/** Add a value to a comma-list filter (used by chart and chip clicks). */
export function addToFilter(key: FilterKey, value: string, path?: string): void {
  const cur = listOf(new URLSearchParams(location.search), key);
  if (!cur.includes(value)) cur.push(value);
  setFilters({ [key]: cur.join(',') }, path);
}

export function filtersOnly(search: URLSearchParams): string {
  const q = new URLSearchParams();
  for (const k of FILTER_KEYS) {
    const v = search.get(k);
    if (v) q.set(k, v);
  }
  return q.toString();
}

export function rangeLabel(search: URLSearchParams): string {
  const from = search.get('from');
  const to = search.get('to');
  if (from) return `${new Date(from).toLocaleString()} → ${to ? new Date(to).toLocaleString() : 'now'}`;
  return `last ${search.get('since') ?? DEFAULT_SINCE}`;
}
