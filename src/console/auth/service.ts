import { randomUUID } from 'node:crypto';
import type { Logger } from '../../common/log.js';
import type { EventStore, Role, Scope, TokenRecord } from '../store/types.js';
import {
  dummyHash,
  generatePassword,
  hashPassword,
  randomSecret,
  sha256,
  verifyPassword,
} from './passwords.js';
import { LoginThrottle } from './throttle.js';

/** Who is calling, resolved from a session cookie, a bearer token or HTTP Basic. */
export type Principal =
  | { kind: 'session'; username: string; role: Role; csrf: string; sessionHash: string }
  | { kind: 'token'; tokenId: string; name: string; scopes: Scope[] }
  | { kind: 'basic-user'; username: string; role: Role };

export type Access = 'public' | 'read' | 'ingest' | 'admin';

export const SESSION_COOKIE = 'peregrine_session';

export type LoginResult =
  | { ok: true; sessionId: string; csrf: string; role: Role; expiresUs: number }
  | { ok: false; reason: 'throttled'; retryAfterMs: number }
  | { ok: false; reason: 'invalid' };

export interface AuthOptions {
  sessionTtlMs: number;
  throttle?: LoginThrottle;
}

export class AuthService {
  readonly throttle: LoginThrottle;
  /** Last time each token's last-used stamp was written (written at most once a minute). */
  private readonly touched = new Map<string, number>();
  constructor(
    private readonly store: EventStore,
    private readonly opts: AuthOptions,
    private readonly log: Logger,
  ) {
    this.throttle = opts.throttle ?? new LoginThrottle();
  }

  /**
   * First run: create the `admin` user. The password comes from
   * PEREGRINE_ADMIN_PASSWORD, or is generated and returned to be shown once.
   */
  async bootstrap(env: NodeJS.ProcessEnv): Promise<{ generatedPassword?: string }> {
    let out: { generatedPassword?: string } = {};
    if ((await this.store.countUsers()) === 0) {
      const fromEnv = env.PEREGRINE_ADMIN_PASSWORD;
      if (fromEnv !== undefined && fromEnv.length < 8)
        throw new Error('PEREGRINE_ADMIN_PASSWORD must be at least 8 characters');
      const password = fromEnv ?? generatePassword();
      await this.store.putUser({
        username: 'admin',
        hash: await hashPassword(password),
        role: 'admin',
        createdUs: Date.now() * 1000,
      });
      if (!fromEnv) out = { generatedPassword: password };
    }
    const ingest = env.PEREGRINE_CONSOLE_INGEST_TOKEN;
    if (ingest !== undefined) {
      if (ingest.length < 16)
        throw new Error('PEREGRINE_CONSOLE_INGEST_TOKEN must be at least 16 characters');
      await this.store.putToken({
        id: 'env-ingest',
        name: 'PEREGRINE_CONSOLE_INGEST_TOKEN',
        hash: sha256(ingest),
        scopes: ['ingest'],
        createdUs: Date.now() * 1000,
      });
    }
    return out;
  }

  async createUser(username: string, password: string, role: Role): Promise<void> {
    if (!/^[A-Za-z0-9._@-]{1,64}$/.test(username))
      throw new Error('username must be 1-64 characters of letters, digits, . _ @ -');
    if (password.length < 8) throw new Error('password must be at least 8 characters');
    await this.store.putUser({
      username,
      hash: await hashPassword(password),
      role,
      createdUs: Date.now() * 1000,
    });
  }

  /** Create an API token; the secret is returned once and only its hash is stored. */
  async createToken(name: string, scopes: Scope[]): Promise<{ token: string; record: TokenRecord }> {
    if (!scopes.length) throw new Error('a token needs at least one scope (ingest, read)');
    const token = `pgr_${randomSecret(32)}`;
    const record: TokenRecord = {
      id: randomUUID(),
      name,
      hash: sha256(token),
      scopes: [...new Set(scopes)],
      createdUs: Date.now() * 1000,
    };
    await this.store.putToken(record);
    return { token, record };
  }

  async login(username: string, password: string, ip: string): Promise<LoginResult> {
    const keys = [`ip:${ip}`, `user:${username}`];
    const wait = this.throttle.retryAfterMs(keys);
    const timeUs = Date.now() * 1000;
    if (wait > 0) {
      await this.store.logLogin({ timeUs, username, ip, success: false, reason: 'throttled' });
      return { ok: false, reason: 'throttled', retryAfterMs: wait };
    }
    const user = await this.store.getUser(username);
    const good = await verifyPassword(password, user?.hash ?? (await dummyHash()));
    if (!user || !good) {
      this.throttle.fail(keys);
      await this.store.logLogin({
        timeUs,
        username,
        ip,
        success: false,
        reason: user ? 'bad password' : 'unknown user',
      });
      this.log.warn('login failed', { username, ip });
      return { ok: false, reason: 'invalid' };
    }
    this.throttle.succeed(keys);
    const sessionId = randomSecret(32);
    const csrf = randomSecret(24);
    const expiresUs = timeUs + this.opts.sessionTtlMs * 1000;
    await this.store.putSession({ idHash: sha256(sessionId), username, csrf, createdUs: timeUs, expiresUs });
    await this.store.logLogin({ timeUs, username, ip, success: true, reason: 'password' });
    this.log.info('login', { username, ip });
    return { ok: true, sessionId, csrf, role: user.role, expiresUs };
  }

  async logout(sessionHash: string): Promise<void> {
    await this.store.deleteSession(sessionHash);
  }

  async fromSession(sessionId: string): Promise<Principal | undefined> {
    const idHash = sha256(sessionId);
    const s = await this.store.getSession(idHash);
    if (!s) return undefined;
    if (s.expiresUs < Date.now() * 1000) {
      await this.store.deleteSession(idHash);
      return undefined;
    }
    const user = await this.store.getUser(s.username);
    if (!user) return undefined;
    return { kind: 'session', username: user.username, role: user.role, csrf: s.csrf, sessionHash: idHash };
  }

  async fromToken(token: string): Promise<Principal | undefined> {
    const t = await this.store.getTokenByHash(sha256(token));
    if (!t) return undefined;
    const now = Date.now();
    if ((this.touched.get(t.id) ?? 0) < now - 60_000) {
      this.touched.set(t.id, now);
      void this.store.touchToken(t.id, now * 1000).catch(() => {});
    }
    return { kind: 'token', tokenId: t.id, name: t.name, scopes: t.scopes };
  }

  /**
   * HTTP Basic: either a user's name and password (throttled like a login), or
   * any name with an API token as the password (how a Falcosidekick `webui.url`
   * of the form http://peregrine:<token>@console:2802 authenticates).
   */
  async fromBasic(
    username: string,
    password: string,
    ip: string,
  ): Promise<Principal | 'throttled' | undefined> {
    const asToken = await this.fromToken(password);
    if (asToken) return asToken;
    const keys = [`ip:${ip}`, `user:${username}`];
    if (this.throttle.retryAfterMs(keys) > 0) return 'throttled';
    const user = await this.store.getUser(username);
    const good = await verifyPassword(password, user?.hash ?? (await dummyHash()));
    if (!user || !good) {
      this.throttle.fail(keys);
      await this.store.logLogin({
        timeUs: Date.now() * 1000,
        username,
        ip,
        success: false,
        reason: 'basic auth failed',
      });
      return undefined;
    }
    this.throttle.succeed(keys);
    return { kind: 'basic-user', username: user.username, role: user.role };
  }
}

/** Whether `p` may use a route that needs `access`. */
export function allowed(p: Principal, access: Access): boolean {
  if (access === 'public') return true;
  if (p.kind === 'token') return access === 'read' || access === 'ingest' ? p.scopes.includes(access) : false;
  if (access === 'read') return true;
  return p.role === 'admin';
}
