#!/usr/bin/env node
// Agent stand-in for the live benchmark: runs the syscall source (collector + Node decoding)
// and, with --rules, the rules engine on every delivered event. Prints its cumulative counters
// as one JSON line every 250 ms on stdout. Usage: consumer.mjs [--rules] --types a,b,c
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEngine } from '../../dist/engine/index.js';
import { SyscallExtractor } from '../../dist/sources/syscall/extractor.js';
import { SyscallSource } from '../../dist/sources/syscall/source.js';

const args = process.argv.slice(2);
const withRules = args.includes('--rules');
const types = (args[args.indexOf('--types') + 1] ?? '').split(',').filter(Boolean);
const root = new URL('../../', import.meta.url).pathname;
const refdata = process.env.PEREGRINE_REFDATA ?? join(root, '../shared/refdata');

let engine;
let matches = 0;
let eventTypes = types;
if (withRules) {
  engine = createEngine({ extractors: [new SyscallExtractor()], hostname: 'bench' });
  const files = [];
  const stable = join(refdata, 'rules/falco_rules.yaml');
  if (existsSync(stable)) files.push({ name: 'falco_rules.yaml', content: readFileSync(stable, 'utf8') });
  const ours = join(root, 'rules');
  if (existsSync(ours))
    for (const f of readdirSync(ours).sort())
      if (/\.ya?ml$/.test(f)) files.push({ name: `rules/${f}`, content: readFileSync(join(ours, f), 'utf8') });
  const res = engine.load(files);
  if (!res.successful) {
    process.stderr.write(res.toText());
    process.exit(1);
  }
  eventTypes = [...new Set([...engine.eventTypes('syscall'), ...types])];
}
const pollMs = process.env.BENCH_POLL_MS ? Number(process.env.BENCH_POLL_MS) : undefined;
const live = new SyscallSource({ eventTypes, pollMs, dropAlertRate: 1000, dropAlertMaxBurst: 1000 });
// Lazy decoding: without rules the consumer reads the type only (what the engine's index reads).
await live.start(
  engine
    ? (ev) => {
        matches += engine.process('syscall', ev).length;
      }
    : (ev) => {
        if (ev.type === '') matches++;
      },
);
const tick = () => {
  const m = live.metrics();
  const cpu = process.cpuUsage();
  process.stdout.write(
    `${JSON.stringify({
      t: Date.now(),
      frames: m.frames,
      delivered: m.delivered,
      drops: m.drops,
      kernelEmitted: m.kernelEmitted,
      matches,
      cpuUs: cpu.user + cpu.system,
      rss: process.memoryUsage().rss,
      collectorPid: live.collectorPid,
      selected: live.selectedSyscalls.join(','),
    })}\n`,
  );
};
setInterval(tick, 250);
tick();
process.on('SIGTERM', async () => {
  await live.stop();
  process.exit(0);
});
