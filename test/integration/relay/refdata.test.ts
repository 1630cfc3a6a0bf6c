/**
 * Conformance with the Falcosidekick fixtures in ../shared/refdata/sidekick: every input payload is accepted by
 * the intake (through HTTP), and our encoders give the documented expected outputs.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FalcoAlert } from '../../../src/alert/falco-alert.js';
import { PRIORITIES, parsePriority } from '../../../src/alert/priority.js';
import { loadRelayConfig } from '../../../src/relay/config/relay-config.js';
import { encodeAlert, options } from '../../../src/relay/sinks/alertmanager/sink.js';
import { encode as datadogEncode } from '../../../src/relay/sinks/datadog/sink.js';
import { SINKS } from '../../../src/relay/sinks/registry.js';
import { REFDATA, refdataAvailable } from '../../harness/refdata.js';
import { post, startRelay } from './helpers.js';

const have = refdataAvailable();
const P = join(REFDATA, 'sidekick', 'payloads');
const read = (f: string) => JSON.parse(readFileSync(join(P, f), 'utf8'));

/** A fixture as the encoder sees it (Falcosidekick's unit tests call the encoders without the intake). */
function asAlert(raw: Record<string, unknown>): FalcoAlert {
  return {
    ...(raw as unknown as FalcoAlert),
    priority: PRIORITIES[parsePriority(String(raw.priority))!],
    source: String(raw.source ?? ''),
    tags: raw.tags ? [...(raw.tags as string[])].sort() : undefined,
  };
}

describe.skipIf(!have)('Falcosidekick fixtures (refdata/sidekick)', () => {
  let relay: Awaited<ReturnType<typeof startRelay>>;
  beforeAll(async () => {
    relay = await startRelay({});
  });
  afterAll(async () => {
    await relay.stop();
  });

  it('accepts every Falcosidekick input payload and every Falco golden alert', async () => {
    const inputs = readdirSync(P).filter((f) => /input/i.test(f));
    expect(inputs.length).toBeGreaterThanOrEqual(5);
    for (const f of inputs) {
      const res = await post(relay.url, readFileSync(join(P, f), 'utf8'));
      expect(res.status, `${f}: ${res.headers.get('x-peregrine-reason')}`).toBe(200);
    }
    const golden = join(REFDATA, 'engine-tests', 'output_files', 'single_rule_with_cat_write.json');
    if (existsSync(golden)) {
      // NDJSON as Falco writes it: one request with every line
      const res = await post(relay.url, readFileSync(golden, 'utf8'));
      expect(res.status, String(res.headers.get('x-peregrine-reason'))).toBe(200);
      expect(JSON.parse(res.text).accepted).toBe(readFileSync(golden, 'utf8').trim().split('\n').length);
    }
  });

  const amOpts = () => {
    const cfg = loadRelayConfig(SINKS, { env: { ALERTMANAGER_HOSTPORT: 'http://127.0.0.1:9' } });
    return options(cfg.sinks.find((s) => s.def.name === 'alertmanager')!.section);
  };

  it('alertmanager: default thresholds match the fixture', () => {
    const t = read('alertmanager_default_thresholds.json') as Array<{ priority: string; value: number }>;
    expect(amOpts().thresholds).toEqual(t.map((x) => ({ value: x.value, level: parsePriority(x.priority) })));
  });

  it('alertmanager: labels and annotations for the standard test input', () => {
    const [exp] = read('alertmanager_TestNewAlertmanagerPayloadO_expectedOutput.json');
    const got = encodeAlert(asAlert(read('falco_test_input.json')), amOpts());
    expect(got.labels).toEqual(exp.labels);
    expect(got.annotations).toEqual(exp.annotations);
  });

  for (const name of ['DropEvent', 'BadLabels']) {
    it(`alertmanager: ${name} fixture (drop bucketing, priority raise, label sanitising)`, () => {
      const exp = read(`alertmanager_TestNewAlertmanagerPayload${name}_expectedOutput.json`);
      const got = encodeAlert(
        asAlert(read(`alertmanager_TestNewAlertmanagerPayload${name}_input.json`)),
        amOpts(),
      );
      expect([got]).toEqual(exp);
    });
  }

  it('alertmanager: numeric drop fields give one alert', () => {
    const got = encodeAlert(
      asAlert(read('alertmanager_TestNewAlertmanagerPayloadDropEventNumericFields_input.json')),
      amOpts(),
    );
    expect((got.labels as Record<string, string>).n_drops).toBe('>10000');
    expect((got.labels as Record<string, string>).n_evts).toBeUndefined();
  });

  it('datadog: the expected events payload', () => {
    expect(datadogEncode(asAlert(read('falco_test_input.json')))).toEqual(read('datadog_expected.json'));
  });
});
