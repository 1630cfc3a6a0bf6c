#!/usr/bin/env node
// The forwarding floor: how close to the bare baseline can any relay come on this machine, with the
// load generator and a webhook receiver on the same cores? Same closed loop as bench/relay/run.mjs
// (undici, 64 connections, one alert per request), against, in turn:
//   baseline  — node:http + JSON.parse, answers 200 (bench:relay's baseline);
//   forward   — the same server, which also forwards each body as one HTTP POST to a receiver
//               (Falcosidekick's webhook contract), with the cheapest sender we have (http-lite.mjs,
//               raw sockets) to the cheapest receiver (http-lite.mjs): no spool, no fsync, no
//               validation, no NATS, no file — only what every alert's trip through a relay costs;
//   lite      — the same forwarding behind http-lite.mjs's raw-socket server instead of node:http
//               (not an HTTP server a relay could ship: no TLS, limits or error handling).
// `node bench/relay/micro/floor.mjs` (under the CPU lock); BENCH_SECONDS (default 5), BENCH_ROUNDS (2).
import { fork } from 'node:child_process';
import http from 'node:http';
import { Pool } from 'undici';
import { benchAlert } from '../alert.mjs';
import { ask, bareJsonHandler } from '../common.mjs';
import { liteClient, liteServer } from '../http-lite.mjs';

const role = process.argv[2];
const cpuSeconds = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
};
const serveStats = (extra = () => ({})) =>
  process.on('message', (m) => {
    if (m === 'stats') process.send({ cpuSeconds: cpuSeconds(), ...extra() });
    else if (m === 'stop') process.exit(0);
  });

if (role === 'receiver') {
  let n = 0;
  const server = liteServer(() => n++);
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  serveStats(() => ({ received: n }));
} else if (role === 'lite') {
  const to = liteClient(Number(process.argv[3]), 32);
  const server = liteServer((body) => {
    JSON.parse(body);
    to.post(body);
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  serveStats();
} else if (role === 'baseline' || role === 'forward') {
  const to = role === 'forward' ? liteClient(Number(process.argv[3]), 32) : undefined;
  let forwarded = 0;
  const server = http.createServer((req, res) => {
    if (!to) return bareJsonHandler(req, res);
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      JSON.parse(body);
      res.writeHead(200);
      res.end();
      to.post(body).then(() => forwarded++);
    });
  });
  server.keepAliveTimeout = 65_000;
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  serveStats(() => ({ forwarded }));
} else {
  const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
  const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
  const self = new URL(import.meta.url).pathname;
  const start = (...args) =>
    new Promise((resolve) => {
      const child = fork(self, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      child.once('message', (m) => resolve({ child, port: m.port }));
    });
  let counter = 0;
  const closedLoop = async (port, procs) => {
    const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 64, pipelining: 1 });
    let ok = 0;
    const t0 = Date.now();
    const from = t0 + 1000;
    const end = from + SECONDS * 1000;
    let c0;
    const mark = () => Promise.all(procs.map((p) => ask(p, 'stats'))).then((s) => [cpuSeconds(), ...s.map((x) => x.cpuSeconds)]);
    const at0 = new Promise((r) => setTimeout(r, 1000)).then(async () => (c0 = await mark()));
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (Date.now() < end) {
          const body = JSON.stringify(benchAlert(++counter, { phase: 'floor', sent: Date.now() }));
          const res = await pool.request({ path: '/', method: 'POST', body, headers: { 'content-type': 'application/json' } });
          await res.body.dump();
          const t = Date.now();
          if (t >= from && t <= end && res.statusCode === 200) ok++;
        }
      }),
    );
    await at0;
    const c1 = await mark();
    await pool.close();
    return { rate: ok / SECONDS, cores: c1.map((c, i) => (c - c0[i]) / SECONDS) };
  };
  const rows = [];
  for (let r = 0; r < ROUNDS; r++) {
    const base = await start('baseline');
    const b = await closedLoop(base.port, [base.child]);
    base.child.kill();
    const recv = await start('receiver');
    const fwd = await start('forward', String(recv.port));
    const f = await closedLoop(fwd.port, [fwd.child, recv.child]);
    await new Promise((res) => setTimeout(res, 500));
    const got = await ask(recv.child, 'stats');
    fwd.child.kill();
    const lite = await start('lite', String(recv.port));
    const l = await closedLoop(lite.port, [lite.child, recv.child]);
    lite.child.kill();
    recv.child.kill();
    rows.push({ b, f, l, received: got.received });
  }
  const c = (x) => x.toFixed(2);
  console.log(
    'round  baseline/s  forward/s (ratio)  lite/s (ratio)  cores: loadgen/server (baseline) | loadgen/forwarder/receiver (forward) | (lite)',
  );
  rows.forEach(({ b, f, l }, i) =>
    console.log(
      `${String(i + 1).padEnd(7)}${String(Math.round(b.rate)).padEnd(12)}${`${Math.round(f.rate)} (${c(f.rate / b.rate)})`.padEnd(19)}${`${Math.round(l.rate)} (${c(l.rate / b.rate)})`.padEnd(16)}${b.cores.map(c).join(' / ')} | ${f.cores.map(c).join(' / ')} | ${l.cores.map(c).join(' / ')}`,
    ),
  );
  console.log('forwarded bodies the receiver got in the forward runs:', rows.map((r) => r.received).join(', '));
  process.exit(0);
}
