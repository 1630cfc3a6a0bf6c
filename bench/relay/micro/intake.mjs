#!/usr/bin/env node
// Micro-benchmark of the relay intake's per-alert JavaScript (no HTTP, no spool): JSON.parse alone,
// decodeBody, decodeBody + acceptAlertJson (validation, enrichment, serialisation), and metrics.countEvent.
// Compares several builds, each in its own child process (own JIT state), rounds interleaved so the
// machine's load hits all of them alike:
//   node bench/relay/micro/intake.mjs [label=distDir ...]     (default: current=dist)
// A reference build of another revision: sh bench/relay/micro/build-ref.sh HEAD /tmp/ref  → /tmp/ref/dist
// Env: MICRO_ALERTS (per round, default 20000), MICRO_ROUNDS (default 7). Run under `flock -x /tmp/peregrine-cpu.lock`.
import { fork } from 'node:child_process';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchAlert } from '../alert.mjs';
import { ask, parseBuilds } from '../common.mjs';

const N = Number(process.env.MICRO_ALERTS ?? 20000);
const ROUNDS = Number(process.env.MICRO_ROUNDS ?? 7);

if (process.argv[2] === '--child') {
  const url = pathToFileURL(`${resolve(process.argv[3])}/`).href;
  const payload = await import(new URL('relay/intake/payload.js', url).href);
  const metrics = new (await import(new URL('relay/delivery/metrics.js', url).href)).RelayMetrics();
  // The bench:relay load generator's alert (bench/relay/run.mjs alertBody), 1,000 distinct bodies.
  const bodies = [];
  for (let n = 1; n <= 1000; n++) {
    bodies.push(
      JSON.stringify(
        benchAlert(n, {
          sent: 1764000000000 + n / 7,
          time: new Date(1764000000000 + n).toISOString().replace('Z', '123456Z'),
        }),
      ),
    );
  }
  const none = { customFields: {}, customTags: [], templatedFields: new Map(), bracketReplacer: '', outputFieldFormat: '' };
  const custom = { ...none, customFields: { env: 'prod', region: 'eu-1' }, customTags: ['relay'] };
  const { decodeBody, acceptAlertJson } = payload;
  const alerts = bodies.map((s) => acceptAlertJson(JSON.parse(s), none).alert);
  let sink = 0;
  const stages = {
    'JSON.parse (baseline)': () => {
      for (let i = 0; i < N; i++) sink += JSON.parse(bodies[i % 1000]).priority.length;
    },
    decodeBody: () => {
      for (let i = 0; i < N; i++) sink += decodeBody(bodies[i % 1000]).items.length;
    },
    'decodeBody + acceptAlertJson': () => {
      for (let i = 0; i < N; i++) sink += acceptAlertJson(decodeBody(bodies[i % 1000]).items[0], none).json.length;
    },
    '… with customfields + customtags': () => {
      for (let i = 0; i < N; i++) sink += acceptAlertJson(decodeBody(bodies[i % 1000]).items[0], custom).json.length;
    },
    'metrics.countEvent': () => {
      for (let i = 0; i < N; i++) metrics.countEvent(alerts[i % 1000]);
    },
  };
  process.on('message', (stage) => {
    if (stage === 'list') return process.send(Object.keys(stages));
    const c = process.cpuUsage();
    stages[stage]();
    const d = process.cpuUsage(c);
    process.send({ us: (d.user + d.system) / N, sink: sink > 0 });
  });
  process.send('ready');
} else {
  const args = process.argv.slice(2);
  const builds = parseBuilds(args);
  const self = fileURLToPath(import.meta.url);
  for (const b of builds) {
    b.child = fork(self, ['--child', b.dir]);
    await new Promise((r) => b.child.once('message', r));
  }
  const stageNames = await ask(builds[0].child, 'list');
  const results = new Map(); // stage → label → [µs]
  for (let r = 0; r < ROUNDS + 1; r++) {
    for (const name of stageNames) {
      for (const b of r % 2 ? [...builds].reverse() : builds) {
        const { us } = await ask(b.child, name);
        if (r === 0) continue; // warm-up round
        if (!results.has(name)) results.set(name, new Map());
        const m = results.get(name);
        if (!m.has(b.label)) m.set(b.label, []);
        m.get(b.label).push(us);
      }
    }
  }
  for (const b of builds) b.child.kill();
  const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  console.log(
    `intake micro-benchmark: ${N} alerts × ${ROUNDS} rounds per stage, median CPU µs per alert, each build in its own process; load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  const labels = builds.map((b) => b.label);
  console.log(`| stage | ${labels.join(' | ')} |`);
  console.log(`|---|${labels.map(() => '---|').join('')}`);
  for (const [name, m] of results) console.log(`| ${name} | ${labels.map((l) => median(m.get(l)).toFixed(2)).join(' | ')} |`);
}
