/**
 * The Kubernetes audit webhook: an HTTP(S) endpoint (default :9765/k8s-audit)
 * that takes what the API server's webhook backend POSTs (an EventList), a single
 * Event or a JSON array, and hands each Event to the agent.
 *
 * Answers: 200 with counts; 400 bad JSON / not audit events; 401 missing or
 * wrong bearer token; 404 other paths; 405 other methods; 413 body larger than
 * webhookMaxBatchSize; 415 not JSON. Events above maxEventSize are skipped and
 * counted, the rest of the batch goes on.
 */
import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { AuditEvent } from './event.js';
import { AuditParseError, parseAuditBody } from './parse.js';

export interface WebhookOptions {
  listenAddress: string;
  port: number;
  endpoint: string;
  maxEventSize: number;
  maxBatchSize: number;
  tls?: { certFile: string; keyFile?: string };
  bearerToken?: string;
}

export interface WebhookHooks {
  onEvents: (events: AuditEvent[]) => void;
  onRequest?: (status: number) => void;
  onSkipped?: (reason: 'oversized' | 'invalid', n: number) => void;
  onError?: (msg: string) => void;
}

export interface WebhookServer {
  readonly port: number;
  readonly url: string;
  /** Stop accepting requests; in-flight requests finish. */
  close(): Promise<void>;
}

function reply(res: http.ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}) {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...extra,
  });
  res.end(text);
}

function tokenMatches(header: string | undefined, token: string): boolean {
  if (!header) return false;
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (!m) return false;
  const a = Buffer.from(m[1]!);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function webhookHandler(opts: WebhookOptions, hooks: WebhookHooks): http.RequestListener {
  const done = (res: http.ServerResponse, status: number, body: unknown, extra?: Record<string, string>) => {
    hooks.onRequest?.(status);
    reply(res, status, body, extra);
  };
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== opts.endpoint) {
      req.resume();
      return done(res, 404, { error: `not found: ${path}; the audit webhook is at ${opts.endpoint}` });
    }
    if (req.method !== 'POST') {
      req.resume();
      return done(res, 405, { error: `${req.method} method not allowed` }, { allow: 'POST' });
    }
    if (opts.bearerToken && !tokenMatches(req.headers.authorization, opts.bearerToken)) {
      req.resume();
      return done(res, 401, { error: 'missing or invalid bearer token' }, { 'www-authenticate': 'Bearer' });
    }
    const ctype = req.headers['content-type'] ?? '';
    if (!ctype.toLowerCase().includes('application/json')) {
      req.resume();
      return done(res, 415, { error: `wrong content type '${ctype}': expected application/json` });
    }
    const tooLarge = () =>
      done(
        res,
        413,
        { error: `request body larger than webhookMaxBatchSize (${opts.maxBatchSize} bytes)` },
        { connection: 'close' },
      );
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    if (Number.isFinite(declared) && declared > opts.maxBatchSize) {
      tooLarge();
      if (declared > 4 * opts.maxBatchSize) req.destroy();
      else req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let aborted = false;
    req.on('data', (c: Buffer) => {
      if (aborted) return;
      size += c.length;
      if (size > opts.maxBatchSize) {
        aborted = true;
        chunks.length = 0;
        tooLarge();
        return;
      }
      chunks.push(c);
    });
    req.on('error', () => {
      aborted = true;
    });
    req.on('end', () => {
      if (aborted) return;
      const body = Buffer.concat(chunks, size).toString('utf8');
      let outcome: ReturnType<typeof parseAuditBody>;
      try {
        outcome = parseAuditBody(body, { maxEventSize: opts.maxEventSize });
      } catch (e) {
        const msg = e instanceof AuditParseError ? e.message : `cannot parse body: ${(e as Error).message}`;
        hooks.onError?.(msg);
        return done(res, 400, { error: `bad request: ${msg}` });
      }
      if (outcome.oversized > 0) hooks.onSkipped?.('oversized', outcome.oversized);
      if (outcome.invalid > 0) hooks.onSkipped?.('invalid', outcome.invalid);
      if (outcome.events.length === 0 && outcome.invalid > 0) {
        return done(res, 400, {
          error: `bad request: ${outcome.firstInvalidReason}`,
          invalid: outcome.invalid,
        });
      }
      try {
        if (outcome.events.length > 0) hooks.onEvents(outcome.events);
      } catch (e) {
        hooks.onError?.(`processing failed: ${(e as Error).message}`);
        return done(res, 500, { error: 'internal error while processing events' });
      }
      done(res, 200, {
        accepted: outcome.events.length,
        skipped_oversized: outcome.oversized,
        skipped_invalid: outcome.invalid,
      });
    });
  };
}

export async function startWebhook(opts: WebhookOptions, hooks: WebhookHooks): Promise<WebhookServer> {
  const handler = webhookHandler(opts, hooks);
  let server: http.Server;
  if (opts.tls) {
    const cert = readFileSync(opts.tls.certFile);
    const key = opts.tls.keyFile ? readFileSync(opts.tls.keyFile) : cert;
    server = https.createServer({ cert, key }, handler);
  } else {
    server = http.createServer(handler);
  }
  server.keepAliveTimeout = 65_000;
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.listenAddress, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host =
    opts.listenAddress === '0.0.0.0' || opts.listenAddress === '' ? '127.0.0.1' : opts.listenAddress;
  return {
    port,
    url: `${opts.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}${opts.endpoint}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
