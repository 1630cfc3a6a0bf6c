/**
 * Webhook body fuzzing: mutated EventLists, random bytes and odd JSON. The
 * server must never crash and must answer every request with 200 or a 4xx.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../../src/engine/index.js';
import { k8sAuditExtractor } from '../../../src/sources/k8saudit/extractor.js';
import { fuzzBodies } from '../../../src/sources/k8saudit/fuzz.js';
import { startWebhook, type WebhookServer } from '../../../src/sources/k8saudit/webhook.js';

const RULES = new URL('../../../rules/k8s_audit_rules.yaml', import.meta.url).pathname;

describe('audit webhook fuzzing', () => {
  let srv: WebhookServer;
  let processed = 0;
  let crashes = 0;
  beforeAll(async () => {
    const engine = createEngine({ extractors: [k8sAuditExtractor()], ruleMatching: 'all' });
    engine.load([{ name: RULES, content: readFileSync(RULES, 'utf8') }]);
    srv = await startWebhook(
      {
        listenAddress: '127.0.0.1',
        port: 0,
        endpoint: '/k8s-audit',
        maxEventSize: 262144,
        maxBatchSize: 1 << 20,
      },
      {
        onEvents: (evs) => {
          for (const ev of evs) {
            try {
              for (const m of engine.process('k8s_audit', ev)) engine.toAlert(m, ev);
              processed++;
            } catch {
              crashes++;
            }
          }
        },
      },
    );
  });
  afterAll(() => srv?.close());

  it('400 random and mutated bodies: no crash, every answer 200 or 4xx', async () => {
    const seed = JSON.parse(
      readFileSync(
        join(new URL('../../../', import.meta.url).pathname, 'bench/audit/seed-event.json'),
        'utf8',
      ),
    ) as Record<string, unknown>;
    const statuses = new Map<number, number>();
    for (const body of fuzzBodies(seed, 400, 1234)) {
      const res = await fetch(srv.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      await res.text();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      expect(res.status === 200 || (res.status >= 400 && res.status < 500), `status ${res.status}`).toBe(
        true,
      );
    }
    expect(crashes).toBe(0);
    expect(statuses.get(200) ?? 0).toBeGreaterThan(20);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(20);
    expect(processed).toBeGreaterThan(20);
    // still serving after the run
    const ok = await fetch(srv.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(seed),
    });
    expect(ok.status).toBe(200);
  });
});
