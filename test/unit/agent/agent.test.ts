import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Agent } from '../../../src/agent/agent.js';
import { buildConfig } from '../../../src/agent/config.js';
import type { EventSource } from '../../../src/agent/event-source.js';
import type { Channel } from '../../../src/channels/types.js';
import { createLogger } from '../../../src/common/log.js';
import { createEngine } from '../../../src/engine/index.js';
import { type AuditEvent, toAuditEvent } from '../../../src/sources/k8saudit/event.js';
import { k8sAuditExtractor } from '../../../src/sources/k8saudit/extractor.js';

const dir = mkdtempSync(join(tmpdir(), 'peregrine-agentunit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const rules = join(dir, 'r.yaml');
writeFileSync(
  rules,
  '- rule: Any Create\n  desc: d\n  condition: ka.verb = create\n  output: created %ka.target.name\n  priority: NOTICE\n  source: k8s_audit\n  tags: [t]\n',
);

/** An in-memory EventSource: the test pushes events through it. */
class ManualSource implements EventSource<AuditEvent> {
  readonly name = 'k8s_audit';
  readonly extractor = k8sAuditExtractor({ clusterName: 'c1' });
  emit: ((ev: AuditEvent) => void) | undefined;
  stopped = false;
  async start(onEvent: (ev: AuditEvent) => void) {
    this.emit = onEvent;
  }
  async stop() {
    this.stopped = true;
  }
}

const ev = (i: number) =>
  toAuditEvent({
    kind: 'Event',
    auditID: `id-${i}`,
    verb: 'create',
    objectRef: { resource: 'pods', name: `p${i}` },
  });

describe('Agent', () => {
  it('a full outputs queue drops and counts without blocking, with one rate-limited log line', async () => {
    const cfg = buildConfig(
      {
        rules_files: [rules],
        webserver: { enabled: false },
        watch_config_files: false,
        cluster_name: 'c1',
        outputs_queue: { capacity: 3 },
        shutdown_timeout_ms: 50,
      },
      { env: {} },
    );
    const logs: string[] = [];
    const stuck: Channel = { name: 'stuck', send: () => new Promise(() => {}), close: async () => {} };
    const src = new ManualSource();
    const agent = new Agent(cfg, {
      createEngine,
      sources: [src],
      channels: [stuck],
      log: createLogger('t', { write: (l) => logs.push(l) }),
    });
    await agent.start();
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) src.emit!(ev(i));
    expect(performance.now() - t0).toBeLessThan(2000); // synchronous, never waits on the channel
    const m = await agent.metrics.registry.metrics();
    // one batch taken by the (stuck) worker leaves room for 3 more: at least 1000 - 1 - 3 dropped
    const drops = Number(/peregrine_outputs_queue_drops_total (\d+)/.exec(m)?.[1]);
    expect(drops).toBeGreaterThanOrEqual(996);
    expect(m).toMatch(/peregrine_events_total\{source="k8s_audit"\} 1000/);
    expect(m).toMatch(
      /peregrine_alerts_total\{rule="Any Create",priority="Notice",source="k8s_audit"\} 1000/,
    );
    expect(logs.filter((l) => l.includes('outputs queue full'))).toHaveLength(1);
    const { undelivered } = await agent.stop();
    expect(undelivered).toBeGreaterThan(0);
    expect(src.stopped).toBe(true);
    expect(logs.some((l) => l.includes('shutdown timeout'))).toBe(true);
  });

  it('alerts carry the cluster name and reload swaps rules only when they load', async () => {
    const cfg = buildConfig(
      {
        rules_files: [rules],
        webserver: { enabled: false },
        watch_config_files: false,
        cluster_name: 'c1',
        json_output: true,
      },
      { env: {} },
    );
    const got: string[] = [];
    const sink: Channel = {
      name: 'mem',
      send: async (items) => {
        for (const it of items) got.push(it.line);
      },
      close: async () => {},
    };
    const src = new ManualSource();
    const agent = new Agent(cfg, {
      createEngine,
      sources: [src],
      channels: [sink],
      log: createLogger('t', { write: () => {} }),
    });
    await agent.start();
    src.emit!(ev(1));
    await new Promise((r) => setTimeout(r, 20));
    expect(JSON.parse(got[0]!)).toMatchObject({ cluster: 'c1', rule: 'Any Create', source: 'k8s_audit' });
    writeFileSync(rules, '- rule: Broken\n  condition: (\n');
    expect(await agent.reload('test')).toBe(false);
    src.emit!(ev(2));
    await new Promise((r) => setTimeout(r, 20));
    expect(got).toHaveLength(2);
    writeFileSync(
      rules,
      '- rule: Other\n  desc: d\n  condition: ka.verb = create\n  output: other %ka.target.name\n  priority: ERROR\n  source: k8s_audit\n',
    );
    expect(await agent.reload('test')).toBe(true);
    src.emit!(ev(3));
    await agent.stop();
    expect(JSON.parse(got[2]!)).toMatchObject({ rule: 'Other', priority: 'Error' });
  });

  it('the rules: selection of the config disables rules by name or tag', async () => {
    writeFileSync(
      rules,
      '- rule: Any Create\n  desc: d\n  condition: ka.verb = create\n  output: created %ka.target.name\n  priority: NOTICE\n  source: k8s_audit\n  tags: [t]\n',
    );
    for (const selection of [[{ disable: { rule: 'Any*' } }], [{ disable: { tag: 't' } }]]) {
      const cfg = buildConfig(
        { rules_files: [rules], webserver: { enabled: false }, watch_config_files: false, rules: selection },
        { env: {} },
      );
      let n = 0;
      const sink: Channel = {
        name: 'mem',
        send: async (items) => {
          n += items.length;
        },
        close: async () => {},
      };
      const src = new ManualSource();
      const agent = new Agent(cfg, {
        createEngine,
        sources: [src],
        channels: [sink],
        log: createLogger('t', { write: () => {} }),
      });
      await agent.start();
      expect(agent.rulesCount).toBe(0);
      src.emit!(ev(1));
      await agent.stop();
      expect(n).toBe(0);
    }
  });
});
