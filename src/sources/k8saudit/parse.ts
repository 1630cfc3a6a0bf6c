/**
 * Decoding of what the API server's webhook backend (and files) contain: an
 * `audit.k8s.io` EventList, a single Event, a JSON array of either, or NDJSON
 * (one of those per line, files only).
 */
import { type AuditEvent, isJsonObject, type Json, type JsonObject, toAuditEvent } from './event.js';

export class AuditParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditParseError';
  }
}

export interface ParseOutcome {
  events: AuditEvent[];
  /** Events skipped because larger than maxEventSize. */
  oversized: number;
  /** Items that are not audit Events (skipped, with the reason of the first one). */
  invalid: number;
  firstInvalidReason?: string;
}

export interface ParseOptions {
  /** Events larger than this (bytes, compact JSON) are skipped and counted. */
  maxEventSize?: number;
}

/**
 * Character spans of the elements of the top-level `"items"` array of a JSON object
 * text (an EventList), found by a scan that skips string contents with indexOf.
 * Undefined when the text has no such array. Used to size events without
 * re-serializing them.
 */
export function eventListItemSpans(text: string): Array<[number, number]> | undefined {
  const n = text.length;
  let depth = 0;
  let i = 0;
  let lastKey: string | undefined;
  let inItems = false;
  let itemStart = -1;
  const spans: Array<[number, number]> = [];
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      let j = text.indexOf('"', i + 1);
      while (j > 0) {
        let b = j - 1;
        while (text.charCodeAt(b) === 92 /* \\ */) b--;
        if ((j - 1 - b) % 2 === 0) break;
        j = text.indexOf('"', j + 1);
      }
      if (j < 0) return undefined;
      if (depth === 1) lastKey = text.slice(i + 1, j);
      if (inItems && depth === 2 && itemStart < 0) itemStart = i;
      i = j + 1;
      continue;
    }
    if (c === 123 /* { */ || c === 91 /* [ */) {
      if (depth === 1 && c === 91 && lastKey === 'items') {
        inItems = true;
      } else if (inItems && depth === 2 && itemStart < 0) itemStart = i;
      depth++;
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      depth--;
      if (inItems && depth === 1) {
        if (itemStart >= 0) spans.push([itemStart, i]);
        return spans;
      }
    } else if (c === 44 /* , */) {
      if (inItems && depth === 2 && itemStart >= 0) {
        spans.push([itemStart, i]);
        itemStart = -1;
      }
      if (depth === 1) lastKey = undefined;
    } else if (inItems && depth === 2 && itemStart < 0 && c > 32) itemStart = i;
    i++;
  }
  return undefined;
}

/** Byte length of text[start, end) trimmed of trailing whitespace, exact only when near the limit. */
function spanExceeds(text: string, span: [number, number], max: number): boolean {
  const chars = span[1] - span[0];
  if (chars > max) return true; // UTF-8 is never shorter than UTF-16 code units
  if (chars * 3 <= max) return false;
  return Buffer.byteLength(text.slice(span[0], span[1]).trimEnd()) > max;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

/**
 * Collect the Event objects of one decoded JSON document. Throws AuditParseError
 * when the document as a whole is not an Event, EventList or array of them.
 */
function collect(
  doc: Json,
  out: ParseOutcome,
  opts: ParseOptions,
  bodyBytes: number,
  depth = 0,
  text?: string,
): void {
  // Sizes of EventList items from the raw text (no re-serialization), when needed.
  let spans: Array<[number, number]> | undefined;
  if (
    text !== undefined &&
    opts.maxEventSize !== undefined &&
    bodyBytes > opts.maxEventSize &&
    isJsonObject(doc) &&
    doc.kind === 'EventList' &&
    Array.isArray(doc.items)
  ) {
    spans = eventListItemSpans(text);
    if (spans && spans.length !== doc.items.length) spans = undefined;
  }
  let itemIndex = -1;
  const pushEvent = (o: JsonObject) => {
    const max = opts.maxEventSize;
    if (spans && max !== undefined) {
      if (spanExceeds(text!, spans[itemIndex]!, max)) {
        out.oversized++;
        return;
      }
      out.events.push(toAuditEvent(o, spans[itemIndex]![1] - spans[itemIndex]![0]));
      return;
    }
    // An event can only exceed the limit when the whole body does.
    if (max !== undefined && bodyBytes > max) {
      const json = JSON.stringify(o);
      const size = Buffer.byteLength(json);
      if (size > max) {
        out.oversized++;
        return;
      }
      const ev = toAuditEvent(o, size);
      ev.json = json;
      out.events.push(ev);
      return;
    }
    out.events.push(toAuditEvent(o, bodyBytes));
  };
  const invalid = (reason: string) => {
    out.invalid++;
    out.firstInvalidReason ??= reason;
  };

  if (Array.isArray(doc)) {
    if (depth > 0) throw new AuditParseError('nested arrays are not audit events');
    doc.forEach((item, i) => {
      if (!isJsonObject(item)) invalid(`item ${i} is ${describe(item)}, not an audit Event`);
      else if (item.kind === 'EventList') collectList(item, out, pushEvent, invalid, `item ${i}: `);
      else if (isEvent(item)) pushEvent(item);
      else invalid(`item ${i}: ${eventProblem(item)}`);
    });
    return;
  }
  if (!isJsonObject(doc))
    throw new AuditParseError(`expected an audit Event or EventList object, got ${describe(doc)}`);
  if (doc.kind === 'EventList') {
    collectList(doc, out, pushEvent, invalid, '', (i) => {
      itemIndex = i;
    });
    return;
  }
  if (!isEvent(doc)) throw new AuditParseError(eventProblem(doc));
  pushEvent(doc);
}

function collectList(
  list: JsonObject,
  out: ParseOutcome,
  pushEvent: (o: JsonObject) => void,
  invalid: (r: string) => void,
  where: string,
  onIndex?: (i: number) => void,
): void {
  const items = list.items;
  if (items === undefined || items === null) return; // empty list
  if (!Array.isArray(items))
    throw new AuditParseError(`${where}EventList.items is ${describe(items)}, expected an array`);
  items.forEach((item, i) => {
    onIndex?.(i);
    if (!isJsonObject(item)) invalid(`${where}items[${i}] is ${describe(item)}, not an audit Event`);
    else if (isEvent(item)) pushEvent(item);
    else invalid(`${where}items[${i}]: ${eventProblem(item)}`);
  });
  void out;
}

function isEvent(o: JsonObject): boolean {
  return (o.kind === 'Event' || o.kind === undefined) && typeof o.auditID === 'string';
}

function eventProblem(o: JsonObject): string {
  if (o.kind !== undefined && o.kind !== 'Event' && o.kind !== 'EventList')
    return `kind ${JSON.stringify(o.kind)} is not Event or EventList`;
  if (typeof o.auditID !== 'string') return 'not an audit Event (no string auditID)';
  return 'not an audit Event';
}

/** Parse a webhook body (one JSON document). Throws AuditParseError on bad JSON or a bad document. */
export function parseAuditBody(body: string, opts: ParseOptions = {}): ParseOutcome {
  let doc: Json;
  try {
    doc = JSON.parse(body) as Json;
  } catch (e) {
    throw new AuditParseError(`invalid JSON: ${(e as Error).message}`);
  }
  const out: ParseOutcome = { events: [], oversized: 0, invalid: 0 };
  collect(doc, out, opts, Buffer.byteLength(body), 0, body);
  return out;
}

/**
 * Parse a file's content: one JSON document (Event, EventList or array), or NDJSON.
 * Throws AuditParseError naming the line of the first bad NDJSON line.
 */
export function parseAuditFile(text: string, opts: ParseOptions = {}): ParseOutcome {
  const trimmed = text.trim();
  if (trimmed === '') return { events: [], oversized: 0, invalid: 0 };
  try {
    return parseAuditBody(trimmed, opts);
  } catch (e) {
    if (!(e instanceof AuditParseError) || !e.message.startsWith('invalid JSON')) throw e;
  }
  const out: ParseOutcome = { events: [], oversized: 0, invalid: 0 };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let doc: Json;
    try {
      doc = JSON.parse(line) as Json;
    } catch (e) {
      throw new AuditParseError(`line ${i + 1}: invalid JSON: ${(e as Error).message}`);
    }
    try {
      collect(doc, out, opts, Buffer.byteLength(line));
    } catch (e) {
      throw new AuditParseError(`line ${i + 1}: ${(e as Error).message}`);
    }
  }
  return out;
}
