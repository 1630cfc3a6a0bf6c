import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RunningServer, startServer } from './servers.js';

/** Directory of the newest installed PostgreSQL server binaries (postgresql package). */
export function postgresBinDir(): string {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base))
    throw new Error('PostgreSQL server not installed (/usr/lib/postgresql); run ./scripts/setup.sh');
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  if (!versions.length) throw new Error('no postgres binary under /usr/lib/postgresql');
  return join(base, versions[0]!, 'bin');
}

const asRoot = () => process.getuid?.() === 0;

/**
 * A throw-away PostgreSQL cluster: initdb into a temp dir and postgres on a free
 * loopback port, trust auth, database `peregrine`. postgres refuses to run as root,
 * so under root both steps run as the `postgres` system user.
 */
export function startPostgres(): Promise<RunningServer & { url: string }> {
  const bin = postgresBinDir();
  const user = asRoot() ? 'postgres' : undefined;
  const runAs = (cmd: string, args: string[]) =>
    user
      ? execFileSync('runuser', ['-u', user, '--', cmd, ...args], { stdio: 'pipe' })
      : execFileSync(cmd, args, { stdio: 'pipe' });
  return startServer({
    name: 'postgres',
    command: join(bin, 'postgres'),
    user,
    prepare: (_port, dir) => {
      runAs(join(bin, 'initdb'), [
        '-D',
        join(dir, 'data'),
        '-U',
        'peregrine',
        '-A',
        'trust',
        '-E',
        'UTF8',
        '--no-sync',
      ]);
      writeFileSync(join(dir, 'data', 'peregrine.conf'), 'fsync = off\nsynchronous_commit = off\n');
    },
    args: (port, dir) => [
      '-D',
      join(dir, 'data'),
      '-p',
      String(port),
      '-h',
      '127.0.0.1',
      '-k',
      dir,
      '-c',
      'fsync=off',
      '-c',
      'full_page_writes=off',
    ],
    ready: async (port, dir) => {
      try {
        runAs(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-q']);
        runAs(join(bin, 'psql'), [
          '-h',
          dir,
          '-p',
          String(port),
          '-U',
          'peregrine',
          '-d',
          'postgres',
          '-qc',
          'CREATE DATABASE peregrine',
        ]);
        return true;
      } catch {
        return false;
      }
    },
  }).then((s) => Object.assign(s, { url: `postgres://peregrine@127.0.0.1:${s.port}/peregrine` }));
}
