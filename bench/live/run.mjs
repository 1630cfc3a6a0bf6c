#!/usr/bin/env node
// Live syscall benchmark (`npm run bench:live`), root + BPF. A C load generator
// (collector/build/loadgen) issues a syscall mix (openat+close, renameat, UDP
// socket/connect/close) at rising rates. Measured in the same run, per rate step:
//   A. collector alone, count mode (kernel → ring buffer → loader, no output): the baseline;
//   B. collector + Node: frames decoded into events, state kept, type read (lazy decoding);
//   C. B + the rules engine with the upstream stable rules and the repo's rules/.
// For each: events/s delivered, kernel drops, CPU (user+sys) and RSS of the consumer
// (and of the collector), then the highest rate with 0 drops, its ratio to A, and the
// agent's CPU per event. Ends with BENCH-RESULT lines.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { CaptureError, lineToEvent } from '../../dist/sources/syscall/capture.js';
import { FrameError, FrameReader, Tag } from '../../dist/sources/syscall/frame.js';

const root = new URL('../../', import.meta.url).pathname;
const COLLECTOR = `${root}collector/build/peregrine-collector`;
const LOADGEN = `${root}collector/build/loadgen`;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const RATES = (process.env.BENCH_RATES ?? '10000,25000,50000,100000,150000,0').split(',').map(Number);
const TYPES = 'openat,close,renameat,socket,connect';
const TICKS = Number(readFileSync('/proc/self/stat', 'utf8') ? 100 : 100);

if (process.getuid?.() !== 0) {
  console.error('[bench:live] needs root (BPF); not run');
  process.exit(1);
}
for (const bin of [COLLECTOR, LOADGEN])
  if (!existsSync(bin)) {
    console.error(`[bench:live] ${bin} missing: run scripts/setup.d/collector.sh`);
    process.exit(1);
  }

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** utime+stime in µs and RSS in bytes of a pid, from /proc. */
function procUsage(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    const cpuUs = ((Number(f[11]) + Number(f[12])) / TICKS) * 1e6;
    const rss = Number(f[21]) * 4096;
    return { cpuUs, rss };
  } catch {
    return { cpuUs: 0, rss: 0 };
  }
}
function loadgen(rate) {
  const r = spawnSync(LOADGEN, ['--rate', String(rate), '--seconds', String(SECONDS)], { encoding: 'utf8' });
  return JSON.parse(r.stdout.trim());
}

/** A: the collector alone in count mode; counters come from its stderr stats lines. */
async function runCountMode() {
  const child = spawn(COLLECTOR, ['--format', 'count', '--syscalls', TYPES, '--stats-ms', '200', '--exclude-pid', String(process.pid)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let last = { received: 0, drops: 0 };
  let ready = false;
  createInterface({ input: child.stderr }).on('line', (l) => {
    try {
      const j = JSON.parse(l);
      if (j.type === 'ready') ready = true;
      if (j.type === 'stats') last = j;
    } catch {
      /* libbpf noise */
    }
  });
  while (!ready) await sleep(50);
  const steps = [];
  for (const rate of RATES) {
    await sleep(300);
    const b = { ...last };
    const ub = procUsage(child.pid);
    const gen = loadgen(rate);
    await sleep(400);
    const a = { ...last };
    const ua = procUsage(child.pid);
    steps.push({
      rate,
      generated: gen.rate,
      delivered: (a.received - b.received) / gen.seconds,
      drops: a.drops - b.drops,
      cpuUs: ua.cpuUs - ub.cpuUs,
      events: a.received - b.received,
      rss: ua.rss,
      collectorCpuUs: ua.cpuUs - ub.cpuUs,
    });
  }
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return steps;
}

/** B/C: the consumer (Node) with its own collector. */
async function runConsumer(withRules) {
  const args = [`${root}bench/live/consumer.mjs`, '--types', TYPES];
  if (withRules) args.push('--rules');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let last;
  createInterface({ input: child.stdout }).on('line', (l) => {
    try {
      last = JSON.parse(l);
    } catch {
      /* ignore */
    }
  });
  const t0 = Date.now();
  while (!last?.collectorPid) {
    if (Date.now() - t0 > 30_000) throw new Error('consumer did not start');
    await sleep(100);
  }
  // warm-up: JIT and the process snapshot settle before the first measured step
  spawnSync(LOADGEN, ['--rate', '20000', '--seconds', '3']);
  await sleep(500);
  const steps = [];
  for (const rate of RATES) {
    await sleep(600);
    const b = last;
    const cb = procUsage(b.collectorPid);
    const gen = loadgen(rate);
    await sleep(700);
    const a = last;
    const ca = procUsage(a.collectorPid);
    steps.push({
      rate,
      generated: gen.rate,
      delivered: (a.frames - b.frames) / gen.seconds,
      drops: a.drops - b.drops,
      cpuUs: a.cpuUs - b.cpuUs,
      events: a.frames - b.frames,
      rss: a.rss,
      collectorCpuUs: ca.cpuUs - cb.cpuUs,
      matches: a.matches - b.matches,
    });
  }
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return { steps, selected: last.selected };
}

function table(title, steps) {
  console.log(`\n${title}`);
  console.log('target ev/s | generated | delivered ev/s | drops | agent CPU % | µs/event | collector CPU % | RSS MiB');
  for (const s of steps) {
    const secs = SECONDS;
    console.log(
      [
        (s.rate || 'max').toString().padStart(11),
        Math.round(s.generated).toString().padStart(9),
        Math.round(s.delivered).toString().padStart(14),
        String(s.drops).padStart(5),
        ((s.cpuUs / (secs * 1e6)) * 100).toFixed(1).padStart(11),
        (s.events ? s.cpuUs / s.events : 0).toFixed(2).padStart(8),
        ((s.collectorCpuUs / (secs * 1e6)) * 100).toFixed(1).padStart(15),
        (s.rss / 1048576).toFixed(1).padStart(7),
      ].join(' | '),
    );
  }
}
const best0 = (steps) =>
  steps.filter((s) => s.drops === 0 && s.delivered >= 0.9 * s.generated).reduce((m, s) => Math.max(m, s.delivered), 0);

const a = await runCountMode();
table('A. collector alone (count mode): CPU and RSS are the collector\'s', a);
const b = await runConsumer(false);
table(`B. collector + Node decoding (kernel selection: ${b.selected})`, b.steps);
let c;
try {
  c = await runConsumer(true);
  table(`C. collector + Node + rules engine (upstream stable rules + rules/; kernel selection: ${c.selected})`, c.steps);
} catch (e) {
  console.log(`\nC. with rules: not run (${e.message})`);
}

const baseRate = best0(a);
const final = c?.steps ?? b.steps;
const agentRate = best0(final);
const at = final.filter((s) => s.drops === 0).sort((x, y) => y.delivered - x.delivered)[0] ?? final[0];
const cpuPerEvent = at.events ? at.cpuUs / at.events : 0;
const s10 = final.find((s) => s.rate === 10000);
const cpuAt10k = s10 ? (s10.cpuUs / (SECONDS * 1e6)) * 100 : NaN;
const rssMax = Math.max(...final.map((s) => s.rss)) / 1048576;
console.log(`\nhighest rate with 0 drops: collector alone ${Math.round(baseRate)} ev/s; agent${c ? ' with rules' : ''} ${Math.round(agentRate)} ev/s (ratio ${(agentRate / baseRate).toFixed(2)})`);
console.log(`agent CPU per event at that rate: ${cpuPerEvent.toFixed(2)} µs; at 10k ev/s: ${cpuAt10k.toFixed(1)} % of a core; max RSS ${rssMax.toFixed(1)} MiB`);
const out = (o) => console.log(`BENCH-RESULT ${JSON.stringify(o)}`);

// Larger fuzz run of the two parsers (the unit tests run a small one): random and mutated frames
// through FrameReader + every TLV accessor, random capture lines through lineToEvent. Only the
// documented error types may come out.
let seed = 99;
const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
const FUZZ = Number(process.env.BENCH_FUZZ ?? 200_000);
let fuzzUnexpected = 0;
let fuzzRejected = 0;
const tf = performance.now();
for (let i = 0; i < FUZZ; i++) {
  const b = Buffer.alloc(96 + (rnd() % 400));
  for (let j = 0; j < b.length; j++) b[j] = rnd() & 255;
  if (i % 3 !== 0) b.writeUInt32LE(b.length, 0);
  if (i % 5 === 0 && b.length >= 100) b.writeUInt16LE(rnd() % 16, 96 + 2); // short TLVs
  try {
    new FrameReader().push(b, (f) => {
      f.kind; f.ret; f.argInt(0);
      for (let t = 1; t <= 23; t++) f.str(t);
      f.sock(); f.fdInfo(); f.procInfo(); f.forkInfo(); f.exitCode(); f.argv(); f.env(); f.stats(); f.hello();
      void Tag;
    });
  } catch (e) {
    if (e instanceof FrameError) fuzzRejected++;
    else fuzzUnexpected++;
  }
  if (i % 4 === 0) {
    const line = JSON.stringify({ n: i, t: 'openat', f: b.toString('base64'), p: rnd() % 2 ? [] : 'x' });
    try {
      lineToEvent(i % 8 === 0 ? line.slice(0, rnd() % line.length) : line, i);
    } catch (e) {
      if (e instanceof CaptureError) fuzzRejected++;
      else fuzzUnexpected++;
    }
  }
}
console.log(`\nfuzz: ${FUZZ} random frames (+${Math.floor(FUZZ / 4)} capture lines) in ${Math.round(performance.now() - tf)} ms: ${fuzzRejected} rejected with FrameError/CaptureError, ${fuzzUnexpected} unexpected errors`);
out({ name: 'live', metric: 'fuzz unexpected errors', value: fuzzUnexpected, unit: 'count', baseline: null, ratio: null, target: '0', pass: fuzzUnexpected === 0 });
out({ name: 'live', metric: 'max 0-drop events/s (agent)', value: Math.round(agentRate), unit: 'ev/s', baseline: Math.round(baseRate), ratio: agentRate / baseRate, target: 'ratio >= 0.8', pass: agentRate / baseRate >= 0.8 });
out({ name: 'live', metric: 'agent CPU per event', value: cpuPerEvent, unit: 'µs', baseline: null, ratio: null, target: '<= 4', pass: cpuPerEvent <= 4 });
out({ name: 'live', metric: 'agent CPU at 10k ev/s', value: cpuAt10k, unit: '% core', baseline: null, ratio: null, target: '<= 5', pass: cpuAt10k <= 5 });
out({ name: 'live', metric: 'agent RSS', value: rssMax, unit: 'MiB', baseline: null, ratio: null, target: '<= 96', pass: rssMax <= 96 });
