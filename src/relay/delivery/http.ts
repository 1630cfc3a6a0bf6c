/**
 * Shared HTTP sending for HTTP sinks: one keep-alive undici Agent per sink (connections =
 * maxconcurrentrequests), TLS from the common keys, and the status → SendResult classification:
 * 2xx delivered; 408, 425, 429 and 5xx except 501 retried (honouring Retry-After); other statuses permanent.
 *
 * Requests go through `Agent.dispatch` with a small handler instead of undici's `request()`: no response
 * Readable stream, no AsyncResource and no abort listener per request (one per AbortSignal, see `track`),
 * and the response body and headers are only decoded when someone reads them (a 2xx answer to `post` is
 * never decoded). Status classification, Retry-After, TLS and the caller's AbortSignal behave as before.
 */
import { Agent, type Dispatcher } from 'undici';
import type { FalcoAlert } from '../../alert/falco-alert.js';
import { PEREGRINE_VERSION } from '../../version.js';
import type { SendResult, SinkInstance } from './sink.js';

export interface HttpSinkOptions {
  tls: { rejectUnauthorized: boolean; ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** Requests in flight at once (the sink's maxconcurrentrequests). */
  connections: number;
  /**
   * HTTP/1.1 pipelining (opt-in, a sink's `pipelining` key): up to this many requests on one connection
   * before their answers, `ceil(connections / pipelining)` connections. 0 or 1 = off (one request per
   * connection at a time). Pipelined requests are marked idempotent: when a connection breaks, undici
   * sends the unanswered ones again on a new connection (more duplicates; delivery is at least once).
   */
  pipelining?: number;
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

/** Raw response headers (name, value, name, value …) as an object: lower-cased names, repeats as arrays. */
export function headersObject(raw: Buffer[] | string[] | null | undefined): HttpResponse['headers'] {
  const out: HttpResponse['headers'] = Object.create(null);
  if (!raw) return out;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i]!.toString('latin1').toLowerCase();
    const v = raw[i + 1]!.toString('latin1');
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

const OK_RESULT: SendResult = Object.freeze({ kind: 'ok' });

/**
 * One request/response exchange: undici's dispatch handler. Resolves with the status, headers and body
 * (decoded from the collected chunks), or rejects with the transport error (the AbortSignal's reason when
 * the caller aborted).
 */
class Exchange implements Dispatcher.DispatchHandler {
  status = 0;
  private raw: Buffer[] | null = null;
  private chunks: Buffer[] | undefined;
  private keep = true;
  private abortFn: ((err?: Error) => void) | undefined;
  private abortReason: unknown;
  private aborted = false;
  signal: AbortSignal | undefined;

  constructor(
    private readonly done: (ex: Exchange) => void,
    private readonly fail: (err: unknown) => void,
    /** Keep the body of a 2xx answer too (else only error bodies are kept, for the reason text). */
    private readonly bodyOn2xx: boolean,
  ) {}

  /** Abort the request (the caller's signal fired). */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.abortReason = reason;
    this.abortFn?.(reason as Error);
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortFn = abort;
    if (this.aborted) abort(this.abortReason as Error);
  }

  onHeaders(status: number, raw: Buffer[]): boolean {
    if (status < 200) return true; // 1xx informational: the real answer follows
    this.status = status;
    this.raw = raw;
    this.keep = this.bodyOn2xx || status >= 300;
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.keep) (this.chunks ??= []).push(chunk);
    return true;
  }

  onComplete(): void {
    untrack(this);
    this.done(this);
  }

  onError(err: Error): void {
    untrack(this);
    this.fail(this.aborted ? this.abortReason : err);
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  response(): HttpResponse {
    const c = this.chunks;
    const body = !c ? '' : c.length === 1 ? c[0]!.toString('utf8') : Buffer.concat(c).toString('utf8');
    return { status: this.status, headers: headersObject(this.raw), body };
  }
}

/**
 * Exchanges in flight per AbortSignal: one 'abort' listener per signal (the delivery pipeline shares one
 * signal between the sends of a time window), not one per request — an EventTarget add/remove walks the
 * signal's listener list.
 */
const inflight = new WeakMap<AbortSignal, Set<Exchange>>();

function track(signal: AbortSignal, ex: Exchange): void {
  let set = inflight.get(signal);
  if (!set) {
    const s = new Set<Exchange>();
    set = s;
    inflight.set(signal, s);
    signal.addEventListener(
      'abort',
      () => {
        for (const e of s) e.abort(signal.reason);
        s.clear();
      },
      { once: true },
    );
  }
  ex.signal = signal;
  set.add(ex);
}

function untrack(ex: Exchange): void {
  if (ex.signal) inflight.get(ex.signal)?.delete(ex);
}

const DEFAULT_HEADERS: Record<string, string> = Object.freeze({
  'content-type': 'application/json; charset=utf-8',
  'user-agent': `peregrine-relay/${PEREGRINE_VERSION}`,
});

export class HttpSender {
  private readonly agent: Agent;
  /** The last URL sent to, parsed (sinks send to one URL, or a few). */
  private lastUrl = '';
  private lastTarget = { origin: '', path: '' };
  /** The last caller header object and its merge with the defaults (sinks pass the same object each time). */
  private lastHeaders: Record<string, string> | undefined;
  private lastMerged = DEFAULT_HEADERS;

  /** Extra dispatch options when pipelining: undici only pipelines idempotent, non-blocking requests. */
  private readonly pipelined: { idempotent?: boolean; blocking?: boolean };

  constructor(opts: HttpSinkOptions) {
    const pipelining = Math.floor(opts.pipelining ?? 0);
    const pipe = pipelining > 1;
    this.pipelined = pipe ? { idempotent: true, blocking: false } : {};
    this.agent = new Agent({
      connections: pipe ? Math.max(1, Math.ceil(opts.connections / pipelining)) : opts.connections,
      ...(pipe ? { pipelining } : {}),
      keepAliveTimeout: 30_000,
      connect: {
        rejectUnauthorized: opts.tls.rejectUnauthorized,
        ca: opts.tls.ca,
        cert: opts.tls.cert,
        key: opts.tls.key,
      },
    });
  }

  private target(url: string): { origin: string; path: string } {
    if (url !== this.lastUrl) {
      const u = new URL(url);
      this.lastTarget = { origin: u.origin, path: u.search ? `${u.pathname}${u.search}` : u.pathname };
      this.lastUrl = url;
    }
    return this.lastTarget;
  }

  /**
   * The defaults overridden by the caller's headers. Merged once per caller object while the same object
   * comes back: a sink builds its header object once and must not change it afterwards.
   */
  private headersFor(h: Record<string, string> | undefined): Record<string, string> {
    if (!h) return DEFAULT_HEADERS;
    if (h !== this.lastHeaders) {
      this.lastMerged = { ...DEFAULT_HEADERS, ...h };
      this.lastHeaders = h;
    }
    return this.lastMerged;
  }

  private exchange(
    url: string,
    init: { method?: string; headers?: Record<string, string>; body?: string | Buffer; signal?: AbortSignal },
    bodyOn2xx: boolean,
  ): Promise<Exchange> {
    const { signal } = init;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const { origin, path } = this.target(url);
    return new Promise<Exchange>((resolve, reject) => {
      const ex = new Exchange(resolve, reject, bodyOn2xx);
      if (signal) track(signal, ex);
      this.agent.dispatch(
        {
          origin,
          path,
          method: (init.method ?? 'POST') as Dispatcher.HttpMethod,
          headers: this.headersFor(init.headers),
          body: init.body,
          ...this.pipelined,
        },
        ex,
      );
    });
  }

  async send(
    url: string,
    init: { method?: string; headers?: Record<string, string>; body?: string | Buffer; signal?: AbortSignal },
  ): Promise<HttpResponse> {
    return (await this.exchange(url, init, true)).response();
  }

  /** POST/PUT and classify. */
  async post(
    url: string,
    body: string | Buffer,
    signal: AbortSignal,
    headers?: Record<string, string>,
    method = 'POST',
  ): Promise<SendResult> {
    const ex = await this.exchange(url, { method, headers, body, signal }, false);
    return ex.ok ? OK_RESULT : classify(ex.response());
  }

  /** A healthcheck that mimics a send: the host answers HTTP at all (any status). */
  async reachable(url: string): Promise<void> {
    const ac = new AbortController();
    const t = setTimeout(() => ac.abort(), 5000);
    try {
      await this.exchange(url, { method: 'HEAD', signal: ac.signal }, false);
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
