import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch as ufetch } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { configFromObject, loadConfig } from '../../../src/console/config.js';
import { startConsole } from '../../../src/console/server/server.js';
import { makeTestPki } from '../../harness/pki.js';
import { waitFor } from '../../harness/servers.js';
import { alert } from './fixtures.js';
import { quietLog } from './helpers.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'peregrine-console-srv-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('peregrine console server', () => {
  it('first run prints a one-time admin password (none by default), enforces retention continuously', async () => {
    const dir = tmp();
    const printed: string[] = [];
    const config = configFromObject({
      listen_address: '127.0.0.1',
      listen_port: 0,
      store: { path: join(dir, 'data', 'console.db') },
      retention: { max_events: 5, interval: '1s' },
    });
    const c = await startConsole(config, quietLog, { env: {}, print: (l) => printed.push(l) });
    try {
      const pw = /one-time password: (\S+)/.exec(printed.join('\n'))?.[1];
      expect(pw).toBeTruthy();
      const bad = await fetch(`${c.url}/api/v2/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: 'admin' }),
      });
      expect(bad.status).toBe(401);
      const login = await fetch(`${c.url}/api/v2/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: pw }),
      });
      expect(login.status).toBe(200);
      const { token } = await c.auth.createToken('t', ['ingest']);
      const r = await fetch(`${c.url}/api/v2/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(
          Array.from({ length: 12 }, (_, i) => alert({ at: new Date(Date.now() - i * 1000) })),
        ),
      });
      expect(r.status).toBe(200);
      await waitFor(async () => (await c.store.count({})) === 5, 5000);
      expect(await c.store.count({})).toBe(5);
    } finally {
      await c.close();
    }
    // A second start keeps the existing admin and prints nothing.
    const again: string[] = [];
    const c2 = await startConsole(config, quietLog, { env: {}, print: (l) => again.push(l) });
    await c2.close();
    expect(again).toEqual([]);
  });

  it('serves HTTPS with Secure session cookies when tls is set', async () => {
    const dir = tmp();
    const pki = makeTestPki(dir);
    writeFileSync(
      join(dir, 'console.yaml'),
      `listen_address: 127.0.0.1\nlisten_port: 0\nstore:\n  path: ${join(dir, 'c.db')}\ntls:\n  cert_file: ${pki('server.crt')}\n  key_file: ${pki('server.key')}\n`,
    );
    const c = await startConsole(loadConfig(join(dir, 'console.yaml'), {}), quietLog, {
      env: { PEREGRINE_ADMIN_PASSWORD: 'tls-admin-pass' },
    });
    try {
      expect(c.url).toMatch(/^https:/);
      const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
      const r = await ufetch(`${c.url}/api/v2/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: 'tls-admin-pass' }),
        dispatcher,
      });
      expect(r.status).toBe(200);
      expect(r.headers.get('set-cookie')).toMatch(/; Secure/);
      await dispatcher.close();
    } finally {
      await c.close();
    }
  });

  it('bad config files fail with the file and key named', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'bad.yaml'), 'retention:\n  max_agee: 3d\n');
    expect(() => loadConfig(join(dir, 'bad.yaml'), {})).toThrow(/bad.yaml: unknown key retention.max_agee/);
    writeFileSync(join(dir, 'broken.yaml'), 'a: [1,\n');
    expect(() => loadConfig(join(dir, 'broken.yaml'), {})).toThrow(/invalid YAML/);
    expect(() => loadConfig(join(dir, 'missing.yaml'), {})).toThrow(/cannot read console config/);
  });
});

describe('peregrine console CLI (built)', () => {
  const bin = new URL('../../../bin/peregrine.js', import.meta.url).pathname;
  it('token create prints a scoped token that the server accepts; bad scope is refused', async () => {
    const dir = tmp();
    writeFileSync(
      join(dir, 'console.yaml'),
      `listen_address: 127.0.0.1\nlisten_port: 0\nstore:\n  path: ${join(dir, 'c.db')}\n`,
    );
    const cfg = join(dir, 'console.yaml');
    const token = execFileSync(
      process.execPath,
      [bin, 'console', 'token', 'create', '--scope', 'ingest', '--name', 'relay', '-c', cfg],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    ).trim();
    expect(token).toMatch(/^pgr_[A-Za-z0-9_-]{40,}$/);
    let err = '';
    try {
      execFileSync(process.execPath, [bin, 'console', 'token', 'create', '--scope', 'write', '-c', cfg], {
        stdio: 'pipe',
      });
    } catch (e) {
      err = String((e as { stderr: Buffer }).stderr);
    }
    expect(err).toMatch(/unknown scope "write"/);
    const c = await startConsole(loadConfig(cfg, {}), quietLog, {
      env: { PEREGRINE_ADMIN_PASSWORD: 'cli-admin-pass' },
    });
    try {
      const post = await fetch(`${c.url}/api/v2/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(alert()),
      });
      expect(post.status).toBe(200);
      expect(
        (await fetch(`${c.url}/api/v2/events`, { headers: { authorization: `Bearer ${token}` } })).status,
      ).toBe(403);
    } finally {
      await c.close();
    }
    const list = execFileSync(process.execPath, [bin, 'console', 'token', 'list', '-c', cfg], {
      encoding: 'utf8',
    });
    expect(list).toMatch(/\trelay\tingest\t/);
    expect(list).not.toContain(token);
  });
});
