#!/usr/bin/env node
// `npm run bench`: runs every `bench:*` script of package.json in turn and prints
// one summary table. Each bench script prints its own detailed table and may end
// with a line `BENCH-RESULT {json}` ({name, metric, value, unit, baseline, ratio, target, pass})
// which is collected here.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const names = Object.keys(pkg.scripts ?? {})
  .filter((n) => n.startsWith('bench:'))
  .sort();
const rows = [];
let failed = 0;
for (const name of names) {
  process.stdout.write(`\n=== npm run ${name} ===\n`);
  const r = spawnSync('npm', ['run', '--silent', name], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  process.stdout.write(r.stdout ?? '');
  if (r.status !== 0) failed++;
  for (const line of (r.stdout ?? '').split('\n')) {
    if (!line.startsWith('BENCH-RESULT ')) continue;
    try {
      rows.push({ script: name, ...JSON.parse(line.slice('BENCH-RESULT '.length)) });
    } catch {
      rows.push({ script: name, metric: 'unparsable BENCH-RESULT line' });
    }
  }
  if (r.status !== 0) rows.push({ script: name, metric: `exit ${r.status}` });
}

const cols = ['script', 'metric', 'value', 'unit', 'baseline', 'ratio', 'target', 'pass'];
const cell = (v) =>
  v === undefined ? '' : typeof v === 'number' ? String(Math.round(v * 1000) / 1000) : String(v);
const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
const line = (vals) => vals.map((v, i) => v.padEnd(widths[i])).join(' | ');
process.stdout.write(
  `\nSummary (${names.length} bench scripts)\n${line(cols)}\n${widths.map((w) => '-'.repeat(w)).join('-|-')}\n`,
);
for (const r of rows) process.stdout.write(`${line(cols.map((c) => cell(r[c])))}\n`);
if (rows.length === 0) process.stdout.write('(no benchmarks yet)\n');
process.exit(failed ? 1 : 0);
