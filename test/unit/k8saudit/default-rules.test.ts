/**
 * Our default rules (rules/k8s_audit_rules.yaml): for every rule one audit event
 * that must raise it and one close variant that must not. Events are written here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createEngine } from '../../../src/engine/index.js';
import { type JsonObject, toAuditEvent } from '../../../src/sources/k8saudit/event.js';
import { k8sAuditExtractor } from '../../../src/sources/k8saudit/extractor.js';

const RULES = new URL('../../../rules/k8s_audit_rules.yaml', import.meta.url).pathname;
const text = readFileSync(RULES, 'utf8');
const engine = createEngine({ extractors: [k8sAuditExtractor()], ruleMatching: 'all', hostname: 't' });
const loaded = engine.load([{ name: RULES, content: text }]);

let seq = 0;
type O = Record<string, unknown>;
function audit(o: O): JsonObject {
  seq++;
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'RequestResponse',
    auditID: `0d7c3a5e-0000-4000-8000-${String(seq).padStart(12, '0')}`,
    stage: 'ResponseComplete',
    requestURI: '/api/v1/namespaces/default/pods',
    verb: 'create',
    user: { username: 'alice@example.com', groups: ['developers', 'system:authenticated'] },
    sourceIPs: ['10.20.0.7'],
    userAgent: 'kubectl/v1.30.2 (linux/amd64) kubernetes/abc1234',
    objectRef: { resource: 'pods', namespace: 'default', apiVersion: 'v1' },
    responseStatus: { metadata: {}, code: 201 },
    requestReceivedTimestamp: '2025-06-02T10:00:00.000000Z',
    stageTimestamp: '2025-06-02T10:00:00.012345Z',
    annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': 'RBAC: allowed' },
    ...o,
  } as JsonObject;
}
function pod(spec: O, over: O = {}, ns = 'default'): JsonObject {
  return audit({
    requestURI: `/api/v1/namespaces/${ns}/pods`,
    objectRef: { resource: 'pods', namespace: ns, apiVersion: 'v1' },
    requestObject: { kind: 'Pod', apiVersion: 'v1', metadata: { name: 'web-1', namespace: ns }, spec },
    responseObject: { kind: 'Pod', apiVersion: 'v1', metadata: { name: 'web-1', namespace: ns } },
    ...over,
  });
}
const ok = { image: 'registry.k8s.io/pause:3.9', name: 'app' };
const subres = (sub: string, verb: string, stage: string, over: O = {}) =>
  audit({
    verb,
    stage,
    requestURI: `/api/v1/namespaces/shop/pods/web-1/${sub}?command=sh&container=app&ports=5432`,
    objectRef: { resource: 'pods', namespace: 'shop', name: 'web-1', subresource: sub, apiVersion: 'v1' },
    responseStatus: { metadata: {}, code: stage === 'ResponseStarted' ? 101 : 200 },
    ...over,
  });
const role = (rules: O[], resource = 'clusterroles') =>
  audit({
    requestURI: `/apis/rbac.authorization.k8s.io/v1/${resource}`,
    objectRef: { resource, name: 'helper', apiGroup: 'rbac.authorization.k8s.io', apiVersion: 'v1' },
    requestObject: { kind: 'ClusterRole', metadata: { name: 'helper' }, rules },
  });
const binding = (roleName: string) =>
  audit({
    requestURI: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
    objectRef: { resource: 'clusterrolebindings', name: 'ops', apiGroup: 'rbac.authorization.k8s.io' },
    requestObject: {
      kind: 'ClusterRoleBinding',
      metadata: { name: 'ops' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName },
      subjects: [
        { kind: 'User', name: 'bob@example.com' },
        { kind: 'ServiceAccount', name: 'ci', namespace: 'build' },
      ],
    },
  });
const secretGet = (username: string) =>
  audit({
    verb: 'get',
    requestURI: '/api/v1/namespaces/shop/secrets/db-password',
    user: { username, groups: ['system:authenticated'] },
    objectRef: { resource: 'secrets', namespace: 'shop', name: 'db-password', apiVersion: 'v1' },
    responseStatus: { metadata: {}, code: 200 },
  });
const anon = (uri: string) =>
  audit({
    verb: 'get',
    requestURI: uri,
    user: { username: 'system:anonymous', groups: ['system:unauthenticated'] },
    objectRef: { resource: 'secrets', namespace: 'default', apiVersion: 'v1' },
    responseStatus: { metadata: {}, code: 200 },
  });
const service = (type: string) =>
  audit({
    requestURI: '/api/v1/namespaces/shop/services',
    objectRef: { resource: 'services', namespace: 'shop', name: 'web', apiVersion: 'v1' },
    requestObject: {
      kind: 'Service',
      metadata: { name: 'web' },
      spec: { type, ports: [{ port: 80, nodePort: 30080 }] },
    },
  });
const deployment = (ns: string, username: string) =>
  audit({
    requestURI: `/apis/apps/v1/namespaces/${ns}/deployments`,
    user: { username, groups: ['system:authenticated'] },
    objectRef: { resource: 'deployments', namespace: ns, apiGroup: 'apps', apiVersion: 'v1' },
    requestObject: {
      kind: 'Deployment',
      metadata: { name: 'metrics-helper', namespace: ns },
      spec: { template: { spec: { containers: [{ name: 'm', image: 'docker.io/someone/helper:1' }] } } },
    },
    responseObject: { kind: 'Deployment', metadata: { name: 'metrics-helper', namespace: ns } },
  });
const token = (username: string) =>
  audit({
    requestURI: '/api/v1/namespaces/build/serviceaccounts/ci/token',
    user: { username, groups: ['system:authenticated'] },
    objectRef: {
      resource: 'serviceaccounts',
      namespace: 'build',
      name: 'ci',
      subresource: 'token',
      apiVersion: 'v1',
    },
  });

const CASES: Record<string, { positive: JsonObject; negative: JsonObject }> = {
  'Pod Image Outside Allow-List': {
    positive: pod({ containers: [ok, { name: 'side', image: 'docker.io/evil/miner:latest' }] }),
    negative: pod({ containers: [ok, { name: 'falco', image: 'docker.io/falcosecurity/falco:0.39.0' }] }),
  },
  'Privileged Pod Created': {
    positive: pod({
      containers: [ok],
      initContainers: [{ name: 'init', image: ok.image, securityContext: { privileged: true } }],
    }),
    negative: pod({ containers: [{ ...ok, securityContext: { privileged: false } }] }),
  },
  'Exec or Attach Into Pod': {
    positive: subres('exec', 'create', 'ResponseStarted'),
    negative: subres('log', 'get', 'ResponseComplete'),
  },
  'Namespace Created': {
    positive: audit({
      requestURI: '/api/v1/namespaces',
      objectRef: { resource: 'namespaces', name: 'crypto', apiVersion: 'v1' },
      requestObject: { kind: 'Namespace', metadata: { name: 'crypto' } },
    }),
    negative: audit({
      verb: 'delete',
      requestURI: '/api/v1/namespaces/crypto',
      objectRef: { resource: 'namespaces', name: 'crypto', apiVersion: 'v1' },
      responseStatus: { metadata: {}, code: 200 },
    }),
  },
  'Pod With HostPath Volume': {
    positive: pod({
      containers: [ok],
      volumes: [{ name: 'data', hostPath: { path: '/data/app', type: '' } }],
    }),
    negative: pod({ containers: [ok], volumes: [{ name: 'tmp', emptyDir: {} }] }),
  },
  'Pod Mounts Sensitive Host Path': {
    positive: pod({
      containers: [ok],
      volumes: [{ name: 'sock', hostPath: { path: '/var/run/docker.sock' } }],
    }),
    negative: pod({ containers: [ok], volumes: [{ name: 'data', hostPath: { path: '/data/app' } }] }),
  },
  'Pod Uses Host Network': {
    positive: pod({ containers: [ok], hostNetwork: true }),
    negative: pod({ containers: [ok], hostNetwork: false }),
  },
  'Pod Uses Host PID': {
    positive: pod({ containers: [ok], hostPID: true }),
    negative: pod({ containers: [ok] }),
  },
  'Pod Uses Host IPC': {
    positive: pod({ containers: [ok], hostIPC: true }),
    negative: pod({ containers: [ok], hostIPC: false }),
  },
  'Pod Adds Dangerous Capabilities': {
    positive: pod({
      containers: [{ ...ok, securityContext: { capabilities: { add: ['NET_BIND_SERVICE', 'SYS_ADMIN'] } } }],
    }),
    negative: pod({
      containers: [{ ...ok, securityContext: { capabilities: { add: ['NET_BIND_SERVICE'] } } }],
    }),
  },
  'ClusterRole With Wildcard Permissions': {
    positive: role([{ apiGroups: [''], resources: ['pods'], verbs: ['*'] }]),
    negative: role([{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }]),
  },
  'Binding To cluster-admin': { positive: binding('cluster-admin'), negative: binding('view') },
  'Secret Read By Non-System User': {
    positive: secretGet('alice@example.com'),
    negative: secretGet('system:serviceaccount:shop:api'),
  },
  'Anonymous Request Allowed': {
    positive: anon('/api/v1/namespaces/default/secrets'),
    negative: anon('/healthz'),
  },
  'NodePort Service Created': { positive: service('NodePort'), negative: service('ClusterIP') },
  'Workload Created In System Namespace': {
    positive: deployment('kube-system', 'alice@example.com'),
    negative: deployment('kube-system', 'system:serviceaccount:kube-system:deployment-controller'),
  },
  'Service Account Token Created': {
    positive: token('alice@example.com'),
    negative: token('system:kube-controller-manager'),
  },
  'Port-Forward Into Pod': {
    positive: subres('portforward', 'create', 'ResponseStarted'),
    negative: subres('proxy', 'get', 'ResponseStarted'),
  },
  'Ephemeral Container Added To Pod': {
    positive: subres('ephemeralcontainers', 'patch', 'ResponseComplete', {
      requestObject: { kind: 'Pod', spec: { ephemeralContainers: [{ name: 'debug', image: 'busybox' }] } },
    }),
    negative: subres('status', 'patch', 'ResponseComplete'),
  },
  'Role Grants Pod Exec': {
    positive: role([{ apiGroups: [''], resources: ['pods', 'pods/exec'], verbs: ['create'] }], 'roles'),
    negative: role([{ apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get'] }], 'roles'),
  },
};

function fired(obj: JsonObject): string[] {
  const ev = toAuditEvent(obj);
  return engine.process('k8s_audit', ev).map((m) => m.rule.name);
}

describe('default k8s audit rules', () => {
  it('load without errors or warnings', () => {
    expect(loaded.toText(true).trim()).toBe(`${RULES}: Ok`);
  });

  const items = parseYaml(text) as Array<Record<string, unknown>>;
  const rules = items.filter((i) => 'rule' in i);

  it('has the four seed rules and at least 12 more, each fully described', () => {
    expect(rules.length).toBeGreaterThanOrEqual(16);
    for (const seed of [
      'Pod Image Outside Allow-List',
      'Privileged Pod Created',
      'Exec or Attach Into Pod',
      'Namespace Created',
    ])
      expect(rules.map((r) => r.rule)).toContain(seed);
    for (const r of rules) {
      const name = String(r.rule);
      expect(String(r.desc ?? '').length, name).toBeGreaterThan(20);
      expect(r.priority, name).toMatch(/^(CRITICAL|ERROR|WARNING|NOTICE|INFO)$/);
      expect(r.source, name).toBe('k8s_audit');
      const tags = r.tags as string[];
      expect(
        tags.some((t) => /^T\d{4}(\.\d{3})?$/.test(t)),
        `${name} has a MITRE technique`,
      ).toBe(true);
      expect(
        tags.some((t) => t.startsWith('mitre_')),
        `${name} has a MITRE tactic`,
      ).toBe(true);
      for (const f of ['%ka.user.name', '%ka.verb', '%ka.target.resource', '%ka.target.namespace'])
        expect(String(r.output), `${name} output names ${f}`).toContain(f);
    }
    expect(items.some((i) => i.list === 'allowed_images')).toBe(true);
  });

  it('every rule has a positive and a negative event here', () => {
    expect(Object.keys(CASES).sort()).toEqual(rules.map((r) => String(r.rule)).sort());
  });

  for (const [rule, c] of Object.entries(CASES)) {
    it(`${rule}: fires on the positive event, not on the negative one`, () => {
      expect(fired(c.positive)).toContain(rule);
      expect(fired(c.negative)).not.toContain(rule);
    });
  }

  it('allowed_images prefixes match whole path components', () => {
    const img = (image: string) => fired(pod({ containers: [{ name: 'a', image }] }));
    expect(img('registry.k8s.io/coredns/coredns:v1.11.1')).not.toContain('Pod Image Outside Allow-List');
    expect(img('registry.k8s.io.evil.example/coredns:v1')).toContain('Pod Image Outside Allow-List');
    expect(img('gcr.io/k8s-staging-fake/x:1')).toContain('Pod Image Outside Allow-List');
    expect(img('nginx:1.27')).toContain('Pod Image Outside Allow-List');
  });

  it('users extend allowed_images from their own file', () => {
    const e = createEngine({ extractors: [k8sAuditExtractor()], ruleMatching: 'all' });
    const res = e.load([
      { name: RULES, content: text },
      {
        name: 'local.yaml',
        content: '- list: allowed_images\n  items: [docker.io/library, nginx]\n  append: true\n',
      },
    ]);
    expect(res.successful).toBe(true);
    const ev = toAuditEvent(pod({ containers: [{ name: 'a', image: 'nginx:1.27' }] }));
    expect(e.process('k8s_audit', ev).map((m) => m.rule.name)).not.toContain('Pod Image Outside Allow-List');
  });

  it('alert output names the offending value', () => {
    const ev = toAuditEvent(CASES['Pod Mounts Sensitive Host Path']!.positive);
    const m = engine.process('k8s_audit', ev).find((x) => x.rule.name === 'Pod Mounts Sensitive Host Path')!;
    const a = engine.toAlert(m, ev);
    expect(a.output).toContain('user=alice@example.com verb=create resource=pods ns=default pod=web-1');
    expect(a.output).toContain('paths=(/var/run/docker.sock)');
    expect(a.priority).toBe('Critical');
    expect(a.output_fields['ka.req.pod.volumes.hostpath']).toEqual(['/var/run/docker.sock']);
  });

  it('the extension examples of docs/rules.md load after the defaults', () => {
    const doc = readFileSync(new URL('../../../docs/rules.md', import.meta.url), 'utf8');
    // the section about extending and overriding the k8s audit rules
    const start = doc.indexOf('## Extending and overriding');
    const end = doc.indexOf('\n## ', start + 1);
    const md = doc.slice(start, end < 0 ? undefined : end);
    const blocks = [...md.matchAll(/```yaml\n([\s\S]*?)```/g)]
      .map((m) => m[1]!)
      .filter((b) => b.startsWith('- '));
    expect(blocks.length).toBe(4);
    const e = createEngine({ extractors: [k8sAuditExtractor()], ruleMatching: 'all' });
    const res = e.load([
      { name: RULES, content: text },
      ...blocks.map((b, i) => ({ name: `docs-example-${i}.yaml`, content: b })),
    ]);
    expect(res.toText(), res.toText()).not.toMatch(/Error/);
    expect(res.successful).toBe(true);
    expect(e.rules().find((r) => r.name === 'Namespace Created')?.enabled).toBe(false);
    expect(e.rules().find((r) => r.name === 'NodePort Service Created')?.priority).toBe('Warning');
  });
});
