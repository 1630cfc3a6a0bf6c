import type { Command } from 'commander';
import { createLogger } from '../common/log.js';
import { AuthService } from '../console/auth/service.js';
import { loadConfig } from '../console/config.js';
import { startConsole } from '../console/server/server.js';
import { openStore } from '../console/store/open.js';
import type { EventStore, Role, Scope } from '../console/store/types.js';

function fail(e: unknown): never {
  process.stderr.write(`peregrine console: ${(e as Error).message}\n`);
  process.exit(1);
}

/** Open the configured store, run `fn`, close it. For the token/user admin commands. */
async function withStore<T>(
  file: string | undefined,
  fn: (store: EventStore, auth: AuthService) => Promise<T>,
): Promise<T> {
  const config = loadConfig(file);
  const store = await openStore(config.store);
  try {
    const auth = new AuthService(store, { sessionTtlMs: config.sessionTtlMs }, createLogger('console'));
    return await fn(store, auth);
  } finally {
    await store.close();
  }
}

/** `peregrine console`: the event store, API and web UI (port 2802), plus token and user admin. */
export function registerConsoleCommand(program: Command): void {
  const cmd = program
    .command('console')
    .description(
      'run the console: event store, API (/api/v2, Falcosidekick-UI /api/v1) and web UI on port 2802',
    )
    .option('-c, --config <file>', 'console YAML config (optional: defaults to SQLite under ./data/)')
    .action(async (opts: { config?: string }) => {
      const log = createLogger('console');
      let config: ReturnType<typeof loadConfig>;
      try {
        config = loadConfig(opts.config);
      } catch (e) {
        fail(e);
      }
      const running = await startConsole(config, log).catch(fail);
      const stop = async () => {
        await running.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
    });

  const token = cmd.command('token').description('API tokens (hashed at rest; the secret is shown once)');
  token
    .command('create')
    .description('create a token and print it')
    .option('-c, --config <file>', 'console YAML config')
    .option('--scope <scope...>', 'ingest and/or read', ['ingest'])
    .option('--name <name>', 'a name to recognise the token by', 'cli')
    .action(async (o: { config?: string; scope: string[]; name: string }) => {
      const scopes = o.scope.flatMap((s) => s.split(','));
      const bad = scopes.find((s) => s !== 'ingest' && s !== 'read');
      if (bad) fail(new Error(`unknown scope "${bad}" (use ingest, read)`));
      await withStore(o.config, async (_s, auth) => {
        const { token: t, record } = await auth.createToken(o.name, scopes as Scope[]);
        process.stdout.write(`${t}\n`);
        process.stderr.write(
          `token ${record.id} (${record.name}, scopes ${record.scopes.join(',')}) created; it is not shown again\n`,
        );
      }).catch(fail);
    });
  token
    .command('list')
    .description('list tokens (never their secrets)')
    .option('-c, --config <file>', 'console YAML config')
    .action(async (o: { config?: string }) => {
      await withStore(o.config, async (store) => {
        for (const t of await store.listTokens())
          process.stdout.write(
            `${t.id}\t${t.name}\t${t.scopes.join(',')}\t${new Date(t.createdUs / 1000).toISOString()}\n`,
          );
      }).catch(fail);
    });
  token
    .command('revoke <id>')
    .description('delete a token')
    .option('-c, --config <file>', 'console YAML config')
    .action(async (id: string, o: { config?: string }) => {
      await withStore(o.config, async (store) => {
        if (!(await store.deleteToken(id))) throw new Error(`no token ${id}`);
      }).catch(fail);
    });

  cmd
    .command('user')
    .description(
      'create or update a local user; password from PEREGRINE_USER_PASSWORD or generated and printed once',
    )
    .argument('<username>')
    .option('-c, --config <file>', 'console YAML config')
    .option('--role <role>', 'viewer or admin', 'viewer')
    .action(async (username: string, o: { config?: string; role: string }) => {
      if (o.role !== 'viewer' && o.role !== 'admin') fail(new Error('--role must be viewer or admin'));
      const { generatePassword } = await import('../console/auth/passwords.js');
      const password = process.env.PEREGRINE_USER_PASSWORD ?? generatePassword();
      await withStore(o.config, async (_s, auth) => {
        await auth.createUser(username, password, o.role as Role);
        if (!process.env.PEREGRINE_USER_PASSWORD) process.stdout.write(`${password}\n`);
        process.stderr.write(`user ${username} (${o.role}) saved\n`);
      }).catch(fail);
    });
}
