import { randomUUID } from 'node:crypto';
import { ALERT_KEYS, alertToJson } from '../../alert/falco-alert.js';
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
  const tags = sortedTags(a.tags as string[] | undefined);
  const hostname = str(a.hostname);
  const source = str(a.source) || 'syscall';
  const name = priorityName(priority);
  let event: StoredEvent;
  let raw: string;
  if (knownKeysOnly(a)) {
    // Every key is one of Falco's (plus uuid, cluster, count): build the event in alphabetical
    // key order, so serialising it as it is gives Falco's key order without sorting.
    const e: Record<string, unknown> = {};
    if (a.cluster !== undefined) e.cluster = a.cluster;
    e.count = count;
    e.hostname = hostname;
    if (a.message !== undefined) e.message = a.message;
    if (a.output !== undefined) e.output = a.output;
    e.output_fields = fields;
    e.priority = name;
    e.rule = a.rule;
    e.source = source;
    e.tags = tags;
    e.time = a.time;
    e.uuid = uuid;
    event = e as unknown as StoredEvent;
    raw = JSON.stringify(event);
  } else {
    event = {
      ...a,
      priority: name,
      output_fields: fields,
      hostname,
      source,
      tags,
      uuid,
      count,
    } as StoredEvent;
    raw = alertToJson(event);
  }
  return new Row(event, raw, ts, priority, fields);
}

function knownKeysOnly(a: Record<string, unknown>): boolean {
  for (const k in a) if (!ALERT_KEYS.has(k) || !Object.hasOwn(a, k)) return false;
  return true;
}

/** Tags without duplicates, sorted, in a new array (the input is not changed). */
function sortedTags(tags: string[] | undefined): string[] {
  if (!tags) return [];
  for (let i = 1; i < tags.length; i++) if (!(tags[i - 1]! < tags[i]!)) return [...new Set(tags)].sort();
  return tags.slice();
}

class Row implements EventRow {
  uuid: string;
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
  private textCache?: string;

  constructor(
    public event: StoredEvent,
    public raw: string,
    public ts: number,
    public priority: PriorityLevel,
    fields: Record<string, unknown>,
  ) {
    this.uuid = event.uuid;
    this.rule = event.rule;
    this.source = event.source;
    this.hostname = event.hostname;
    this.cluster = str(event.cluster);
    this.containerId = str(fields['container.id']);
    this.containerName = str(fields['container.name']);
    this.containerImage = str(fields['container.image.repository']) || str(fields['container.image']);
    this.k8sNs = str(fields['k8s.ns.name']) || str(fields['ka.target.namespace']);
    this.tags = event.tags ?? [];
    this.count = event.count;
    this.output = str(event.output);
  }

  // Falco's output line already carries the output fields' values. Computed on first
  // use (the SQLite store hands the unprocessed line to FTS5, whose tokenizer splits the same way).
  get text(): string {
    this.textCache ??= wordText(`${this.output} ${this.rule} ${this.hostname}`);
    return this.textCache;
  }
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
