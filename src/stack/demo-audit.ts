/**
 * A small Kubernetes audit EventList for `peregrine up --demo`: a privileged pod
 * with an image outside the allow-list, a shell exec into a pod and a new
 * namespace, so the audit path shows alerts on machines without the syscall source.
 */
export function demoAuditEvents(now = new Date()): Record<string, unknown> {
  const t = now.toISOString().replace('Z', '000Z');
  let n = 0;
  const base = (o: Record<string, unknown>) => ({
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'RequestResponse',
    auditID: `de30de30-0000-4000-8000-${String(now.getTime() % 1e9).padStart(9, '0')}${String(++n).padStart(3, '0')}`,
    stage: 'ResponseComplete',
    verb: 'create',
    user: { username: 'demo-user@example.com', groups: ['system:authenticated'] },
    sourceIPs: ['127.0.0.1'],
    userAgent: 'peregrine-demo',
    responseStatus: { metadata: {}, code: 201 },
    requestReceivedTimestamp: t,
    stageTimestamp: t,
    annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': 'demo' },
    ...o,
  });
  const items = [
    base({
      requestURI: '/api/v1/namespaces/demo/pods',
      objectRef: { resource: 'pods', namespace: 'demo', apiVersion: 'v1' },
      requestObject: {
        kind: 'Pod',
        apiVersion: 'v1',
        metadata: { name: 'demo-miner', namespace: 'demo' },
        spec: {
          containers: [
            { name: 'main', image: 'docker.io/example/miner:latest', securityContext: { privileged: true } },
          ],
        },
      },
      responseObject: { kind: 'Pod', apiVersion: 'v1', metadata: { name: 'demo-miner', namespace: 'demo' } },
    }),
    base({
      stage: 'ResponseStarted',
      requestURI: '/api/v1/namespaces/demo/pods/web-1/exec?command=sh&container=app&stdin=true&tty=true',
      objectRef: {
        resource: 'pods',
        namespace: 'demo',
        name: 'web-1',
        subresource: 'exec',
        apiVersion: 'v1',
      },
      responseStatus: { metadata: {}, code: 101 },
    }),
    base({
      requestURI: '/api/v1/namespaces',
      objectRef: { resource: 'namespaces', name: 'demo-playground', apiVersion: 'v1' },
      requestObject: { kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'demo-playground' } },
    }),
  ];
  return { kind: 'EventList', apiVersion: 'audit.k8s.io/v1', metadata: {}, items };
}
