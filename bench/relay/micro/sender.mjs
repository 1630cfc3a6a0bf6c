#!/usr/bin/env node
// Micro-benchmark of the relay's sender CPU per 1,000 alerts, per sink, as the delivery pipeline drives
// them (webhook: one POST per alert, 32 in flight, one AbortSignal per 100 ms window; NATS and file:
// batches of 256), against receivers in other processes (a node:http server answering 200, a
// nats-server). Each build runs in its own sender process; rounds interleaved; the figure is the sender
// process's CPU (process.cpuUsage) for sending fresh alert objects (parsed from their spool JSON, as a
// delivery thread reading the spool has them).
//   node bench/relay/micro/sender.mjs [label=distDir[@pipelining] ...]   (default: current=dist)
// `@8` sets webhook.pipelining: 8 for that build (a build that has the key), e.g. current=dist pipelined=dist@8.
// Env: MICRO_ALERTS (per round and sink, default 10000), MICRO_ROUNDS (default 5), MICRO_SINKS
// (default webhook,nats,file), MICRO_WEBHOOK_PIPELINING (webhook.pipelining for builds that have it),
// MICRO_CPU_PROF=<dir> (V8 CPU profiles of the sender processes).
// Run under `flock -x /tmp/peregrine-cpu.lock`.
import { fork, spawn } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchAlert } from '../alert.mjs';
import { ask, freePort, parseBuilds, waitTcp } from '../common.mjs';

const N = Number(process.env.MICRO_ALERTS ?? 10000);
const ROUNDS = Number(process.env.MICRO_ROUNDS ?? 5);
const SINKS = (process.env.MICRO_SINKS ?? 'webhook,nats,file').split(',').filter(Boolean);
const self = fileURLToPath(import.meta.url);

if (process.argv[2] === '--receiver') {
  let requests = 0;
  const srv = createServer((req, res) => {
    req.on('data', () => undefined);
    req.on('end', () => {
      requests++;
      res.writeHead(200);
      res.end();
    });
  });
  srv.keepAliveTimeout = 60_000;
  srv.listen(0, '127.0.0.1', () => process.send({ port: srv.address().port }));
  process.on('message', () => process.send(requests));
  process.on('disconnect', () => process.exit(0));
} else if (process.argv[2] === '--sender') {
  const url = pathToFileURL(`${resolve(process.argv[3])}/`).href;
  const imp = (p) => import(new URL(p, url).href);
  const { acceptAlertJson } = await imp('relay/intake/payload.js');
  const { createLogger } = await imp('common/log.js');
  const ctx = {
    log: createLogger('bench', { level: 'error' }),
    tls: () => ({ rejectUnauthorized: true }),
    enabledOutputs: [],
    customFieldNames: [],
  };
  const dir = mkdtempSync(join(tmpdir(), 'peregrine-micro-sender-'));
  const pipelining = process.env.MICRO_WEBHOOK_PIPELINING;
  const sections = {
    webhook: {
      address: process.env.RECEIVER_URL,
      method: 'POST',
      customheaders: {},
      maxconcurrentrequests: 32,
      ...(pipelining ? { pipelining: Number(pipelining) } : {}),
    },
    nats: {
      hostport: `nats://127.0.0.1:${process.env.NATS_PORT}`,
      subjecttemplate: 'falco.<priority>.<rule>',
      user: '',
      password: '',
      token: '',
      jetstream: { enabled: false, stream: 'FALCO', subjects: ['falco.>'], createstream: true },
      batchsize: 256,
    },
    file: { path: join(dir, 'alerts.jsonl'), format: 'json', fsync: false, batchsize: 256 },
  };
  const sinks = {};
  for (const name of SINKS) {
    const mod = await imp(`relay/sinks/${name}/sink.js`);
    sinks[name] = (await mod.create(sections[name], ctx))[0];
    await sinks[name].healthcheck();
  }
  const none = { customFields: {}, customTags: [], templatedFields: new Map(), bracketReplacer: '', outputFieldFormat: '' };
  let counter = 0;
  const rules = ['Terminal shell in container', 'Write below etc', 'Read sensitive file untrusted', 'Launch Privileged Container'];
  const prios = ['Warning', 'Error', 'Notice', 'Critical'];
  const spoolLines = (n) => {
    const out = [];
    for (let i = 0; i < n; i++) {
      counter++;
      out.push(
        acceptAlertJson(
          benchAlert(counter, {
            sent: 1764000000000 + counter / 7,
            time: new Date(1764000000000 + counter).toISOString(),
            priority: prios[counter % 4],
            rule: rules[counter % 4],
          }),
          none,
        ).json,
      );
    }
    return out;
  };
  // one AbortSignal per 100 ms window, as the delivery pipeline does
  let win = { ac: new AbortController(), until: 0 };
  const signal = () => {
    const now = Date.now();
    if (now >= win.until) {
      win = { ac: new AbortController(), until: now + 100 };
      setMaxListeners(0, win.ac.signal); // the former per-request listeners exceed the default 10 (warning)
    }
    return win.ac.signal;
  };
  const expectOk = (r) => {
    if (r.kind !== 'ok') throw new Error(`send: ${r.kind} ${r.reason}`);
  };
  const run = {
    async webhook(alerts) {
      let next = 0;
      const worker = async () => {
        while (next < alerts.length) expectOk(await sinks.webhook.send([alerts[next++]], signal()));
      };
      await Promise.all(Array.from({ length: 32 }, worker));
    },
    async nats(alerts) {
      for (let i = 0; i < alerts.length; i += 256) expectOk(await sinks.nats.send(alerts.slice(i, i + 256), signal()));
    },
    async file(alerts) {
      for (let i = 0; i < alerts.length; i += 256) expectOk(await sinks.file.send(alerts.slice(i, i + 256), signal()));
    },
  };
  process.on('message', async ({ sink, n }) => {
    const alerts = spoolLines(n).map((l) => JSON.parse(l));
    const c = process.cpuUsage();
    await run[sink](alerts);
    const d = process.cpuUsage(c);
    process.send({ ms: (d.user + d.system) / 1000 });
  });
  process.on('disconnect', async () => {
    for (const s of Object.values(sinks)) await s.close();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
  process.send('ready');
} else {
  const args = process.argv.slice(2);
  // `label=dir@N`: the build in dir with webhook.pipelining N
  const builds = parseBuilds(args).map(({ label, dir: spec }) => {
    const [dir, pipelining] = spec.split('@');
    return { label, dir, pipelining, ms: {} };
  });
  const receiver = fork(self, ['--receiver']);
  const { port } = await new Promise((r) => receiver.once('message', r));
  let nats;
  const natsPort = await freePort();
  if (SINKS.includes('nats')) {
    nats = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(natsPort)], { stdio: 'ignore' });
    await waitTcp(natsPort);
  }
  try {
    for (const b of builds) {
      // MICRO_CPU_PROF=<dir>: a V8 CPU profile of each sender process
      const prof = process.env.MICRO_CPU_PROF
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.MICRO_CPU_PROF}`, `--cpu-prof-name=${b.label}.cpuprofile`]
        : [];
      b.child = fork(self, ['--sender', b.dir], {
        execArgv: prof,
        env: {
          ...process.env,
          RECEIVER_URL: `http://127.0.0.1:${port}/`,
          NATS_PORT: String(natsPort),
          ...(b.pipelining ? { MICRO_WEBHOOK_PIPELINING: b.pipelining } : {}),
        },
      });
      await new Promise((r, j) => {
        b.child.once('message', r);
        b.child.once('exit', (c) => j(new Error(`${b.label} sender exited ${c}`)));
      });
    }
    for (let r = 0; r < ROUNDS + 1; r++) {
      for (const sink of SINKS) {
        for (const b of r % 2 ? [...builds].reverse() : builds) {
          const { ms } = await ask(b.child, { sink, n: N });
          if (r > 0) (b.ms[sink] ??= []).push((ms / N) * 1000);
        }
      }
    }
    for (const b of builds) b.child.disconnect();
    const requests = await ask(receiver, 'count');
    const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
    console.log(
      `sender CPU per 1,000 alerts (ms, median of ${ROUNDS} rounds of ${N} alerts, min–max), receivers in other processes; webhook receiver saw ${requests} requests; load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
    console.log(`| sink | ${builds.map((b) => b.label).join(' | ')} |`);
    console.log(`|---|${builds.map(() => '---|').join('')}`);
    for (const sink of SINKS)
      console.log(
        `| ${sink} | ${builds.map((b) => `${median(b.ms[sink]).toFixed(1)} (${Math.min(...b.ms[sink]).toFixed(1)}–${Math.max(...b.ms[sink]).toFixed(1)})`).join(' | ')} |`,
      );
  } finally {
    receiver.disconnect();
    nats?.kill();
  }
}
