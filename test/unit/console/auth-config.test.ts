import { describe, expect, it } from 'vitest';
import { hashPassword, sha256, verifyPassword } from '../../../src/console/auth/passwords.js';
import { allowed, type Principal } from '../../../src/console/auth/service.js';
import { LoginThrottle } from '../../../src/console/auth/throttle.js';
import { configFromObject, DEFAULT_CONFIG } from '../../../src/console/config.js';

describe('passwords and tokens', () => {
  it('scrypt hashes verify, are salted, and reject wrong passwords', async () => {
    const h = await hashPassword('correct horse');
    expect(h).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(h).not.toContain('correct horse');
    expect(await verifyPassword('correct horse', h)).toBe(true);
    expect(await verifyPassword('wrong horse', h)).toBe(false);
    expect(await hashPassword('correct horse')).not.toBe(h);
    expect(await verifyPassword('x', 'not-a-hash')).toBe(false);
    expect(sha256('abc')).toHaveLength(64);
  });

  it('roles and scopes', () => {
    const viewer = { kind: 'session', username: 'v', role: 'viewer', csrf: '', sessionHash: '' } as const;
    const admin = { ...viewer, role: 'admin' } as const;
    const ingest: Principal = { kind: 'token', tokenId: '1', name: 'n', scopes: ['ingest'] };
    const read: Principal = { kind: 'token', tokenId: '2', name: 'n', scopes: ['read'] };
    expect([allowed(viewer, 'read'), allowed(viewer, 'ingest'), allowed(viewer, 'admin')]).toEqual([
      true,
      false,
      false,
    ]);
    expect([allowed(admin, 'read'), allowed(admin, 'ingest'), allowed(admin, 'admin')]).toEqual([
      true,
      true,
      true,
    ]);
    expect([allowed(ingest, 'read'), allowed(ingest, 'ingest'), allowed(ingest, 'admin')]).toEqual([
      false,
      true,
      false,
    ]);
    expect([allowed(read, 'read'), allowed(read, 'ingest'), allowed(read, 'admin')]).toEqual([
      true,
      false,
      false,
    ]);
  });
});

describe('login throttle', () => {
  it('locks after the free attempts with doubling delays; success clears', () => {
    const t = new LoginThrottle(3, 60_000, 10_000);
    const k = ['ip:1', 'user:a'];
    for (let i = 0; i < 2; i++) t.fail(k, 1000);
    expect(t.retryAfterMs(k, 1000)).toBe(0);
    t.fail(k, 1000);
    expect(t.retryAfterMs(k, 1000)).toBe(1000);
    t.fail(k, 1000);
    expect(t.retryAfterMs(k, 1000)).toBe(2000);
    for (let i = 0; i < 10; i++) t.fail(k, 1000);
    expect(t.retryAfterMs(k, 1000)).toBe(10_000);
    expect(t.retryAfterMs(['ip:1'], 1000)).toBe(10_000);
    expect(t.retryAfterMs(['ip:2'], 1000)).toBe(0);
    t.succeed(k);
    expect(t.retryAfterMs(k, 1000)).toBe(0);
  });
});

describe('console config', () => {
  it('defaults need no file: SQLite under ./data, port 2802', () => {
    expect(configFromObject({})).toEqual(DEFAULT_CONFIG);
    expect(DEFAULT_CONFIG.store).toEqual({ type: 'sqlite', path: './data/console.db' });
    expect(DEFAULT_CONFIG.listenPort).toBe(2802);
  });

  it('reads keys and environment, and names wrong keys', () => {
    const c = configFromObject(
      {
        listen_port: 9000,
        retention: { max_age: '7d', max_events: 1000, interval: '5s' },
        session_ttl: '1h',
        tls: { cert_file: 'c.pem', key_file: 'k.pem' },
      },
      { PEREGRINE_CONSOLE_STORE_URL: 'postgres://x@h/db' },
    );
    expect(c.store).toEqual({ type: 'postgres', path: './data/console.db', url: 'postgres://x@h/db' });
    expect(c.retention).toEqual({ maxAgeMs: 7 * 86_400_000, maxEvents: 1000, intervalMs: 5000 });
    expect(c.sessionTtlMs).toBe(3_600_000);
    expect(c.tls).toEqual({ certFile: 'c.pem', keyFile: 'k.pem' });
    expect(() => configFromObject({ listen_prot: 1 })).toThrow(/unknown key listen_prot/);
    expect(() => configFromObject({ store: { type: 'mysql' } })).toThrow(/store.type/);
    expect(() => configFromObject({ store: { type: 'postgres' } })).toThrow(/store.url/);
    expect(() => configFromObject({ retention: { max_age: 'forever' } })).toThrow(/retention.max_age/);
    expect(() => configFromObject({ listen_port: 70000 })).toThrow(/listen_port/);
    expect(() => configFromObject({ tls: { cert_file: 'c.pem' } })).toThrow(/both/);
    expect(() => configFromObject([1])).toThrow(/mapping/);
  });
});
