#!/usr/bin/env node
// Audit webhook benchmark (`npm run bench:audit`): POSTs EventLists of 100 events to the k8s_audit
// webhook (in this process, over loopback HTTP with keep-alive) and runs the agent's per-event path on
// every event through the agent itself (src/agent Agent.handleEvent: rules engine → alert → metrics →
// rendering → outputs queue) to a counting channel. Three scenarios
// in the same run: parse-only (no rules; the baseline), our default rules, and Falco's upstream
// k8s_audit_rules.yaml. Prints events/s and RSS, then a larger webhook fuzz run. Imports from dist/.
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

const root = new URL('../../', import.meta.url).pathname;
const refdata = process.env.PEREGRINE_REFDATA ?? join(root, '../shared/refdata');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const BATCH = 100;
const CONCURRENCY = 4;
const TARGET = 20_000;
const FUZZ_N = Number(process.env.BENCH_FUZZ ?? 5000);

// ---- a realistic mix of audit events (written for this benchmark) ----
const seed = JSON.parse(readFileSync(new URL('./seed-event.json', import.meta.url), 'utf8'));
let id = 0;
const uid = () => `b3f1c2d4-0000-4000-8000-${String(++id).padStart(12, '0')}`;
const meta = (verb, resource, ns, name, user = 'system:serviceaccount:kube-system:generic-garbage-collector', code = 200) => ({
  kind: 'Event', apiVersion: 'audit.k8s.io/v1', level: 'Metadata', auditID: uid(), stage: 'ResponseComplete',
  requestURI: `/api/v1/namespaces/${ns}/${resource}${name ? `/${name}` : ''}`, verb,
  user: { username: user, groups: ['system:authenticated'] }, sourceIPs: ['10.0.0.3'],
  userAgent: 'kube-controller-manager/v1.30.2', objectRef: { resource, namespace: ns, name, apiVersion: 'v1' },
  responseStatus: { metadata: {}, code }, requestReceivedTimestamp: '2025-06-02T10:00:00.000000Z',
  stageTimestamp: '2025-06-02T10:00:00.001000Z',
  annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': 'RBAC: allowed' },
});
function mix(i) {
  const k = i % 20;
  if (k < 8) return meta(k % 2 ? 'list' : 'get', 'configmaps', 'shop', k % 2 ? undefined : 'web-config');
  if (k < 10) return meta('watch', 'endpoints', 'default', undefined, 'system:kube-proxy');
  if (k < 15) {
    const e = structuredClone(seed);
    e.auditID = uid();
    if (k === 14) e.requestObject.spec.containers[0].image = 'docker.io/someone/tool:latest';
    return e;
  }
  if (k < 17) return meta('get', 'secrets', 'shop', 'db-password', k === 15 ? 'alice@example.com' : 'system:serviceaccount:shop:api');
  if (k === 17) return { ...meta('create', 'namespaces', '', 'team-x', 'alice@example.com', 201), objectRef: { resource: 'namespaces', name: 'team-x', apiVersion: 'v1' } };
  if (k === 18) {
    const e = meta('create', 'pods', 'shop', 'web-1', 'alice@example.com', 101);
    e.stage = 'ResponseStarted';
    e.objectRef.subresource = 'exec';
    e.requestURI += '/exec?command=sh&container=web';
    return e;
  }
  return meta('patch', 'deployments', 'shop', 'web', 'system:serviceaccount:argocd:argocd-application-controller');
}
const N_BODIES = 50;
const bodies = Array.from({ length: N_BODIES }, (_, b) =>
  Buffer.from(JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', metadata: {}, items: Array.from({ length: BATCH }, (_, i) => mix(b * BATCH + i)) })),
);
const avgBytes = Math.round(bodies.reduce((n, b) => n + b.length, 0) / bodies.length / BATCH);

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
  const dispatcher = new Dispatcher({ connections: CONCURRENCY, keepAliveTimeout: 30_000 });
  const post = async (body) => {
    const r = await request(url, { method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher });
    await r.body.text();
    if (r.statusCode !== 200) throw new Error(`HTTP ${r.statusCode}`);
  };
  for (let i = 0; i < 20; i++) await post(bodies[i % N_BODIES]); // warm-up
  alerts = 0;
  const sent0 = events;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + SECONDS * 1000;
  let next = 0;
  let requests = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        await post(bodies[next++ % N_BODIES]);
        requests++;
      }
    }),
  );
  await stop(); // drains the outputs queue
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const rss = process.memoryUsage().rss;
  await dispatcher.close();
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
process.stdout.write(`\n(load average ${load.toFixed(1)} on ${(await import('node:os')).cpus().length} CPUs while measuring; events/CPU-s is events per second of this process's own CPU time)`);
process.stdout.write(`\nAudit webhook, EventLists of ${BATCH} events (avg ${avgBytes} B/event), ${CONCURRENCY} concurrent keep-alive clients, ${SECONDS}s per scenario, one process\n`);
const cols = ['scenario', 'events/s', 'vs baseline', 'events/CPU-s', 'alerts', 'requests', 'CPU %', 'RSS MiB'];
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
process.stdout.write(`BENCH-RESULT ${JSON.stringify({ name: 'audit agent RSS', metric: 'RSS after the runs', value: Number(results.at(-1).rssMiB.toFixed(1)), unit: 'MiB' })}\n`);
process.stdout.write(`BENCH-RESULT ${JSON.stringify({ name: 'audit webhook fuzz', metric: 'crashes + non-4xx rejections', value: crashes + bad, unit: 'count', target: 0, pass: crashes + bad === 0 })}\n`);
if (crashes + bad > 0) process.exitCode = 1;
