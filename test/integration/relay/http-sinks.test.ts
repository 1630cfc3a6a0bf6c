/**
 * Every HTTP sink against a local receiver: the request each one makes has the shape its public API
 * documents (path, method, auth header, body fields).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post, type Received, startReceiver, startRelay, until } from './helpers.js';

const ALERT = {
  output: '01:10:00.000000000: Critical Shell spawned in a container (user=root shell=bash)',
  priority: 'Critical',
  rule: 'Terminal shell in container',
  time: '2001-01-01T01:10:00.123456789Z',
  source: 'syscall',
  output_fields: {
    'proc.name': 'bash',
    'user.name': 'root',
    'proc.tty': 34816,
    'k8s.ns.name': 'prod',
    'container.id': 'c0ffee',
  },
  tags: ['shell', 'mitre_execution'],
  hostname: 'node-7',
};

describe('HTTP sinks: request shapes', () => {
  let recv: Awaited<ReturnType<typeof startReceiver>>;
  let relay: Awaited<ReturnType<typeof startRelay>>;
  let uuid = '';
  const at = (path: string): Received => {
    const r = recv.received.find((x) => x.url.startsWith(path));
    if (!r) throw new Error(`nothing received at ${path}`);
    return r;
  };
  const json = (path: string) => JSON.parse(at(path).body);

  beforeAll(async () => {
    recv = await startReceiver((r) =>
      r.url.startsWith('/es/')
        ? { status: 200, body: JSON.stringify({ errors: false, items: [{ create: { status: 201 } }] }) }
        : { status: 200 },
    );
    const u = recv.url;
    relay = await startRelay({
      webhook: { address: `${u}/hook`, method: 'PUT' },
      slack: {
        webhookurl: `${u}/slack`,
        channel: '#sec',
        messageformat: 'Rule: {{ .Rule }} on {{ .Hostname }}',
        icon: 'https://x/i.png',
      },
      rocketchat: { webhookurl: `${u}/rocket`, outputformat: 'text' },
      mattermost: { webhookurl: `${u}/mm`, footer: 'peregrine' },
      teams: { webhookurl: `${u}/teams` },
      discord: { webhookurl: `${u}/discord` },
      googlechat: { webhookurl: `${u}/gchat` },
      pagerduty: { routingkey: 'rk-123', endpoint: `${u}/pd/v2/enqueue` },
      opsgenie: { apikey: 'og-key', endpoint: `${u}/og/v2/alerts` },
      datadog: { apikey: 'dd-key', host: `${u}/dd` },
      influxdb: { hostport: `${u}/influx`, token: 'itok', organization: 'sec', bucket: 'falco' },
      loki: { hostport: `${u}/loki`, tenant: 'team-a', format: 'json' },
      elasticsearch: { hostport: `${u}/es`, apikey: 'es-key' },
      alertmanager: { hostport: `${u}/am`, extralabels: { cluster: 'eu-1' }, expiresafter: 60 },
      cloudevents: { address: `${u}/ce`, extensions: { tenant: 'a' } },
      console: { url: `${u}/console`, token: 'ingest-token' },
      webui: { url: `${u}/ui`, minimumpriority: 'emergency' },
    });
    const res = await post(relay.url, ALERT);
    expect(res.status).toBe(200);
    uuid = res.headers.get('x-peregrine-uuid')!;
    const paths = [
      '/hook',
      '/slack',
      '/rocket',
      '/mm',
      '/teams',
      '/discord',
      '/gchat',
      '/pd',
      '/og',
      '/dd',
      '/influx',
      '/loki',
      '/es',
      '/am',
      '/ce',
      '/console',
      '/ui',
    ];
    await until(
      () => paths.every((p) => recv.received.some((x) => x.url.startsWith(p))),
      10_000,
      'every sink',
    );
  });
  afterAll(async () => {
    await relay.stop();
    await recv.close();
  });

  it('webhook: the payload in Falcosidekick key order, with the configured method', () => {
    const r = at('/hook');
    expect(r.method).toBe('PUT');
    expect(JSON.parse(r.body)).toMatchObject({
      uuid,
      rule: ALERT.rule,
      priority: 'Critical',
      hostname: 'node-7',
    });
  });

  it('slack: attachments with colour, fields, time and the rendered messageformat', () => {
    const b = json('/slack');
    expect(b.text).toBe('Rule: Terminal shell in container on node-7');
    expect(b.channel).toBe('#sec');
    expect(b.username).toBe('Falcosidekick');
    expect(b.icon_url).toBe('https://x/i.png');
    const att = b.attachments[0];
    expect(att.color).toBe('#ff5400');
    expect(att.fallback).toBe(ALERT.output);
    expect(att.text).toBe(ALERT.output);
    const titles = att.fields.map((f: { title: string }) => f.title);
    expect(titles).toEqual([
      'rule',
      'priority',
      'source',
      'hostname',
      'tags',
      'container.id',
      'k8s.ns.name',
      'proc.name',
      'user.name',
      'time',
    ]);
    expect(att.fields.find((f: { title: string }) => f.title === 'time')).toEqual({
      title: 'time',
      value: '2001-01-01 01:10:00.123456789 +0000 UTC',
      short: false,
    });
    expect(att.fields.find((f: { title: string }) => f.title === 'tags').value).toBe(
      'mitre_execution, shell',
    );
  });

  it('rocketchat (text only) and mattermost (footer) use the Slack shape', () => {
    const rc = json('/rocket');
    expect(rc.attachments[0].text).toBe(ALERT.output);
    expect(rc.attachments[0].fields).toBeUndefined();
    const mm = json('/mm');
    expect(mm.attachments[0].footer).toBe('peregrine');
    expect(mm.attachments[0].fields.length).toBeGreaterThan(3);
  });

  it('teams: a MessageCard', () => {
    const b = json('/teams');
    expect(b['@type']).toBe('MessageCard');
    expect(b.themeColor).toBe('ff9000');
    expect(b.summary).toBe(ALERT.output);
    expect(b.sections[0].text).toBe(ALERT.output);
    expect(b.sections[0].facts[0]).toEqual({ name: 'rule', value: ALERT.rule });
  });

  it('discord: an embed with an integer colour and inline fields', () => {
    const b = json('/discord');
    expect(b.embeds[0].description).toBe(ALERT.output);
    expect(b.embeds[0].color).toBe(0xff5400);
    expect(b.embeds[0].fields[0]).toEqual({ name: 'rule', value: ALERT.rule, inline: true });
    expect(b.embeds[0].fields.find((f: { name: string }) => f.name === 'proc.name').value).toBe('```bash```');
  });

  it('googlechat: text and a cardsV2 card', () => {
    const b = json('/gchat');
    expect(b.text).toBe(ALERT.output);
    expect(b.cardsV2[0].card.header).toEqual({ title: ALERT.rule, subtitle: 'Critical' });
    expect(b.cardsV2[0].card.sections[0].widgets[0]).toEqual({
      decoratedText: { topLabel: 'rule', text: ALERT.rule },
    });
  });

  it('pagerduty: Events API v2 trigger with routing key, severity and dedup_key', () => {
    const r = at('/pd/v2/enqueue');
    const b = JSON.parse(r.body);
    expect(b).toMatchObject({ routing_key: 'rk-123', event_action: 'trigger', dedup_key: uuid });
    expect(b.payload).toMatchObject({
      summary: ALERT.output,
      severity: 'critical',
      timestamp: ALERT.time,
      source: 'node-7',
    });
    expect(b.payload.custom_details['proc.name']).toBe('bash');
  });

  it('opsgenie: GenieKey auth, message ≤ 130 chars, P2 for Critical', () => {
    const r = at('/og/v2/alerts');
    expect(r.headers.authorization).toBe('GenieKey og-key');
    const b = JSON.parse(r.body);
    expect(b.message.length).toBeLessThanOrEqual(130);
    expect(b).toMatchObject({ description: ALERT.rule, priority: 'P2', alias: uuid });
    expect(b.details).toMatchObject({ proc_name: 'bash', rule: ALERT.rule, hostname: 'node-7' });
  });

  it('datadog: /api/v1/events with DD-API-KEY', () => {
    const r = at('/dd/api/v1/events');
    expect(r.headers['dd-api-key']).toBe('dd-key');
    expect(JSON.parse(r.body)).toEqual({
      title: ALERT.rule,
      text: ALERT.output,
      alert_type: 'error',
      source_type_name: 'falco',
      tags: [
        'container.id:c0ffee',
        'k8s.ns.name:prod',
        'proc.name:bash',
        'user.name:root',
        'source:syscall',
        'source:falco',
        'hostname:node-7',
        'mitre_execution',
        'shell',
      ],
    });
  });

  it('influxdb: v2 write with token, escaped line protocol and a timestamp', () => {
    const r = at('/influx/api/v2/write');
    expect(r.url).toBe('/influx/api/v2/write?org=sec&bucket=falco&precision=ns');
    expect(r.headers.authorization).toBe('Token itok');
    expect(r.body).toBe(
      `events,rule=Terminal\\ shell\\ in\\ container,priority=Critical,source=syscall,container.id=c0ffee,k8s.ns.name=prod,proc.name=bash,user.name=root,hostname=node-7,tags=mitre_execution_shell value="${ALERT.output}",uuid="${uuid}" 978311400123456789`,
    );
  });

  it('loki: push API with tenant header, labels and [ns, line] values', () => {
    const r = at('/loki/loki/api/v1/push');
    expect(r.headers['x-scope-orgid']).toBe('team-a');
    const b = JSON.parse(r.body);
    expect(b.streams[0].stream).toEqual({
      rule: ALERT.rule,
      source: 'syscall',
      priority: 'Critical',
      k8s_ns_name: 'prod',
      hostname: 'node-7',
      tags: 'mitre_execution,shell',
    });
    expect(b.streams[0].values[0][0]).toBe('978311400123456789');
    expect(JSON.parse(b.streams[0].values[0][1]).uuid).toBe(uuid);
  });

  it('elasticsearch: _bulk NDJSON, create with _id = uuid, daily index, APIKey auth', () => {
    const r = at('/es/_bulk');
    expect(r.headers['content-type']).toBe('application/x-ndjson');
    expect(r.headers.authorization).toBe('APIKey es-key');
    const [action, doc] = r.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(action).toEqual({ create: { _index: 'falco-2001.01.01', _id: uuid } });
    expect(doc['@timestamp']).toBe(ALERT.time);
    expect(doc.rule).toBe(ALERT.rule);
  });

  it('alertmanager: an array of alerts with labels, annotations, endsAt and extra labels', () => {
    const r = at('/am/api/v2/alerts');
    const [a] = JSON.parse(r.body);
    expect(a.labels).toMatchObject({
      alertname: ALERT.rule,
      rule: ALERT.rule,
      priority: 'Critical',
      severity: 'critical',
      source: 'falco',
      eventsource: 'syscall',
      proc_name: 'bash',
      proc_tty: '34816',
      cluster: 'eu-1',
      tags: 'mitre_execution,shell',
    });
    expect(a.annotations).toEqual({ info: ALERT.output, description: ALERT.output, summary: ALERT.rule });
    expect(a.endsAt).toBe('2001-01-01T01:11:00.123Z');
  });

  it('cloudevents: binary mode headers and the payload as body', () => {
    const r = at('/ce');
    expect(r.headers).toMatchObject({
      'ce-specversion': '1.0',
      'ce-id': uuid,
      'ce-type': 'falco.rule.output.v1',
      'ce-source': 'https://falco.org',
      'ce-rule': ALERT.rule,
      'ce-priority': 'Critical',
      'ce-tenant': 'a',
      'content-type': 'application/json',
    });
    expect(JSON.parse(r.body).uuid).toBe(uuid);
  });

  it('console: bearer token, JSON array of Falco alerts at /api/v2/events', () => {
    const r = at('/console/api/v2/events');
    expect(r.headers.authorization).toBe('Bearer ingest-token');
    const arr = JSON.parse(r.body);
    expect(Array.isArray(arr)).toBe(true);
    expect(arr[0]).toMatchObject({ uuid, rule: ALERT.rule, output_fields: ALERT.output_fields });
    expect(Object.keys(arr[0])).toEqual([...Object.keys(arr[0])].sort());
  });

  it('webui: {event, outputs} at /api/v1/events/add, ignoring minimumpriority', () => {
    const b = json('/ui/api/v1/events/add');
    expect(b.event.uuid).toBe(uuid);
    expect(b.outputs).toContain('Slack');
    expect(b.outputs).toContain('AlertManager');
    expect(b.outputs).toContain('WebUI');
  });
});
