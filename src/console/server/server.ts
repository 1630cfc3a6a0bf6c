import { readFileSync } from 'node:fs';
import type { Logger } from '../../common/log.js';
import type { ConsoleConfig } from '../config.js';
import { openStore } from '../store/open.js';
import type { EventStore } from '../store/types.js';
import { buildApp, type ConsoleApp } from './app.js';

export interface RunningConsole extends ConsoleApp {
  store: EventStore;
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Start the console: open the store, create the first admin if there is none,
 * listen (HTTPS when tls is set), and enforce retention continuously.
 */
export async function startConsole(
  config: ConsoleConfig,
  log: Logger,
  opts: { env?: NodeJS.ProcessEnv; print?: (line: string) => void } = {},
): Promise<RunningConsole> {
  const store = await openStore(config.store);
  const https = config.tls
    ? { https: { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) } }
    : {};
  let built: ConsoleApp;
  try {
    built = await buildApp({ store, config, log, fastify: https });
    const boot = await built.auth.bootstrap(opts.env ?? process.env);
    if (boot.generatedPassword) {
      (opts.print ?? ((l: string) => process.stdout.write(`${l}\n`)))(
        `peregrine console: created user "admin" with one-time password: ${boot.generatedPassword}\n` +
          '  (shown only now; set PEREGRINE_ADMIN_PASSWORD before the first start to choose it)',
      );
    }
  } catch (e) {
    await store.close();
    throw e;
  }
  const { app } = built;
  const sweep = async () => {
    try {
      const now = Date.now() * 1000;
      const n = await store.enforceRetention(config.retention, now);
      await store.deleteExpiredSessions(now);
      if (n) log.debug('retention', { deleted: n });
    } catch (e) {
      log.error('retention failed', { error: (e as Error).message });
    }
  };
  await sweep();
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void sweep().finally(() => {
      running = false;
    });
  }, config.retention.intervalMs);
  timer.unref();
  await app.listen({ host: config.listenAddress, port: config.listenPort });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.listenPort;
  const host = config.listenAddress === '0.0.0.0' ? '127.0.0.1' : config.listenAddress;
  const url = `${config.tls ? 'https' : 'http'}://${host}:${port}`;
  log.info('console listening', { url, store: store.kind });
  return {
    ...built,
    store,
    url,
    port,
    async close() {
      clearInterval(timer);
      await app.close();
      await store.close();
    },
  };
}
