import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, envName, leafPaths, parseDuration } from '../../../src/relay/config/load.js';
import { defaultsTree, loadRelayConfig } from '../../../src/relay/config/relay-config.js';
import { compileTemplate, TemplateError } from '../../../src/relay/config/template.js';
import { SINKS } from '../../../src/relay/sinks/registry.js';
import { tempDir } from '../../integration/relay/helpers.js';

describe('relay config', () => {
  it('runs with no file and no environment: port 2801, spool ./data, no sinks', () => {
    const c = loadRelayConfig(SINKS, { env: {} });
    expect(c.listenPort).toBe(2801);
    expect(c.spool.dir).toBe('./data');
    expect(c.sinks).toEqual([]);
    expect(c.tlsServer.notlsport).toBe(2810);
  });

  it('bus: the local spool by default; jetstream from YAML or BUS_* variables, with clear errors', () => {
    expect(loadRelayConfig(SINKS, { env: {} }).bus).toEqual({ type: 'spool' });
    const c = loadRelayConfig(SINKS, {
      env: { BUS_TYPE: 'jetstream', BUS_NATS_URL: 'nats://a:4222,nats://b:4222', BUS_NATS_ACKWAIT: '5s' },
    });
    expect(c.bus).toMatchObject({
      type: 'jetstream',
      servers: ['nats://a:4222', 'nats://b:4222'],
      stream: 'PEREGRINE_ALERTS',
      subject: 'peregrine.alerts',
      replicas: 1,
      ackWaitMs: 5000,
      maxAgeMs: 24 * 3600_000,
    });
    const y = loadRelayConfig(SINKS, {
      env: {},
      yaml: { bus: { type: 'jetstream', nats: { url: 'nats://n:4222', stream: 'ALERTS', replicas: 3 } } },
    });
    expect(y.bus).toMatchObject({ type: 'jetstream', stream: 'ALERTS', replicas: 3 });
    expect(() => loadRelayConfig(SINKS, { env: { BUS_TYPE: 'jetstream' } })).toThrow(
      'bus.nats.url: required when bus.type is jetstream',
    );
    expect(() => loadRelayConfig(SINKS, { env: { BUS_TYPE: 'kafka' } })).toThrow(
      'bus.type: "kafka" is not spool or jetstream',
    );
    expect(() =>
      loadRelayConfig(SINKS, {
        env: { BUS_TYPE: 'jetstream', BUS_NATS_URL: 'nats://n', BUS_NATS_SUBJECT: 'a.>' },
      }),
    ).toThrow(/bus.nats.subject/);
    expect(() =>
      loadRelayConfig(SINKS, {
        env: { BUS_TYPE: 'jetstream', BUS_NATS_URL: 'nats://n', BUS_NATS_REPLICAS: '0' },
      }),
    ).toThrow(/bus.nats.replicas/);
  });

  it('names env variables after the upper-cased key path', () => {
    expect(envName(['slack', 'webhookurl'])).toBe('SLACK_WEBHOOKURL');
    const names = leafPaths(defaultsTree(SINKS)).map(envName);
    for (const n of [
      'LISTENPORT',
      'TLSSERVER_DEPLOY',
      'WEBHOOK_ADDRESS',
      'WEBHOOK_CUSTOMHEADERS',
      'CUSTOMFIELDS',
      'OUTPUTFIELDFORMAT',
    ])
      expect(names).toContain(n);
  });

  it('reads YAML (case-insensitive keys) and lets the environment override it', () => {
    const t = tempDir('cfg');
    const f = join(t.dir, 'relay.yaml');
    writeFileSync(
      f,
      [
        'listenport: 3000',
        'outputFieldFormat: "<timestamp>: <priority> <output> <custom_fields>"',
        'customfields:',
        '  Akey: AValue',
        'customtags: [tagA, tagB]',
        'webhook:',
        '  address: http://127.0.0.1:9/x',
        '  customHeaders:',
        '    Authorization: Bearer abc',
        '  minimumpriority: warning',
        'unknownthing: 1',
      ].join('\n'),
    );
    const c = loadRelayConfig(SINKS, {
      file: f,
      env: {
        LISTENPORT: '3100',
        WEBHOOK_METHOD: 'PUT',
        CUSTOMFIELDS: 'Bkey:%MYVAR,Ckey:http://x:1',
        MYVAR: 'fromenv',
        WEBHOOK_ADDRESS: '',
      },
    });
    t.cleanup();
    expect(c.listenPort).toBe(3100);
    expect(c.outputFieldFormat).toBe('<timestamp>: <priority> <output> <custom_fields>');
    // env map replaces the YAML map; %VAR reads the environment; values may contain ':'
    expect(c.customFields).toEqual({ Bkey: 'fromenv', Ckey: 'http://x:1' });
    expect(c.customTags).toEqual(['tagA', 'tagB']);
    const wh = c.sinks.find((s) => s.def.name === 'webhook')!;
    expect(wh.section.address).toBe('http://127.0.0.1:9/x'); // empty env var = unset
    expect(wh.section.method).toBe('PUT');
    expect(wh.section.customheaders).toEqual({ Authorization: 'Bearer abc' });
    expect(wh.minimumPriority).toBe(4);
    expect(c.warnings).toContain('unknown key unknownthing (ignored)');
  });

  it('enables a sink from the environment alone (Falcosidekick style)', () => {
    const c = loadRelayConfig(SINKS, {
      env: {
        WEBHOOK_ADDRESS: 'http://h/',
        WEBHOOK_MAXCONCURRENTREQUESTS: '4',
        WEBHOOK_RULES: 'Terminal*, Write below*',
      },
    });
    expect(c.sinks.map((s) => s.def.name)).toEqual(['webhook']);
    expect(c.sinks[0]!.concurrency).toBe(4);
    expect(c.sinks[0]!.rules).toEqual(['Terminal*', 'Write below*']);
  });

  it('names the key and the value in errors', () => {
    expect(() => loadRelayConfig(SINKS, { env: { LISTENPORT: 'abc' } })).toThrow(
      /LISTENPORT \(listenport\): expected a number, got "abc"/,
    );
    expect(() => loadRelayConfig(SINKS, { yaml: { tlsserver: { deploy: 'maybe' } }, env: {} })).toThrow(
      /tlsserver.deploy: expected true or false/,
    );
    expect(() =>
      loadRelayConfig(SINKS, { yaml: { templatedfields: { x: '{{ index . "a" ' } }, env: {} }),
    ).toThrow(ConfigError);
    expect(() => loadRelayConfig(SINKS, { env: { WEBHOOK_CUSTOMHEADERS: 'novalue' } })).toThrow(
      /"novalue" is not a key:value pair/,
    );
    expect(() => parseDuration('delivery.maxage', 'soon')).toThrow(
      /delivery.maxage: "soon" is not a duration/,
    );
    expect(parseDuration('x', '250ms')).toBe(250);
    expect(parseDuration('x', '2m')).toBe(120_000);
  });

  it('warns about an unknown minimumpriority instead of silently dropping alerts', () => {
    const c = loadRelayConfig(SINKS, {
      env: { WEBHOOK_ADDRESS: 'http://h/', WEBHOOK_MINIMUMPRIORITY: 'loud' },
    });
    expect(c.sinks[0]!.minimumPriority).toBeUndefined();
    expect(c.warnings.join()).toMatch(/webhook.minimumpriority: unknown priority "loud"/);
  });
});

describe('template language', () => {
  const fields = { 'k8s.ns.name': 'prod', 'user.name': 'root', n: 3, empty: '' };
  it('supports the Go-template forms Falcosidekick users write', () => {
    expect(compileTemplate('{{ or (index . "k8s.ns.labels.foo") "bar" }}').render(fields)).toBe('bar');
    expect(compileTemplate('ns={{ index . "k8s.ns.name" }}').render(fields)).toBe('ns=prod');
    expect(
      compileTemplate('Rule: {{ .Rule }} Priority: {{ .Priority }}').render({ Rule: 'R', Priority: 'Debug' }),
    ).toBe('Rule: R Priority: Debug');
    expect(compileTemplate('{{ index .OutputFields "user.name" }}').render({ OutputFields: fields })).toBe(
      'root',
    );
  });
  it('has pipelines and a few safe functions', () => {
    expect(compileTemplate('{{ index . "user.name" | upper }}').render(fields)).toBe('ROOT');
    expect(compileTemplate('{{ index . "empty" | default "none" }}').render(fields)).toBe('none');
    expect(compileTemplate('{{ replace "o" "0" (index . "user.name") }}').render(fields)).toBe('r00t');
    expect(compileTemplate('{{ join "," .Tags }}').render({ Tags: ['a', 'b'] })).toBe('a,b');
    expect(() => compileTemplate('{{ upper }}')).toThrow(/upper takes 1 arguments, got 0/);
  });
  it('rejects anything else with a position', () => {
    expect(() => compileTemplate('{{ exec "rm" }}')).toThrow(/unknown function "exec"/);
    expect(() => compileTemplate('{{ .A ')).toThrow(TemplateError);
    expect(() => compileTemplate('{{ "abc }}')).toThrow(/unterminated string|unclosed/);
    // no prototype access
    expect(compileTemplate('{{ .constructor }}{{ index . "__proto__" }}').render({})).toBe('');
  });
  it('fuzz: random input never crashes other than with TemplateError', () => {
    const alphabet = ['{{', '}}', '.', 'index', 'or', '"', '(', ')', '|', ' ', 'a', '1', '`', '-'];
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    for (let i = 0; i < 3000; i++) {
      let s = '';
      for (let j = 0; j < 12; j++) s += alphabet[Math.floor(rnd() * alphabet.length)];
      try {
        compileTemplate(s).render(fields);
      } catch (e) {
        if (!(e instanceof TemplateError)) throw e;
      }
    }
  });
});
