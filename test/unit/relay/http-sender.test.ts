import { getEventListeners } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigTree } from '../../../src/relay/config/load.js';
import { loadRelayConfig } from '../../../src/relay/config/relay-config.js';
import { HttpSender, headersObject } from '../../../src/relay/delivery/http.js';
import { SINKS } from '../../../src/relay/sinks/registry.js';
import { create as createWebhook } from '../../../src/relay/sinks/webhook/sink.js';

/** A local receiver whose answer depends on the path; /hang never answers (until the test ends). */
let server: Server;
let base: string;
const seen: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }> = [];
const hanging: ServerResponse[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      if (req.url === '/hang') return void hanging.push(res);
      if (req.url === '/busy') {
        res.writeHead(503, { 'retry-after': '7', 'content-type': 'text/plain' });
        return void res.end('try later');
      }
      if (req.url === '/bad') {
        res.writeHead(400);
        return void res.end('x'.repeat(1000));
      }
      if (req.url === '/gone') {
        res.writeHead(501);
        return void res.end();
      }
      res.writeHead(200, { 'content-type': 'application/json', 'x-twice': ['a', 'b'] });
      res.end(req.url === '/json' ? '{"took":1,"errors":false}' : 'ignored');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const r of hanging) r.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const sender = () => new HttpSender({ tls: { rejectUnauthorized: true }, connections: 4 });

describe('HttpSender (undici dispatch)', () => {
  it('posts the body with the default headers overridden by the caller, classifies 2xx as ok', async () => {
    const http = sender();
    const ac = new AbortController();
    const headers = { 'x-custom': '1', 'content-type': 'application/cloudevents+json' };
    expect(await http.post(`${base}/hook?a=1`, '{"x":1}', ac.signal, headers, 'PUT')).toEqual({ kind: 'ok' });
    expect(await http.post(`${base}/hook?a=1`, '{"x":2}', ac.signal)).toEqual({ kind: 'ok' });
    const [a, b] = seen.slice(-2);
    expect(a).toMatchObject({ method: 'PUT', url: '/hook?a=1', body: '{"x":1}' });
    expect(a!.headers['x-custom']).toBe('1');
    expect(a!.headers['content-type']).toBe('application/cloudevents+json');
    expect(a!.headers['user-agent']).toMatch(/^peregrine-relay\//);
    expect(b).toMatchObject({ method: 'POST', body: '{"x":2}' });
    expect(b!.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(b!.headers['x-custom']).toBeUndefined();
    await http.close();
  });

  it('retries 503 with Retry-After and the body in the reason; 400 and 501 are permanent', async () => {
    const http = sender();
    const s = new AbortController().signal;
    expect(await http.post(`${base}/busy`, '{}', s)).toEqual({
      kind: 'retry',
      reason: 'HTTP 503: try later',
      retryAfterMs: 7000,
    });
    const bad = await http.post(`${base}/bad`, '{}', s);
    expect(bad.kind).toBe('permanent');
    expect(bad.kind === 'permanent' && bad.reason).toBe(`HTTP 400: ${'x'.repeat(300)}`);
    expect(await http.post(`${base}/gone`, '{}', s)).toEqual({ kind: 'permanent', reason: 'HTTP 501' });
    await http.close();
  });

  it('send() returns status, headers (lower-cased, repeats as a list) and the body of a 200', async () => {
    const http = sender();
    const r = await http.send(`${base}/json`, { body: 'x' });
    expect(r.status).toBe(200);
    expect(r.body).toBe('{"took":1,"errors":false}');
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['x-twice']).toEqual(['a', 'b']);
    expect(headersObject(['Retry-After', '3', 'A', '1', 'a', '2'])).toEqual({
      'retry-after': '3',
      a: ['1', '2'],
    });
    await http.close();
  });

  it("the caller's AbortSignal aborts requests in flight with its reason; one listener per signal", async () => {
    const http = sender();
    const ac = new AbortController();
    const pending = [1, 2, 3].map(() => http.post(`${base}/hang`, '{}', ac.signal));
    const ok = http.post(`${base}/ok`, '{}', ac.signal);
    expect(await ok).toEqual({ kind: 'ok' });
    for (let i = 0; i < 20 && hanging.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    ac.abort(new Error('timeout after 50 ms'));
    for (const p of pending) await expect(p).rejects.toThrow('timeout after 50 ms');
    // an already aborted signal fails at once, nothing is sent
    const before = seen.length;
    await expect(http.post(`${base}/ok`, '{}', ac.signal)).rejects.toThrow('timeout after 50 ms');
    expect(seen.length).toBe(before);
    await http.close();
  });

  it('a refused connection rejects (the pipeline retries it)', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as AddressInfo).port;
    await new Promise((r) => srv.close(r));
    const http = sender();
    await expect(
      http.post(`http://127.0.0.1:${port}/`, '{}', new AbortController().signal),
    ).rejects.toThrow();
    await expect(http.reachable(`http://127.0.0.1:${port}/`)).rejects.toThrow();
    await expect(http.reachable(`${base}/gone`)).resolves.toBeUndefined();
    await http.close();
  });

  it('webhook.pipelining (opt-in): requests go out on one connection before their answers; off by default', async () => {
    /** Holds answers until `want` requests arrived; records the socket of each request. */
    const receiver = async (want: number) => {
      const sockets: unknown[] = [];
      const held: ServerResponse[] = [];
      const srv = createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          sockets.push(req.socket);
          held.push(res);
          if (held.length === want) for (const r of held.splice(0)) r.end();
        });
      });
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      return { srv, sockets, url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/` };
    };
    const ctx = {
      log: (await import('../../../src/common/log.js')).createLogger('test', { level: 'error' }),
      tls: () => ({ rejectUnauthorized: true }),
      enabledOutputs: [],
      customFieldNames: [],
    };
    const alert = {
      hostname: 'h',
      output: 'o',
      output_fields: { a: 1 },
      priority: 'Warning' as const,
      rule: 'r',
      source: 'syscall',
      time: '2001-01-01T01:10:00Z',
      uuid: 'u',
    };
    for (const pipelining of ['4', '']) {
      const r = await receiver(4);
      const cfg = loadRelayConfig(SINKS, {
        env: { WEBHOOK_ADDRESS: r.url, WEBHOOK_MAXCONCURRENTREQUESTS: '4', WEBHOOK_PIPELINING: pipelining },
      });
      const section = cfg.tree.webhook as ConfigTree;
      expect(section.pipelining).toBe(pipelining ? 4 : 0);
      const [sink] = createWebhook(section, ctx as never);
      const signal = new AbortController().signal;
      const results = await Promise.all([1, 2, 3, 4].map(() => sink!.send([alert], signal)));
      expect(results).toEqual(Array(4).fill({ kind: 'ok' }));
      // pipelined: all four arrived on one connection before any answer; off: four connections
      expect(new Set(r.sockets).size).toBe(pipelining ? 1 : 4);
      await sink!.close();
      r.srv.closeAllConnections();
      await new Promise((res) => r.srv.close(res));
    }
  });
});
