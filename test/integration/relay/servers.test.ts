/**
 * Connection-oriented sinks against real servers from the harness: NATS JetStream, Mosquitto, Redis,
 * PostgreSQL, RabbitMQ, Alertmanager, an SMTP receiver (smtp-server) and RFC 5424 syslog receivers.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import amqp from 'amqplib';
import mqtt from 'mqtt';
import { connect, StringCodec } from 'nats';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FalcoAlert } from '../../../src/alert/falco-alert.js';
import { createLogger } from '../../../src/common/log.js';
import { loadRelayConfig } from '../../../src/relay/config/relay-config.js';
import type { SinkContext } from '../../../src/relay/delivery/sink.js';
import { SINKS } from '../../../src/relay/sinks/registry.js';
import { startPostgres } from '../../harness/postgres.js';
import { redisCommand, startRedis } from '../../harness/redis.js';
import { startAlertmanager, startMosquitto, startNats, startRabbitmq } from '../../harness/relay-servers.js';
import type { RunningServer } from '../../harness/servers.js';
import { alert, post, startRelay, until } from './helpers.js';

/** RFC 5424 over TCP with octet counting, as the syslog sink sends it. Counts connections. */
async function startSyslogTcp() {
  const frames: string[] = [];
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      for (;;) {
        const sp = buf.indexOf(' ');
        if (sp < 0) break;
        const len = Number(buf.slice(0, sp));
        if (!Number.isInteger(len) || Buffer.byteLength(buf.slice(sp + 1)) < len) break;
        const rest = Buffer.from(buf.slice(sp + 1));
        frames.push(rest.subarray(0, len).toString());
        buf = rest.subarray(len).toString();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    frames,
    connections: () => connections,
    dropAll: () => {
      for (const s of sockets) s.destroy();
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const RFC5424 = /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (\[falco@32473 [^\]]*\]) (.*)$/s;

describe('sinks against real servers', () => {
  const servers: RunningServer[] = [];
  let nats: Awaited<ReturnType<typeof startNats>>;
  let mosq: Awaited<ReturnType<typeof startMosquitto>>;
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let pgs: Awaited<ReturnType<typeof startPostgres>>;
  let rabbit: Awaited<ReturnType<typeof startRabbitmq>>;
  let am: Awaited<ReturnType<typeof startAlertmanager>>;
  let syslogTcp: Awaited<ReturnType<typeof startSyslogTcp>>;
  const udpFrames: string[] = [];
  let udp: dgram.Socket;
  const mails: string[] = [];
  let smtp: SMTPServer;
  let smtpPort = 0;
  const mqttGot: string[] = [];
  let sub: mqtt.MqttClient;
  let relay: Awaited<ReturnType<typeof startRelay>>;
  let relayUdp: Awaited<ReturnType<typeof startRelay>>;
  let uuid = '';

  beforeAll(async () => {
    [nats, mosq, redis, pgs, rabbit, am] = await Promise.all([
      startNats(),
      startMosquitto(),
      startRedis(),
      startPostgres(),
      startRabbitmq(),
      startAlertmanager(),
    ]);
    servers.push(nats, mosq, redis, pgs, rabbit, am);
    syslogTcp = await startSyslogTcp();
    udp = dgram.createSocket('udp4');
    udp.on('message', (m) => udpFrames.push(m.toString()));
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, _session, cb) {
        let raw = '';
        stream.on('data', (d: Buffer) => {
          raw += d.toString();
        });
        stream.on('end', () => {
          mails.push(raw);
          cb();
        });
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
    smtpPort = (smtp.server.address() as net.AddressInfo).port;
    sub = mqtt.connect(mosq.url);
    await new Promise<void>((r) => sub.on('connect', () => r()));
    await sub.subscribeAsync('falco/events', { qos: 1 });
    sub.on('message', (_t, m) => mqttGot.push(m.toString()));

    relay = await startRelay({
      nats: { hostport: nats.url, jetstream: { enabled: true } },
      mqtt: { broker: mosq.url.replace('mqtt://', 'tcp://'), qos: 1 },
      redis: { address: `127.0.0.1:${redis.port}`, storagetype: 'list', key: 'falco' },
      postgresql: { url: pgs.url },
      rabbitmq: { url: rabbit.url, queue: 'falco' },
      alertmanager: { hostport: am.url, extralabels: { team: 'sec' } },
      smtp: {
        hostport: `127.0.0.1:${smtpPort}`,
        tls: false,
        authmechanism: 'none',
        from: 'falco@example.org',
        to: ['soc@example.org', 'oncall@example.org'],
      },
      syslog: { host: '127.0.0.1', port: syslogTcp.port, protocol: 'tcp', format: 'json' },
    });
    relayUdp = await startRelay({
      syslog: {
        host: '127.0.0.1',
        port: (udp.address() as net.AddressInfo).port,
        protocol: 'udp',
        format: 'cef',
      },
    });
    const res = await post(
      relay.url,
      alert({
        rule: 'Real servers',
        priority: 'Critical',
        output_fields: { 'proc.name': 'nc', 'k8s.ns.name': 'prod' },
      }),
    );
    expect(res.status).toBe(200);
    uuid = res.headers.get('x-peregrine-uuid')!;
    expect((await post(relayUdp.url, alert({ rule: 'Over UDP' }))).status).toBe(200);
  }, 90_000);

  afterAll(async () => {
    await relay?.stop();
    await relayUdp?.stop();
    sub?.end(true);
    await syslogTcp?.close();
    udp?.close();
    smtp?.close();
    await Promise.all(servers.map((s) => s.stop()));
  });

  it('nats: JetStream stores the alert with Nats-Msg-Id = uuid, and dedupes a re-delivery', async () => {
    const nc = await connect({ servers: nats.url.replace('nats://', '') });
    try {
      const jsm = await nc.jetstreamManager();
      await until(
        async () => (await jsm.streams.info('FALCO')).state.messages >= 1,
        10_000,
        'jetstream message',
      );
      const m = await jsm.streams.getMessage('FALCO', { seq: 1 });
      expect(m.subject).toBe('falco.critical.real_servers');
      expect(m.header.get('Nats-Msg-Id')).toBe(uuid);
      expect(JSON.parse(StringCodec().decode(m.data)).uuid).toBe(uuid);
      // at-least-once: a second delivery of the same uuid is dropped by the stream's duplicate window
      const cfg = loadRelayConfig(SINKS, {
        env: { NATS_HOSTPORT: nats.url, NATS_JETSTREAM_ENABLED: 'true' },
      });
      const mod = await cfg.sinks[0]!.def.load();
      const ctx: SinkContext = {
        log: createLogger('t', { write: () => undefined }),
        tls: () => ({ rejectUnauthorized: true }),
        enabledOutputs: [],
        customFieldNames: [],
      };
      const [sink] = await mod.create(cfg.sinks[0]!.section, ctx);
      const again = JSON.parse(StringCodec().decode(m.data)) as FalcoAlert;
      expect(await sink!.send([again], new AbortController().signal)).toEqual({ kind: 'ok' });
      expect((await jsm.streams.info('FALCO')).state.messages).toBe(1);
      await sink!.close();
    } finally {
      await nc.close();
    }
  });

  it('nats core: publishes on the subject template', async () => {
    const nc = await connect({ servers: nats.url.replace('nats://', '') });
    const got: string[] = [];
    const s = nc.subscribe('custom.>');
    void (async () => {
      for await (const m of s) got.push(`${m.subject} ${StringCodec().decode(m.data)}`);
    })();
    await nc.flush();
    const r = await startRelay({ nats: { hostport: nats.url, subjecttemplate: 'custom.<priority>.<rule>' } });
    try {
      await post(r.url, alert({ rule: 'Write below /etc!', priority: 'Error' }));
      await until(() => got.length === 1, 10_000);
      expect(got[0]).toMatch(/^custom\.error\.write_below_etc \{/);
    } finally {
      await r.stop();
      await nc.close();
    }
  });

  it('mqtt: the alert on falco/events', async () => {
    await until(() => mqttGot.length >= 1, 10_000, 'mqtt message');
    expect(JSON.parse(mqttGot[0]!).uuid).toBe(uuid);
  });

  it('redis: RPUSH to the list', async () => {
    await until(
      async () => (await redisCommand(redis.port, 'LLEN', 'falco')).startsWith(':1'),
      10_000,
      'redis list',
    );
    const raw = await redisCommand(redis.port, 'LINDEX', 'falco', '0');
    expect(raw).toContain(uuid);
  });

  it('redis: stream (XADD with uuid) and hashmap (HSET by uuid) storage types', async () => {
    const rs = await startRelay({
      redis: { address: `127.0.0.1:${redis.port}`, storagetype: 'stream', key: 'falco-stream' },
    });
    const rh = await startRelay({
      redis: { address: `127.0.0.1:${redis.port}`, storagetype: 'hashmap', key: 'falco-hash' },
    });
    try {
      const u1 = (await post(rs.url, alert({ rule: 'to-stream' }))).headers.get('x-peregrine-uuid')!;
      const u2 = (await post(rh.url, alert({ rule: 'to-hash' }))).headers.get('x-peregrine-uuid')!;
      await until(
        async () => (await redisCommand(redis.port, 'XLEN', 'falco-stream')).startsWith(':1'),
        10_000,
        'stream entry',
      );
      await until(
        async () => (await redisCommand(redis.port, 'HLEN', 'falco-hash')).startsWith(':1'),
        10_000,
        'hash entry',
      );
      expect(await redisCommand(redis.port, 'HEXISTS', 'falco-hash', u2)).toBe(':1\r\n');
      expect(u1).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await rs.stop();
      await rh.stop();
    }
  });

  it('postgresql: a row per alert, idempotent by uuid', async () => {
    const c = new pg.Client({ connectionString: pgs.url });
    await c.connect();
    try {
      await until(
        async () => {
          try {
            return (await c.query('SELECT count(*)::int AS n FROM falco_events')).rows[0].n === 1;
          } catch {
            return false;
          }
        },
        10_000,
        'postgres row',
      );
      const row = (await c.query('SELECT uuid::text, rule, priority, output_fields FROM falco_events'))
        .rows[0];
      expect(row).toMatchObject({ uuid, rule: 'Real servers', priority: 'Critical' });
      expect(row.output_fields['proc.name']).toBe('nc');
    } finally {
      await c.end();
    }
  });

  it('rabbitmq: a persistent message with messageId = uuid on the durable queue', async () => {
    const conn = await amqp.connect(rabbit.url);
    try {
      const ch = await conn.createChannel();
      let msg: amqp.GetMessage | false = false;
      await until(
        async () => {
          msg = await ch.get('falco', { noAck: true });
          return msg !== false;
        },
        10_000,
        'amqp message',
      );
      const m = msg as unknown as amqp.GetMessage;
      expect(m.properties.messageId).toBe(uuid);
      expect(m.properties.deliveryMode).toBe(2);
      expect(JSON.parse(m.content.toString()).rule).toBe('Real servers');
    } finally {
      await conn.close();
    }
  });

  it('alertmanager: the alert is visible through API v2 with our labels', async () => {
    let alerts: Array<{ labels: Record<string, string>; annotations: Record<string, string> }> = [];
    await until(
      async () => {
        alerts = (await am.alerts()) as typeof alerts;
        return alerts.length >= 1;
      },
      10_000,
      'alertmanager alert',
    );
    expect(alerts[0]!.labels).toMatchObject({
      alertname: 'Real servers',
      rule: 'Real servers',
      priority: 'Critical',
      severity: 'critical',
      proc_name: 'nc',
      k8s_ns_name: 'prod',
      team: 'sec',
      source: 'falco',
    });
    expect(alerts[0]!.annotations.summary).toBe('Real servers');
  });

  it('smtp: one mail with [Priority] subject, text and HTML parts', async () => {
    await until(() => mails.length >= 1, 10_000, 'mail');
    const raw = mails[0]!;
    expect(raw).toMatch(/^Subject: \[Critical\] /m);
    expect(raw).toMatch(/^To: soc@example.org, oncall@example.org/m);
    expect(raw).toContain('multipart/alternative');
    expect(raw).toContain('text/html');
    expect(raw).toContain(`Message-ID: <${uuid}@peregrine>`);
  });

  it('syslog tcp: RFC 5424 octet-counted frames with the JSON alert, over one connection that reconnects', async () => {
    await until(() => syslogTcp.frames.length >= 1, 10_000, 'syslog frame');
    const m = RFC5424.exec(syslogTcp.frames[0]!)!;
    expect(m).not.toBeNull();
    expect(Number(m[1])).toBe(16 * 8 + 2); // local0.crit
    expect(m[4]).toBe('Falco');
    expect(m[7]).toContain(`uuid="${uuid}"`);
    expect(JSON.parse(m[8]!).uuid).toBe(uuid);
    for (let i = 0; i < 5; i++) await post(relay.url, alert({ rule: `tcp-${i}` }));
    await until(() => syslogTcp.frames.length >= 6, 10_000);
    expect(syslogTcp.connections()).toBe(1); // long-lived
    syslogTcp.dropAll();
    await new Promise((r) => setTimeout(r, 100));
    await post(relay.url, alert({ rule: 'after-drop' }));
    await until(
      () => syslogTcp.frames.some((f) => f.includes('after-drop')),
      10_000,
      'delivery after reconnect',
    );
    expect(syslogTcp.connections()).toBe(2);
  });

  it('syslog udp: one datagram per alert, CEF format', async () => {
    await until(() => udpFrames.length >= 1, 10_000, 'udp datagram');
    const m = RFC5424.exec(udpFrames[0]!)!;
    expect(m[6]).toBe('CEF');
    expect(m[8]).toMatch(/^CEF:0\|Falcosecurity\|Falco\|1\.0\|Falco Event\|Over UDP\|6\|uuid=/);
  });
});
