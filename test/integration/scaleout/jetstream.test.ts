/**
 * Scale-out (issue 8 part 4): two relay replicas share a NATS JetStream stream as their durable bus, and the
 * console runs on PostgreSQL. Alerts are posted to both replicas; one replica is SIGKILLed mid-burst. Every
 * alert a replica acknowledged (200) must reach the webhook receiver and the console, and the console must
 * count each alert once (uuid dedupe) however often it was redelivered.
 *
 * Real nats-server (-js) and PostgreSQL from the harness; the relay and the console run as the real CLI
 * (`bin/peregrine.js`, built into dist/ by `npm run build`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres } from '../../harness/postgres.js';
import { startNats } from '../../harness/relay-servers.js';
import { freePort, type RunningServer } from '../../harness/servers.js';
import { alert, startReceiver, tempDir, until } from '../relay/helpers.js';

const ROOT = resolve(new URL('../../..', import.meta.url).pathname);
const BIN = join(ROOT, 'bin', 'peregrine.js');
const TOKEN = 'scaleout-ingest-token-0123456789';
const ADMIN_PW = 'scaleout-admin-pw';
const N = 2000;

interface Proc {
  child: ChildProcess;
  port: number;
  output: () => string;
}

async function startCli(args: string[], env: Record<string, string>, port: number): Promise<Proc> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, PEREGRINE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  await until(
    async () => {
      if (exited) throw new Error(`${args[0]} exited: ${out}`);
      return fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
    },
    30_000,
    `${args[0]} ready`,
  );
  return { child, port, output: () => out };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
/** POST one alert; the uuid when acknowledged (200), undefined otherwise (error, 503, connection reset). */
function postAlert(port: number, body: string): Promise<string | undefined> {
  return new Promise((res) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json' },
      },
      (r) => {
        r.resume();
        r.on('end', () => res(r.statusCode === 200 ? String(r.headers['x-peregrine-uuid']) : undefined));
        r.on('error', () => res(undefined));
      },
    );
    req.on('error', () => res(undefined));
    req.end(body);
  });
}

describe('scale-out: relay replicas on a shared JetStream stream, console on PostgreSQL', () => {
  let nats: RunningServer & { url: string };
  let pg: RunningServer & { url: string };
  let consoleProc: Proc;
  const procs: Proc[] = [];
  const tmp = tempDir('scaleout');

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist', 'relay', 'bus', 'jetstream.js')))
      throw new Error('dist/ is missing or stale: run npm run build first');
    [nats, pg] = await Promise.all([startNats(), startPostgres()]);
    const cport = await freePort();
    const cfg = join(tmp.dir, 'console.yaml');
    writeFileSync(
      cfg,
      `listen_address: 127.0.0.1\nlisten_port: ${cport}\nstore:\n  type: postgres\n  url: ${pg.url}\nretention:\n  max_age: 0\n  max_events: 0\n`,
    );
    consoleProc = await startCli(
      ['console', '-c', cfg],
      { PEREGRINE_ADMIN_PASSWORD: ADMIN_PW, PEREGRINE_CONSOLE_INGEST_TOKEN: TOKEN },
      cport,
    );
  }, 90_000);

  afterAll(async () => {
    for (const p of [...procs, consoleProc]) p?.child.kill('SIGKILL');
    agent.destroy();
    await Promise.all([nats?.stop(), pg?.stop()]);
    tmp.cleanup();
  });

  it(`${N} alerts over two replicas, one SIGKILLed mid-burst: every acknowledged alert delivered, console counts each once`, async () => {
    const hook = await startReceiver(() => ({ status: 200 }));
    const relayEnv = (i: number, port: number) => ({
      LISTENADDRESS: '127.0.0.1',
      LISTENPORT: String(port),
      SPOOL_DIR: join(tmp.dir, `relay${i}`),
      BUS_TYPE: 'jetstream',
      BUS_NATS_URL: nats.url,
      BUS_NATS_ACKWAIT: '2s',
      WEBHOOK_ADDRESS: hook.url,
      WEBHOOK_MAXCONCURRENTREQUESTS: '4',
      CONSOLE_URL: `http://127.0.0.1:${consoleProc.port}`,
      CONSOLE_TOKEN: TOKEN,
      DELIVERY_INITIALBACKOFF: '50ms',
      DELIVERY_MAXBACKOFF: '500ms',
    });
    try {
      const t0 = Date.now();
      const phases: string[] = [];
      const phase = (what: string) => phases.push(`${what} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      const ports = [await freePort(), await freePort()];
      // the replicas start together: both create or join the same stream and consumers
      const [a, b] = await Promise.all(ports.map((p, i) => startCli(['relay'], relayEnv(i, p), p)));
      procs.push(a!, b!);
      phase('replicas up');

      const acked = new Set<string>();
      let refused = 0;
      let next = 0;
      const killAt = Math.floor(N / 2);
      let killed = false;
      const worker = async () => {
        while (next < N) {
          const i = next++;
          if (i >= killAt && !killed) {
            killed = true;
            a!.child.kill('SIGKILL'); // mid-burst, with requests and deliveries in flight on replica a
          }
          // alternate replicas; after the kill, requests to a fail and are counted as not acknowledged
          const port = i % 2 === 0 ? a!.port : b!.port;
          const uuid = await postAlert(
            port,
            JSON.stringify(alert({ rule: 'Scale-out test', output_fields: { i } })),
          );
          if (uuid) acked.add(uuid);
          else refused++;
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      phase('burst sent');
      expect(killed).toBe(true);
      expect(refused).toBeGreaterThan(0); // the killed replica did refuse work
      expect(acked.size).toBeGreaterThan(N / 2);

      const hookUuids = () => new Set(hook.received.map((r) => JSON.parse(r.body).uuid as string));
      await until(
        () => {
          const got = hookUuids();
          return [...acked].every((u) => got.has(u));
        },
        60_000,
        'every acknowledged alert at the webhook',
      );

      phase('webhook has every acknowledged alert');
      const auth = `Basic ${Buffer.from(`admin:${ADMIN_PW}`).toString('base64')}`;
      const consoleGet = async (path: string) => {
        const r = await fetch(`http://127.0.0.1:${consoleProc.port}${path}`, {
          headers: { authorization: auth },
        });
        expect(r.status).toBe(200);
        return r.json() as Promise<Record<string, unknown>>;
      };
      const delivered = hookUuids();
      // alerts on the stream whose 200 was lost with the killed replica are delivered too (never lost),
      // so the console must hold exactly the distinct delivered alerts, a superset of the acknowledged ones
      await until(
        async () => Number((await consoleGet('/api/v2/count?rule=Scale-out%20test')).count) >= delivered.size,
        60_000,
        'console count',
      );
      phase('console count reached');
      await new Promise((r) => setTimeout(r, 3000)); // late redeliveries (ackwait 2 s) must not add events
      const count = Number((await consoleGet('/api/v2/count?rule=Scale-out%20test')).count);
      const stored = new Set<string>();
      let cursor: string | undefined;
      do {
        const page = await consoleGet(
          `/api/v2/events?rule=Scale-out%20test&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        for (const e of page.events as Array<{ uuid: string }>) stored.add(e.uuid);
        cursor = page.nextCursor as string | undefined;
      } while (cursor);
      const finalDelivered = hookUuids();
      const duplicates = hook.received.length - finalDelivered.size;
      console.log(
        `[scale-out] sent ${N}, acknowledged ${acked.size}, refused ${refused}, delivered ${finalDelivered.size} distinct ` +
          `(${finalDelivered.size - acked.size} stored but not acknowledged), webhook duplicates ${duplicates}, console count ${count}; ${phases.join(', ')}`,
      );
      expect(count).toBe(finalDelivered.size);
      expect(stored.size).toBe(count);
      for (const u of acked) expect(stored.has(u)).toBe(true);
      // nothing delivered that the relays did not accept: at most the requests in flight at the kill
      expect(finalDelivered.size - acked.size).toBeLessThanOrEqual(16);
    } finally {
      await hook.close();
    }
  }, 180_000);
});
