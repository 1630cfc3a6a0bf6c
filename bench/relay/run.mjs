#!/usr/bin/env node
// npm run bench:relay — same load generator, same run:
//   baseline: a bare node:http server that only JSON-parses the body;
//   relay:    peregrine relay (dist/) with the write-ahead spool and three sinks (webhook, NATS, file).
// Prints accepted alerts/s and the ratio, p50/p99 intake latency, and end-to-end delivery latency at a fixed
// 5,000 alerts/s; then a larger fuzz run of the intake parser. Ends with BENCH-RESULT lines.
import { spawn, fork } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { benchAlert } from './alert.mjs';
import { ask, freePort, waitTcp } from './common.mjs';
import { liteClient } from './http-lite.mjs';

const here = new URL('.', import.meta.url).pathname;
const root = new URL('../../', import.meta.url).pathname;
if (!existsSync(join(root, 'dist/relay/relay.js'))) {
  console.error('dist/relay/relay.js missing: run `npm run build` first');
  process.exit(2);
}
const DURATION = Number(process.env.BENCH_SECONDS ?? 5) * 1000;
const WARMUP = 1000;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const RATE = Number(process.env.BENCH_RATE ?? 5000);
// diagnostic: BENCH_RELAY_SINKS=nats,file runs the relay with a subset of the three sinks (default all three)
const SINKS_ON = new Set((process.env.BENCH_RELAY_SINKS ?? 'webhook,nats,file').split(',').map((x) => x.trim()));
const now = () => performance.timeOrigin + performance.now();
const stage = (m) => process.stderr.write(`[bench:relay] ${m}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (arr, p) => {
  if (!arr.length) return Number.NaN;
  const s = [...arr].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

function forkReady(file, env = {}, execArgv = []) {
  const child = fork(join(here, file), { env: { ...process.env, ...env }, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ child, info: m }));
    child.once('exit', (c) => reject(new Error(`${file} exited ${c}`)));
  });
}
let counter = 0;
function alertBody(phase) {
  counter++;
  return JSON.stringify(benchAlert(counter, { phase, sent: now() }));
}

/** CPU seconds (user + system) of another process, from /proc/<pid>/stat. */
function procCpu(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const p = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(p[11]) + Number(p[12])) / 100;
  } catch {
    return Number.NaN;
  }
}
const selfCpu = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
};
/** CPU of the processes other than the server in the measured window: load generator, sink receivers. */
let others = [];
async function othersCpu() {
  const out = { loadgen: selfCpu(), receivers: 0 };
  for (const o of others) out.receivers += o.kind === 'ipc' ? (await ask(o.child, 'stats')).cpuSeconds : procCpu(o.pid);
  return out;
}

/**
 * Cores used per thread of the relay between two 'stats' answers: the main (intake) thread, the busiest other
 * thread (the delivery thread when it runs) and the rest (libuv's fsyncs, V8's GC helpers, nats.js …).
 */
function threadShare(s0, s1, seconds) {
  if (!s0?.threads || !s1?.threads) return undefined;
  const d = Object.entries(s1.threads).map(([tid, c]) => [tid, c - (s0.threads[tid] ?? 0)]);
  const main = d.find(([tid]) => tid === s1.mainTid)?.[1] ?? 0;
  const others = d.filter(([tid]) => tid !== s1.mainTid).map(([, c]) => c).sort((a, b) => b - a);
  const busiest = others[0] ?? 0;
  const rest = others.slice(1).reduce((t, c) => t + c, 0);
  if (process.env.BENCH_RELAY_THREADS) stage(`threads (CPU s): main ${main.toFixed(2)}, others ${others.filter((c) => c > 0).map((c) => c.toFixed(2)).join(' ')}`);
  return { main: main / seconds, busiest: busiest / seconds, rest: rest / seconds };
}
const fmtThreads = (t) => (t ? `${t.main.toFixed(2)} / ${t.busiest.toFixed(2)} / ${t.rest.toFixed(2)}` : 'n/a');

/** Closed loop: CONNECTIONS workers, each sends the next request when the previous one is answered. */
async function closedLoop(port, phase, child) {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONNECTIONS, pipelining: 1 });
  let ok = 0;
  let bad = 0;
  const lat = [];
  const start = Date.now();
  const measureFrom = start + WARMUP;
  const end = measureFrom + DURATION;
  // CPU seconds the server process spends inside the measured window
  let cpu0;
  let main0;
  let oth0;
  let s0;
  const cpuAt0 = sleep(WARMUP).then(async () => {
    s0 = await ask(child, 'stats');
    cpu0 = s0.cpuSeconds;
    main0 = s0.mainCpuSeconds;
    oth0 = await othersCpu();
  });
  const worker = async () => {
    while (Date.now() < end) {
      const t0 = now();
      const res = await pool.request({ path: '/', method: 'POST', body: alertBody(phase), headers: { 'content-type': 'application/json' } });
      await res.body.dump();
      const t1 = now();
      if (t0 >= measureFrom && t1 <= end) {
        if (res.statusCode === 200) ok++;
        else bad++;
        lat.push(t1 - t0);
      }
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  await cpuAt0;
  const s1 = await ask(child, 'stats');
  const oth1 = await othersCpu();
  const cpu = s1.cpuSeconds - cpu0;
  // share of the machine's cores used in the window by the load generator, the server, the sink receivers
  const share = {
    loadgen: (oth1.loadgen - oth0.loadgen) / (DURATION / 1000),
    server: cpu / (DURATION / 1000),
    receivers: (oth1.receivers - oth0.receivers) / (DURATION / 1000),
    threads: threadShare(s0, s1, DURATION / 1000),
  };
  // share of the process CPU spent on the main (JavaScript) thread; the rest is libuv (fsync), GC helpers, workers
  const mainShare = (s1.mainCpuSeconds - main0) / cpu;
  await pool.close();
  return { rate: ok / (DURATION / 1000), ok, bad, cpu, mainShare, share, perCpu: ok / cpu, p50: pct(lat, 50), p99: pct(lat, 99) };
}

/**
 * Open loop: RATE requests per second for DURATION, whatever the answers take. The client is http-lite.mjs
 * (raw sockets, 64 keep-alive connections): undici's client cost 70–80 µs per request here, 0.4 of the two
 * cores at 5,000/s taken from the relay whose latency this loop measures.
 */
async function openLoop(port, phase) {
  const pool = liteClient(port, 64);
  const lat = [];
  let ok = 0;
  let bad = 0;
  const start = now();
  let sent = 0;
  const inflight = new Set();
  while (now() - start < DURATION) {
    const due = Math.floor(((now() - start) / 1000) * RATE);
    while (sent < due) {
      sent++;
      const t0 = now();
      const p = pool.post(alertBody(phase)).then((status) => {
        lat.push(now() - t0);
        if (status === 200) ok++;
        else bad++;
        inflight.delete(p);
      });
      inflight.add(p);
    }
    // paced by a 1 ms timer, not setImmediate: spinning on setImmediate kept a whole core busy in the load
    // generator (0.74 of the 2 cores at 5,000/s), taken from the relay and the receivers it measures
    await sleep(1);
  }
  await Promise.all(inflight);
  await pool.close();
  return { sent, ok, bad, p50: pct(lat, 50), p99: pct(lat, 99) };
}

const work = mkdtempSync(join(tmpdir(), 'peregrine-bench-relay-'));
const natsPort = await freePort();
// JetStream on (file storage under the bench's temp dir) for the bus run; the NATS sink uses core NATS
const nats = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd', join(work, 'nats')], { stdio: 'ignore', detached: true });
const children = [];
const cleanup = () => {
  for (const c of children) c.kill('SIGKILL');
  try {
    process.kill(-nats.pid, 'SIGKILL');
  } catch {}
  rmSync(work, { recursive: true, force: true });
};
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => process.exit(130)); // runs cleanup

try {
  await waitTcp(natsPort);
  const sinks = await forkReady('sinkhost.mjs', { NATS_SERVER: `127.0.0.1:${natsPort}` });
  children.push(sinks.child);
  const receivers = [{ kind: 'ipc', child: sinks.child }, { kind: 'pid', pid: nats.pid }];

  // 1. baseline
  stage('baseline: closed loop');
  const base = await forkReady('baseline-server.mjs');
  children.push(base.child);
  const b = await closedLoop(base.info.port, 'throughput', base.child);
  base.child.kill('SIGKILL');

  stage(`baseline ${Math.round(b.rate)}/s`);

  /** The relay with spool + webhook, NATS, file: saturation run, then the open loop at RATE. */
  async function relayRun(spoolDir, tag, extraEnv = {}) {
    await ask(sinks.child, 'reset-all');
    const fileOut = join(spoolDir, 'file-sink.ndjson');
    const relay = await forkReady('relay-server.mjs', {
      LISTENADDRESS: '127.0.0.1',
      LISTENPORT: '0',
      SPOOL_DIR: join(spoolDir, 'spool'),
      WEBHOOK_ADDRESS: SINKS_ON.has('webhook') ? `http://127.0.0.1:${sinks.info.webhookPort}/` : '',
      WEBHOOK_MAXCONCURRENTREQUESTS: process.env.BENCH_WEBHOOK_CONCURRENCY ?? '32',
      NATS_HOSTPORT: SINKS_ON.has('nats') ? `nats://127.0.0.1:${natsPort}` : '',
      FILE_PATH: SINKS_ON.has('file') ? fileOut : '',
      PEREGRINE_LOG_LEVEL: 'error',
      ...extraEnv,
    }, process.env.RELAY_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.RELAY_CPU_PROF] : []);
    children.push(relay.child);
    others = receivers;
    stage(`relay (${tag}): closed loop`);
    const cpuStart = (await ask(relay.child, 'stats')).cpuSeconds;
    // diagnostic: BENCH_RELAY_CLOSED=0 skips the saturation run (e.g. to profile only the open loop)
    const r = process.env.BENCH_RELAY_CLOSED === '0' ? { rate: Number.NaN, perCpu: Number.NaN } : await closedLoop(relay.info.port, 'throughput', relay.child);
    const st = await ask(relay.child, 'stats');
    stage(`relay (${tag}) ${Math.round(r.rate)}/s (${r.bad} not 200), ${st.fsyncs} fsyncs; waiting for sinks to drain`);
    // let the sinks drain the backlog of the saturation run before measuring latency
    for (let i = 0; i < 600; i++) {
      const rep = (await ask(sinks.child, 'report')).report;
      if ((!SINKS_ON.has('webhook') || rep.counts.webhook >= st.lastSeq) && (!SINKS_ON.has('nats') || rep.counts.nats >= st.lastSeq)) break;
      if (i % 20 === 19) stage(`draining: webhook ${rep.counts.webhook}, nats ${rep.counts.nats} of ${st.lastSeq}`);
      await sleep(100);
    }
    // the whole cycle: CPU to accept every alert of the saturation run and deliver it to all three sinks
    const cycleCpu = (await ask(relay.child, 'stats')).cpuSeconds - cpuStart;
    r.cycleCpuPerKAlert = (cycleCpu / Math.max(1, st.lastSeq)) * 1000;
    await ask(sinks.child, 'reset');
    stage(`relay (${tag}): open loop at ${RATE}/s`);
    const os0 = await ask(relay.child, 'stats');
    const oo0 = await othersCpu();
    const o = await openLoop(relay.info.port, 'latency');
    const os1 = await ask(relay.child, 'stats');
    const oo1 = await othersCpu();
    const secs = DURATION / 1000;
    o.share = {
      loadgen: (oo1.loadgen - oo0.loadgen) / secs,
      server: (os1.cpuSeconds - os0.cpuSeconds) / secs,
      receivers: (oo1.receivers - oo0.receivers) / secs,
      threads: threadShare(os0, os1, secs),
    };
    o.fsyncs = os1.fsyncs - os0.fsyncs;
    await sleep(1500);
    const rep = (await ask(sinks.child, 'report')).report;
    const st2 = await ask(relay.child, 'stats');
    const fileLines = existsSync(fileOut) ? readFileSync(fileOut, 'utf8').split('\n').length - 1 : 0;
    relay.child.send('stop');
    await new Promise((res) => relay.child.once('exit', res));
    return { r, st, o, rep, st2, fileLines };
  }

  // 2. the relay on the real disk (the figure that counts), 3. the same with the spool on tmpfs (diagnostic:
  // the relay's own cost without the disk flush)
  const disk = await relayRun(work, 'spool on disk');
  // diagnostic: BENCH_RELAY_TMPFS=0 skips the tmpfs run
  const shm = existsSync('/dev/shm') && process.env.BENCH_RELAY_TMPFS !== '0' ? mkdtempSync('/dev/shm/peregrine-bench-relay-') : undefined;
  const mem = shm ? await relayRun(shm, 'spool on tmpfs') : undefined;
  // 4. the scale-out bus: intake acknowledges after JetStream stored the alert; sinks read shared consumers
  const busDir = mkdtempSync(join(tmpdir(), 'peregrine-bench-relay-bus-'));
  const bus =
    process.env.BENCH_RELAY_BUS === '0'
      ? undefined
      : await relayRun(busDir, 'JetStream bus', { BUS_TYPE: 'jetstream', BUS_NATS_URL: `nats://127.0.0.1:${natsPort}` });
  rmSync(busDir, { recursive: true, force: true });
  if (shm) rmSync(shm, { recursive: true, force: true });
  sinks.child.send('stop');

  stage('fuzz');
  // 4. larger fuzz run of the intake parser (the tests run a small one)
  const { decodeBody, acceptAlert, PayloadError } = await import(join(root, 'dist/relay/intake/payload.js'));
  const enr = { customFields: {}, customTags: [], templatedFields: new Map(), bracketReplacer: '', outputFieldFormat: '' };
  const pieces = ['{', '}', '[', ']', '"rule"', ':', ',', '"x"', '1', 'null', '"priority"', '"Debug"', '\n', '"time"', '"2024-01-01T00:00:00Z"', '"output_fields"', '{"a":1}', '"tags"', '\\u0000', 'é'];
  let seed = 1;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  let fuzzCases = 0;
  let fuzzUnexpected = 0;
  let fuzzAccepted = 0;
  for (let i = 0; i < 200_000; i++) {
    let s = '';
    const n = 1 + Math.floor(rnd() * 24);
    for (let j = 0; j < n; j++) s += pieces[Math.floor(rnd() * pieces.length)];
    fuzzCases++;
    try {
      for (const item of decodeBody(s).items) {
        acceptAlert(item, enr);
        fuzzAccepted++;
      }
    } catch (e) {
      if (!(e instanceof PayloadError)) fuzzUnexpected++;
    }
  }

  const f = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
  const fsyncMean = (st) => (st.fsyncMs / Math.max(1, st.fsyncs)).toFixed(1);
  console.log(`\nmachine: ${cpus().length} CPUs, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log(`closed loop: ${CONNECTIONS} keep-alive connections, ${DURATION / 1000} s after ${WARMUP / 1000} s warm-up, one alert per request (~600 B)`);
  console.log('| server | accepted alerts/s | ratio | alerts per CPU-second (ratio) | CPU ms per 1000 alerts, accept + deliver to all sinks | intake p50 ms | intake p99 ms | note |');
  console.log('|---|---|---|---|---|---|---|---|');
  console.log(`| baseline: bare node:http + JSON.parse | ${Math.round(b.rate)} | 1.00 | ${Math.round(b.perCpu)} (1.00) | ${f((1000 / b.perCpu) * 1000)} (accept only) | ${f(b.p50)} | ${f(b.p99)} | |`);
  for (const [label, x] of [[`relay: spool on disk + ${[...SINKS_ON].filter(Boolean).join(', ') || 'no sinks'}`, disk], ['relay: spool on tmpfs (diagnostic)', mem], ['relay: JetStream bus (bus.type: jetstream, one replica)', bus]]) {
    if (!x) continue;
    console.log(`| ${label} | ${Math.round(x.r.rate)} | ${(x.r.rate / b.rate).toFixed(2)} | ${Math.round(x.r.perCpu)} (${(x.r.perCpu / b.perCpu).toFixed(2)}) | ${f(x.r.cycleCpuPerKAlert * 1000)} | ${f(x.r.p50)} | ${f(x.r.p99)} | ${x.st.fsyncs} fsyncs for ${x.st.lastSeq} alerts, mean fsync ${fsyncMean(x.st)} ms; main thread ${Number.isFinite(x.r.mainShare) ? Math.round(x.r.mainShare * 100) : '?'} % of the process CPU in the closed loop |`);
  }
  console.log(`\nwhere the ${cpus().length} cores went during each closed loop (cores busy, averaged over the window)`);
  console.log('| server | load generator | server process | of which main / busiest other (delivery) / other threads | sink receivers (webhook + NATS subscriber, nats-server) |');
  console.log('|---|---|---|---|---|');
  for (const [label, x] of [['baseline', { r: b }], ['relay: spool on disk', disk], ['relay: spool on tmpfs', mem], ['relay: JetStream bus', bus]]) {
    if (!x?.r.share) continue;
    const c = x.r.share;
    console.log(`| ${label} | ${c.loadgen.toFixed(2)} | ${c.server.toFixed(2)} | ${fmtThreads(c.threads)} | ${c.receivers.toFixed(2)} |`);
  }
  for (const [label, x] of [['relay: spool on disk', disk], ['relay: spool on tmpfs', mem], ['relay: JetStream bus', bus]]) {
    if (!x?.o.share) continue;
    const c = x.o.share;
    console.log(`| ${label}, open loop at ${RATE}/s | ${c.loadgen.toFixed(2)} | ${c.server.toFixed(2)} | ${fmtThreads(c.threads)} | ${c.receivers.toFixed(2)} |`);
  }
  console.log(`\nopen loop at ${RATE} alerts/s for ${DURATION / 1000} s (latency = sender clock → receiver)`);
  console.log('| relay | sent | 200 | fsyncs | intake p50 ms | intake p99 ms | webhook p50 / p99 ms | nats p50 / p99 ms | file lines |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const [label, x] of [['spool on disk', disk], ['spool on tmpfs', mem], ['JetStream bus', bus]]) {
    if (!x) continue;
    const L = x.rep.latency;
    console.log(
      `| ${label} | ${x.o.sent} | ${x.o.ok} | ${x.o.fsyncs} | ${f(x.o.p50)} | ${f(x.o.p99)} | ${f(pct(L.webhook, 50))} / ${f(pct(L.webhook, 99))} (${L.webhook.length}) | ${f(pct(L.nats, 50))} / ${f(pct(L.nats, 99))} (${L.nats.length}) | ${x.fileLines} of ${x.st2.lastSeq} |`,
    );
  }
  console.log(`\nfuzz: ${fuzzCases} random bodies, ${fuzzAccepted} alerts accepted, ${fuzzUnexpected} unexpected errors\n`);

  const out = (o2) => console.log(`BENCH-RESULT ${JSON.stringify({ name: 'relay', ...o2 })}`);
  const results = (x, suffix) => {
    const ratio = x.r.rate / b.rate;
    const wP99 = pct(x.rep.latency.webhook, 99);
    const nP99 = pct(x.rep.latency.nats, 99);
    out({ metric: `intake accepted alerts/s vs bare node:http${suffix}`, value: Math.round(x.r.rate), unit: 'alerts/s', baseline: Math.round(b.rate), ratio: Number(ratio.toFixed(3)), target: 0.6, pass: ratio >= 0.6 });
    out({ metric: `accepted alerts per CPU-second of the server process${suffix}`, value: Math.round(x.r.perCpu), unit: 'alerts/CPU-s', baseline: Math.round(b.perCpu), ratio: Number((x.r.perCpu / b.perCpu).toFixed(3)), target: null, pass: null });
    out({ metric: `webhook delivery p99 at ${RATE}/s${suffix}`, value: Number(f(wP99)), unit: 'ms', baseline: null, target: 20, pass: wP99 <= 20 && x.rep.latency.webhook.length >= x.o.ok });
    out({ metric: `nats delivery p99 at ${RATE}/s${suffix}`, value: Number(f(nP99)), unit: 'ms', baseline: null, target: 20, pass: nP99 <= 20 && x.rep.latency.nats.length >= x.o.ok });
  };
  if (mem) results(mem, ' (spool on tmpfs, diagnostic)');
  results(disk, '');
  out({ metric: 'intake fuzz unexpected errors', value: fuzzUnexpected, unit: 'count', baseline: null, target: 0, pass: fuzzUnexpected === 0 });
} finally {
  cleanup();
}
process.exit(0);
