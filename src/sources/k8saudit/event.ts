/**
 * A Kubernetes audit event as handed to the engine: the decoded JSON object,
 * its timestamp and its size in bytes (for maxEventSize accounting).
 */
export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export interface AuditEvent {
  obj: JsonObject;
  /** ns since the epoch, from stageTimestamp (then requestReceivedTimestamp, timestamp); computed on first use. */
  readonly timeNs: bigint;
  /** Serialized size in bytes (as received, or re-serialized when unknown). */
  size: number;
  /** Cached compact JSON of the whole event (jevt.obj), filled on first use. */
  json?: string;
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9})\d*)?(Z|z|[+-]\d{2}:?\d{2})$/;

/** Parse an RFC 3339 timestamp with up to nanosecond precision into ns since the epoch. */
export function parseRfc3339Ns(s: string): bigint | undefined {
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, se, frac, tz] = m;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(se));
  if (Number.isNaN(ms)) return undefined;
  if (tz !== 'Z' && tz !== 'z') {
    const sign = tz!.startsWith('-') ? -1 : 1;
    const digits = tz!.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
  }
  const nsFrac = frac ? BigInt(frac.padEnd(9, '0')) : 0n;
  return BigInt(ms) * 1_000_000n + nsFrac;
}

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function eventTime(obj: JsonObject): bigint | undefined {
  for (const k of ['stageTimestamp', 'requestReceivedTimestamp', 'timestamp']) {
    const v = obj[k];
    if (typeof v === 'string') {
      const t = parseRfc3339Ns(v);
      if (t !== undefined) return t;
    }
  }
  return undefined;
}

class LazyAuditEvent implements AuditEvent {
  json?: string;
  private t: bigint | undefined;
  constructor(
    readonly obj: JsonObject,
    readonly size: number,
    private readonly received: bigint,
  ) {}
  get timeNs(): bigint {
    if (this.t === undefined) this.t = eventTime(this.obj) ?? this.received;
    return this.t;
  }
}

/** Wrap a decoded object as an AuditEvent (without a timestamp, the time of receipt is used). */
export function toAuditEvent(obj: JsonObject, size?: number, nowNs?: () => bigint): AuditEvent {
  const received = nowNs ? nowNs() : BigInt(Date.now()) * 1_000_000n;
  return new LazyAuditEvent(obj, size ?? Buffer.byteLength(JSON.stringify(obj)), received);
}
