// A throw-away PostgreSQL for the benchmark (same approach as test/harness/postgres.ts):
// initdb in a temp dir, postgres on a free loopback port, run as `postgres` under root.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/**
 * Server settings for the benchmark: durable (fsync, synchronous_commit and
 * full_page_writes keep their defaults, on) with what docs/console.md recommends
 * for a write-heavy event store. bench.mjs prints them.
 */
export const SETTINGS = ['shared_buffers=2GB', 'max_wal_size=4GB', 'checkpoint_timeout=15min', 'wal_compression=lz4'];

export async function startPostgres() {
  const base = '/usr/lib/postgresql';
  const v = readdirSync(base).filter((x) => existsSync(join(base, x, 'bin', 'postgres'))).sort((a, b) => b - a)[0];
  if (!v) throw new Error('PostgreSQL not installed; run ./scripts/setup.sh');
  const bin = join(base, v, 'bin');
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'peregrine-bench-pg-'));
  chmodSync(dir, 0o777);
  const run = (cmd, args) => (root ? execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'pipe' }) : execFileSync(cmd, args, { stdio: 'pipe' }));
  run(join(bin, 'initdb'), ['-D', join(dir, 'data'), '-U', 'peregrine', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
  const port = await freePort();
  const args = ['-D', join(dir, 'data'), '-p', String(port), '-h', '127.0.0.1', '-k', dir, ...SETTINGS.flatMap((x) => ['-c', x])];
  const child = root
    ? spawn('runuser', ['-u', 'postgres', '--', join(bin, 'postgres'), ...args], { stdio: 'ignore', detached: true })
    : spawn(join(bin, 'postgres'), args, { stdio: 'ignore', detached: true });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      run(join(bin, 'psql'), ['-h', dir, '-p', String(port), '-U', 'peregrine', '-d', 'postgres', '-qc', 'CREATE DATABASE peregrine']);
      break;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`postgres did not start: ${e.message}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    url: `postgres://peregrine@127.0.0.1:${port}/peregrine`,
    stop() {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
