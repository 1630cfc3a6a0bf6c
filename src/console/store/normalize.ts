import { randomUUID } from 'node:crypto';
import { alertToJson } from '../../alert/falco-alert.js';
import { type PriorityLevel, parsePriority, priorityName } from '../../alert/priority.js';
import type { StoredEvent } from './types.js';

/** One alert flattened into the indexed columns both stores keep. */
export interface EventRow {
  uuid: string;
  ts: number;
  priority: PriorityLevel;
  rule: string;
  source: string;
  hostname: string;
  cluster: string;
  containerId: string;
  containerName: string;
  containerImage: string;
  k8sNs: string;
  tags: string[];
  count: number;
  output: string;
  /** Words (lower-case letters and digits, space-separated) of output, rule, hostname and output field values: what free text searches (computed on first read). */
  readonly text: string;
  /** The full alert JSON (Falco key order), uuid and count included. */
  raw: string;
  event: StoredEvent;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TIME_RE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;

/** RFC 3339 time (nanoseconds allowed) → microseconds since the epoch; undefined if invalid. */
export function parseTimeUs(time: string): number | undefined {
  const m = TIME_RE.exec(time);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  const frac = (m[2] ?? '').padEnd(6, '0').slice(0, 6);
  return ms * 1000 + Number(frac);
}

export function usToIso(us: number): string {
  return new Date(Math.floor(us / 1000)).toISOString();
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

export class AlertError extends Error {}

/**
 * Free text is matched word by word: both the stored text and the query are cut
 * into lower-case runs of letters and digits; a query matches when its words
 * appear consecutively, the last one as a prefix ("etc/shad" finds "/etc/shadow").
 */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** `words(text).join(' ')`, without the intermediate array. */
export function wordText(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/**
 * Check an alert posted to the console and flatten it. Throws AlertError naming
 * the offending key; never mutates the input.
 */
export function normalizeAlert(input: unknown): EventRow {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new AlertError('alert must be a JSON object');
  const a = input as Record<string, unknown>;
  if (typeof a.rule !== 'string' || a.rule === '') throw new AlertError('"rule" must be a non-empty string');
  if (typeof a.priority !== 'string') throw new AlertError('"priority" must be a string');
  const priority = parsePriority(a.priority);
  if (priority === undefined) throw new AlertError(`"priority" is not a Falco priority: ${a.priority}`);
  if (typeof a.time !== 'string') throw new AlertError('"time" must be an RFC 3339 string');
  const ts = parseTimeUs(a.time);
  if (ts === undefined) throw new AlertError(`"time" is not RFC 3339: ${a.time}`);
  if (a.uuid !== undefined && (typeof a.uuid !== 'string' || !UUID_RE.test(a.uuid)))
    throw new AlertError('"uuid" must be a UUID');
  if (a.output_fields !== undefined && (typeof a.output_fields !== 'object' || a.output_fields === null))
    throw new AlertError('"output_fields" must be an object');
  if (a.tags !== undefined && (!Array.isArray(a.tags) || a.tags.some((t) => typeof t !== 'string')))
    throw new AlertError('"tags" must be an array of strings');
  for (const k of ['hostname', 'source', 'output', 'message', 'cluster'] as const) {
    if (a[k] !== undefined && a[k] !== null && typeof a[k] !== 'string')
      throw new AlertError(`"${k}" must be a string`);
  }
  if (a.count !== undefined && (typeof a.count !== 'number' || !Number.isInteger(a.count) || a.count < 1))
    throw new AlertError('"count" must be a positive integer');

  const fields = (a.output_fields ?? {}) as Record<string, unknown>;
  const uuid = (a.uuid as string | undefined)?.toLowerCase() ?? randomUUID();
  const count = (a.count as number | undefined) ?? 1;
  const tags = [...new Set((a.tags as string[] | undefined) ?? [])].sort();
  const event = {
    ...a,
    priority: priorityName(priority),
    output_fields: fields,
    hostname: str(a.hostname),
    source: str(a.source) || 'syscall',
    tags,
    uuid,
    count,
  } as StoredEvent;
  const output = str(a.output);
  let text: string | undefined;
  return {
    uuid,
    ts,
    priority,
    rule: a.rule,
    source: event.source,
    hostname: event.hostname,
    cluster: str(a.cluster),
    containerId: str(fields['container.id']),
    containerName: str(fields['container.name']),
    containerImage: str(fields['container.image.repository']) || str(fields['container.image']),
    k8sNs: str(fields['k8s.ns.name']) || str(fields['ka.target.namespace']),
    tags,
    count,
    output,
    // Falco's output line already carries the output fields' values. Computed on first
    // use (the SQLite store hands the unprocessed line to FTS5, whose tokenizer splits the same way).
    get text() {
      text ??= wordText(`${output} ${a.rule} ${event.hostname}`);
      return text;
    },
    raw: sortedJson(event),
    event,
  };
}

/** Alert JSON with keys in Falco's (alphabetical) order; skips re-ordering when they already are. */
function sortedJson(event: StoredEvent): string {
  const keys = Object.keys(event);
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) return alertToJson(event);
  return JSON.stringify(event);
}

/** Cursor = base64url("<ts>:<id>") of the last row returned. */
export function encodeCursor(ts: number, id: number): string {
  return Buffer.from(`${ts}:${id}`).toString('base64url');
}

export function decodeCursor(cursor: string): { ts: number; id: number } {
  const m = /^(-?\d+):(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!m) throw new AlertError('invalid cursor');
  return { ts: Number(m[1]), id: Number(m[2]) };
}
