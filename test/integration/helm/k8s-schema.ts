/**
 * A small, strict structural schema of the Kubernetes kinds peregrine's chart renders, plus the
 * cross-object rules `kubectl apply` or the cluster would enforce (selectors, named ports, volume
 * references). The real OpenAPI schemas can't be fetched on the build machine, so the schema below
 * covers exactly the fields the chart uses, with their types; an unknown field is an error (as with
 * kubectl's strict field validation), so a typo such as `readOnlyRootFileSystem` fails.
 */

export type Obj = Record<string, unknown>;

type Spec =
  | 'string'
  | 'int'
  | 'bool'
  | 'intOrString'
  | 'quantity'
  | 'any'
  | { enum: readonly string[] }
  | { object: Record<string, Spec>; required?: readonly string[] }
  | { array: Spec; nonEmpty?: boolean }
  | { map: Spec };

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const CAPABILITY = /^[A-Z_]+$/;

const obj = (object: Record<string, Spec>, required: readonly string[] = []): Spec => ({ object, required });
const arr = (array: Spec, nonEmpty = false): Spec => ({ array, nonEmpty });
const strMap: Spec = { map: 'string' };

const objectMeta = obj(
  {
    name: 'string',
    namespace: 'string',
    labels: strMap,
    annotations: strMap,
  },
  ['name'],
);
const labelSelector = obj({ matchLabels: strMap }, ['matchLabels']);
const secretKeyRef = obj({ name: 'string', key: 'string', optional: 'bool' }, ['name', 'key']);
const envVar = obj(
  {
    name: 'string',
    value: 'string',
    valueFrom: obj({
      fieldRef: obj({ fieldPath: 'string', apiVersion: 'string' }, ['fieldPath']),
      secretKeyRef,
      configMapKeyRef: secretKeyRef,
    }),
  },
  ['name'],
);
const probe = obj({
  httpGet: obj({ path: 'string', port: 'intOrString', scheme: { enum: ['HTTP', 'HTTPS'] } }, ['port']),
  tcpSocket: obj({ port: 'intOrString' }, ['port']),
  initialDelaySeconds: 'int',
  periodSeconds: 'int',
  timeoutSeconds: 'int',
  failureThreshold: 'int',
  successThreshold: 'int',
});
const resources = obj({ requests: { map: 'quantity' }, limits: { map: 'quantity' } });
const seccomp = obj(
  { type: { enum: ['RuntimeDefault', 'Unconfined', 'Localhost'] }, localhostProfile: 'string' },
  ['type'],
);
const containerSecurity = obj({
  privileged: 'bool',
  readOnlyRootFilesystem: 'bool',
  allowPrivilegeEscalation: 'bool',
  runAsNonRoot: 'bool',
  runAsUser: 'int',
  runAsGroup: 'int',
  seccompProfile: seccomp,
  capabilities: obj({ add: arr('string'), drop: arr('string') }),
});
const container = obj(
  {
    name: 'string',
    image: 'string',
    imagePullPolicy: { enum: ['Always', 'IfNotPresent', 'Never'] },
    command: arr('string'),
    args: arr('string'),
    env: arr(envVar),
    envFrom: arr(
      obj({ secretRef: obj({ name: 'string' }, ['name']), configMapRef: obj({ name: 'string' }) }),
    ),
    ports: arr(
      obj({ name: 'string', containerPort: 'int', protocol: { enum: ['TCP', 'UDP', 'SCTP'] } }, [
        'containerPort',
      ]),
    ),
    readinessProbe: probe,
    livenessProbe: probe,
    startupProbe: probe,
    resources,
    securityContext: containerSecurity,
    volumeMounts: arr(
      obj({ name: 'string', mountPath: 'string', subPath: 'string', readOnly: 'bool' }, [
        'name',
        'mountPath',
      ]),
    ),
  },
  ['name', 'image'],
);
const volume = obj(
  {
    name: 'string',
    configMap: obj({ name: 'string', defaultMode: 'int' }, ['name']),
    secret: obj({ secretName: 'string', defaultMode: 'int' }, ['secretName']),
    persistentVolumeClaim: obj({ claimName: 'string', readOnly: 'bool' }, ['claimName']),
    emptyDir: obj({ medium: { enum: ['', 'Memory'] }, sizeLimit: 'quantity' }),
    hostPath: obj(
      {
        path: 'string',
        type: {
          enum: [
            '',
            'Directory',
            'DirectoryOrCreate',
            'File',
            'FileOrCreate',
            'Socket',
            'CharDevice',
            'BlockDevice',
          ],
        },
      },
      ['path'],
    ),
  },
  ['name'],
);
const podSpec = obj(
  {
    serviceAccountName: 'string',
    automountServiceAccountToken: 'bool',
    hostPID: 'bool',
    hostNetwork: 'bool',
    priorityClassName: 'string',
    imagePullSecrets: arr(obj({ name: 'string' }, ['name'])),
    tolerations: arr(
      obj({
        key: 'string',
        operator: { enum: ['Exists', 'Equal'] },
        value: 'string',
        effect: { enum: ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] },
        tolerationSeconds: 'int',
      }),
    ),
    nodeSelector: strMap,
    affinity: 'any',
    securityContext: obj({
      runAsNonRoot: 'bool',
      runAsUser: 'int',
      runAsGroup: 'int',
      fsGroup: 'int',
      seccompProfile: seccomp,
    }),
    containers: arr(container, true),
    volumes: arr(volume),
  },
  ['containers'],
);
const podTemplate = obj(
  { metadata: obj({ labels: strMap, annotations: strMap }, ['labels']), spec: podSpec },
  ['metadata', 'spec'],
);
const npPeer = obj({
  podSelector: obj({ matchLabels: strMap }),
  namespaceSelector: obj({ matchLabels: strMap }),
  ipBlock: obj({ cidr: 'string', except: arr('string') }, ['cidr']),
});
const npPort = obj({ port: 'intOrString', protocol: { enum: ['TCP', 'UDP', 'SCTP'] } });

/** apiVersion/kind → schema of the whole object. */
export const KINDS: Record<string, Spec> = {
  'v1/ConfigMap': obj({ apiVersion: 'string', kind: 'string', metadata: objectMeta, data: strMap }, [
    'metadata',
  ]),
  'v1/Secret': obj(
    {
      apiVersion: 'string',
      kind: 'string',
      metadata: objectMeta,
      type: 'string',
      data: { map: 'string' },
      stringData: strMap,
    },
    ['metadata'],
  ),
  'v1/ServiceAccount': obj(
    { apiVersion: 'string', kind: 'string', metadata: objectMeta, automountServiceAccountToken: 'bool' },
    ['metadata'],
  ),
  'v1/Service': obj(
    {
      apiVersion: 'string',
      kind: 'string',
      metadata: objectMeta,
      spec: obj(
        {
          type: { enum: ['ClusterIP', 'NodePort', 'LoadBalancer'] },
          selector: strMap,
          ports: arr(
            obj(
              {
                name: 'string',
                port: 'int',
                targetPort: 'intOrString',
                protocol: { enum: ['TCP', 'UDP'] },
                nodePort: 'int',
              },
              ['port'],
            ),
            true,
          ),
        },
        ['selector', 'ports'],
      ),
    },
    ['metadata', 'spec'],
  ),
  'v1/PersistentVolumeClaim': obj(
    {
      apiVersion: 'string',
      kind: 'string',
      metadata: objectMeta,
      spec: obj(
        {
          accessModes: arr(
            { enum: ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'] },
            true,
          ),
          storageClassName: 'string',
          resources: obj({ requests: obj({ storage: 'quantity' }, ['storage']) }, ['requests']),
        },
        ['accessModes', 'resources'],
      ),
    },
    ['metadata', 'spec'],
  ),
  'apps/v1/Deployment': obj(
    {
      apiVersion: 'string',
      kind: 'string',
      metadata: objectMeta,
      spec: obj(
        {
          replicas: 'int',
          strategy: obj({ type: { enum: ['Recreate', 'RollingUpdate'] }, rollingUpdate: 'any' }),
          selector: labelSelector,
          template: podTemplate,
        },
        ['selector', 'template'],
      ),
    },
    ['metadata', 'spec'],
  ),
  'apps/v1/DaemonSet': obj(
    {
      apiVersion: 'string',
      kind: 'string',
      metadata: objectMeta,
      spec: obj(
        {
          selector: labelSelector,
          updateStrategy: obj({
            type: { enum: ['RollingUpdate', 'OnDelete'] },
            rollingUpdate: obj({ maxUnavailable: 'intOrString', maxSurge: 'intOrString' }),
          }),
          template: podTemplate,
        },
        ['selector', 'template'],
      ),
    },
    ['metadata', 'spec'],
  ),
  'networking.k8s.io/v1/NetworkPolicy': obj(
    {
      apiVersion: 'string',
      kind: 'string',
      metadata: objectMeta,
      spec: obj(
        {
          podSelector: obj({ matchLabels: strMap }),
          policyTypes: arr({ enum: ['Ingress', 'Egress'] }),
          ingress: arr(obj({ from: arr(npPeer), ports: arr(npPort) })),
          egress: arr(obj({ to: arr(npPeer), ports: arr(npPort) })),
        },
        ['podSelector'],
      ),
    },
    ['metadata', 'spec'],
  ),
};

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function check(spec: Spec, v: unknown, path: string, errs: string[]): void {
  if (spec === 'any') return;
  if (spec === 'string') {
    if (typeof v !== 'string') errs.push(`${path}: expected string, got ${typeName(v)}`);
    return;
  }
  if (spec === 'int') {
    if (!Number.isInteger(v)) errs.push(`${path}: expected integer, got ${typeName(v)} ${JSON.stringify(v)}`);
    return;
  }
  if (spec === 'bool') {
    if (typeof v !== 'boolean') errs.push(`${path}: expected boolean, got ${typeName(v)}`);
    return;
  }
  if (spec === 'intOrString') {
    if (!Number.isInteger(v) && typeof v !== 'string') errs.push(`${path}: expected int or string`);
    return;
  }
  if (spec === 'quantity') {
    if (!(Number.isFinite(v) || (typeof v === 'string' && QUANTITY.test(v))))
      errs.push(`${path}: ${JSON.stringify(v)} is not a resource quantity`);
    return;
  }
  if ('enum' in spec) {
    if (typeof v !== 'string' || !spec.enum.includes(v))
      errs.push(`${path}: ${JSON.stringify(v)} is not one of ${spec.enum.join(', ')}`);
    return;
  }
  if ('array' in spec) {
    if (!Array.isArray(v)) {
      errs.push(`${path}: expected array, got ${typeName(v)}`);
      return;
    }
    if (spec.nonEmpty && v.length === 0) errs.push(`${path}: must not be empty`);
    v.forEach((x, i) => {
      check(spec.array, x, `${path}[${i}]`, errs);
    });
    return;
  }
  if ('map' in spec) {
    if (v === null) return; // `data:` with nothing under it
    if (!isObj(v)) {
      errs.push(`${path}: expected mapping, got ${typeName(v)}`);
      return;
    }
    for (const [k, x] of Object.entries(v)) check(spec.map, x, `${path}.${k}`, errs);
    return;
  }
  if (!isObj(v)) {
    errs.push(`${path}: expected object, got ${typeName(v)}`);
    return;
  }
  for (const r of spec.required ?? [])
    if (v[r] === undefined || v[r] === null) errs.push(`${path}.${r}: required`);
  for (const [k, x] of Object.entries(v)) {
    const sub = spec.object[k];
    if (sub === undefined) errs.push(`${path}.${k}: unknown field`);
    else if (x !== null || sub !== 'any') check(sub, x, `${path}.${k}`, errs);
  }
}

export interface Manifest {
  source: string;
  obj: Obj;
}

export const kindKey = (o: Obj): string => `${String(o.apiVersion)}/${String(o.kind)}`;
export const nameOf = (o: Obj): string => String((o.metadata as Obj | undefined)?.name);

/** Every pod template of a workload, with its owner. */
export function podTemplates(
  ms: Manifest[],
): Array<{ owner: Manifest; labels: Record<string, string>; spec: Obj }> {
  const out: Array<{ owner: Manifest; labels: Record<string, string>; spec: Obj }> = [];
  for (const m of ms) {
    if (m.obj.kind !== 'Deployment' && m.obj.kind !== 'DaemonSet') continue;
    const tpl = (m.obj.spec as Obj).template as Obj;
    out.push({
      owner: m,
      labels: (tpl.metadata as Obj).labels as Record<string, string>,
      spec: tpl.spec as Obj,
    });
  }
  return out;
}

function matches(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

export const containersOf = (spec: Obj): Obj[] => (spec.containers as Obj[] | undefined) ?? [];

function portNames(spec: Obj): Map<string, number> {
  const m = new Map<string, number>();
  for (const c of containersOf(spec))
    for (const p of (c.ports as Obj[] | undefined) ?? [])
      if (p.name) m.set(String(p.name), Number(p.containerPort));
  return m;
}

function portNumbers(spec: Obj): Set<number> {
  const s = new Set<number>();
  for (const c of containersOf(spec))
    for (const p of (c.ports as Obj[] | undefined) ?? []) s.add(Number(p.containerPort));
  return s;
}

/**
 * Validate a set of rendered manifests: each against its kind's schema, then the rules across
 * objects. Returns every problem found, each naming the object and the field.
 */
export function validateManifests(ms: Manifest[]): string[] {
  const errs: string[] = [];
  const byKindName = new Set(ms.map((m) => `${String(m.obj.kind)}/${nameOf(m.obj)}`));
  const seen = new Set<string>();
  for (const m of ms) {
    const where = `${m.source}: ${String(m.obj.kind)}/${nameOf(m.obj)}`;
    const spec = KINDS[kindKey(m.obj)];
    if (!spec) {
      errs.push(`${where}: unknown apiVersion/kind ${kindKey(m.obj)}`);
      continue;
    }
    const local: string[] = [];
    check(spec, m.obj, 'object', local);
    errs.push(...local.map((e) => `${where}: ${e}`));
    const name = nameOf(m.obj);
    if (name.length > 63 || !DNS1123_SUBDOMAIN.test(name)) errs.push(`${where}: name is not a DNS-1123 name`);
    const id = `${String(m.obj.kind)}/${name}`;
    if (seen.has(id)) errs.push(`${where}: duplicate object`);
    seen.add(id);
    if (m.obj.kind === 'Secret') {
      for (const [k, v] of Object.entries((m.obj.data as Obj | null) ?? {})) {
        if (typeof v !== 'string' || Buffer.from(v, 'base64').toString('base64') !== v)
          errs.push(`${where}: data.${k} is not base64`);
        if (!/^[-._a-zA-Z0-9]+$/.test(k)) errs.push(`${where}: data key ${k} is not a valid key`);
      }
    }
  }
  if (errs.length > 0) return errs; // cross-object rules assume well-formed objects

  const pods = podTemplates(ms);
  for (const p of pods) {
    const where = `${p.owner.source}: ${String(p.owner.obj.kind)}/${nameOf(p.owner.obj)}`;
    const sel = ((p.owner.obj.spec as Obj).selector as Obj).matchLabels as Record<string, string>;
    if (Object.keys(sel).length === 0) errs.push(`${where}: empty selector`);
    if (!matches(sel, p.labels))
      errs.push(`${where}: selector ${JSON.stringify(sel)} does not match template labels`);
    for (const [k, v] of Object.entries(p.labels))
      if (v.length > 63 || !/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v))
        errs.push(`${where}: label ${k}=${v} is not a valid label value`);
    const volumes = new Map(((p.spec.volumes as Obj[] | undefined) ?? []).map((v) => [String(v.name), v]));
    const mounted = new Set<string>();
    const names = new Set<string>();
    for (const c of containersOf(p.spec)) {
      const cw = `${where} container ${String(c.name)}`;
      if (!DNS1123_LABEL.test(String(c.name))) errs.push(`${cw}: name is not a DNS-1123 label`);
      if (names.has(String(c.name))) errs.push(`${cw}: duplicate container name`);
      names.add(String(c.name));
      if (!/^[^\s:]+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$/.test(String(c.image)))
        errs.push(`${cw}: image ${JSON.stringify(c.image)} is not an image reference`);
      const ports = (c.ports as Obj[] | undefined) ?? [];
      if (ports.length === 0) errs.push(`${cw}: no ports`);
      for (const port of ports) {
        const n = Number(port.containerPort);
        if (n < 1 || n > 65535) errs.push(`${cw}: port ${n} out of range`);
        if (
          port.name !== undefined &&
          (String(port.name).length > 15 || !DNS1123_LABEL.test(String(port.name)))
        )
          errs.push(`${cw}: port name ${String(port.name)} is not an IANA service name`);
      }
      for (const pr of ['readinessProbe', 'livenessProbe'] as const) {
        const probeObj = c[pr] as Obj | undefined;
        if (!probeObj) {
          errs.push(`${cw}: no ${pr}`);
          continue;
        }
        const port =
          (probeObj.httpGet as Obj | undefined)?.port ?? (probeObj.tcpSocket as Obj | undefined)?.port;
        if (typeof port === 'string' && !portNames(p.spec).has(port))
          errs.push(`${cw}: ${pr} uses port ${port}, which no container declares`);
        if (typeof port === 'number' && !portNumbers(p.spec).has(port))
          errs.push(`${cw}: ${pr} uses port ${port}, which no container declares`);
      }
      const res = c.resources as Obj | undefined;
      for (const kind of ['requests', 'limits'] as const)
        for (const r of ['cpu', 'memory'] as const)
          if ((res?.[kind] as Obj | undefined)?.[r] === undefined)
            errs.push(`${cw}: resources.${kind}.${r} missing`);
      if (res?.requests && res.limits) {
        for (const r of ['cpu', 'memory'] as const) {
          const req = parseQuantity((res.requests as Obj)[r]);
          const lim = parseQuantity((res.limits as Obj)[r]);
          if (req !== undefined && lim !== undefined && req > lim)
            errs.push(`${cw}: ${r} request exceeds its limit`);
        }
      }
      const sc = c.securityContext as Obj | undefined;
      if (!sc) errs.push(`${cw}: no securityContext`);
      else {
        if (sc.privileged === true) errs.push(`${cw}: privileged`);
        if (sc.readOnlyRootFilesystem !== true) errs.push(`${cw}: root filesystem is writable`);
        const caps = sc.capabilities as Obj | undefined;
        const drop = (caps?.drop as string[] | undefined) ?? [];
        if (!drop.includes('ALL')) errs.push(`${cw}: capabilities.drop lacks ALL`);
        for (const cap of (caps?.add as string[] | undefined) ?? [])
          if (!CAPABILITY.test(cap) || cap.startsWith('CAP_'))
            errs.push(`${cw}: capability ${cap} must be written without CAP_ (as Kubernetes expects)`);
        if (
          sc.allowPrivilegeEscalation === false &&
          ((caps?.add as string[] | undefined) ?? []).includes('SYS_ADMIN')
        )
          errs.push(`${cw}: allowPrivilegeEscalation=false with SYS_ADMIN is rejected by the API server`);
      }
      const mountPaths = new Set<string>();
      for (const vm of (c.volumeMounts as Obj[] | undefined) ?? []) {
        const v = volumes.get(String(vm.name));
        if (!v) errs.push(`${cw}: mount ${String(vm.name)} has no volume`);
        else if (v.hostPath && vm.readOnly !== true)
          errs.push(`${cw}: host path ${String(vm.name)} mounted writable`);
        if (mountPaths.has(String(vm.mountPath))) errs.push(`${cw}: two mounts at ${String(vm.mountPath)}`);
        mountPaths.add(String(vm.mountPath));
        mounted.add(String(vm.name));
      }
      const defined = new Set<string>();
      for (const e of (c.env as Obj[] | undefined) ?? []) {
        if (!ENV_NAME.test(String(e.name))) errs.push(`${cw}: env name ${String(e.name)} invalid`);
        // Kubernetes expands $(VAR) only for variables defined earlier in the list.
        for (const ref of String(e.value ?? '').matchAll(/\$\(([^)]+)\)/g))
          if (!defined.has(ref[1]!))
            errs.push(`${cw}: env ${String(e.name)} uses $(${ref[1]}) before it is defined`);
        defined.add(String(e.name));
        const ref = (e.valueFrom as Obj | undefined)?.secretKeyRef as Obj | undefined;
        if (ref) {
          const secret = ms.find((m) => m.obj.kind === 'Secret' && nameOf(m.obj) === ref.name);
          if (!secret) errs.push(`${cw}: env ${String(e.name)} refers to missing Secret ${String(ref.name)}`);
          else if (!(secret.obj.data as Obj | null)?.[String(ref.key)])
            errs.push(`${cw}: env ${String(e.name)} refers to missing key ${String(ref.key)}`);
        }
      }
      for (const ef of (c.envFrom as Obj[] | undefined) ?? []) {
        const ref = ef.secretRef as Obj | undefined;
        if (ref && !byKindName.has(`Secret/${String(ref.name)}`))
          errs.push(`${cw}: envFrom refers to missing Secret ${String(ref.name)}`);
      }
    }
    for (const [vn, v] of volumes) {
      if (!mounted.has(vn)) errs.push(`${where}: volume ${vn} is never mounted`);
      const cm = v.configMap as Obj | undefined;
      if (cm && !byKindName.has(`ConfigMap/${String(cm.name)}`))
        errs.push(`${where}: volume ${vn} refers to missing ConfigMap ${String(cm.name)}`);
      const pvc = v.persistentVolumeClaim as Obj | undefined;
      if (pvc && !byKindName.has(`PersistentVolumeClaim/${String(pvc.claimName)}`))
        errs.push(`${where}: volume ${vn} refers to missing PVC ${String(pvc.claimName)}`);
    }
    const sa = p.spec.serviceAccountName;
    if (sa !== undefined && !byKindName.has(`ServiceAccount/${String(sa)}`))
      errs.push(`${where}: service account ${String(sa)} is not rendered`);
  }

  for (const m of ms) {
    const where = `${m.source}: ${String(m.obj.kind)}/${nameOf(m.obj)}`;
    if (m.obj.kind === 'Service') {
      const spec = m.obj.spec as Obj;
      const sel = spec.selector as Record<string, string>;
      const targets = pods.filter((p) => matches(sel, p.labels));
      if (targets.length === 0)
        errs.push(`${where}: selector ${JSON.stringify(sel)} selects no pod template`);
      for (const port of spec.ports as Obj[]) {
        const tp = port.targetPort ?? port.port;
        for (const t of targets) {
          const ok = typeof tp === 'string' ? portNames(t.spec).has(tp) : portNumbers(t.spec).has(Number(tp));
          if (!ok) errs.push(`${where}: targetPort ${String(tp)} is not a port of ${nameOf(t.owner.obj)}`);
        }
      }
    }
    if (m.obj.kind === 'NetworkPolicy') {
      const spec = m.obj.spec as Obj;
      const sel = (spec.podSelector as Obj).matchLabels as Record<string, string> | undefined;
      const targets = pods.filter((p) => matches(sel, p.labels));
      if (targets.length === 0) errs.push(`${where}: podSelector selects no pod template`);
      for (const rule of (spec.ingress as Obj[] | undefined) ?? []) {
        for (const port of (rule.ports as Obj[] | undefined) ?? [])
          for (const t of targets)
            if (typeof port.port === 'string' && !portNames(t.spec).has(port.port))
              errs.push(`${where}: ingress port ${port.port} is not a port of ${nameOf(t.owner.obj)}`);
        for (const peer of (rule.from as Obj[] | undefined) ?? []) {
          const ps = (peer.podSelector as Obj | undefined)?.matchLabels as Record<string, string> | undefined;
          if (ps && Object.keys(ps).length > 0 && !pods.some((p) => matches(ps, p.labels)))
            errs.push(`${where}: ingress peer ${JSON.stringify(ps)} selects no pod template`);
        }
      }
      const types = (spec.policyTypes as string[] | undefined) ?? [];
      if (spec.egress && !types.includes('Egress'))
        errs.push(`${where}: egress rules without policyType Egress`);
    }
  }
  return errs;
}

/** A Kubernetes quantity in base units (cores or bytes). */
export function parseQuantity(q: unknown): number | undefined {
  if (typeof q === 'number') return q;
  if (typeof q !== 'string') return undefined;
  const m = /^([0-9.]+)(m|k|Ki|Mi|Gi|Ti|M|G|T)?$/.exec(q);
  if (!m) return undefined;
  const mult: Record<string, number> = {
    '': 1,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
  };
  return Number(m[1]) * mult[m[2] ?? '']!;
}
