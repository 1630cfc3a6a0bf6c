import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFromObject } from '../../../src/console/config.js';
import { buildApp, type ConsoleApp } from '../../../src/console/server/app.js';
import { SqliteStore } from '../../../src/console/store/sqlite.js';
import { alert } from '../../integration/console/fixtures.js';
import { ADMIN_PASSWORD, INGEST_TOKEN, quietLog } from '../../integration/console/helpers.js';

const ARTIFACTS = resolve('test-artifacts/console');
const CHROMIUM = '/usr/bin/chromium';

describe('console web UI (chromium)', () => {
  let dir: string;
  let store: SqliteStore;
  let c: ConsoleApp;
  let base: string;
  let ctx: BrowserContext;
  let page: Page;
  const now = Date.now();

  const ingest = async (events: unknown[]) => {
    const r = await fetch(`${base}/api/v2/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(events),
    });
    expect(r.status).toBe(200);
  };
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'peregrine-ui-'));
    mkdirSync(ARTIFACTS, { recursive: true });
    await build({
      configFile: resolve('src/console/web/vite.config.ts'),
      logLevel: 'error',
      build: { outDir: join(dir, 'web'), emptyOutDir: true },
    });
    store = new SqliteStore(join(dir, 'console.db'));
    const config = configFromObject({
      listen_address: '127.0.0.1',
      listen_port: 0,
      web_dir: join(dir, 'web'),
    });
    c = await buildApp({ store, config, log: quietLog });
    await c.auth.bootstrap({
      PEREGRINE_ADMIN_PASSWORD: ADMIN_PASSWORD,
      PEREGRINE_CONSOLE_INGEST_TOKEN: INGEST_TOKEN,
    });
    await c.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(c.app.server.address() as { port: number }).port}`;
    const seeded = [
      ...Array.from({ length: 5 }, (_, i) =>
        alert({
          at: new Date(now - (i + 1) * 600_000),
          priority: 'Critical',
          rule: 'Write below etc',
          tags: ['filesystem'],
          output: `File below /etc opened for writing (file=/etc/f${i})`,
          output_fields: {
            'fd.name': `/etc/f${i}`,
            'container.image.repository': 'alpine',
            'k8s.ns.name': 'kube-system',
          },
        }),
      ),
      ...Array.from({ length: 3 }, (_, i) =>
        alert({ at: new Date(now - (i + 1) * 900_000), priority: 'Warning', hostname: 'node-b' }),
      ),
      alert({
        at: new Date(now - 1_800_000),
        priority: 'Notice',
        source: 'k8s_audit',
        rule: 'Create privileged pod',
        tags: ['k8s'],
        count: 4,
        output_fields: { 'ka.target.namespace': 'dev' },
      }),
      alert({
        at: new Date(now - 2_400_000),
        priority: 'Notice',
        source: 'k8s_audit',
        rule: 'Create privileged pod',
        tags: ['k8s'],
        output_fields: { 'ka.target.namespace': 'dev' },
      }),
    ];
    await ingest(seeded);
    // A Falcosidekick webui output posting {event, outputs} to /api/v1/events/add.
    const sk = await fetch(`${base}/api/v1/events/add`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`sidekick:${INGEST_TOKEN}`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        event: {
          uuid: '5a0b3a3e-6d8c-4c4e-9d0f-2b1c7e9a8f01',
          output: 'This is a test from falcosidekick',
          priority: 'Debug',
          rule: 'Test rule',
          time: new Date(now - 60_000).toISOString(),
          source: 'syscalls',
          hostname: 'test-host',
          output_fields: { 'proc.name': 'falcosidekick' },
          tags: ['test'],
        },
        outputs: ['WebUI'],
      }),
    });
    expect(sk.status).toBe(200);
    ctx = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      viewport: { width: 1440, height: 900 },
      colorScheme: 'dark',
    });
    page = ctx.pages()[0] ?? (await ctx.newPage());
  }, 120_000);

  afterAll(async () => {
    await ctx?.close();
    await c?.app.close();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('logs in; wrong password is refused with a message', async () => {
    await page.goto(base);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill('wrong-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('wrong username or password');
    await shot('login');
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('count-total').waitFor();
  });

  it('dashboard shows the right counts for the seeded events', async () => {
    await expect.poll(() => page.getByTestId('count-total').textContent()).toBe('11');
    expect(await page.getByTestId('count-Critical').textContent()).toBe('5');
    expect(await page.getByTestId('count-Warning').textContent()).toBe('3');
    expect(await page.getByTestId('count-Notice').textContent()).toBe('2');
    expect(await page.getByTestId('count-Debug').textContent()).toBe('1');
    const rules = page.locator('[data-panel="rule"] li');
    expect(await rules.first().textContent()).toMatch(/Write below etc\s*5/);
    expect(await page.locator('[data-panel="k8s_ns"]').textContent()).toMatch(/kube-system5/);
    expect(await page.locator('.timeline rect[data-priority="Critical"]').count()).toBeGreaterThan(0);
    await shot('dashboard');
  });

  it('filtering by priority and rule changes the table and the URL', async () => {
    await page.getByRole('link', { name: 'Events', exact: true }).click();
    await page.locator('.tr').first().waitFor();
    expect(await page.locator('.tr').count()).toBe(11);
    await page.getByRole('group', { name: 'priorities' }).getByRole('button', { name: 'Critical' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('priority')).toBe('Critical');
    await expect.poll(() => page.locator('.tr').count()).toBe(5);
    expect(
      new Set(
        await page.locator('.tr').evaluateAll((els) => els.map((e) => e.getAttribute('data-priority'))),
      ),
    ).toEqual(new Set(['Critical']));
    await page.getByRole('group', { name: 'priorities' }).getByRole('button', { name: 'Critical' }).click();
    await page.getByRole('group', { name: 'priorities' }).getByRole('button', { name: 'Notice' }).click();
    await page.locator('input[name="rule"]').fill('Create privileged pod');
    await page.locator('input[name="rule"]').press('Enter');
    await expect.poll(() => new URL(page.url()).searchParams.get('rule')).toBe('Create privileged pod');
    await expect.poll(() => page.locator('.tr').count()).toBe(2);
    expect(await page.locator('.tr .dedup').first().textContent()).toBe('×4');
    await shot('events-filtered');
    // The URL alone restores the filter (shareable).
    await page.goto(`${base}/events?priority=Warning`);
    await expect.poll(() => page.locator('.tr').count()).toBe(3);
  });

  it('the Falcosidekick-posted event is shown, and its detail opens', async () => {
    await page.goto(`${base}/events?rule=Test%20rule`);
    await page.locator('.tr').first().waitFor();
    expect(await page.locator('.tr').count()).toBe(1);
    await page.locator('.tr').first().click();
    await expect.poll(() => page.url()).toContain('/events/5a0b3a3e-6d8c-4c4e-9d0f-2b1c7e9a8f01');
    await page.getByTestId('raw-json').waitFor();
    expect(await page.locator('h1').textContent()).toContain('Test rule');
    expect(await page.locator('table.fields').textContent()).toContain('falcosidekick');
    expect(JSON.parse((await page.getByTestId('raw-json').textContent())!)).toMatchObject({
      rule: 'Test rule',
      hostname: 'test-host',
    });
    await shot('event-detail');
  });

  it('a newly ingested event appears in the live tail within 2 s', async () => {
    await page.goto(`${base}/events`);
    await page.locator('.tr').first().waitFor();
    await expect.poll(() => page.locator('.live .dot').getAttribute('class')).toContain('on');
    const t0 = Date.now();
    await ingest([alert({ priority: 'Error', rule: 'Live tail rule' })]);
    await page.locator('.tr[data-rule="Live tail rule"]').waitFor({ timeout: 2000 });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(await page.locator('.tr').first().getAttribute('data-rule')).toBe('Live tail rule');
    // Paused: new events wait until resumed.
    await page.getByRole('button', { name: 'pause' }).click();
    await ingest([alert({ priority: 'Error', rule: 'While paused' })]);
    await page.getByRole('button', { name: /resume \(1 new\)/ }).waitFor({ timeout: 2000 });
    expect(await page.locator('.tr[data-rule="While paused"]').count()).toBe(0);
    await page.getByRole('button', { name: /resume/ }).click();
    await page.locator('.tr[data-rule="While paused"]').waitFor({ timeout: 2000 });
    await shot('events-live');
  });

  it('rules, info and the light theme render real data', async () => {
    await page.goto(`${base}/rules`);
    await page.locator('tr[data-rule="Write below etc"]').waitFor();
    expect(await page.locator('tr[data-rule="Write below etc"] td.num').textContent()).toBe('5');
    expect(await page.locator('tr[data-rule="Write below etc"] svg.spark').count()).toBe(1);
    await shot('rules');
    await page.goto(`${base}/info`);
    await page.getByTestId('store-kind').waitFor();
    expect(await page.getByTestId('store-kind').textContent()).toBe('sqlite');
    await shot('info');
    await page.getByRole('button', { name: /switch to light theme/ }).click();
    expect(await page.locator('html').getAttribute('data-theme')).toBe('light');
    await page.goto(base);
    await page.getByTestId('count-total').waitFor();
    await shot('dashboard-light');
  });
});
