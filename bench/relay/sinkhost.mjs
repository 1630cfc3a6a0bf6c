// Receives what the relay delivers (webhook over HTTP, NATS subscription) and records the end-to-end latency:
// now minus the sender's wall-clock stamp carried in output_fields.bench_sent (ms, sub-ms precision).
import { connect, StringCodec } from 'nats';
import { liteServer } from './http-lite.mjs';

const now = () => performance.timeOrigin + performance.now();
const lat = { webhook: [], nats: [] };
const seen = { webhook: new Set(), nats: new Set() };
const record = (sink, body) => {
  if (!body) return; // healthcheck probes
  const a = JSON.parse(body);
  const sent = a.output_fields?.bench_sent;
  if (typeof sent !== 'number') return;
  seen[sink].add(a.uuid);
  if (a.output_fields.bench_phase === 'latency') lat[sink].push(now() - sent);
};

// a raw-socket HTTP/1.1 receiver (http-lite.mjs): node:http cost as much CPU per request as the relay's
// webhook sender, on the same two cores
const server = liteServer((body) => record('webhook', body));
await new Promise((r) => server.listen(0, '127.0.0.1', r));

const nc = await connect({ servers: process.env.NATS_SERVER });
const sc = StringCodec();
const sub = nc.subscribe('falco.>');
(async () => {
  for await (const m of sub) record('nats', sc.decode(m.data));
})();
await nc.flush();

process.send({ webhookPort: server.address().port });
process.on('message', async (m) => {
  if (m === 'stats') {
    const cpu = process.cpuUsage();
    process.send({ cpuSeconds: (cpu.user + cpu.system) / 1e6 });
  } else if (m === 'report') {
    process.send({ report: { latency: lat, counts: { webhook: seen.webhook.size, nats: seen.nats.size } } });
  } else if (m === 'reset' || m === 'reset-all') {
    lat.webhook = [];
    lat.nats = [];
    if (m === 'reset-all') {
      seen.webhook.clear();
      seen.nats.clear();
    }
    process.send({ reset: true });
  } else if (m === 'stop') {
    await nc.close();
    process.exit(0);
  }
});
