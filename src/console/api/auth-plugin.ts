import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Access, type AuthService, allowed, type Principal, SESSION_COOKIE } from '../auth/service.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** Who may call the route; routes without it need `read`. */
    access?: Access;
  }
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const k = part.slice(0, i).trim();
    if (k) out[k] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

function deny(reply: FastifyReply, code: number, error: string) {
  if (code === 401) reply.header('www-authenticate', 'Bearer realm="peregrine"');
  return reply.code(code).send({ error });
}

/** The access a request needs: from the route config; anything under /api/ is never public by default. */
function accessOf(req: FastifyRequest): Access {
  const a = req.routeOptions.config?.access;
  if (a === 'public' && req.url.startsWith('/api/') && !req.routeOptions.url?.startsWith('/api/'))
    return 'read';
  return a ?? 'read';
}

/**
 * Authentication and authorisation for every route (added on the root so it
 * covers all plugins and the 404 handler): resolves the principal from a bearer
 * token, HTTP Basic or the session cookie, enforces the route's access level and
 * CSRF for cookie-authenticated writes.
 */
export function registerAuthHook(app: FastifyInstance, auth: AuthService): void {
  app.addHook('onRequest', async (req, reply) => {
    const access = accessOf(req);
    const h = req.headers.authorization;
    let principal: Principal | undefined;
    if (h) {
      const [scheme, value = ''] = h.split(/\s+/, 2);
      if (/^bearer$/i.test(scheme ?? '')) {
        principal = await auth.fromToken(value);
        if (!principal && access !== 'public') return deny(reply, 401, 'invalid token');
      } else if (/^basic$/i.test(scheme ?? '')) {
        const dec = Buffer.from(value, 'base64').toString();
        const i = dec.indexOf(':');
        const r =
          i > 0 || i === 0 ? await auth.fromBasic(dec.slice(0, i), dec.slice(i + 1), req.ip) : undefined;
        if (r === 'throttled') {
          reply.header('retry-after', '60');
          return deny(reply, 429, 'too many failed logins; try again later');
        }
        principal = r;
        if (!principal && access !== 'public') return deny(reply, 401, 'invalid credentials');
      }
    }
    if (!principal) {
      const sid = parseCookies(req.headers.cookie)[SESSION_COOKIE];
      if (sid) principal = await auth.fromSession(sid);
    }
    req.principal = principal;
    if (access === 'public') return;
    if (!principal) return deny(reply, 401, 'authentication required');
    if (!allowed(principal, access))
      return deny(
        reply,
        403,
        `this ${principal.kind === 'token' ? 'token' : 'user'} may not ${access === 'admin' ? 'administer' : access}`,
      );
    if (principal.kind === 'session' && !SAFE.has(req.method)) {
      if (req.headers['x-csrf-token'] !== principal.csrf)
        return deny(reply, 403, 'missing or invalid CSRF token');
    }
  });
}
