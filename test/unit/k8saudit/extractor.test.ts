import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { K8S_AUDIT_FIELDS } from '../../../src/engine/fields/k8s_audit.js';
import { type AuditEvent, type JsonObject, toAuditEvent } from '../../../src/sources/k8saudit/event.js';
import {
  imageRepository,
  jsonPointer,
  K8SAUDIT_FIELD_SPECS,
  k8sAuditExtractor,
} from '../../../src/sources/k8saudit/extractor.js';
import { REFDATA, refdataAvailable } from '../../harness/refdata.js';

const ex = k8sAuditExtractor({ clusterName: 'prod-eu' });
function field(ev: AuditEvent, name: string, arg?: string) {
  const fn = ex.bind(name, arg);
  if (!fn) throw new Error(`cannot bind ${name}`);
  return fn(ev);
}
const have = refdataAvailable();
const sample = (rel: string): AuditEvent =>
  toAuditEvent(JSON.parse(readFileSync(join(REFDATA, 'k8saudit', rel), 'utf8')) as JsonObject);

describe('k8s_audit extractor: field table', () => {
  it('binds every ka.*, json.* and jevt.* field of the engine table', () => {
    const names = K8S_AUDIT_FIELDS.filter((f) => /^(ka|json|jevt)\./.test(f.name));
    expect(names.length).toBe(103);
    for (const f of names) {
      const arg = f.arg === 'required' ? (f.argKind === 'index' ? '0' : '/x') : undefined;
      expect(ex.bind(f.name, arg), f.name).toBeTypeOf('function');
    }
  });
  it('our own specs cover the same 97 ka.* fields as the engine table', () => {
    const ours = new Set(K8SAUDIT_FIELD_SPECS.map((f) => f.name));
    ours.add('ka.cluster.name');
    const ka = K8S_AUDIT_FIELDS.filter((f) => f.name.startsWith('ka.')).map((f) => f.name);
    expect(ka.length).toBe(97);
    expect(ours.size).toBe(103);
    for (const n of ka) expect(ours.has(n), n).toBe(true);
  });
  it('refuses fields it does not know', () => {
    expect(ex.bind('proc.name', undefined)).toBeUndefined();
    expect(ex.bind('ka.nope', undefined)).toBeUndefined();
  });
});

describe.runIf(have)('k8s_audit extractor on the reference samples', () => {
  it('scalar request fields', () => {
    const ev = sample('events/exec_pod.json');
    expect(field(ev, 'ka.verb')).toBe('create');
    expect(field(ev, 'ka.stage')).toBe('ResponseStarted');
    expect(field(ev, 'ka.target.resource')).toBe('pods');
    expect(field(ev, 'ka.target.subresource')).toBe('exec');
    expect(field(ev, 'ka.target.namespace')).toBe('default');
    expect(field(ev, 'ka.target.name')).toBe('nginx-deployment-7998647bdf-phvq7');
    expect(field(ev, 'ka.target.pod.name')).toBe('nginx-deployment-7998647bdf-phvq7');
    expect(field(ev, 'ka.uri.param', 'command')).toBe('bash');
    expect(field(ev, 'ka.uri.param', 'container')).toBe('nginx1');
    expect(field(ev, 'ka.uri.param', 'absent')).toBeUndefined();
    expect(field(ev, 'ka.response.code')).toBe('101');
    expect(field(ev, 'ka.auth.decision')).toBe('allow');
    expect(field(ev, 'ka.auth.reason')).toBe('');
    expect(field(ev, 'ka.sourceips')).toEqual(['192.168.99.1']);
    expect(field(ev, 'ka.sourceips', '1')).toBeUndefined();
    expect(field(ev, 'ka.useragent')).toBeUndefined(); // null in the sample
    expect(field(ev, 'ka.cluster.name')).toBe('prod-eu');
    expect(field(ev, 'ka.user.name')).toBe('minikube-user');
  });

  it('container lists, [index] and skipped missing values', () => {
    const ev = sample('events/create_nginx_pod_privileged_2nd_container.json');
    expect(field(ev, 'ka.req.pod.containers.image')).toEqual(['nginx', 'mysql:latest']);
    expect(field(ev, 'ka.req.pod.containers.image', '1')).toEqual(['mysql:latest']);
    expect(field(ev, 'ka.req.pod.containers.image', '2')).toBeUndefined();
    expect(field(ev, 'ka.req.pod.containers.image.repository')).toEqual(['nginx', 'mysql']);
    expect(field(ev, 'ka.req.pod.containers.privileged')).toEqual(['false', 'true']);
    expect(field(ev, 'ka.req.pod.containers.name')).toEqual(['nginx1', 'mysql']);
    expect(field(ev, 'ka.req.container.image')).toBe('nginx');
    expect(field(ev, 'ka.req.container.privileged')).toBe('true');
    expect(field(ev, 'ka.req.pod.initContainers.privileged')).toBeUndefined();
    expect(field(ev, 'ka.req.pod.containers.run_as_user')).toEqual([]);
    expect(field(ev, 'ka.req.pod.containers.eff_run_as_user')).toEqual(['0', '0']);
    expect(field(ev, 'ka.req.pod.host_network')).toBeUndefined();
  });

  it('effective uid combines pod and container security contexts', () => {
    const ev = sample('events-psp/run_as_user_1000_sec_ctx_30_container.json');
    expect(field(ev, 'ka.req.pod.run_as_user')).toBe('1000');
    expect(field(ev, 'ka.req.pod.containers.run_as_user')).toEqual(['30']);
    expect(field(ev, 'ka.req.pod.containers.eff_run_as_user')).toEqual(['30']);
    expect(field(ev, 'ka.req.pod.containers.proc_mount')).toEqual(['Default']);
    const ev2 = sample('events-psp/run_as_user_1000_sec_ctx.json');
    expect(field(ev2, 'ka.req.pod.containers.eff_run_as_user')).toEqual(['1000']);
  });

  it('host ports, capabilities, host network and volumes', () => {
    const hp = sample('events-psp/host_network_ports.json');
    expect(field(hp, 'ka.req.pod.containers.host_port')).toEqual(['1234']);
    expect(field(hp, 'ka.req.pod.host_network')).toBe('true');
    const cap = sample('events-psp/capability_add_sys_time.json');
    expect(field(cap, 'ka.req.pod.containers.add_capabilities')).toEqual(['SYS_TIME']);
    const mount = sample('events/create_nginx_pod_sensitive_mount.json');
    expect(field(mount, 'ka.req.pod.volumes.hostpath')).toEqual(['/etc']);
    expect(field(mount, 'ka.req.volume.hostpath', '/etc')).toBe('true');
    expect(field(mount, 'ka.req.volume.hostpath', '/e*')).toBe('true');
    expect(field(mount, 'ka.req.volume.hostpath', '/proc*')).toBe('false');
    expect(field(mount, 'ka.req.pod.volumes.volume_type')).toEqual(['hostPath']);
    expect(field(mount, 'jevt.value', '/requestObject/spec/volumes')).toBe(
      '[{"hostPath":{"path":"/etc","type":""},"name":"etc"}]',
    );
  });

  it('role rules and bindings', () => {
    const role = sample('events/create_cluster_role_wildcard_verbs.json');
    expect(field(role, 'ka.req.role.rules.verbs')).toContain('*');
    expect(field(role, 'ka.req.role.rules.resources', '0')).toEqual(['pods']);
    expect((field(role, 'ka.req.role.rules') as string[])[0]).toBe(
      '{"apiGroups":[""],"resources":["pods"],"verbs":["*"]}',
    );
    const bind = sample('events/attach_cluster_admin_role.json');
    expect(field(bind, 'ka.req.binding.role')).toBe('cluster-admin');
    expect(field(bind, 'ka.req.binding.subjects.user_names')).toEqual(['minikube']);
    expect(field(bind, 'ka.req.binding.subjects.group_names')).toEqual([]);
    expect(field(bind, 'ka.req.binding.subject.has_name', 'cluster-admin')).toBe('true');
    const svc = sample('events/create_nginx_service_nodeport.json');
    expect(field(svc, 'ka.req.service.type')).toBe('NodePort');
    expect(field(svc, 'ka.req.service.ports')).toEqual([
      '{"nodePort":30080,"port":80,"protocol":"TCP","targetPort":80}',
    ]);
  });

  it('json/jevt fields and the event time', () => {
    const ev = sample('events/create_nginx_pod_unprivileged.json');
    expect(field(ev, 'jevt.value', '/stage')).toBe('ResponseComplete');
    expect(field(ev, 'json.value', '/annotations/authorization.k8s.io~1decision')).toBe('allow');
    expect(field(ev, 'jevt.value', '/a~1~0b')).toBeUndefined();
    expect(JSON.parse(field(ev, 'jevt.obj') as string)).toEqual(ev.obj);
    expect(field(ev, 'jevt.rawtime')).toBe(ev.timeNs.toString());
    expect(ex.timeNs(ev)).toBeGreaterThan(1_500_000_000_000_000_000n);
  });

  it('an object without auditID has no ka.* value', () => {
    const ev = toAuditEvent({ kind: 'Event', verb: 'create' });
    expect(field(ev, 'ka.verb')).toBeUndefined();
    expect(field(ev, 'ka.req.binding.subject.has_name', 'x')).toBeUndefined();
    expect(field(ev, 'jevt.value', '/verb')).toBe('create');
  });
});

describe('helpers', () => {
  it('imageRepository strips tag and digest but keeps registry ports', () => {
    expect(imageRepository('nginx')).toBe('nginx');
    expect(imageRepository('nginx:1.25')).toBe('nginx');
    expect(imageRepository('reg.example.com:5000/team/app:v1')).toBe('reg.example.com:5000/team/app');
    expect(imageRepository('ghcr.io/a/b@sha256:abcd')).toBe('ghcr.io/a/b');
    expect(imageRepository('ghcr.io/a/b:v2@sha256:abcd')).toBe('ghcr.io/a/b');
  });
  it('jsonPointer follows RFC 6901', () => {
    const doc = { a: [{ 'b/c': 1, 'd~e': 2 }], '': 3 };
    expect(jsonPointer(doc, '/a/0/b~1c')).toBe(1);
    expect(jsonPointer(doc, '/a/0/d~0e')).toBe(2);
    expect(jsonPointer(doc, '/')).toBe(3);
    expect(jsonPointer(doc, '/a/01')).toBeUndefined();
    expect(jsonPointer(doc, 'a')).toBeUndefined();
    expect(jsonPointer(doc, '/a/5')).toBeUndefined();
    expect(jsonPointer(doc, '/constructor')).toBeUndefined();
  });
});
