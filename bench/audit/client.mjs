// Load generator for bench:audit, run as its own process so the agent's CPU time is its own:
// node client.mjs URL SECONDS CONCURRENCY BATCH → prints {"requests": n, "seconds": s}.
import { Agent as Dispatcher, request } from 'undici';
import { makeBodies } from './mix.mjs';

const [url, seconds, concurrency, batch] = process.argv.slice(2);
const { bodies } = makeBodies(Number(batch));
const dispatcher = new Dispatcher({ connections: Number(concurrency), keepAliveTimeout: 30_000 });
const post = async (body) => {
  const r = await request(url, { method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher });
  await r.body.text();
  if (r.statusCode !== 200) throw new Error(`HTTP ${r.statusCode}`);
};
// warm-up: let the agent's JIT settle before the measured run (3 s, same concurrency)
{
  const until = performance.now() + 3000;
  let w = 0;
  await Promise.all(
    Array.from({ length: Number(concurrency) }, async () => {
      while (performance.now() < until) await post(bodies[w++ % bodies.length]);
    }),
  );
}
process.stdout.write('go\n');
await new Promise((r) => process.stdin.once('data', r));
process.stdin.destroy();
const t0 = performance.now();
const deadline = t0 + Number(seconds) * 1000;
let next = 0;
let requests = 0;
await Promise.all(
  Array.from({ length: Number(concurrency) }, async () => {
    while (performance.now() < deadline) {
      await post(bodies[next++ % bodies.length]);
      requests++;
    }
  }),
);
await dispatcher.close();
process.stdout.write(`${JSON.stringify({ requests, seconds: (performance.now() - t0) / 1000 })}\n`);
