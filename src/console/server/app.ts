import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Logger } from '../../common/log.js';
import { registerAuthHook } from '../api/auth-plugin.js';
import { authRoutes } from '../api/auth-routes.js';
import { collectRoutes } from '../api/openapi.js';
import { defaultWebDir, staticRoutes } from '../api/static.js';
import { v1Routes } from '../api/v1.js';
import { v2Routes } from '../api/v2.js';
import { AuthService } from '../auth/service.js';
import type { ConsoleConfig } from '../config.js';
import type { EventStore } from '../store/types.js';
import { LiveBus } from './bus.js';

export interface AppDeps {
  store: EventStore;
  config: ConsoleConfig;
  log: Logger;
  /** Options for the Fastify instance (https, …). */
  fastify?: FastifyServerOptions & { https?: unknown };
  auth?: AuthService;
}

export interface ConsoleApp {
  app: FastifyInstance;
  auth: AuthService;
  bus: LiveBus;
  /** Every route with the access it requires (for docs and the auth tests). */
  routes: { method: string; url: string; access: string }[];
}

/** The console as a Fastify app that never listens (tests use inject or listen on port 0). */
export async function buildApp(deps: AppDeps): Promise<ConsoleApp> {
  const { store, config, log } = deps;
  const app = Fastify({
    logger: false,
    trustProxy: false,
    bodyLimit: 64 * 1024 * 1024,
    ...(deps.fastify ?? {}),
  } as FastifyServerOptions) as unknown as FastifyInstance;
  const auth = deps.auth ?? new AuthService(store, { sessionTtlMs: config.sessionTtlMs }, log.child('auth'));
  const bus = new LiveBus();
  const openapi = collectRoutes(app);
  const routes: ConsoleApp['routes'] = [];
  app.addHook('onRoute', (r) => {
    for (const m of Array.isArray(r.method) ? r.method : [r.method])
      if (m !== 'HEAD') routes.push({ method: m, url: r.url, access: r.config?.access ?? 'read' });
  });
  registerAuthHook(app, auth);
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'same-origin');
    if (String(reply.getHeader('content-type') ?? '').startsWith('text/html'))
      reply.header(
        'content-security-policy',
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
      );
    return payload;
  });
  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, _req, reply) => {
    const code = err.statusCode ?? 500;
    if (code >= 500) log.error('request failed', { error: err.message });
    reply.code(code).send({ error: code >= 500 ? 'internal error' : err.message });
  });
  app.get('/healthz', { config: { access: 'public' } }, async () => ({ status: 'ok' }));
  await app.register(v2Routes, { prefix: '/api/v2', store, bus, config, openapi });
  await app.register(authRoutes, {
    prefix: '/api/v2',
    auth,
    store,
    secureCookies: !!config.tls,
    sessionTtlMs: config.sessionTtlMs,
  });
  await app.register(v1Routes, { store, bus, config });
  await app.register(staticRoutes, { dir: config.webDir ?? defaultWebDir() });
  return { app, auth, bus, routes };
}
