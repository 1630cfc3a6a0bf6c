// Diagnostic for the webhook sink (one HTTP POST per alert, Falcosidekick's contract): sender CPU per
// 1,000 requests with undici's keep-alive Agent (what the sink uses: pipelining 1) against a Pool with
// HTTP/1.1 pipelining, same number of requests in flight. The receiver runs in a child process.
// Usage: node bench/relay/webhook-pipelining.mjs   (BENCH_REQUESTS, default 20000 per variant)
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Agent, Pool, request } from 'undici';

if (process.argv[2] === 'receiver') {
  const { createServer } = await import('node:http');
  const { bareJsonHandler } = await import('./common.mjs');
  const srv = createServer(bareJsonHandler);
  srv.keepAliveTimeout = 60_000;
  srv.listen(0, '127.0.0.1', () => process.send(srv.address().port));
} else {
  const N = Number(process.env.BENCH_REQUESTS ?? 20000);
  const child = fork(fileURLToPath(import.meta.url), ['receiver']);
  const port = await new Promise((r) => child.once('message', r));
  const url = `http://127.0.0.1:${port}/`;
  const body = JSON.stringify({
    uuid: '8d2f8b2e-0000-4000-8000-000000000000',
    output: '12:00:00.000000000: Warning A shell was spawned in a container (user=root shell=bash)',
    priority: 'Warning',
    rule: 'Terminal shell in container',
    time: new Date().toISOString(),
    output_fields: { 'container.id': 'abc123', 'proc.name': 'bash', 'user.name': 'root', 'k8s.ns.name': 'default' },
    source: 'syscall',
    tags: ['container', 'shell'],
    hostname: 'bench',
  });
  const headers = { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'peregrine-relay/bench' };

  // undici never pipelines a POST by default (non-idempotent and blocking requests wait for the previous
  // response on their connection); the pipelined variants must mark the POSTs idempotent and non-blocking.
  async function run(dispatcher, inFlight, n, pipelined) {
    const extra = pipelined ? { idempotent: true, blocking: false } : {};
    let next = 0;
    const worker = async () => {
      while (next < n) {
        next++;
        const res = await request(url, { method: 'POST', headers, body, dispatcher, ...extra });
        await res.body.text();
        if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
  }

  async function measure(label, make, inFlight, pipelined = false) {
    const d = make();
    await run(d, inFlight, 2000, pipelined); // warm-up
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await run(d, inFlight, N, pipelined);
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    await d.close();
    const cpu = (c.user + c.system) / 1000;
    return { label, inFlight, rate: Math.round(N / (ms / 1000)), cpuPer1000: (cpu / N) * 1000 };
  }

  const rows = [];
  for (const inFlight of [8, 64]) {
    rows.push(await measure(`Agent, ${inFlight} connections, pipelining 1 (current sink)`, () => new Agent({ connections: inFlight, keepAliveTimeout: 30_000 }), inFlight));
    for (const [conns, pipe] of [[Math.max(1, inFlight / 8), 8], [Math.max(1, inFlight / 16), 16]]) {
      const pool = () => new Pool(url, { connections: conns, pipelining: pipe, keepAliveTimeout: 30_000 });
      rows.push(await measure(`Pool, ${conns} connections, pipelining ${pipe}, POST as sent (not pipelined)`, pool, inFlight));
      rows.push(await measure(`Pool, ${conns} connections, pipelining ${pipe}, idempotent+non-blocking (pipelined)`, pool, inFlight, true));
    }
  }
  child.kill();
  console.log(`webhook sender: ${N} POSTs per variant (~${body.length} B), sender CPU only (receiver in another process)`);
  console.log('| dispatcher | in flight | requests/s | sender CPU ms per 1000 |');
  console.log('|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.label} | ${r.inFlight} | ${r.rate} | ${r.cpuPer1000.toFixed(1)} |`);
}
