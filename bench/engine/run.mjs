#!/usr/bin/env node
// Engine benchmark (`npm run bench:engine`): loads the upstream stable rules plus the repo's default
// rules, replays a synthetic syscall mix through the compiled per-event-type index with in-memory
// extraction on one core, and compares against a match-nothing ruleset measured in the same run.
// Then a larger fuzz run of the parser and loader. Imports the compiled engine from dist/.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEngine, memoryExtractor, SYSCALL_FIELDS } from '../../dist/engine/index.js';
import { rng, runFuzz } from '../../dist/engine/fuzz.js';

const root = new URL('../../', import.meta.url).pathname;
const refdata = process.env.PEREGRINE_REFDATA ?? join(root, '../shared/refdata');
const TARGET = 1_000_000;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);

const files = [];
const stable = join(refdata, 'rules/falco_rules.yaml');
if (existsSync(stable)) files.push({ name: 'falco_rules.yaml', content: readFileSync(stable, 'utf8') });
else process.stderr.write(`[bench:engine] ${stable} not found: running on the repo's rules only\n`);
const ours = join(root, 'rules');
if (existsSync(ours)) {
  for (const f of readdirSync(ours).sort()) if (/\.ya?ml$/.test(f)) files.push({ name: `rules/${f}`, content: readFileSync(join(ours, f), 'utf8') });
}

const ext = memoryExtractor('syscall', SYSCALL_FIELDS);
const t0 = performance.now();
const engine = createEngine({ extractors: [ext], hostname: 'bench' });
const res = engine.load(files);
const loadMs = performance.now() - t0;
if (!res.successful) {
  process.stderr.write(res.toText());
  process.exit(1);
}
const baseline = createEngine({ extractors: [ext], hostname: 'bench' });
baseline.load([{ name: 'nothing.yaml', content: '- rule: nothing\n  desc: matches nothing\n  condition: evt.num = 0\n  output: x\n  priority: DEBUG\n' }]);

// ---- synthetic event mix ------------------------------------------------------------------
const r = rng(42);
const pick = (xs) => xs[Math.floor(r() * xs.length)];
const PROCS = [
  ['nginx', 'nginx', '/usr/sbin/nginx', 'nginx: worker process'],
  ['python3', 'gunicorn', '/usr/bin/python3.11', 'python3 app.py --port 8080'],
  ['java', 'bash', '/usr/lib/jvm/bin/java', 'java -jar service.jar'],
  ['node', 'npm', '/usr/local/bin/node', 'node server.js'],
  ['bash', 'sshd', '/usr/bin/bash', 'bash -l'],
  ['cat', 'bash', '/usr/bin/cat', 'cat /etc/hosts'],
  ['systemd', 'systemd', '/usr/lib/systemd/systemd', '/sbin/init'],
  ['postgres', 'postgres', '/usr/lib/postgresql/15/bin/postgres', 'postgres: writer'],
  ['containerd', 'systemd', '/usr/bin/containerd', 'containerd'],
];
const PATHS = [
  '/etc/hosts', '/etc/resolv.conf', '/etc/passwd', '/etc/ld.so.cache', '/usr/lib/x86_64-linux-gnu/libc.so.6',
  '/proc/self/stat', '/proc/1/cgroup', '/sys/fs/cgroup/cpu.max', '/var/log/nginx/access.log', '/tmp/upload-1234',
  '/var/lib/postgresql/15/main/base/16384/2619', '/usr/share/zoneinfo/UTC', '/dev/null', '/dev/urandom', '/home/app/.cache/x',
  '/etc/shadow', '/root/.ssh/authorized_keys', '/var/run/secrets/kubernetes.io/serviceaccount/token',
];
const CONTAINERS = ['host', 'host', '3f2a9c1b7d4e', 'a1b2c3d4e5f6'];
function base(type) {
  const [name, pname, exe, cmdline] = pick(PROCS);
  const cid = pick(CONTAINERS);
  return {
    'evt.type': type,
    'evt.time': 1_700_000_000_000_000_000n,
    'evt.res': 'SUCCESS',
    'evt.rawres': 0,
    'proc.name': name,
    'proc.pname': pname,
    'proc.exepath': exe,
    'proc.exe': exe,
    'proc.cmdline': cmdline,
    'proc.args': cmdline.split(' ').slice(1).join(' '),
    'proc.pcmdline': pname,
    'proc.aname': [pname, 'systemd'],
    'proc.aname[2]': 'systemd',
    'proc.pid': 1000 + Math.floor(r() * 30000),
    'proc.ppid': 1,
    'proc.tty': 0,
    'proc.sname': pname,
    'user.name': r() < 0.3 ? 'root' : 'app',
    'user.uid': r() < 0.3 ? 0 : 1000,
    'user.loginuid': -1,
    'container.id': cid,
    'container.image.repository': cid === 'host' ? undefined : 'docker.io/library/nginx',
    'container.privileged': false,
  };
}
function openEv(type) {
  const ev = base(type);
  const p = pick(PATHS);
  const slash = p.lastIndexOf('/');
  const write = r() < 0.25;
  Object.assign(ev, {
    'fd.name': p,
    'fd.nameraw': p,
    'fd.directory': p.slice(0, slash) || '/',
    'fd.filename': p.slice(slash + 1),
    'fd.typechar': 'f',
    'fd.type': 'file',
    'fd.num': 3 + Math.floor(r() * 60),
    'evt.is_open_read': !write,
    'evt.is_open_write': write,
    'evt.is_open_exec': false,
    'evt.arg[flags]': write ? 'O_WRONLY|O_CREAT|O_CLOEXEC' : 'O_RDONLY|O_CLOEXEC',
  });
  return ev;
}
function execEv() {
  const ev = base(r() < 0.9 ? 'execve' : 'execveat');
  Object.assign(ev, { 'proc.is_exe_upper_layer': false, 'proc.is_exe_from_memfd': false, 'evt.arg[res]': 0, 'proc.env': 'PATH=/usr/bin' });
  return ev;
}
function netEv() {
  const ev = base(pick(['connect', 'accept', 'accept4']));
  const sip = pick(['10.0.0.12', '172.17.0.3', '93.184.216.34', '127.0.0.1']);
  Object.assign(ev, {
    'fd.typechar': '4', 'fd.type': 'ipv4', 'fd.l4proto': 'tcp', 'fd.sockfamily': 'ip', 'fd.sip': sip, 'fd.cip': '10.0.0.5',
    'fd.sport': pick([80, 443, 5432, 6379, 22]), 'fd.cport': 40000 + Math.floor(r() * 20000), 'fd.name': `10.0.0.5:41234->${sip}:443`,
    'fd.num': 7, 'fd.connected': true, 'fd.rip': sip, 'fd.lip': '10.0.0.5',
  });
  return ev;
}
function miscEv() {
  const ev = base(pick(['read', 'write', 'mmap', 'clone', 'setuid', 'unlinkat', 'renameat2', 'socket', 'sendto', 'fcntl', 'mkdirat', 'ptrace']));
  Object.assign(ev, { 'fd.name': pick(PATHS), 'fd.num': 4, 'fd.typechar': 'f', 'evt.arg[uid]': 'root' });
  return ev;
}
// Give every event the same shape (a source's events are struct-like): all keys, undefined = no value.
const ALL_KEYS = new Set();
const POOL = 20_000;
const events = [];
const mix = { open: 0, close: 0, exec: 0, net: 0, misc: 0 };
for (let i = 0; i < POOL; i++) {
  const k = r();
  if (k < 0.5) {
    events.push(openEv(pick(['openat', 'openat', 'openat', 'open', 'openat2'])));
    mix.open++;
  } else if (k < 0.7) {
    events.push(openEv('close'));
    mix.close++;
  } else if (k < 0.8) {
    events.push(execEv());
    mix.exec++;
  } else if (k < 0.9) {
    events.push(netEv());
    mix.net++;
  } else {
    events.push(miscEv());
    mix.misc++;
  }
}

for (const ev of events) for (const k of Object.keys(ev)) ALL_KEYS.add(k);
const KEYS = [...ALL_KEYS].sort();
// An object literal with fixed keys keeps V8's fast (struct-like) properties, as a source's event
// objects would; adding ~40 computed keys one by one would turn every event into a hash map.
const makeEvent = new Function('e', `return {${KEYS.map((k) => `${JSON.stringify(k)}: e[${JSON.stringify(k)}]`).join(', ')}};`);
for (let i = 0; i < events.length; i++) events[i] = makeEvent(events[i]);

/**
 * Replays the pool until `seconds` of CPU time were spent. Throughput is computed from the CPU
 * time of this process (user+system), so that other processes sharing the machine's cores do not
 * distort "events/s on one core"; wall-clock throughput is printed too.
 */
function run(e, seconds) {
  let hits = 0;
  for (let k = 0; k < 3; k++) for (let i = 0; i < POOL; i++) hits += e.process('syscall', events[i]).length;
  hits = 0;
  let n = 0;
  const c0 = process.cpuUsage();
  const w0 = process.hrtime.bigint();
  let cpuUs = 0;
  while (cpuUs < seconds * 1e6) {
    for (let i = 0; i < POOL; i++) hits += e.process('syscall', events[i]).length;
    n += POOL;
    const c = process.cpuUsage(c0);
    cpuUs = c.user + c.system;
  }
  const wall = Number(process.hrtime.bigint() - w0) / 1e9;
  const secs = cpuUs / 1e6;
  return { eps: n / secs, wallEps: n / wall, nsPerEvent: (secs * 1e9) / n, n, hits };
}

const engineAll = createEngine({ extractors: [ext], hostname: 'bench', ruleMatching: 'all' });
engineAll.load(files);

const base0 = run(baseline, SECONDS / 2);
const main = run(engine, SECONDS);
const all = run(engineAll, SECONDS / 2);
const base1 = run(baseline, SECONDS / 2);
const baseEps = (base0.eps + base1.eps) / 2;
const rulesLoaded = engine.rules().length;
const types = engine.eventTypes('syscall').size;

const fmt = (x) => Math.round(x).toLocaleString('en-US');
console.log(`rules: ${files.map((f) => f.name).join(', ')} — ${rulesLoaded} rules, ${types} event types, load ${loadMs.toFixed(0)} ms`);
console.log(`event mix over ${POOL} events: ${Object.entries(mix).map(([k, v]) => `${k} ${((100 * v) / POOL).toFixed(0)}%`).join(', ')}`);
console.log('');
console.log('throughput per CPU-second of this process (wall-clock in the last column; the machine is shared)');
console.log('case                             | events/s CPU | ns/event | matches/event | events/s wall');
console.log('---------------------------------|--------------|----------|---------------|--------------');
console.log(`match-nothing baseline           | ${fmt(baseEps).padStart(12)} | ${(1e9 / baseEps).toFixed(1).padStart(8)} | ${'0'.padStart(13)} | ${fmt((base0.wallEps + base1.wallEps) / 2).padStart(12)}`);
console.log(`stable rules (first match)       | ${fmt(main.eps).padStart(12)} | ${main.nsPerEvent.toFixed(1).padStart(8)} | ${(main.hits / main.n).toFixed(4).padStart(13)} | ${fmt(main.wallEps).padStart(12)}`);
console.log(`stable rules (rule_matching all) | ${fmt(all.eps).padStart(12)} | ${all.nsPerEvent.toFixed(1).padStart(8)} | ${(all.hits / all.n).toFixed(4).padStart(13)} | ${fmt(all.wallEps).padStart(12)}`);
console.log(`ratio first-match / baseline     | ${(main.eps / baseEps).toFixed(3).padStart(12)} |          |               |`);

// ---- fuzz (large run) -----------------------------------------------------------------------
const FUZZ = Number(process.env.BENCH_FUZZ ?? 5000);
const f0 = performance.now();
const fz = runFuzz(FUZZ, 7, 1000);
const fuzzMs = performance.now() - f0;
console.log('');
console.log(
  `fuzz: ${fz.cases} cases in ${(fuzzMs / 1000).toFixed(1)} s — parsed ${fz.parsed}, parse-rejected ${fz.parseRejected}, loaded ${fz.loaded}, load-rejected ${fz.loadRejected}, crashes ${fz.crashes.length}, rejections without position ${fz.badRejections.length}, slow ${fz.slow.length}, max ${fz.maxMs.toFixed(0)} ms`,
);
for (const c of fz.crashes.slice(0, 3)) console.log(`  crash: ${c}`);

const result = (o) => console.log(`BENCH-RESULT ${JSON.stringify(o)}`);
result({
  name: 'engine',
  metric: 'events/s, stable rules, one core',
  value: Math.round(main.eps),
  unit: 'events/s',
  baseline: Math.round(baseEps),
  ratio: Number((main.eps / baseEps).toFixed(3)),
  target: TARGET,
  pass: main.eps >= TARGET,
});
result({
  name: 'engine',
  metric: 'ns/event, stable rules',
  value: Number(main.nsPerEvent.toFixed(1)),
  unit: 'ns',
  baseline: Number((1e9 / baseEps).toFixed(1)),
  ratio: Number((main.nsPerEvent / (1e9 / baseEps)).toFixed(3)),
  target: 1000,
  pass: main.nsPerEvent <= 1000,
});
result({
  name: 'engine-fuzz',
  metric: 'parser+loader fuzz crashes/hangs',
  value: fz.crashes.length + fz.slow.length + fz.badRejections.length,
  unit: 'failures',
  baseline: fz.cases,
  ratio: 0,
  target: 0,
  pass: fz.crashes.length + fz.slow.length + fz.badRejections.length === 0,
});
