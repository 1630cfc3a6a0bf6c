import { existsSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres } from '../harness/postgres.js';
import { redisCommand, startRedis } from '../harness/redis.js';
import { type RunningServer, tcpAnswers } from '../harness/servers.js';

describe('test-server harness: redis-server', () => {
  let redis: RunningServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('answers on a loopback port and keeps data', async () => {
    expect(await redisCommand(redis.port, 'SET', 'k', 'peregrine')).toBe('+OK\r\n');
    expect(await redisCommand(redis.port, 'GET', 'k')).toBe('$9\r\nperegrine\r\n');
  });

  it('stops the process and removes its dir', async () => {
    const { pid, dir, port } = redis;
    await redis.stop();
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(await tcpAnswers(port)).toBe(false);
  });
});

describe('test-server harness: PostgreSQL', () => {
  let server: RunningServer & { url: string };
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('runs queries on a fresh database', async () => {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    await client.query('CREATE TABLE t (id int primary key, v text)');
    await client.query("INSERT INTO t VALUES (1, 'peregrine')");
    const { rows } = await client.query('SELECT v FROM t WHERE id = 1');
    await client.end();
    expect(rows).toEqual([{ v: 'peregrine' }]);
  });

  it('stops cleanly and leaves nothing behind', async () => {
    const { pid, dir } = server;
    await server.stop();
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(`/proc/${pid}`)).toBe(false);
  });
});
