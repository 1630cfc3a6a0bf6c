import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/** Default location of the built UI: dist/console-web at the package root. */
export function defaultWebDir(): string {
  return resolve(new URL('../../../', import.meta.url).pathname, 'dist', 'console-web');
}

/**
 * Serve the built web UI. The files are the application shell only (no data),
 * so they are public; every page path falls back to index.html (client routing).
 */
export async function staticRoutes(app: FastifyInstance, opts: { dir: string }): Promise<void> {
  const root = resolve(opts.dir);
  const cache = new Map<string, Buffer>();
  const file = (rel: string): { body: Buffer; type: string } | undefined => {
    const p = normalize(join(root, rel));
    if (!p.startsWith(root)) return undefined;
    let body = cache.get(p);
    if (!body) {
      if (!existsSync(p) || !statSync(p).isFile()) return undefined;
      body = readFileSync(p);
      cache.set(p, body);
    }
    return { body, type: TYPES[extname(p)] ?? 'application/octet-stream' };
  };
  app.get('/*', { config: { access: 'public' } }, async (req, reply) => {
    let path: string;
    try {
      path = decodeURIComponent(req.url.split('?')[0]!);
    } catch {
      return reply.code(400).type('text/plain').send('bad URL encoding');
    }
    if (path.startsWith('/api/')) return reply.code(404).send({ error: 'no such API route' });
    const asset = path.startsWith('/assets/') ? file(path) : undefined;
    if (asset) {
      reply.header('cache-control', 'public, max-age=31536000, immutable');
      return reply.type(asset.type).send(asset.body);
    }
    if (extname(path) && path !== '/index.html') {
      const f = file(path);
      if (f) return reply.type(f.type).send(f.body);
      return reply.code(404).type('text/plain').send('not found');
    }
    const index = file('index.html');
    if (!index)
      return reply
        .code(503)
        .type('text/plain')
        .send(`web UI not built (no ${join(root, 'index.html')}); run npm run build`);
    reply.header('cache-control', 'no-cache');
    return reply.type(index.type).send(index.body);
  });
}
