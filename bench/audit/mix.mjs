// The audit event mix of the benchmark (written for it): 40 % configmap reads, 10 % endpoint watches,
// 25 % pod creates (~3 KB, one with an unknown image), 10 % secret reads, a namespace, an exec, a patch.
import { readFileSync } from 'node:fs';

// ---- a realistic mix of audit events (written for this benchmark) ----
export const seed = JSON.parse(readFileSync(new URL('./seed-event.json', import.meta.url), 'utf8'));
let id = 0;
const uid = () => `b3f1c2d4-0000-4000-8000-${String(++id).padStart(12, '0')}`;
const meta = (verb, resource, ns, name, user = 'system:serviceaccount:kube-system:generic-garbage-collector', code = 200) => ({
  kind: 'Event', apiVersion: 'audit.k8s.io/v1', level: 'Metadata', auditID: uid(), stage: 'ResponseComplete',
  requestURI: `/api/v1/namespaces/${ns}/${resource}${name ? `/${name}` : ''}`, verb,
  user: { username: user, groups: ['system:authenticated'] }, sourceIPs: ['10.0.0.3'],
  userAgent: 'kube-controller-manager/v1.30.2', objectRef: { resource, namespace: ns, name, apiVersion: 'v1' },
  responseStatus: { metadata: {}, code }, requestReceivedTimestamp: '2025-06-02T10:00:00.000000Z',
  stageTimestamp: '2025-06-02T10:00:00.001000Z',
  annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': 'RBAC: allowed' },
});
function mix(i) {
  const k = i % 20;
  if (k < 8) return meta(k % 2 ? 'list' : 'get', 'configmaps', 'shop', k % 2 ? undefined : 'web-config');
  if (k < 10) return meta('watch', 'endpoints', 'default', undefined, 'system:kube-proxy');
  if (k < 15) {
    const e = structuredClone(seed);
    e.auditID = uid();
    if (k === 14) e.requestObject.spec.containers[0].image = 'docker.io/someone/tool:latest';
    return e;
  }
  if (k < 17) return meta('get', 'secrets', 'shop', 'db-password', k === 15 ? 'alice@example.com' : 'system:serviceaccount:shop:api');
  if (k === 17) return { ...meta('create', 'namespaces', '', 'team-x', 'alice@example.com', 201), objectRef: { resource: 'namespaces', name: 'team-x', apiVersion: 'v1' } };
  if (k === 18) {
    const e = meta('create', 'pods', 'shop', 'web-1', 'alice@example.com', 101);
    e.stage = 'ResponseStarted';
    e.objectRef.subresource = 'exec';
    e.requestURI += '/exec?command=sh&container=web';
    return e;
  }
  return meta('patch', 'deployments', 'shop', 'web', 'system:serviceaccount:argocd:argocd-application-controller');
}
/** 50 EventList bodies of `batch` events each, cycling through the mix. */
export function makeBodies(batch) {
  const N_BODIES = 50;
  const bodies = Array.from({ length: N_BODIES }, (_, b) =>
    Buffer.from(JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', metadata: {}, items: Array.from({ length: batch }, (_, i) => mix(b * batch + i)) })),
  );
  const avgBytes = Math.round(bodies.reduce((n, x) => n + x.length, 0) / bodies.length / batch);
  return { bodies, N_BODIES, avgBytes, seed };
}

