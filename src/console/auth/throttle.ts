/**
 * Login throttling: after `freeAttempts` failures for a key (client IP, or
 * username) inside `windowMs`, further attempts are refused for a delay that
 * doubles with each failure, capped at `maxLockMs`. A success clears the key.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, { count: number; first: number; lockedUntil: number }>();

  constructor(
    private readonly freeAttempts = 5,
    private readonly windowMs = 15 * 60_000,
    private readonly maxLockMs = 15 * 60_000,
  ) {}

  /** Milliseconds to wait before another attempt is allowed (0 = allowed now). */
  retryAfterMs(keys: string[], now = Date.now()): number {
    let wait = 0;
    for (const k of keys) {
      const f = this.failures.get(k);
      if (f && f.lockedUntil > now) wait = Math.max(wait, f.lockedUntil - now);
    }
    return wait;
  }

  fail(keys: string[], now = Date.now()): void {
    for (const k of keys) {
      let f = this.failures.get(k);
      if (!f || now - f.first > this.windowMs) {
        f = { count: 0, first: now, lockedUntil: 0 };
        this.failures.set(k, f);
      }
      f.count++;
      if (f.count >= this.freeAttempts) {
        const lock = Math.min(this.maxLockMs, 1000 * 2 ** (f.count - this.freeAttempts));
        f.lockedUntil = now + lock;
      }
    }
    if (this.failures.size > 100_000) this.prune(now);
  }

  succeed(keys: string[]): void {
    for (const k of keys) this.failures.delete(k);
  }

  private prune(now: number): void {
    for (const [k, f] of this.failures)
      if (now - f.first > this.windowMs && f.lockedUntil < now) this.failures.delete(k);
  }
}
