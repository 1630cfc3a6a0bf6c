import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alert, post, startReceiver, startRelay, tempDir, until } from './helpers.js';

/** Outage window in ms (the scenario is two minutes; the same code path is exercised faster here). */
const OUTAGE_MS = Number(process.env.RELAY_TEST_OUTAGE_MS ?? 1500);

describe('relay durable delivery', () => {
  it(`a sink answering 503 for ${OUTAGE_MS} ms then recovering gets every alert, in order`, async () => {
    const start = Date.now();
    // Down for OUTAGE_MS, and at least until every alert is posted (slow machines).
    let downUntil = Number.POSITIVE_INFINITY;
    const hook = await startReceiver(() =>
      Date.now() < downUntil ? { status: 503, body: 'down for maintenance' } : { status: 200 },
    );
    const r = await startRelay({
      webhook: { address: hook.url },
      delivery: { initialbackoff: '20ms', maxbackoff: '300ms' },
    });
    try {
      const N = 300;
      for (let i = 0; i < N; i++) {
        const res = await post(r.url, alert({ rule: 'Outage test', output_fields: { seq: i } }));
        expect(res.status).toBe(200);
      }
      const m = await (await fetch(`${r.url}/metrics`)).text();
      expect(Number(/peregrine_relay_sink_backlog\{sink="webhook"\} (\d+)/.exec(m)![1])).toBe(N);
      expect(
        Number(/peregrine_relay_sink_oldest_undelivered_seconds\{sink="webhook"\} ([\d.]+)/.exec(m)![1]),
      ).toBeGreaterThan(0);
      expect(hook.received.length).toBe(0);
      downUntil = Math.max(start + OUTAGE_MS, Date.now());
      await until(() => hook.received.length >= N, OUTAGE_MS + 15_000, 'all alerts after recovery');
      expect(hook.received.map((x) => JSON.parse(x.body).output_fields.seq)).toEqual(
        Array.from({ length: N }, (_, i) => i),
      );
      const m2 = await (await fetch(`${r.url}/metrics`)).text();
      expect(m2).toMatch(/peregrine_relay_sink_retried_total\{sink="webhook"\} [1-9]/);
      expect(m2).toMatch(/peregrine_relay_sink_delivered_total\{sink="webhook"\} 300/);
      expect(m2).toMatch(
        /falcosecurity_falcosidekick_outputs_total\{destination="webhook",status="error"\} [1-9]/,
      );
      await until(async () =>
        /peregrine_relay_sink_backlog\{sink="webhook"\} 0/.test(
          await (await fetch(`${r.url}/metrics`)).text(),
        ),
      );
    } finally {
      await r.stop();
      await hook.close();
    }
  }, 60_000);

  it('abandons a send that hangs past delivery.timeout and delivers on the retry', async () => {
    // the first request is never answered; the second is
    const bodies: string[] = [];
    let requests = 0;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method !== 'POST') return void res.end();
        if (requests++ === 0) return; // hang
        bodies.push(Buffer.concat(chunks).toString('utf8'));
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const r = await startRelay({
      webhook: { address: url },
      delivery: { timeout: '300ms', initialbackoff: '10ms' },
    });
    try {
      const t0 = Date.now();
      expect((await post(r.url, alert({ rule: 'Hanging sink' }))).status).toBe(200);
      await until(() => bodies.length === 1, 10_000, 'delivery after the timed-out attempt');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
      expect(requests).toBe(2);
      expect(JSON.parse(bodies[0]!).rule).toBe('Hanging sink');
      const m = await (await fetch(`${r.url}/metrics`)).text();
      expect(m).toMatch(/peregrine_relay_sink_retried_total\{sink="webhook"\} 1\b/);
    } finally {
      await r.stop();
      server.closeAllConnections();
      await new Promise((res) => server.close(res));
    }
  });

  it('runs the sinks on the delivery thread, restarts it when it dies, and resumes from the saved cursor', async () => {
    const hook = await startReceiver();
    const r = await startRelay({ webhook: { address: hook.url } });
    try {
      expect(r.relay.thread).toBeDefined(); // the sinks are not on the intake thread
      expect(r.relay.pipelines).toEqual([]);
      for (let i = 0; i < 5; i++) await post(r.url, alert({ rule: `before ${i}` }));
      await until(() => hook.received.length >= 5, 5000, 'delivery before the crash');
      await new Promise((res) => setTimeout(res, 300)); // the cursor is saved every 200 ms
      await r.relay.thread!.kill();
      // accepted while the thread is down: they wait in the spool
      for (let i = 0; i < 5; i++) expect((await post(r.url, alert({ rule: `after ${i}` }))).status).toBe(200);
      await until(
        () => hook.received.some((x) => JSON.parse(x.body).rule === 'after 4'),
        10_000,
        'delivery after restart',
      );
      expect(r.relay.thread!.restarts).toBe(1);
      const rules = hook.received.map((x) => JSON.parse(x.body).rule as string);
      for (let i = 0; i < 5; i++) {
        expect(rules).toContain(`before ${i}`);
        expect(rules.filter((x) => x === `after ${i}`)).toHaveLength(1);
      }
      expect(rules.indexOf('after 0')).toBeGreaterThan(rules.lastIndexOf('before 4')); // still in spool order
      const m = await (await fetch(`${r.url}/metrics`)).text(); // the restarted thread's metrics are merged in
      expect(m).toMatch(/peregrine_relay_sink_delivered_total\{sink="webhook"\} 5\b/);
      expect(m).toContain('process_cpu_seconds_total'); // and the main thread's own, once
    } finally {
      await r.stop();
      await hook.close();
    }
  });

  it('honours Retry-After', async () => {
    const times: number[] = [];
    const hook = await startReceiver((_r, n) => {
      times.push(Date.now());
      return n === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 };
    });
    const r = await startRelay({ webhook: { address: hook.url }, delivery: { initialbackoff: '10ms' } });
    try {
      await post(r.url, alert());
      await until(() => hook.received.length === 1, 5000);
      expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(950);
    } finally {
      await r.stop();
      await hook.close();
    }
  });

  it('dead-letters after delivery.maxattempts, and at once on a permanent error, then moves on', async () => {
    const hook = await startReceiver((req) => {
      const rule = JSON.parse(req.body).rule;
      if (rule === 'always-500') return { status: 500 };
      if (rule === 'bad-request') return { status: 400, body: 'field x rejected' };
      return { status: 200 };
    });
    const r = await startRelay({
      webhook: { address: hook.url },
      delivery: { initialbackoff: '5ms', maxbackoff: '20ms', maxattempts: 3 },
    });
    try {
      await post(r.url, alert({ rule: 'always-500' }));
      await post(r.url, alert({ rule: 'bad-request' }));
      await post(r.url, alert({ rule: 'fine' }));
      await until(() => hook.received.some((x) => JSON.parse(x.body).rule === 'fine'), 5000);
      const dl = readFileSync(join(r.spoolDir, 'deadletter', 'webhook.ndjson'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(dl.map((d) => d.alert.rule)).toEqual(['always-500', 'bad-request']);
      expect(dl[0].reason).toMatch(/gave up after 3 attempts \(delivery.maxattempts\): HTTP 500/);
      expect(dl[0].attempts).toBe(3);
      expect(dl[1].reason).toMatch(/permanent: HTTP 400: field x rejected/);
      expect(dl[0].alert.uuid).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await r.stop();
      await hook.close();
    }
  });

  it('dead-letters alerts older than delivery.maxage that still fail', async () => {
    const hook = await startReceiver(() => ({ status: 503 }));
    const r = await startRelay({
      webhook: { address: hook.url },
      delivery: { initialbackoff: '20ms', maxbackoff: '50ms', maxage: '300ms' },
    });
    try {
      await post(r.url, alert({ rule: 'too-old' }));
      const file = join(r.spoolDir, 'deadletter', 'webhook.ndjson');
      // the file exists as soon as appendFile opens it: wait for the complete line
      await until(
        () => existsSync(file) && readFileSync(file, 'utf8').endsWith('\n'),
        5000,
        'dead-letter line',
      );
      const d = JSON.parse(readFileSync(file, 'utf8').trim());
      expect(d.alert.rule).toBe('too-old');
      expect(d.reason).toMatch(/\(delivery.maxage\): HTTP 503/);
      expect(d.attempts).toBeGreaterThanOrEqual(1);
      const m = await (await fetch(`${r.url}/metrics`)).text();
      expect(m).toMatch(/peregrine_relay_sink_deadlettered_total\{sink="webhook"\} 1/);
    } finally {
      await r.stop();
      await hook.close();
    }
  });

  it('answers 503 when the spool directory cannot be used, and recovers when it can', async () => {
    const t = tempDir('unwritable');
    const blocker = join(t.dir, 'blocker');
    writeFileSync(blocker, 'a file where the spool dir should be');
    const r = await startRelay({ spool: { dir: join(blocker, 'spool') } });
    try {
      const res = await post(r.url, alert());
      expect(res.status).toBe(503);
      expect(res.text).toMatch(/spool unavailable: .*(ENOTDIR|EEXIST)/);
      expect(res.headers.get('retry-after')).toBe('1');
      expect((await fetch(`${r.url}/healthz`)).status).toBe(503);
      rmSync(blocker);
      mkdirSync(blocker);
      await until(async () => (await post(r.url, alert())).status === 200, 5000, 'spool reopened');
    } finally {
      await r.stop();
      t.cleanup();
    }
  });

  it.skipIf(process.getuid?.() !== 0)('answers 503 when the disk is full (tmpfs), never 200', async () => {
    const t = tempDir('full');
    const mnt = join(t.dir, 'mnt');
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]);
    const r = await startRelay({ spool: { dir: mnt } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 200; i++)
        statuses.push((await post(r.url, alert({ output_fields: { pad: 'p'.repeat(900), i } }))).status);
      expect(statuses).toContain(200);
      expect(statuses).toContain(503);
      expect(new Set(statuses)).toEqual(new Set([200, 503]));
      // every 200 is really on disk
      const accepted = statuses.filter((s) => s === 200).length;
      expect(r.relay.spool!.lastSeq).toBeGreaterThanOrEqual(accepted);
    } finally {
      await r.stop();
      execFileSync('umount', [mnt]);
      t.cleanup();
    }
  });
});

describe('relay routing and dedup', () => {
  it('routes by priority, rule, tag and source per sink; dedup collapses repeats with a count', async () => {
    const crit = await startReceiver();
    const shells = await startReceiver();
    const t = tempDir('route');
    const file = join(t.dir, 'out', 'alerts.ndjson');
    const r = await startRelay({
      webhook: { address: crit.url, minimumpriority: 'critical' },
      file: { path: file, rules: ['Terminal*'], tags: ['shell'], sources: ['syscall'] },
      stdout: { enabled: false },
    });
    const r2 = await startRelay({
      webhook: { address: shells.url, dedup: { window: '300ms', fields: ['proc.name'] } },
    });
    try {
      await post(r.url, alert({ priority: 'Warning', rule: 'Terminal shell in container' }));
      await post(r.url, alert({ priority: 'Critical', rule: 'Write below etc', tags: ['filesystem'] }));
      await post(
        r.url,
        alert({ priority: 'Emergency', rule: 'Terminal shell in container', source: 'k8s_audit' }),
      );
      await until(() => crit.received.length === 2);
      expect(crit.received.map((x) => JSON.parse(x.body).priority)).toEqual(['Critical', 'Emergency']);
      await until(() => {
        try {
          return readFileSync(file, 'utf8').trim().split('\n').length >= 1;
        } catch {
          return false;
        }
      });
      const lines = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines.map((l) => [l.rule, l.source])).toEqual([['Terminal shell in container', 'syscall']]);

      for (let i = 0; i < 5; i++)
        await post(r2.url, alert({ rule: 'Noisy', output_fields: { 'proc.name': 'bash', i } }));
      await post(r2.url, alert({ rule: 'Noisy', output_fields: { 'proc.name': 'sh' } }));
      await until(() => shells.received.length === 3, 5000, 'dedup summary');
      const got = shells.received.map((x) => JSON.parse(x.body));
      expect(got.map((g) => [g.output_fields['proc.name'], g.count ?? 1])).toEqual([
        ['bash', 1],
        ['sh', 1],
        ['bash', 4],
      ]);
      expect(got[2].output_fields.i).toBe(4); // the last held alert carries the count
    } finally {
      await r.stop();
      await r2.stop();
      await crit.close();
      await shells.close();
      t.cleanup();
    }
  });
});
