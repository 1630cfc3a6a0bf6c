import type { FastifyInstance } from 'fastify';
import { createLogger } from '../../../src/common/log.js';
import { configFromObject } from '../../../src/console/config.js';
import { buildApp, type ConsoleApp } from '../../../src/console/server/app.js';
import type { EventStore } from '../../../src/console/store/types.js';

export const ADMIN_PASSWORD = 'admin-pass-123';
export const INGEST_TOKEN = 'ingest-token-0123456789';
export const quietLog = createLogger('test', { write: () => {} });

export interface TestConsole extends ConsoleApp {
  readToken: string;
  viewer: { cookie: string; csrf: string };
  admin: { cookie: string; csrf: string };
}

export async function login(
  app: FastifyInstance,
  username: string,
  password: string,
): Promise<{ cookie: string; csrf: string; status: number; setCookie: string }> {
  const r = await app.inject({ method: 'POST', url: '/api/v2/auth/login', payload: { username, password } });
  const setCookie = String(r.headers['set-cookie'] ?? '');
  return {
    status: r.statusCode,
    cookie: setCookie.split(';')[0]!,
    csrf: r.statusCode === 200 ? (r.json() as { csrfToken: string }).csrfToken : '',
    setCookie,
  };
}

/** A console app over `store` with admin, a viewer, the env ingest token and a read token. */
export async function testConsole(store: EventStore, webDir?: string): Promise<TestConsole> {
  const config = configFromObject({
    listen_address: '127.0.0.1',
    listen_port: 0,
    ...(webDir ? { web_dir: webDir } : {}),
  });
  const c = await buildApp({ store, config, log: quietLog });
  await c.auth.bootstrap({
    PEREGRINE_ADMIN_PASSWORD: ADMIN_PASSWORD,
    PEREGRINE_CONSOLE_INGEST_TOKEN: INGEST_TOKEN,
  });
  await c.auth.createUser('viewer', 'viewer-pass-123', 'viewer');
  const { token: readToken } = await c.auth.createToken('reader', ['read']);
  const admin = await login(c.app, 'admin', ADMIN_PASSWORD);
  const viewer = await login(c.app, 'viewer', 'viewer-pass-123');
  return { ...c, readToken, admin, viewer };
}
