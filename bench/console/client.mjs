// Load generator for bench.mjs, run in a worker thread so that building and
// serialising alerts does not compete with the console on the main thread. Batched
// bodies are all built before the clock starts (the same for every store), so the
// timed part is the posting alone; single-event bodies are built as they are sent.
import { parentPort, workerData } from 'node:worker_threads';
import { makeGenerator } from './gen.mjs';

const { base, token, from, to, total, batch, concurrency, seconds, seed } = workerData;
const gen = makeGenerator(seed);
const post = async (body) => {
  const r = await fetch(`${base}/api/v2/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
  });
  if (r.status !== 200) throw new Error(`ingest HTTP ${r.status}: ${await r.text()}`);
  await r.arrayBuffer();
};

let sent = 0;
const t0 = performance.now();
if (seconds) {
  // Single events, one per request, for a fixed time.
  const end = t0 + seconds * 1000;
  let i = from;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await post(JSON.stringify(gen(i++, total)));
        sent++;
      }
    }),
  );
  parentPort.postMessage({ sent, seconds: (performance.now() - t0) / 1000 });
} else {
  const bodies = [];
  for (let i = from; i < to; i += batch) {
    const n = Math.min(batch, to - i);
    bodies.push({ n, body: JSON.stringify(Array.from({ length: n }, (_, j) => gen(i + j, total))) });
  }
  const t1 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        const b = bodies[next];
        bodies[next++] = undefined;
        await post(b.body);
        sent += b.n;
      }
    }),
  );
  parentPort.postMessage({ sent, seconds: (performance.now() - t1) / 1000 });
}
