#!/usr/bin/env node
// Audit webhook benchmark (`npm run bench:audit`): POSTs EventLists of 100 events to the k8s_audit
// webhook (in this process, over loopback HTTP with keep-alive) and runs the agent's per-event path on
// every event through the agent itself (src/agent Agent.handleEvent: rules engine → alert → metrics →
// rendering → outputs queue) to a counting channel. Three scenarios
// in the same run: parse-only (no rules; the baseline), our default rules, and Falco's upstream
// k8s_audit_rules.yaml. Prints events/s and RSS, then a larger webhook fuzz run. Imports from dist/.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent as Dispatcher, request } from 'undici';
import { Agent } from '../../dist/agent/agent.js';
import { buildConfig } from '../../dist/agent/config.js';
import { createLogger } from '../../dist/common/log.js';
import { K8sAuditSource } from '../../dist/sources/k8saudit/source.js';
import { createEngine } from '../../dist/engine/index.js';
import { k8sAuditExtractor } from '../../dist/sources/k8saudit/extractor.js';
import { fuzzBodies } from '../../dist/sources/k8saudit/fuzz.js';
import { startWebhook } from '../../dist/sources/k8saudit/webhook.js';
import { makeBodies } from './mix.mjs';

const root = new URL('../../', import.meta.url).pathname;
const refdata = process.env.PEREGRINE_REFDATA ?? join(root, '../shared/refdata');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const BATCH = 100;
const CONCURRENCY = 4;
const TARGET = 20_000;
const FUZZ_N = Number(process.env.BENCH_FUZZ ?? 5000);

const { bodies, N_BODIES, avgBytes, seed } = makeBodies(BATCH);

// ---- scenarios: the real agent (config → Agent → K8sAuditSource → engine → queue), alerts to a counting channel ----
const tmp = mkdtempSync(join(tmpdir(), 'peregrine-bench-audit-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
function ruleFiles(which) {
  if (which === 'ours') {
    // as a user would: the cluster's own registry added to the allow-list
    const local = join(tmp, 'local.yaml');
    writeFileSync(local, '- list: allowed_images\n  items: [ghcr.io/example]\n  append: true\n');
    return [join(root, 'rules/k8s_audit_rules.yaml'), local];
  }
  const p = join(refdata, 'rules/k8s_audit_rules.yaml');
  return existsSync(p) ? [p] : undefined;
}

async function scenario(name, files) {
  let alerts = 0;
  let events = 0;
  let url;
  let stop;
  if (!files) {
    // baseline: the webhook alone (receive, parse, size), no rules
    const srv = await startWebhook(
      { listenAddress: '127.0.0.1', port: 0, endpoint: '/k8s-audit', maxEventSize: 262144, maxBatchSize: 12582912 },
      { onEvents: (evs) => { events += evs.length; } },
    );
    url = srv.url;
    stop = () => srv.close();
  } else {
    const cfg = buildConfig(
      { rules_files: files, rule_matching: 'all', json_output: true, webserver: { enabled: false }, watch_config_files: false, outputs_queue: { capacity: 100000 }, k8s_audit: { listen_address: '127.0.0.1', listen_port: 0 } },
      { env: {} },
    );
    const source = new K8sAuditSource({ config: cfg.k8s_audit });
    const sink = { name: 'count', send: async (items) => { alerts += items.length; }, close: async () => {} };
    const agent = new Agent(cfg, { createEngine, sources: [source], channels: [sink], log: createLogger('bench', { level: 'error' }) });
    await agent.start();
    url = source.url;
    stop = () => agent.stop();
  }
  // the load generator is a separate process (warm-up there, then a go signal)
  const client = spawn(process.execPath, [new URL('./client.mjs', import.meta.url).pathname, url, String(SECONDS), String(CONCURRENCY), String(BATCH)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  client.stdout.on('data', (d) => {
    out += d;
  });
  await new Promise((resolve, reject) => {
    client.once('exit', (c) => reject(new Error(`client exited ${c}`)));
    const t = setInterval(() => {
      if (out.includes('go\n')) {
        clearInterval(t);
        resolve();
      }
    }, 5);
  });
  alerts = 0;
  const sent0 = events;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  client.stdin.end('go\n');
  const { requests } = await new Promise((resolve, reject) => {
    client.removeAllListeners('exit');
    client.once('exit', (c) => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (c === 0 && line) resolve(JSON.parse(line));
      else reject(new Error(`client exited ${c}: ${out}`));
    });
  });
  await stop(); // drains the outputs queue
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const rss = process.memoryUsage().rss;
  const n = files ? requests * BATCH : events - sent0;
  const cpuSecs = (cpu.user + cpu.system) / 1e6;
  return { name, eps: n / secs, epcs: n / cpuSecs, events: n, alerts, requests, cpuPct: (100 * cpuSecs) / secs, rssMiB: rss / 1048576 };
}

const results = [];
results.push(await scenario('parse only (no rules, baseline)', undefined));
results.push(await scenario('default rules (rules/k8s_audit_rules.yaml)', ruleFiles('ours')));
const upstream = ruleFiles('upstream');
if (upstream) results.push(await scenario("upstream rules (Falco's k8s_audit_rules.yaml)", upstream));
else process.stderr.write('[bench:audit] upstream k8s_audit_rules.yaml not found under ../shared/refdata: skipped\n');

const base = results[0].eps;
const load = (await import('node:os')).loadavg()[0];
process.stdout.write(`\n(load average ${load.toFixed(1)} on ${(await import('node:os')).cpus().length} CPUs while measuring; events/agent-CPU-s = events per second of the agent process's own CPU time)`);
process.stdout.write(`\nAudit webhook, EventLists of ${BATCH} events (avg ${avgBytes} B/event), ${CONCURRENCY} concurrent keep-alive connections from a separate client process, ${SECONDS}s per scenario\n`);
const cols = ['scenario', 'events/s', 'vs baseline', 'events/agent-CPU-s', 'alerts', 'requests', 'CPU %', 'RSS MiB'];
const rows = results.map((r) => [r.name, Math.round(r.eps).toLocaleString('en'), `${(r.eps / base).toFixed(2)}x`, Math.round(r.epcs).toLocaleString('en'), String(r.alerts), String(r.requests), r.cpuPct.toFixed(0), r.rssMiB.toFixed(1)]);
const w = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
process.stdout.write(`${cols.map((c, i) => c.padEnd(w[i])).join(' | ')}\n${w.map((x) => '-'.repeat(x)).join('-|-')}\n`);
for (const r of rows) process.stdout.write(`${r.map((c, i) => c.padEnd(w[i])).join(' | ')}\n`);

// ---- larger webhook fuzz run ----
let crashes = 0;
let processedFuzz = 0;
const fuzzEngine = createEngine({ extractors: [k8sAuditExtractor()], ruleMatching: 'all' });
fuzzEngine.load(ruleFiles('ours').map((f) => ({ name: f, content: readFileSync(f, 'utf8') })));
const fsrv = await startWebhook({ listenAddress: '127.0.0.1', port: 0, endpoint: '/k8s-audit', maxEventSize: 262144, maxBatchSize: 1 << 20 }, {
  onEvents: (evs) => {
    for (const ev of evs) {
      try {
        for (const m of fuzzEngine.process('k8s_audit', ev)) fuzzEngine.toAlert(m, ev);
        processedFuzz++;
      } catch {
        crashes++;
      }
    }
  },
});
const fd = new Dispatcher({ connections: 2 });
const codes = new Map();
let bad = 0;
const ft0 = performance.now();
for (const body of fuzzBodies(seed, FUZZ_N, 987654)) {
  const r = await request(fsrv.url, { method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher: fd });
  await r.body.text();
  codes.set(r.statusCode, (codes.get(r.statusCode) ?? 0) + 1);
  if (!(r.statusCode === 200 || (r.statusCode >= 400 && r.statusCode < 500))) bad++;
}
await fd.close();
await fsrv.close();
process.stdout.write(
  `\nWebhook fuzz: ${FUZZ_N} bodies in ${((performance.now() - ft0) / 1000).toFixed(1)}s; answers ${JSON.stringify(Object.fromEntries([...codes].sort()))}; ` +
    `events processed ${processedFuzz}; crashes ${crashes}; non-2xx/4xx answers ${bad}\n\n`,
);

for (const r of results.slice(1)) {
  const key = r.name.startsWith('default') ? 'audit webhook, default rules' : 'audit webhook, upstream k8s rules';
  process.stdout.write(
    `BENCH-RESULT ${JSON.stringify({ name: key, metric: 'events/s (batches of 100)', value: Math.round(r.eps), unit: 'events/s', baseline: Math.round(base), ratio: Number((r.eps / base).toFixed(3)), target: TARGET, pass: r.eps >= TARGET })}\n`,
  );
}
for (const r of results.slice(1)) {
  const key = r.name.startsWith('default') ? 'audit agent CPU cost, default rules' : 'audit agent CPU cost, upstream k8s rules';
  // load-independent view: events per second of the agent process's own CPU time (one core = 1 CPU-s/s)
  process.stdout.write(
    `BENCH-RESULT ${JSON.stringify({ name: key, metric: 'events per agent CPU-second', value: Math.round(r.epcs), unit: 'events/CPU-s', baseline: Math.round(results[0].epcs), ratio: Number((r.epcs / results[0].epcs).toFixed(3)), target: TARGET, pass: r.epcs >= TARGET })}\n`,
  );
}
process.stdout.write(`BENCH-RESULT ${JSON.stringify({ name: 'audit agent RSS', metric: 'RSS after the runs', value: Number(results.at(-1).rssMiB.toFixed(1)), unit: 'MiB' })}\n`);
process.stdout.write(`BENCH-RESULT ${JSON.stringify({ name: 'audit webhook fuzz', metric: 'crashes + non-4xx rejections', value: crashes + bad, unit: 'count', target: 0, pass: crashes + bad === 0 })}\n`);
if (crashes + bad > 0) process.exitCode = 1;
