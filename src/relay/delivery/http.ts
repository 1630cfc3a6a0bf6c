/**
 * Shared HTTP sending for HTTP sinks: one keep-alive undici Agent per sink (connections =
 * maxconcurrentrequests), TLS from the common keys, and the status → SendResult classification:
 * 2xx delivered; 408, 425, 429 and 5xx except 501 retried (honouring Retry-After); other statuses permanent.
 */
import { Agent, request } from 'undici';
import type { FalcoAlert } from '../../alert/falco-alert.js';
import { PEREGRINE_VERSION } from '../../version.js';
import type { SendResult, SinkInstance } from './sink.js';

export interface HttpSinkOptions {
  tls: { rejectUnauthorized: boolean; ca?: Buffer; cert?: Buffer; key?: Buffer };
  connections: number;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Retry-After: delta-seconds or an HTTP date. */
export function parseRetryAfter(v: string | string[] | undefined, now = Date.now()): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (!s) return undefined;
  if (/^\s*\d+\s*$/.test(s)) return Number(s) * 1000;
  const t = Date.parse(s);
  return Number.isFinite(t) ? Math.max(0, t - now) : undefined;
}

export function classify(res: HttpResponse): SendResult {
  const st = res.status;
  if (st >= 200 && st < 300) return { kind: 'ok' };
  const detail = res.body ? `: ${res.body.slice(0, 300)}` : '';
  if (st === 408 || st === 425 || st === 429 || (st >= 500 && st !== 501)) {
    return {
      kind: 'retry',
      reason: `HTTP ${st}${detail}`,
      retryAfterMs: parseRetryAfter(res.headers['retry-after']),
    };
  }
  return { kind: 'permanent', reason: `HTTP ${st}${detail}` };
}

export class HttpSender {
  private readonly agent: Agent;
  constructor(opts: HttpSinkOptions) {
    this.agent = new Agent({
      connections: opts.connections,
      keepAliveTimeout: 30_000,
      connect: {
        rejectUnauthorized: opts.tls.rejectUnauthorized,
        ca: opts.tls.ca,
        cert: opts.tls.cert,
        key: opts.tls.key,
      },
    });
  }

  async send(
    url: string,
    init: { method?: string; headers?: Record<string, string>; body?: string | Buffer; signal?: AbortSignal },
  ): Promise<HttpResponse> {
    const res = await request(url, {
      method: (init.method ?? 'POST') as 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'user-agent': `peregrine-relay/${PEREGRINE_VERSION}`,
        ...init.headers,
      },
      body: init.body,
      signal: init.signal,
      dispatcher: this.agent,
    });
    const body = await res.body.text();
    return { status: res.statusCode, headers: res.headers, body };
  }

  /** POST/PUT and classify. */
  async post(
    url: string,
    body: string | Buffer,
    signal: AbortSignal,
    headers: Record<string, string> = {},
    method = 'POST',
  ): Promise<SendResult> {
    return classify(await this.send(url, { method, headers, body, signal }));
  }

  /** A healthcheck that mimics a send: the host answers HTTP at all (any status). */
  async reachable(url: string): Promise<void> {
    const ac = new AbortController();
    const t = setTimeout(() => ac.abort(), 5000);
    try {
      await this.send(url, { method: 'HEAD', signal: ac.signal });
    } finally {
      clearTimeout(t);
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/** Basic auth header value. */
export const basic = (user: string, pass: string) =>
  `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

/** Build a SinkInstance around one HttpSender (the common shape of every HTTP sink). */
export function httpSink(opts: {
  name: string;
  section: Record<string, unknown>;
  tls: HttpSinkOptions['tls'];
  maxBatch?: number;
  /** URL the healthcheck probes (any HTTP answer counts as reachable). */
  healthUrl: string;
  send(http: HttpSender, batch: FalcoAlert[], signal: AbortSignal): Promise<SendResult>;
}): SinkInstance {
  const conc = Number(opts.section.maxconcurrentrequests);
  const http = new HttpSender({ tls: opts.tls, connections: conc > 0 ? conc : 64 });
  return {
    name: opts.name,
    maxBatch: opts.maxBatch ?? 1,
    send: (batch, signal) => opts.send(http, batch, signal),
    healthcheck: () => http.reachable(opts.healthUrl),
    close: () => http.close(),
  };
}
