import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createEngine, memoryExtractor, SYSCALL_FIELDS } from '../../../src/engine/index.js';
import { REFDATA, refdataAvailable } from '../../harness/refdata.js';
import { readRuleFiles } from './helpers.js';

/**
 * Detection cases of Falco's legacy tests that replay `cat_write.scap`, against an in-memory
 * stand-in for that capture built from its golden output (`output_files/single_rule_with_cat_write.*`):
 * `bash` runs `cat /dev/null > /dev/null`: exec, eight opens (/dev/null once), the reads and closes,
 * and six other events on /dev/null descriptors (Falco's catchall_order counts them).
 */
function catWriteEvents(): Record<string, unknown>[] {
  const proc = {
    'proc.name': 'cat',
    'proc.cmdline': 'cat /dev/null',
    'proc.exe': 'cat',
    'proc.pname': 'bash',
    'user.name': 'root',
  };
  let t = 1470327477881781397n;
  const ev = (type: string, extra: Record<string, unknown> = {}) => ({
    'evt.type': type,
    'evt.time': (t += 1000n),
    ...proc,
    ...extra,
  });
  const files = [
    '/etc/ld.so.cache',
    '/lib/x86_64-linux-gnu/libc.so.6',
    '/usr/lib/locale/locale-archive',
    '/usr/share/locale/locale.alias',
    '/usr/lib/locale/C.UTF-8/LC_CTYPE',
    '/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache',
    '/usr/lib/locale/C.UTF-8/LC_MESSAGES',
    '/dev/null',
  ];
  const out: Record<string, unknown>[] = [ev('execve'), ev('fstat', { 'fd.name': '/dev/null', 'fd.num': 1 })];
  for (const f of files) {
    out.push(ev('open', { 'fd.name': f, 'fd.typechar': 'f', 'fd.num': 3 }));
    if (f === '/dev/null') {
      for (const t of ['fstat', 'fadvise64', 'read']) out.push(ev(t, { 'fd.name': f, 'fd.num': 3 }));
    } else out.push(ev('read', { 'fd.name': f, 'fd.num': 3 }));
    out.push(ev('close', { 'fd.name': f, 'fd.num': 3 }));
  }
  out.push(ev('close', { 'fd.name': '/dev/null', 'fd.num': 1 }));
  return out;
}

/** Stand-in for `open-multiple-files.scap`: one read-open of each /tmp/file-N (N = 1..13). */
function openMultipleFilesEvents(): Record<string, unknown>[] {
  return Array.from({ length: 13 }, (_, i) => ({
    'evt.type': 'openat',
    'evt.time': 1_600_000_000_000_000_000n + BigInt(i),
    'proc.name': 'python3',
    'evt.is_open_read': true,
    'fd.typechar': 'f',
    'fd.name': `/tmp/file-${i + 1}`,
  }));
}

const TRACES: Record<string, () => Record<string, unknown>[]> = {
  'cat_write.scap': catWriteEvents,
  'open-multiple-files.scap': openMultipleFilesEvents,
};

interface TestCase {
  detect?: boolean;
  detect_counts?: Record<string, number>[];
  rules_file?: string[] | string;
  disabled_rules?: string[];
  disable_tags?: string[];
  run_tags?: string[];
  priority?: string;
  trace_file?: string;
  conf_file?: string;
  validate_rules_file?: unknown;
  stderr_contains?: unknown;
}

function cases(): [string, TestCase][] {
  const out: [string, TestCase][] = [];
  for (const f of ['falco_tests.yaml', 'falco_tests_exceptions.yaml']) {
    const doc = parse(readFileSync(join(REFDATA, 'engine-tests', f), 'utf8'), {
      logLevel: 'silent',
      customTags: [{ tag: '!mux', resolve: (s: string) => s }],
    }) as {
      trace_files: Record<string, TestCase>;
    };
    for (const [name, tc] of Object.entries(doc.trace_files)) {
      const trace = tc.trace_file?.split('/').pop() ?? '';
      if (
        !TRACES[trace] ||
        tc.detect === undefined ||
        tc.validate_rules_file ||
        tc.conf_file ||
        !tc.rules_file
      )
        continue;
      out.push([name, tc]);
    }
  }
  return out;
}

describe.skipIf(!refdataAvailable())(
  'detections on stand-ins of the cat_write / open-multiple-files captures (falco_tests*.yaml)',
  () => {
    it('detects exactly when Falco does, with the same per-rule counts', () => {
      const all = cases();
      expect(all.length).toBeGreaterThan(40);
      const failures: string[] = [];
      for (const [name, tc] of all) {
        const files = (Array.isArray(tc.rules_file) ? tc.rules_file : [tc.rules_file!]).map((p) =>
          p.replace(/^rules\//, ''),
        );
        const e = createEngine({
          extractors: [memoryExtractor('syscall', SYSCALL_FIELDS)],
          ruleMatching: 'first',
          priority: tc.priority ?? 'debug',
          suggestedOutput: false,
        });
        const res = e.load(readRuleFiles(join(REFDATA, 'engine-tests/rules'), files));
        if (!res.successful) {
          failures.push(`${name}: load failed: ${res.toText()}`);
          continue;
        }
        // falco -D <substring>: disable rules whose name contains it
        for (const d of tc.disabled_rules ?? []) e.select([{ disable: { rule: `*${d}*` } }]);
        // falco -T <tag>: disable rules with the tag; -t <tag>: run only rules with one of the tags
        for (const t of tc.disable_tags ?? []) e.select([{ disable: { tag: t } }]);
        if (tc.run_tags)
          e.select([{ disable: { rule: '*' } }, ...tc.run_tags.map((t) => ({ enable: { tag: t } }))]);
        const events = TRACES[tc.trace_file!.split('/').pop()!]!();
        const counts = new Map<string, number>();
        for (const ev of events)
          for (const m of e.process('syscall', ev))
            counts.set(m.rule.name, (counts.get(m.rule.name) ?? 0) + 1);
        const detected = counts.size > 0;
        if (detected !== tc.detect)
          failures.push(`${name}: expected detect=${tc.detect}, got ${JSON.stringify([...counts])}`);
        for (const c of tc.detect_counts ?? []) {
          for (const [rule, n] of Object.entries(c)) {
            if ((counts.get(rule) ?? 0) !== n)
              failures.push(`${name}: expected ${rule}=${n}, got ${counts.get(rule) ?? 0}`);
          }
        }
      }
      const rate = (100 * (all.length - failures.length)) / all.length;
      process.stdout.write(
        `[conformance] detections on capture stand-ins: ${all.length - failures.length}/${all.length} = ${rate.toFixed(1)}%\n`,
      );
      for (const f of failures) process.stdout.write(`  FAIL ${f}\n`);
      expect(failures).toEqual([]);
    });
  },
);

describe.skipIf(!refdataAvailable())('alert output against Falco golden files', () => {
  it('reproduces output_files/single_rule_with_cat_write.{json,txt} (json_output, time_format_iso_8601)', () => {
    const golden = readFileSync(
      join(REFDATA, 'engine-tests/output_files/single_rule_with_cat_write.json'),
      'utf8',
    )
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { time: string; output: string });
    const goldenText = readFileSync(
      join(REFDATA, 'engine-tests/output_files/single_rule_with_cat_write.txt'),
      'utf8',
    )
      .split('\n')
      .filter((l) => l.trim() !== '');
    // that capture predates the container plugin: no suggested container fields
    const e = createEngine({
      extractors: [memoryExtractor('syscall', SYSCALL_FIELDS)],
      hostname: 'test-falco-hostname',
      suggestedOutput: false,
    });
    expect(
      e.load(readRuleFiles(join(REFDATA, 'engine-tests/rules'), ['single_rule_with_tags.yaml'])).successful,
    ).toBe(true);
    const text: string[] = [];
    for (const g of golden) {
      const [, frac] = /\.(\d{9})Z$/.exec(g.time)!;
      const ns = (BigInt(Date.parse(g.time)) / 1000n) * 1_000_000_000n + BigInt(frac!);
      const ev = { 'evt.type': 'open', 'evt.time': ns, 'proc.name': 'cat', 'proc.cmdline': 'cat /dev/null' };
      const m = e.process('syscall', ev);
      expect(m).toHaveLength(1);
      const alert = e.toAlert(m[0]!, ev, { time_format_iso_8601: true });
      expect(JSON.parse(JSON.stringify(alert))).toEqual(g);
      text.push(alert.output!);
    }
    // the text file holds the same lines (it may be cut short by one)
    expect(text.slice(0, goldenText.length)).toEqual(goldenText);
  });
});
