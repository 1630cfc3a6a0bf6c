/**
 * Falcosidekick's input contract: validation of one Falco alert and the enrichment applied on receipt
 * (customfields, customtags, uuid, templatedfields, sorted tags, bracketreplacer, outputFieldFormat and the
 * size guard), in Falcosidekick's order.
 */
import { randomUUID } from 'node:crypto';
import type { FalcoAlert, OutputFieldValue } from '../../alert/falco-alert.js';
import { PRIORITIES, type PriorityLevel, parsePriority } from '../../alert/priority.js';
import type { CompiledTemplate } from '../config/template.js';

export const INVALID_BODY = 'Please send a valid request body';
export const NOT_POST = 'Please send with post http method';

export interface Enrichment {
  customFields: Record<string, string>;
  customTags: string[];
  templatedFields: Map<string, CompiledTemplate>;
  bracketReplacer: string;
  outputFieldFormat: string;
}

export class PayloadError extends Error {}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function checkFieldValue(k: string, v: unknown): OutputFieldValue {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) {
    let flat = true;
    for (let i = 0; i < v.length; i++) {
      const t = typeof v[i];
      if (t !== 'string' && t !== 'number' && t !== 'boolean') {
        flat = false;
        break;
      }
    }
    if (flat) return v as Array<string | number | boolean>;
  }
  // Falcosidekick keeps any JSON value; we keep objects as their JSON text so every sink can print them.
  if (isObj(v) || Array.isArray(v)) return JSON.stringify(v);
  throw new PayloadError(`output_fields.${k} has an unsupported value`);
}

/**
 * Set a key on a map that gets its prototype removed later (see `acceptAlertJson`): a key named `__proto__`
 * is defined as an own data property, never the prototype setter.
 */
function put(o: Record<string, OutputFieldValue>, k: string, v: OutputFieldValue): void {
  if (k === '__proto__')
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

/** Falco's own spellings of the priorities (what it sends), looked up before `parsePriority`'s trim + lower-case. */
const EXACT_PRIORITY = new Map<string, PriorityLevel>(PRIORITIES.map((p, i) => [p, i as PriorityLevel]));

const OUTPUT_RE =
  /^([0-9:]+\.[0-9]+): (Debug|Informational|Notice|Warning|Error|Critical|Alert|Emergency) (.*)$/is;
const FIELD_LIMIT = 512;

/**
 * Validate and enrich one decoded JSON value into an alert, or throw PayloadError saying what is wrong.
 * The returned alert gets a fresh uuid (any uuid sent is overwritten, as Falcosidekick does).
 */
export function acceptAlert(raw: unknown, enr: Enrichment, uuid: string = randomUUID()): FalcoAlert {
  return acceptAlertJson(raw, enr, uuid).alert;
}

/**
 * `acceptAlert` plus the alert's JSON, serialised once: the alert object is built with its keys in
 * alphabetical order, so `JSON.stringify` gives exactly `alertToJson`'s output (Falco's key order) and the
 * same string serves the size guard, the spool and the sinks (re-serialised only when the guard cuts fields).
 */
export function acceptAlertJson(
  raw: unknown,
  enr: Enrichment,
  uuid: string = randomUUID(),
): { alert: FalcoAlert; json: string } {
  if (!isObj(raw)) throw new PayloadError('the alert is not a JSON object');
  if (typeof raw.priority !== 'string') throw new PayloadError('priority is missing or not a string');
  const level = EXACT_PRIORITY.get(raw.priority) ?? parsePriority(raw.priority);
  if (level === undefined) throw new PayloadError(`priority "${raw.priority}" is not a Falco priority`);
  if (typeof raw.rule !== 'string' || raw.rule === '') throw new PayloadError('rule is missing or empty');
  if (typeof raw.time !== 'string' || !validTime(raw.time))
    throw new PayloadError('time is missing or not an RFC 3339 timestamp');
  if (raw.output !== undefined && raw.output !== null && typeof raw.output !== 'string')
    throw new PayloadError('output is not a string');
  if (raw.output_fields !== undefined && raw.output_fields !== null && !isObj(raw.output_fields))
    throw new PayloadError('output_fields is not an object');
  if (raw.tags !== undefined && raw.tags !== null && !Array.isArray(raw.tags))
    throw new PayloadError('tags is not a list');
  for (const k of ['source', 'hostname'] as const) {
    if (raw[k] !== undefined && raw[k] !== null && typeof raw[k] !== 'string')
      throw new PayloadError(`${k} is not a string`);
  }

  // output_fields is built as an ordinary object (fast properties: cheaper to fill, read and serialise than
  // Object.create(null)'s dictionary) and loses its prototype once filled, so a field named `__proto__`
  // (attacker-controlled JSON) stays an ordinary field and a missing field never reads Object.prototype.
  const fields: Record<string, OutputFieldValue> = {};
  let nFields = 0;
  const rawFields = raw.output_fields as Record<string, unknown> | undefined | null;
  if (rawFields) {
    const keys = Object.keys(rawFields);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      put(fields, k, checkFieldValue(k, rawFields[k]));
    }
    nFields = keys.length;
  }
  // 1. customfields
  const custom = Object.keys(enr.customFields);
  for (let i = 0; i < custom.length; i++) put(fields, custom[i]!, enr.customFields[custom[i]!]!);
  nFields += custom.length;
  // 2. customtags
  const rawTags = raw.tags as unknown[] | undefined | null;
  const tags: string[] = [];
  if (rawTags) for (let i = 0; i < rawTags.length; i++) tags.push(String(rawTags[i]));
  for (let i = 0; i < enr.customTags.length; i++) tags.push(enr.customTags[i]!);
  // 3. source default, test rule, uuid
  let source = typeof raw.source === 'string' && raw.source !== '' ? raw.source : 'syscalls';
  if (raw.rule === 'Test rule') source = 'internal';
  // 4. templatedfields (evaluated over the output_fields map)
  let templated: Record<string, string> | undefined;
  if (enr.templatedFields.size > 0) {
    templated = {};
    for (const [k, tpl] of enr.templatedFields) {
      const v = tpl.render(fields);
      templated[k] = v;
      put(fields, k, v);
      nFields++;
    }
  }
  // (every step above only adds keys: any key added means the map is not empty)
  if (nFields === 0) throw new PayloadError('output_fields is missing or empty');
  Object.setPrototypeOf(fields, null);
  // 5. sorted tags
  tags.sort();
  // 7. bracketreplacer
  let outFields = fields;
  if (enr.bracketReplacer) {
    outFields = {};
    for (const k of Object.keys(fields)) {
      put(
        outFields,
        k.includes('[') ? k.replaceAll(']', '').replaceAll('[', enr.bracketReplacer) : k,
        fields[k]!,
      );
    }
    Object.setPrototypeOf(outFields, null);
  }
  // Keys in alphabetical order (Falco's serialisation order); optional keys are only present when set.
  const alert = {} as FalcoAlert;
  if (typeof raw.cluster === 'string') alert.cluster = raw.cluster;
  alert.hostname = typeof raw.hostname === 'string' ? raw.hostname : '';
  if (typeof raw.message === 'string') alert.message = raw.message;
  alert.output = typeof raw.output === 'string' ? raw.output : '';
  alert.output_fields = outFields;
  alert.priority = PRIORITIES[level as PriorityLevel];
  alert.rule = raw.rule;
  alert.source = source;
  if (tags.length) alert.tags = tags;
  alert.time = raw.time;
  alert.uuid = uuid;
  // 8. outputFieldFormat
  if (enr.outputFieldFormat && alert.output) {
    const mm = OUTPUT_RE.exec(alert.output);
    if (mm) {
      const custom = Object.entries(enr.customFields)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      const tmpl = Object.entries(templated ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      alert.output = enr.outputFieldFormat
        .replaceAll('<timestamp>', mm[1]!)
        .replaceAll('<priority>', alert.priority)
        .replaceAll('<output>', mm[3]!)
        .replaceAll('<custom_fields>', custom)
        .replaceAll('<templated_fields>', tmpl)
        .replaceAll('<tags>', tags.join(','))
        .trim();
    }
  }
  // 9. size guard: long string fields are cut when the alert is large.
  let json = JSON.stringify(alert);
  if (json.length > 4096) {
    let cutAny = false;
    for (const [k, v] of Object.entries(alert.output_fields)) {
      if (typeof v === 'string' && v.length > FIELD_LIMIT) {
        const cut = `${v.slice(0, FIELD_LIMIT - 5)}[...]`;
        alert.output_fields[k] = cut;
        if (alert.output) alert.output = alert.output.replaceAll(v, cut);
        cutAny = true;
      }
    }
    if (cutAny) json = JSON.stringify(alert);
  }
  return { alert, json };
}

/** Digit value of t[i], or -1. */
function dig(t: string, i: number): number {
  const c = t.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}
/** Two digits at t[i], t[i+1] as a number, or -1. */
function two(t: string, i: number): number {
  const a = dig(t, i);
  const b = dig(t, i + 1);
  return a < 0 || b < 0 ? -1 : a * 10 + b;
}

/**
 * RFC 3339 with an optional fraction of any length (Falco writes nanoseconds), as a date JavaScript can
 * represent, and not Go's zero time. Scanned by hand (no regex, no Date.parse per alert) with exactly the
 * accept/reject behaviour of the former check `/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i`
 * + `Date.parse` (fraction cut to milliseconds): month 1–12, day 1–31 (any month, as Date.parse), hour
 * 0–24 (24 only at 24:00:00.000), minute and second 0–59, offset hour 0–23 and minute 0–59.
 */
export function validTime(t: string): boolean {
  const n = t.length;
  if (n < 20) return false;
  const year = dig(t, 0) | dig(t, 1) | dig(t, 2) | dig(t, 3);
  const mo = two(t, 5);
  const day = two(t, 8);
  const h = two(t, 11);
  const mi = two(t, 14);
  const sec = two(t, 17);
  if (year < 0 || mo < 0 || day < 0 || h < 0 || mi < 0 || sec < 0) return false;
  const T = t.charCodeAt(10);
  if (t.charCodeAt(4) !== 45 || t.charCodeAt(7) !== 45 || (T !== 84 && T !== 116)) return false;
  if (t.charCodeAt(13) !== 58 || t.charCodeAt(16) !== 58) return false;
  let i = 19;
  let ms = 0;
  if (t.charCodeAt(i) === 46) {
    i++;
    const start = i;
    while (i < n && dig(t, i) >= 0) {
      if (i - start < 3) ms = ms * 10 + dig(t, i);
      i++;
    }
    if (i === start) return false;
    for (let j = i - start; j < 3; j++) ms *= 10;
  }
  const z = t.charCodeAt(i);
  if (z === 90 || z === 122) {
    if (i + 1 !== n) return false;
  } else if (z === 43 || z === 45) {
    if (i + 6 !== n || t.charCodeAt(i + 3) !== 58) return false;
    const oh = two(t, i + 1);
    const om = two(t, i + 4);
    if (oh < 0 || om < 0 || oh > 23 || om > 59) return false;
  } else return false;
  if (mo < 1 || mo > 12 || day < 1 || day > 31 || mi > 59 || sec > 59) return false;
  if (h > 24 || (h === 24 && (mi !== 0 || sec !== 0 || ms !== 0))) return false;
  return !t.startsWith('0001-01-01');
}

/** The synthetic alert of `POST /test`. */
export function testAlert(): Record<string, unknown> {
  return {
    output: 'This is a test from peregrine relay',
    priority: 'Debug',
    rule: 'Test rule',
    time: new Date().toISOString(),
    output_fields: { 'proc.name': 'peregrine', 'user.name': 'peregrine' },
    source: 'internal',
    hostname: 'peregrine-relay',
    tags: ['test', 'example'],
  };
}

/**
 * Split a request body into alert values: one JSON object, a JSON array of objects, or NDJSON (one object
 * per line). Throws PayloadError naming the line or item that does not parse.
 */
export function decodeBody(body: string): { items: unknown[]; batch: boolean } {
  const t = body.trim();
  if (t === '') throw new PayloadError('the body is empty');
  try {
    const v: unknown = JSON.parse(t);
    if (Array.isArray(v)) {
      if (v.length === 0) throw new PayloadError('the batch is empty');
      return { items: v, batch: true };
    }
    return { items: [v], batch: false };
  } catch (e) {
    if (e instanceof PayloadError) throw e;
    if (t[0] !== '{' || !t.includes('\n'))
      throw new PayloadError(`the body is not JSON (${(e as Error).message})`);
  }
  const items: unknown[] = [];
  const lines = t.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line) continue;
    try {
      items.push(JSON.parse(line));
    } catch (e) {
      throw new PayloadError(`NDJSON line ${i + 1} is not JSON (${(e as Error).message})`);
    }
  }
  return { items, batch: true };
}

export const priorityOf = (a: FalcoAlert): number => parsePriority(a.priority) ?? 7;
