import { describe, expect, it } from 'vitest';
import type { FalcoAlert } from '../../../src/alert/falco-alert.js';
import { goTimeString, sidekickJson, unixNanos } from '../../../src/relay/delivery/format.js';
import { classify } from '../../../src/relay/delivery/http.js';
import { safeLabel } from '../../../src/relay/sinks/alertmanager/sink.js';
import { classifyBulk, indexName } from '../../../src/relay/sinks/elasticsearch/sink.js';
import { encodeLine as influxLine } from '../../../src/relay/sinks/influxdb/sink.js';
import { subjectCache, subjectFor } from '../../../src/relay/sinks/nats/sink.js';
import { severity } from '../../../src/relay/sinks/pagerduty/sink.js';
import { insertSql } from '../../../src/relay/sinks/postgresql/sink.js';
import { encode as smtpEncode } from '../../../src/relay/sinks/smtp/sink.js';
import { encodeLine } from '../../../src/relay/sinks/stdout/sink.js';
import { frame } from '../../../src/relay/sinks/syslog/sink.js';

const a: FalcoAlert = {
  uuid: '11111111-2222-3333-4444-555555555555',
  output: 'Shell "bash" <b>spawned</b>',
  priority: 'Error',
  rule: 'Shell, in = container',
  time: '2024-03-01T08:52:34.832049033Z',
  output_fields: { 'proc.name': 'ba sh', 'fd.name': null, n: 3 },
  source: 'syscall',
  hostname: 'node 1',
  tags: ['a', 'b'],
};

describe('sink encoders', () => {
  it('stdout: JSON in Falcosidekick key order, or the text line with the dedup count', () => {
    expect(encodeLine(a, 'json')).toBe(sidekickJson(a));
    expect(Object.keys(JSON.parse(encodeLine(a, 'json')))).toEqual([
      'uuid',
      'output',
      'priority',
      'rule',
      'time',
      'output_fields',
      'source',
      'tags',
      'hostname',
    ]);
    expect(encodeLine({ ...a, count: 4 }, 'text')).toBe('Shell "bash" <b>spawned</b> (x4)');
  });

  it('time helpers keep nanoseconds', () => {
    expect(unixNanos(a.time)).toBe('1709283154832049033');
    expect(unixNanos('2024-03-01T08:52:34Z')).toBe('1709283154000000000');
    expect(goTimeString('2001-01-01T01:10:00Z')).toBe('2001-01-01 01:10:00 +0000 UTC');
  });

  it('nats subject: lower-cased priority and sanitised rule', () => {
    expect(subjectFor('falco.<priority>.<rule>', a)).toBe('falco.error.shell_in_container');
  });

  it('nats subject cache: same subject as subjectFor per (priority, rule), also past its size bound', () => {
    const tpl = 'x.<rule>.<priority>.<rule>';
    const cached = subjectCache(tpl);
    const rules = ['Shell, in = container', '  --Write below etc--', 'ÄÖ rule', 'a\u0000b', 'Warning'];
    const prios = ['Error', 'Warning', 'Debug'] as const;
    for (let i = 0; i < 6000; i++) {
      const b: FalcoAlert = {
        ...a,
        rule: i < 30 ? rules[i % 5]! : `rule ${i % 4500}`,
        priority: prios[i % 3]!,
      };
      expect(cached(b)).toBe(subjectFor(tpl, b));
    }
  });

  it('influxdb: escapes tag and field values', () => {
    const line = influxLine(a, 'ms');
    expect(line).toBe(
      'events,rule=Shell\\,\\ in\\ \\=\\ container,priority=Error,source=syscall,proc.name=ba\\ sh,hostname=node\\ 1,tags=a_b value="Shell \\"bash\\" <b>spawned</b>",uuid="11111111-2222-3333-4444-555555555555" 1709283154832',
    );
  });

  it('syslog: RFC 5424 header with PRI = facility*8 + severity and structured data', () => {
    const f = frame(a, 'json', 16, 'Falco', 'fallback');
    expect(f).toMatch(
      /^<131>1 2024-03-01T08:52:34\.832049033Z node_1 Falco \d+ ALERT \[falco@32473 rule="Shell, in = container" priority="Error" source="syscall" uuid="11111111-2222-3333-4444-555555555555"\] \{/,
    );
  });

  it('smtp: subject and escaped HTML', () => {
    const m = smtpEncode(a, 'html');
    expect(m.subject).toBe('[Error] Shell "bash" <b>spawned</b>');
    expect(m.html).toContain('Shell &#34;bash&#34; &#60;b&#62;spawned&#60;/b&#62;');
    expect(m.text).toContain('fd.name: <NA>');
  });

  it('alertmanager label names, elasticsearch index names and bulk outcomes', () => {
    expect(safeLabel('n drops/buffer?clone{fork]enter')).toBe('n_drops_buffer_clone_fork_enter');
    expect(safeLabel('__x..y__')).toBe('x_y');
    expect(indexName('falco', 'daily', a.time)).toBe('falco-2024.03.01');
    expect(indexName('falco', 'monthly', a.time)).toBe('falco-2024.03');
    expect(indexName('falco', 'annually', a.time)).toBe('falco-2024');
    expect(indexName('falco', 'none', a.time)).toBe('falco');
    expect(
      classifyBulk('{"errors":true,"items":[{"create":{"status":409}},{"create":{"status":201}}]}'),
    ).toEqual({ kind: 'ok' });
    expect(
      classifyBulk(
        '{"errors":true,"items":[{"create":{"status":429,"error":{"type":"es_rejected_execution_exception"}}}]}',
      ).kind,
    ).toBe('retry');
    expect(
      classifyBulk(
        '{"errors":true,"items":[{"create":{"status":400,"error":{"type":"mapper_parsing_exception","reason":"bad"}}}]}',
      ),
    ).toEqual({
      kind: 'permanent',
      reason: 'item 400 mapper_parsing_exception: bad',
    });
  });

  it('pagerduty severities and postgres statement shape', () => {
    expect(['Emergency', 'Critical', 'Error', 'Warning', 'Notice', 'Debug'].map(severity)).toEqual([
      'critical',
      'critical',
      'error',
      'warning',
      'info',
      'info',
    ]);
    expect(insertSql('falco_events', 2)).toMatch(
      /VALUES \(\$1,.*\$10\),\(\$11,.*\$20\) ON CONFLICT \(uuid\) DO NOTHING$/,
    );
  });

  it('HTTP status classification', () => {
    const r = (status: number, headers: Record<string, string> = {}) =>
      classify({ status, headers, body: '' });
    expect(r(204)).toEqual({ kind: 'ok' });
    expect(r(429, { 'retry-after': '7' })).toEqual({ kind: 'retry', reason: 'HTTP 429', retryAfterMs: 7000 });
    expect(r(502).kind).toBe('retry');
    expect(r(408).kind).toBe('retry');
    expect(r(501).kind).toBe('permanent');
    expect(r(401).kind).toBe('permanent');
  });
});
