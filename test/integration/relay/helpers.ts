/** Helpers for relay integration tests: an in-process relay, local HTTP receivers, alert factories. */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../src/common/log.js';
import { loadRelayConfig } from '../../../src/relay/config/relay-config.js';
import { Relay } from '../../../src/relay/relay.js';
import { SINKS } from '../../../src/relay/sinks/registry.js';

export const quietLog = () =>
  createLogger(
    'relay-test',
    process.env.RELAY_TEST_LOG ? { level: 'debug' } : { level: 'error', write: () => undefined },
  );

export function tempDir(prefix = 'relay'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `peregrine-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Start a relay on a free port with this YAML-shaped config (spool in a temp dir unless given). */
export async function startRelay(
  yaml: Record<string, unknown>,
  env: NodeJS.ProcessEnv = {},
): Promise<{ relay: Relay; url: string; spoolDir: string; stop: () => Promise<void> }> {
  const t = tempDir('spool');
  const spool = (yaml.spool as Record<string, unknown> | undefined) ?? {};
  const cfg = loadRelayConfig(SINKS, {
    yaml: {
      listenaddress: '127.0.0.1',
      listenport: 0,
      ...yaml,
      spool: { dir: t.dir, segmentbytes: 1 << 20, ...spool },
    },
    env,
  });
  const relay = await Relay.start(cfg, { log: quietLog() });
  return {
    relay,
    url: `http://127.0.0.1:${relay.port}`,
    spoolDir: cfg.spool.dir,
    stop: async () => {
      await relay.close();
      t.cleanup();
    },
  };
}

export interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

/**
 * A local HTTP receiver recording every request. `respond` decides the status (default 200).
 */
export async function startReceiver(
  respond: (
    r: Received,
    n: number,
  ) => { status: number; headers?: Record<string, string>; body?: string } = () => ({
    status: 200,
  }),
): Promise<{ url: string; port: number; received: Received[]; close: () => Promise<void> }> {
  const received: Received[] = [];
  let n = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      if (r.method === 'HEAD') {
        res.writeHead(200).end(); // sink healthchecks
        return;
      }
      const out = respond(r, n++);
      if (out.status >= 200 && out.status < 300) received.push(r);
      res.writeHead(out.status, out.headers ?? {});
      res.end(out.body ?? '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

let counter = 0;
export function alert(over: Record<string, unknown> = {}): Record<string, unknown> {
  counter++;
  return {
    output: `10:00:00.123456789: Warning Shell spawned (n=${counter})`,
    priority: 'Warning',
    rule: 'Terminal shell in container',
    time: '2026-11-29T10:00:00.123456789Z',
    output_fields: { 'proc.name': 'bash', 'container.id': 'abc123', n: counter },
    source: 'syscall',
    hostname: 'node-1',
    tags: ['container', 'shell'],
    ...over,
  };
}

export async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

export async function until(fn: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition') {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}
