import { connect, type JetStreamClient, type NatsConnection, StringCodec } from 'nats';
import type { FalcoAlert } from '../../../alert/falco-alert.js';
import type { ConfigTree } from '../../config/load.js';
import { sidekickJson } from '../../delivery/format.js';
import { OK, type SendResult, type SinkContext, type SinkInstance } from '../../delivery/sink.js';

/** `<priority>` → lower-cased priority; `<rule>` → lower-cased rule, runs of other than [a-z0-9] → `_`, trimmed. */
export function subjectFor(template: string, a: FalcoAlert): string {
  const rule = a.rule
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return template.replaceAll('<priority>', a.priority.toLowerCase()).replaceAll('<rule>', rule);
}

/**
 * `subjectFor` memoised per (priority, rule) for one template: a relay sees a bounded set of rules, so the
 * two regex replacements run once per rule instead of once per alert (the map is emptied past 4,096
 * entries to bound memory).
 */
export function subjectCache(template: string): (a: FalcoAlert) => string {
  // priority → rule → subject (nested maps: no key string built per alert)
  const byPriority = new Map<string, Map<string, string>>();
  let size = 0;
  return (a) => {
    let byRule = byPriority.get(a.priority);
    if (!byRule) {
      byRule = new Map();
      byPriority.set(a.priority, byRule);
    }
    let s = byRule.get(a.rule);
    if (s === undefined) {
      s = subjectFor(template, a);
      if (size >= 4096) {
        for (const m of byPriority.values()) m.clear();
        size = 0;
      }
      byRule.set(a.rule, s);
      size++;
    }
    return s;
  };
}

/**
 * A promise that rejects when `signal` aborts, one per signal (the pipeline shares a signal between the
 * sends of a time window): racing a flush against it adds no listener per batch.
 */
const aborted = new WeakMap<AbortSignal, Promise<never>>();
function abortedPromise(signal: AbortSignal): Promise<never> {
  let p = aborted.get(signal);
  if (!p) {
    p = new Promise<never>((_, rej) =>
      signal.addEventListener('abort', () => rej(new Error('flush aborted')), { once: true }),
    );
    p.catch(() => undefined); // nobody may be racing it when it fires
    aborted.set(signal, p);
  }
  return p;
}

const sc = StringCodec();

export function create(section: ConfigTree, ctx: SinkContext): SinkInstance[] {
  const servers = String(section.hostport)
    .split(',')
    .map((s) => s.trim().replace(/^nats:\/\//, ''))
    .filter(Boolean);
  const subject = subjectCache(String(section.subjecttemplate));
  const js = section.jetstream as ConfigTree;
  const useJs = js.enabled === true;
  const tls = ctx.tls(section);
  const wantTls = String(section.hostport).startsWith('tls://') || section.mutualtls === true;
  let nc: NatsConnection | undefined;
  let jsc: JetStreamClient | undefined;
  let connecting: Promise<NatsConnection> | undefined;
  const log = ctx.log.child('nats');

  const conn = async (): Promise<NatsConnection> => {
    if (nc && !nc.isClosed()) return nc;
    connecting ??= (async () => {
      const c = await connect({
        servers,
        name: 'peregrine-relay',
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        user: String(section.user) || undefined,
        pass: String(section.password) || undefined,
        token: String(section.token) || undefined,
        tls: wantTls
          ? { ca: tls.ca?.toString(), cert: tls.cert?.toString(), key: tls.key?.toString() }
          : undefined,
      });
      if (useJs) {
        const jsm = await c.jetstreamManager();
        const name = String(js.stream);
        try {
          await jsm.streams.info(name);
        } catch {
          if (js.createstream === true) await jsm.streams.add({ name, subjects: js.subjects as string[] });
        }
        jsc = c.jetstream();
      }
      void (async () => {
        for await (const s of c.status()) log.debug('nats status', { type: s.type });
      })();
      nc = c;
      return c;
    })().finally(() => {
      connecting = undefined;
    });
    return connecting;
  };

  return [
    {
      name: 'nats',
      maxBatch: Number(section.batchsize),
      async send(batch: FalcoAlert[], signal: AbortSignal): Promise<SendResult> {
        let c: NatsConnection;
        try {
          c = await conn();
        } catch (e) {
          return { kind: 'retry', reason: `nats connect: ${(e as Error).message}` };
        }
        if (useJs) {
          // Nats-Msg-Id = uuid: the stream drops a re-delivered alert inside its duplicate window.
          await Promise.all(
            batch.map((a) =>
              jsc!.publish(subject(a), sc.encode(sidekickJson(a)), { msgID: a.uuid, timeout: 5000 }),
            ),
          );
          return OK;
        }
        for (const a of batch) c.publish(subject(a), sc.encode(sidekickJson(a)));
        // flush: the server has every message of the batch (PING/PONG round trip).
        await Promise.race([c.flush(), abortedPromise(signal)]);
        return OK;
      },
      async healthcheck() {
        await conn();
      },
      async close() {
        if (nc) await nc.drain().catch(() => nc?.close());
      },
    },
  ];
}
