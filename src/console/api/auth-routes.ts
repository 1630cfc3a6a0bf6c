import type { FastifyInstance } from 'fastify';
import { type AuthService, SESSION_COOKIE } from '../auth/service.js';
import type { EventStore, Role, Scope } from '../store/types.js';
import { errorSchema } from './schemas.js';

/** Login/logout/session under /api/v2/auth and admin routes (users, tokens, login log) under /api/v2. */
export async function authRoutes(
  app: FastifyInstance,
  deps: { auth: AuthService; store: EventStore; secureCookies: boolean; sessionTtlMs: number },
): Promise<void> {
  const { auth, store } = deps;
  const cookie = (value: string, maxAgeS: number) =>
    `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${deps.secureCookies ? '; Secure' : ''}`;
  const sessionBody = {
    type: 'object',
    properties: {
      username: { type: 'string' },
      role: { type: 'string' },
      csrfToken: { type: 'string' },
      kind: { type: 'string' },
      scopes: { type: 'array', items: { type: 'string' } },
    },
  } as const;

  app.post(
    '/auth/login',
    {
      config: { access: 'public' },
      schema: {
        summary: 'Log in with a username and password; sets the session cookie',
        tags: ['auth'],
        body: {
          type: 'object',
          properties: {
            username: { type: 'string', maxLength: 200 },
            password: { type: 'string', maxLength: 1000 },
          },
          required: ['username', 'password'],
        },
        response: { 200: sessionBody, 401: errorSchema, 429: errorSchema },
      },
    },
    async (req, reply) => {
      const { username, password } = req.body as { username: string; password: string };
      const r = await auth.login(username, password, req.ip);
      if (!r.ok && r.reason === 'throttled') {
        reply.header('retry-after', String(Math.ceil(r.retryAfterMs / 1000)));
        return reply.code(429).send({ error: 'too many failed logins; try again later' });
      }
      if (!r.ok) return reply.code(401).send({ error: 'wrong username or password' });
      reply.header('set-cookie', cookie(r.sessionId, Math.floor(deps.sessionTtlMs / 1000)));
      return { username, role: r.role, csrfToken: r.csrf, kind: 'session' };
    },
  );

  app.post('/auth/logout', { schema: { summary: 'End the session', tags: ['auth'] } }, async (req, reply) => {
    const p = req.principal;
    if (p?.kind === 'session') await auth.logout(p.sessionHash);
    reply.header('set-cookie', cookie('', 0));
    return { ok: true };
  });

  app.get(
    '/auth/session',
    {
      schema: {
        summary: 'Who is calling (and the CSRF token of a cookie session)',
        tags: ['auth'],
        response: { 200: sessionBody },
      },
    },
    async (req) => {
      const p = req.principal!;
      if (p.kind === 'token') return { username: p.name, kind: 'token', scopes: p.scopes, role: 'token' };
      return {
        username: p.username,
        role: p.role,
        kind: p.kind,
        ...(p.kind === 'session' ? { csrfToken: p.csrf } : {}),
      };
    },
  );

  const admin = { access: 'admin' as const };

  app.get('/users', { config: admin, schema: { summary: 'List users', tags: ['admin'] } }, async () =>
    (await store.listUsers()).map((u) => ({
      username: u.username,
      role: u.role,
      created: new Date(u.createdUs / 1000).toISOString(),
    })),
  );

  app.post(
    '/users',
    {
      config: admin,
      schema: {
        summary: 'Create or update a user',
        tags: ['admin'],
        body: {
          type: 'object',
          properties: {
            username: { type: 'string' },
            password: { type: 'string', minLength: 8 },
            role: { type: 'string', enum: ['viewer', 'admin'] },
          },
          required: ['username', 'password', 'role'],
        },
      },
    },
    async (req, reply) => {
      const b = req.body as { username: string; password: string; role: Role };
      try {
        await auth.createUser(b.username, b.password, b.role);
      } catch (e) {
        return reply.code(400).send({ error: (e as Error).message });
      }
      return reply.code(201).send({ username: b.username, role: b.role });
    },
  );

  app.delete(
    '/users/:username',
    {
      config: admin,
      schema: {
        summary: 'Delete a user',
        tags: ['admin'],
        params: { type: 'object', properties: { username: { type: 'string' } } },
      },
    },
    async (req, reply) => {
      const name = (req.params as { username: string }).username;
      const p = req.principal;
      if (p && p.kind !== 'token' && p.username === name)
        return reply.code(400).send({ error: 'cannot delete yourself' });
      return (await store.deleteUser(name)) ? { ok: true } : reply.code(404).send({ error: 'no such user' });
    },
  );

  app.get(
    '/tokens',
    { config: admin, schema: { summary: 'List API tokens (never their secrets)', tags: ['admin'] } },
    async () =>
      (await store.listTokens()).map((t) => ({
        id: t.id,
        name: t.name,
        scopes: t.scopes,
        created: new Date(t.createdUs / 1000).toISOString(),
        ...(t.lastUsedUs ? { lastUsed: new Date(t.lastUsedUs / 1000).toISOString() } : {}),
      })),
  );

  app.post(
    '/tokens',
    {
      config: admin,
      schema: {
        summary: 'Create an API token; its secret is shown only in this response',
        tags: ['admin'],
        body: {
          type: 'object',
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 100 },
            scopes: { type: 'array', minItems: 1, items: { type: 'string', enum: ['ingest', 'read'] } },
          },
          required: ['name', 'scopes'],
        },
      },
    },
    async (req, reply) => {
      const b = req.body as { name: string; scopes: Scope[] };
      const { token, record } = await auth.createToken(b.name, b.scopes);
      return reply.code(201).send({ id: record.id, name: record.name, scopes: record.scopes, token });
    },
  );

  app.delete(
    '/tokens/:id',
    {
      config: admin,
      schema: {
        summary: 'Revoke a token',
        tags: ['admin'],
        params: { type: 'object', properties: { id: { type: 'string' } } },
      },
    },
    async (req, reply) =>
      (await store.deleteToken((req.params as { id: string }).id))
        ? { ok: true }
        : reply.code(404).send({ error: 'no such token' }),
  );

  app.get(
    '/logins',
    {
      config: admin,
      schema: {
        summary: 'The login log, newest first',
        tags: ['admin'],
        querystring: {
          type: 'object',
          properties: { limit: { type: 'integer', minimum: 1, maximum: 10000, default: 200 } },
        },
      },
    },
    async (req) =>
      (await store.listLogins((req.query as { limit: number }).limit)).map((l) => ({
        time: new Date(l.timeUs / 1000).toISOString(),
        username: l.username,
        ip: l.ip,
        success: l.success,
        reason: l.reason,
      })),
  );
}
