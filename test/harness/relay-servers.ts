/**
 * Real servers for relay sink tests, each on a free loopback port in a temp dir (same pattern as redis.ts):
 * NATS with JetStream, Mosquitto, RabbitMQ, Prometheus Alertmanager. (Syslog tests use in-test RFC 5424
 * socket receivers; SMTP uses the smtp-server library.)
 */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { freePort, type RunningServer, startServer, tcpAnswers } from './servers.js';

export function startNats(): Promise<RunningServer & { url: string }> {
  return startServer({
    name: 'nats',
    command: 'nats-server',
    args: (port, dir) => ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(dir, 'js')],
    ready: (port) => tcpAnswers(port),
  }).then((s) => Object.assign(s, { url: `nats://127.0.0.1:${s.port}` }));
}

export function startMosquitto(): Promise<RunningServer & { url: string }> {
  return startServer({
    name: 'mosquitto',
    command: 'mosquitto',
    prepare: (port, dir) =>
      writeFileSync(
        join(dir, 'mosquitto.conf'),
        `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`,
      ),
    args: (_port, dir) => ['-c', join(dir, 'mosquitto.conf')],
    ready: (port) => tcpAnswers(port),
  }).then((s) => Object.assign(s, { url: `mqtt://127.0.0.1:${s.port}` }));
}

function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, timeout: 1000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.on('timeout', () => req.destroy());
  });
}

/** prometheus-alertmanager with a single no-op receiver and clustering off. */
export function startAlertmanager(): Promise<RunningServer & { url: string; alerts(): Promise<unknown[]> }> {
  return startServer({
    name: 'alertmanager',
    command: 'prometheus-alertmanager',
    prepare: (_port, dir) =>
      writeFileSync(
        join(dir, 'alertmanager.yml'),
        'route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n',
      ),
    args: (port, dir) => [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
    ],
    ready: async (port) => (await httpGet(port, '/-/ready')).status === 200,
  }).then((s) =>
    Object.assign(s, {
      url: `http://127.0.0.1:${s.port}`,
      alerts: async () => JSON.parse((await httpGet(s.port, '/api/v2/alerts')).body) as unknown[],
    }),
  );
}

/**
 * rabbitmq-server as an isolated node: its own node name, HOME (Erlang cookie), mnesia/log dirs, AMQP port,
 * distribution port and epmd. epmd is started in the foreground inside the server's process group (instead of
 * the daemon RabbitMQ would fork), so stopping the server stops it too. Startup takes ~7 s.
 */
export async function startRabbitmq(): Promise<RunningServer & { url: string }> {
  const distPort = await freePort();
  const epmdPort = await freePort();
  return startServer({
    name: 'rabbitmq',
    command: 'sh',
    timeoutMs: 60_000,
    prepare: (port, dir) => {
      writeFileSync(
        join(dir, 'rabbitmq.conf'),
        `listeners.tcp.default = 127.0.0.1:${port}\nloopback_users = none\n`,
      );
      writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
    },
    args: (port, dir) => [
      '-c',
      [
        `export HOME=${dir} RABBITMQ_NODENAME=peregrine${port}@localhost RABBITMQ_CONFIG_FILE=${dir}/rabbitmq.conf`,
        `RABBITMQ_ENABLED_PLUGINS_FILE=${dir}/enabled_plugins RABBITMQ_MNESIA_BASE=${dir}/mnesia RABBITMQ_LOG_BASE=${dir}/log`,
        `RABBITMQ_DIST_PORT=${distPort} ERL_EPMD_PORT=${epmdPort} RABBITMQ_NODE_PORT=${port};`,
        `/usr/lib/erlang/bin/epmd -port ${epmdPort} & sleep 0.3; exec /usr/lib/rabbitmq/bin/rabbitmq-server`,
      ].join(' '),
    ],
    ready: (port) => tcpAnswers(port),
  }).then((s) => Object.assign(s, { url: `amqp://guest:guest@127.0.0.1:${s.port}` }));
}
