import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createValidator } from '../../../src/engine/index.js';
import { REFDATA, refdataAvailable } from '../../harness/refdata.js';
import { readRuleFiles } from './helpers.js';

interface Case {
  test: string;
  files: string[];
  errCode?: string;
  errItem?: string;
  warns: { code: string; count: number }[];
}

/** Older Falco names for codes that were renamed. */
const CODE_ALIASES: Record<string, string> = { LOAD_UNKNOWN_FIELD: 'LOAD_UNKNOWN_FILTER' };

/** Rule-loading rows of EXPECTATIONS.md: every row with rules files whose verdict is about loading. */
function loadCases(): Case[] {
  const md = readFileSync(join(REFDATA, 'engine-tests/EXPECTATIONS.md'), 'utf8');
  const out: Case[] = [];
  for (const line of md.split('\n')) {
    if (!line.startsWith('| ') || line.startsWith('| test') || line.startsWith('|---')) continue;
    const cells = line.split(' | ').map((c) => c.replace(/^\| ?/, '').replace(/ ?\|$/, '').trim());
    const [test, , rules, , expectation = ''] = cells;
    if (!test || !rules) continue;
    if (expectation.includes('stderr~')) continue; // command-line / falco.yaml cases, not rule loading
    const c: Case = { test, files: rules.split(',').map((s) => s.trim()), warns: [] };
    const err = /ERR (LOAD_[A-Z_]+):.*?\[([^\]]*)\]/.exec(expectation);
    if (err) {
      c.errCode = CODE_ALIASES[err[1]!] ?? err[1]!;
      c.errItem = err[2]!;
    }
    for (const w of expectation.matchAll(/WARN (LOAD_[A-Z_]+) x(\d+)/g)) {
      c.warns.push({ code: CODE_ALIASES[w[1]!] ?? w[1]!, count: Number(w[2]) });
    }
    out.push(c);
  }
  return out;
}

describe.skipIf(!refdataAvailable())('engine-tests/EXPECTATIONS.md rule-loading cases', () => {
  it('matches Falco verdicts and codes on at least 95% of the cases', () => {
    const cases = loadCases();
    expect(cases.length).toBeGreaterThan(60);
    const failures: string[] = [];
    for (const c of cases) {
      const v = createValidator();
      const res = v.load(readRuleFiles(join(REFDATA, 'engine-tests/rules'), c.files));
      const errors = res.files.flatMap((f) => f.errors);
      const warnings = res.files.flatMap((f) => f.warnings);
      const problems: string[] = [];
      if (c.errCode) {
        const e = errors[0];
        if (!e) problems.push(`expected ${c.errCode}, loaded fine`);
        else {
          if (e.code !== c.errCode) problems.push(`expected ${c.errCode}, got ${e.code} (${e.message})`);
          const [itype, iname] = c.errItem!.split(':');
          const loc = e.context.locations.find(
            (l) => l.item_type === itype && (iname === '' || l.item_name === iname),
          );
          if (itype && !loc)
            problems.push(
              `expected location ${c.errItem}, got ${JSON.stringify(e.context.locations.map((l) => `${l.item_type}:${l.item_name}`))}`,
            );
        }
      } else if (errors.length > 0) {
        problems.push(`expected success, got ${errors[0]!.code}: ${errors[0]!.message}`);
      }
      // The last file's result holds the warnings of the final compile (Falco recompiles on every file).
      const last = res.files.at(-1)?.warnings ?? [];
      for (const w of c.warns) {
        const n = (c.errCode ? warnings : last).filter((x) => x.code === w.code).length;
        if (n !== w.count) problems.push(`expected ${w.count}x ${w.code}, got ${n}`);
      }
      if (problems.length > 0) failures.push(`${c.test}: ${problems.join('; ')}`);
    }
    const passed = cases.length - failures.length;
    const rate = (100 * passed) / cases.length;
    process.stdout.write(
      `[conformance] EXPECTATIONS.md rule loading: ${passed}/${cases.length} = ${rate.toFixed(1)}%\n`,
    );
    for (const f of failures) process.stdout.write(`  FAIL ${f}\n`);
    expect(rate).toBeGreaterThanOrEqual(95);
  });
});
