#!/usr/bin/env node
// Micro-benchmark of the relay's HTTP intake handler without the spool: node:http + createIntakeHandler
// (body read, decode, validation/enrichment/serialisation, metrics, the 200 answer) with an append that
// resolves at once, against a bare node:http server that only JSON.parses the body (baseline).
// Each server is its own child process; this process is the load generator (undici, keep-alive);
// figures are the server process's CPU per alert (process.cpuUsage over the measured requests).
//   node bench/relay/micro/intake-http.mjs [label=distDir ...]    (default: current=dist)
// Env: MICRO_REQUESTS (per round, default 10000), MICRO_ROUNDS (default 5). Run under `flock -x /tmp/peregrine-cpu.lock`.
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchAlert } from '../alert.mjs';
import { ask, bareJsonHandler, parseBuilds } from '../common.mjs';

const N = Number(process.env.MICRO_REQUESTS ?? 10000);
const ROUNDS = Number(process.env.MICRO_ROUNDS ?? 5);
const CONNECTIONS = 32;

if (process.argv[2] === '--child') {
  let handler;
  if (process.argv[3] === 'baseline') {
    handler = bareJsonHandler;
  } else {
    const url = pathToFileURL(`${resolve(process.argv[3])}/`).href;
    const { createIntakeHandler } = await import(new URL('relay/intake/server.js', url).href);
    const { RelayMetrics } = await import(new URL('relay/delivery/metrics.js', url).href);
    const { createLogger } = await import(new URL('common/log.js', url).href);
    handler = createIntakeHandler({
      enrichment: { customFields: {}, customTags: [], templatedFields: new Map(), bracketReplacer: '', outputFieldFormat: '' },
      maxBodyBytes: 1 << 20,
      bearerToken: '',
      metrics: new RelayMetrics(),
      log: createLogger('bench', { level: 'error' }),
      debug: false,
      append: async () => undefined,
      spoolProblem: () => undefined,
    });
  }
  const srv = createServer((req, res) => void handler(req, res));
  srv.keepAliveTimeout = 60_000;
  srv.listen(0, '127.0.0.1', () => process.send({ port: srv.address().port }));
  process.on('disconnect', () => srv.close(() => process.exit(0)));
  process.on('message', () => {
    const c = process.cpuUsage();
    process.send((c.user + c.system) / 1e6);
  });
} else {
  const { Pool } = await import('undici');
  const args = process.argv.slice(2);
  const builds = [{ label: 'baseline: bare node:http + JSON.parse', dir: 'baseline' }].concat(parseBuilds(args));
  const self = fileURLToPath(import.meta.url);
  let counter = 0;
  const body = () => {
    counter++;
    return JSON.stringify(benchAlert(counter, { sent: Date.now() + counter / 7 }));
  };
  for (const b of builds) {
    // MICRO_CPU_PROF=<dir>: V8 CPU profile of each server process
    const prof = process.env.MICRO_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.MICRO_CPU_PROF}`, `--cpu-prof-name=${b.label.split(':')[0]}.cpuprofile`] : [];
    b.child = fork(self, ['--child', b.dir], { execArgv: prof });
    const { port } = await new Promise((r) => b.child.once('message', r));
    b.pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONNECTIONS, pipelining: 1 });
    b.cpu = [];
  }
  const load = async (b, n) => {
    let left = n;
    const worker = async () => {
      while (left-- > 0) {
        const res = await b.pool.request({ path: '/', method: 'POST', body: body(), headers: { 'content-type': 'application/json' } });
        await res.body.dump();
        if (res.statusCode !== 200) throw new Error(`${b.label}: HTTP ${res.statusCode}`);
      }
    };
    await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  };
  for (let r = 0; r < ROUNDS + 1; r++) {
    for (const b of r % 2 ? [...builds].reverse() : builds) {
      const c0 = await ask(b.child, 'cpu');
      await load(b, N);
      const c1 = await ask(b.child, 'cpu');
      if (r > 0) b.cpu.push(((c1 - c0) / N) * 1e6);
    }
  }
  for (const b of builds) {
    await b.pool.close();
    b.child.disconnect();
  }
  const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  console.log(
    `intake handler over HTTP (no spool): ${N} requests × ${ROUNDS} rounds, ${CONNECTIONS} keep-alive connections, server CPU µs per alert (median, min–max); load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  console.log('| server | CPU µs per alert | ratio to baseline |');
  console.log('|---|---|---|');
  const base = median(builds[0].cpu);
  for (const b of builds)
    console.log(`| ${b.label} | ${median(b.cpu).toFixed(1)} (${Math.min(...b.cpu).toFixed(1)}–${Math.max(...b.cpu).toFixed(1)}) | ${(median(b.cpu) / base).toFixed(2)} |`);
}
