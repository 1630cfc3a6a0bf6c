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
  if (Array.isArray(v) && v.every((x) => ['string', 'number', 'boolean'].includes(typeof x)))
    return v as Array<string | number | boolean>;
  // Falcosidekick keeps any JSON value; we keep objects as their JSON text so every sink can print them.
  if (isObj(v) || Array.isArray(v)) return JSON.stringify(v);
  throw new PayloadError(`output_fields.${k} has an unsupported value`);
}

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
  const level = parsePriority(raw.priority);
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

  // No prototype: a field named `__proto__` (attacker-controlled JSON) stays an ordinary field.
  const fields: Record<string, OutputFieldValue> = Object.create(null);
  for (const [k, v] of Object.entries((raw.output_fields as Record<string, unknown> | undefined) ?? {}))
    fields[k] = checkFieldValue(k, v);
  // 1. customfields
  for (const [k, v] of Object.entries(enr.customFields)) fields[k] = v;
  // 2. customtags
  const tags = ((raw.tags as unknown[] | undefined | null) ?? []).map(String);
  for (const t of enr.customTags) tags.push(t);
  // 3. source default, test rule, uuid
  let source = typeof raw.source === 'string' && raw.source !== '' ? raw.source : 'syscalls';
  if (raw.rule === 'Test rule') source = 'internal';
  // 4. templatedfields (evaluated over the output_fields map)
  const templated: Record<string, string> = {};
  for (const [k, tpl] of enr.templatedFields) {
    const v = tpl.render(fields);
    templated[k] = v;
    fields[k] = v;
  }
  if (Object.keys(fields).length === 0) throw new PayloadError('output_fields is missing or empty');
  // 5. sorted tags
  tags.sort();
  // 7. bracketreplacer
  let outFields = fields;
  if (enr.bracketReplacer) {
    outFields = Object.create(null);
    for (const [k, v] of Object.entries(fields)) {
      outFields[k.includes('[') ? k.replaceAll(']', '').replaceAll('[', enr.bracketReplacer) : k] = v;
    }
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
      const tmpl = Object.entries(templated)
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

function validTime(t: string): boolean {
  // RFC 3339 with optional fraction (any number of digits, Falco writes nanoseconds).
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(t)) return false;
  const ms = Date.parse(t.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isFinite(ms) && !t.startsWith('0001-01-01');
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
