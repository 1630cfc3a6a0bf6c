import { describe, expect, it } from 'vitest';
import { parseRfc3339Ns } from '../../../src/sources/k8saudit/event.js';
import { AuditParseError, parseAuditBody, parseAuditFile } from '../../../src/sources/k8saudit/parse.js';

const ev = (id: string, extra: Record<string, unknown> = {}) => ({
  kind: 'Event',
  apiVersion: 'audit.k8s.io/v1',
  auditID: id,
  stage: 'ResponseComplete',
  verb: 'get',
  stageTimestamp: '2024-03-01T08:52:34.832049033Z',
  ...extra,
});

describe('audit body parsing', () => {
  it('takes an EventList, a single Event and a JSON array', () => {
    const list = {
      kind: 'EventList',
      apiVersion: 'audit.k8s.io/v1',
      metadata: {},
      items: [ev('a'), ev('b')],
    };
    expect(parseAuditBody(JSON.stringify(list)).events.map((e) => e.obj.auditID)).toEqual(['a', 'b']);
    expect(parseAuditBody(JSON.stringify(ev('c'))).events).toHaveLength(1);
    const arr = [ev('d'), { kind: 'EventList', items: [ev('e')] }];
    expect(parseAuditBody(JSON.stringify(arr)).events.map((e) => e.obj.auditID)).toEqual(['d', 'e']);
    expect(parseAuditBody(JSON.stringify({ kind: 'EventList', items: null })).events).toEqual([]);
  });

  it('uses stageTimestamp with nanoseconds as the event time', () => {
    const [e] = parseAuditBody(JSON.stringify(ev('a'))).events;
    expect(e!.timeNs).toBe(1709283154832049033n);
    expect(parseRfc3339Ns('2024-03-01T09:52:34.5+01:00')).toBe(1709283154500000000n);
    expect(parseRfc3339Ns('yesterday')).toBeUndefined();
  });

  it('rejects bad JSON and non-audit documents with a reason', () => {
    expect(() => parseAuditBody('{"kind":')).toThrow(/invalid JSON/);
    expect(() => parseAuditBody('{"kind": 0}')).toThrow(AuditParseError);
    expect(() => parseAuditBody('{"kind": 0}')).toThrow(/kind 0 is not Event or EventList/);
    expect(() => parseAuditBody('42')).toThrow(/got a number/);
    expect(() => parseAuditBody('{"kind":"EventList","items":{}}')).toThrow(
      /items is a object|expected an array/,
    );
  });

  it('skips and counts items that are not events, keeps the rest', () => {
    const out = parseAuditBody(JSON.stringify({ kind: 'EventList', items: [ev('a'), 7, { kind: 'Pod' }] }));
    expect(out.events).toHaveLength(1);
    expect(out.invalid).toBe(2);
    expect(out.firstInvalidReason).toContain('items[1]');
  });

  it('skips events above maxEventSize and keeps the rest of the batch', () => {
    const big = ev('big', { requestObject: { data: 'x'.repeat(5000) } });
    const body = JSON.stringify({ kind: 'EventList', items: [ev('a'), big, ev('b')] });
    const out = parseAuditBody(body, { maxEventSize: 1000 });
    expect(out.events.map((e) => e.obj.auditID)).toEqual(['a', 'b']);
    expect(out.oversized).toBe(1);
  });

  it('reads NDJSON files and names the bad line', () => {
    const text = `${JSON.stringify(ev('a'))}\n\n${JSON.stringify({ kind: 'EventList', items: [ev('b')] })}\n`;
    expect(parseAuditFile(text).events.map((e) => e.obj.auditID)).toEqual(['a', 'b']);
    expect(() => parseAuditFile(`${JSON.stringify(ev('a'))}\n{oops\n`)).toThrow(/line 2: invalid JSON/);
    expect(parseAuditFile('  \n').events).toEqual([]);
  });
});

describe('EventList item spans (sizing without re-serializing)', () => {
  it('finds each item, whatever the strings and whitespace contain', async () => {
    const { eventListItemSpans } = await import('../../../src/sources/k8saudit/parse.js');
    const items = [
      ev('a', { note: 'quote " and backslash \\ and brackets [{,}]' }),
      ev('b', { note: 'ends with backslash \\\\' }),
      ev('c', { nested: { list: [1, [2, { x: '}' }]] } }),
    ];
    for (const text of [
      JSON.stringify({ kind: 'EventList', items }),
      JSON.stringify({ metadata: { items: ['decoy'] }, kind: 'EventList', items }, null, 2),
      JSON.stringify({ items, kind: 'EventList' }, null, '\t'),
    ]) {
      const spans = eventListItemSpans(text)!;
      expect(spans).toHaveLength(3);
      spans.forEach(([s, e], i) => {
        expect(JSON.parse(text.slice(s, e))).toEqual(items[i]);
      });
    }
    expect(eventListItemSpans('{"kind":"EventList","items":[]}')).toEqual([]);
    expect(eventListItemSpans('{"kind":"EventList"}')).toBeUndefined();
    expect(eventListItemSpans('{"items":["unterminated')).toBeUndefined();
  });

  it('oversized detection agrees with the serialized size, also for multi-byte text', () => {
    const items = [ev('small'), ev('wide', { note: 'é'.repeat(700) }), ev('big', { note: 'x'.repeat(1500) })];
    const body = JSON.stringify({ kind: 'EventList', items });
    const out = parseAuditBody(body, { maxEventSize: 1500 });
    // 'wide' is 700 chars but 1400 bytes of é plus the envelope: above 1500 bytes
    const sizes = items.map((i) => Buffer.byteLength(JSON.stringify(i)));
    expect(out.events.map((e) => e.obj.auditID)).toEqual(
      items.filter((_, i) => sizes[i]! <= 1500).map((i) => i.auditID),
    );
    expect(out.oversized).toBe(sizes.filter((s) => s > 1500).length);
  });
});
