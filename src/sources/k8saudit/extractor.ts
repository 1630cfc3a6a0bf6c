/**
 * Field extraction for the `k8s_audit` source: every `ka.*` field of the k8saudit
 * plugin, and the json plugin's `json.*` / `jevt.*` fields, over a decoded
 * audit.k8s.io Event.
 *
 * Value rules (as the plugins behave):
 * - every ka.* field is a string or a list of strings; JSON strings are taken as
 *   they are, any other JSON value is rendered as compact JSON (201 → "201",
 *   true → "true", an object → its JSON text);
 * - a value that is absent from the event is "not available" (undefined);
 * - an event without `auditID` has no ka.* value at all;
 * - list fields with an `[index]` argument keep only that element
 *   (`ka.req.pod.containers.image[1]` = the second container's image);
 *   list fields where some element lacks the value skip that element.
 */
import type { FieldSpec, FieldValue, SourceExtractor } from '../../engine/api.js';
import { K8S_AUDIT_FIELDS } from '../../engine/fields/k8s_audit.js';
import type { AuditEvent, Json, JsonObject } from './event.js';

type Fn = (ev: AuditEvent) => FieldValue;

function str(v: Json | undefined): string | undefined {
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function step(cur: Json | undefined, k: string): Json | undefined {
  if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
  // keys are fixed field paths (never prototype names), so a plain read is safe
  return cur[k];
}

function get(o: Json | undefined, ...keys: string[]): Json | undefined {
  let cur: Json | undefined = o;
  for (let i = 0; i < keys.length; i++) {
    cur = step(cur, keys[i]!);
    if (cur === undefined) return undefined;
  }
  return cur;
}

/** A compiled key path (no rest-argument allocation per event). */
function path(keys: readonly string[]): (o: Json | undefined) => Json | undefined {
  const [a, b, c, d] = keys;
  switch (keys.length) {
    case 1:
      return (o) => step(o, a!);
    case 2:
      return (o) => step(step(o, a!), b!);
    case 3:
      return (o) => step(step(step(o, a!), b!), c!);
    case 4:
      return (o) => step(step(step(step(o, a!), b!), c!), d!);
    default:
      return (o) => get(o, ...keys);
  }
}

function asArray(v: Json | undefined): Json[] | undefined {
  return Array.isArray(v) ? v : undefined;
}

/** Parse an optional index argument; undefined = all elements, NaN = bad. */
function indexArg(arg: string | undefined): number | undefined {
  if (arg === undefined || arg === '') return undefined;
  return /^\d+$/.test(arg) ? Number(arg) : Number.NaN;
}

/** Pick elements of an array by optional index. */
function pick<T>(arr: T[] | undefined, idx: number | undefined): T[] | undefined {
  if (!arr) return undefined;
  if (idx === undefined) return arr;
  if (Number.isNaN(idx) || idx >= arr.length) return undefined;
  return [arr[idx]!];
}

/** Image repository: strip the digest, then the tag (a ':' after the last '/'). */
export function imageRepository(image: string): string {
  let s = image;
  const at = s.indexOf('@');
  if (at >= 0) s = s.slice(0, at);
  const colon = s.lastIndexOf(':');
  if (colon > s.lastIndexOf('/')) s = s.slice(0, colon);
  return s;
}

const CONTAINER_KINDS = {
  containers: 'containers',
  initContainers: 'initContainers',
  ephemeralContainers: 'ephemeralContainers',
} as const;

/** Containers of the request pod (spec.<kind>), filtered by index. */
const SPEC = path(['requestObject', 'spec']);
function containers(ev: AuditEvent, kind: string, idx: number | undefined): Json[] | undefined {
  return pick(asArray(step(SPEC(ev.obj), kind)), idx);
}

/** One string per container that has the value at `keys`; lists are flattened. */
function perContainer(kind: string, keys: string[], flatten = false) {
  return (arg: string | undefined): Fn => {
    const idx = indexArg(arg);
    return (ev) => {
      const cs = containers(ev, kind, idx);
      if (!cs) return undefined;
      const out: string[] = [];
      for (const c of cs) {
        const v = get(c, ...keys);
        if (v === undefined || v === null) continue;
        if (flatten && Array.isArray(v)) for (const x of v) out.push(str(x)!);
        else out.push(str(v)!);
      }
      return out;
    };
  };
}

/** Container value with the pod's securityContext as fallback, then "0". */
function effective(kind: string, key: 'runAsUser' | 'runAsGroup') {
  return (arg: string | undefined): Fn => {
    const idx = indexArg(arg);
    return (ev) => {
      const cs = containers(ev, kind, idx);
      if (!cs) return undefined;
      const pod = str(get(ev.obj, 'requestObject', 'spec', 'securityContext', key) ?? undefined) ?? '0';
      return cs.map((c) => {
        const v = get(c, 'securityContext', key);
        return v === undefined || v === null ? pod : str(v)!;
      });
    };
  };
}

function hostPorts(kind: string) {
  return (arg: string | undefined): Fn => {
    const idx = indexArg(arg);
    return (ev) => {
      const cs = containers(ev, kind, idx);
      if (!cs) return undefined;
      const out: string[] = [];
      for (const c of cs) {
        for (const p of asArray(get(c, 'ports')) ?? []) {
          // without hostPort, containerPort is what the host sees when hostNetwork is set
          const v = get(p, 'hostPort') ?? get(p, 'containerPort');
          if (v !== undefined && v !== null) out.push(str(v)!);
        }
      }
      return out;
    };
  };
}

/**
 * Image (or repository) of every container of a kind, one slot per container
 * (undefined when a container has no image), computed once per event: the
 * indexed references ([0], [1], …) of a rule set all read the same array.
 */
function imageSlots(kind: string, repo: boolean) {
  let lastEv: AuditEvent | undefined;
  let last: Array<string | undefined> | undefined;
  return (ev: AuditEvent): Array<string | undefined> | undefined => {
    if (ev === lastEv) return last;
    const cs = containers(ev, kind, undefined);
    last = cs?.map((c) => {
      const v = step(c, 'image');
      return typeof v === 'string' ? (repo ? imageRepository(v) : v) : undefined;
    });
    lastEv = ev;
    return last;
  };
}

function images(kind: string, repo: boolean) {
  const slots = imageSlots(kind, repo);
  return (arg: string | undefined): Fn => {
    const idx = indexArg(arg);
    return (ev) => {
      const all = slots(ev);
      if (!all) return undefined;
      if (idx !== undefined) {
        if (Number.isNaN(idx) || idx >= all.length) return undefined;
        const v = all[idx];
        return v === undefined ? [] : [v];
      }
      const out: string[] = [];
      for (const v of all) if (v !== undefined) out.push(v);
      return out;
    };
  };
}

/** A scalar at a key path. */
function at(...keys: string[]) {
  const p = path(keys);
  return (): Fn => (ev) => str(p(ev.obj) ?? undefined);
}

/** A list at a key path: each element as a string (not available when not a list). */
function listAt(...keys: string[]) {
  const p = path(keys);
  return (arg: string | undefined): Fn => {
    const idx = indexArg(arg);
    return (ev) => {
      const a = pick(asArray(p(ev.obj)), idx);
      return a ? a.map((x) => str(x)!) : undefined;
    };
  };
}

/** Values of `key` in every element of requestObject.rules, flattened. */
function roleRules(key: string) {
  return (arg: string | undefined): Fn => {
    const idx = indexArg(arg);
    return (ev) => {
      const rules = pick(asArray(get(ev.obj, 'requestObject', 'rules')), idx);
      if (!rules) return undefined;
      const out: string[] = [];
      for (const r of rules) {
        const v = get(r, key);
        if (Array.isArray(v)) for (const x of v) if (x !== null) out.push(str(x)!);
      }
      return out;
    };
  };
}

function subjects(kind: string, render: (s: JsonObject) => string | undefined) {
  return (): Fn => (ev) => {
    const subs = asArray(get(ev.obj, 'requestObject', 'subjects'));
    if (!subs) return undefined;
    const out: string[] = [];
    for (const s of subs) {
      if (s === null || typeof s !== 'object' || Array.isArray(s) || s.kind !== kind) continue;
      const r = render(s);
      if (r !== undefined) out.push(r);
    }
    return out;
  };
}

interface Impl {
  spec: Omit<FieldSpec, 'name'>;
  make: (arg: string | undefined) => Fn | undefined;
}

const S = 'string' as const;
const table: Record<string, Impl> = {};
function def(
  name: string,
  desc: string,
  make: (arg: string | undefined) => Fn | undefined,
  opts: Partial<FieldSpec> = {},
) {
  table[name] = { spec: { type: S, desc, ...opts }, make };
}
const LIST_IDX: Partial<FieldSpec> = { isList: true, arg: 'optional', argKind: 'index' };
const LIST: Partial<FieldSpec> = { isList: true };

def('ka.auditid', 'unique id of the audit event', at('auditID'));
def(
  'ka.stage',
  'stage of the request (RequestReceived, ResponseStarted, ResponseComplete, Panic)',
  at('stage'),
);
def(
  'ka.auth.decision',
  'authorization decision (annotation authorization.k8s.io/decision)',
  at('annotations', 'authorization.k8s.io/decision'),
);
def(
  'ka.auth.reason',
  'authorization reason (annotation authorization.k8s.io/reason)',
  at('annotations', 'authorization.k8s.io/reason'),
);
def('ka.user.name', 'user name performing the request', at('user', 'username'));
def('ka.user.groups', 'groups of the requesting user', listAt('user', 'groups'), LIST);
def('ka.impuser.name', 'impersonated user name', at('impersonatedUser', 'username'));
def('ka.verb', 'action performed (create, get, list, watch, update, patch, delete, …)', at('verb'));
def('ka.uri', 'request URI as sent by the client', at('requestURI'));
def(
  'ka.uri.param',
  'value of a query parameter of the request URI (ka.uri.param[key])',
  (arg) => (ev) => {
    const uri = get(ev.obj, 'requestURI');
    if (typeof uri !== 'string' || arg === undefined) return undefined;
    const q = uri.indexOf('?');
    if (q < 0) return undefined;
    try {
      return new URLSearchParams(uri.slice(q + 1)).get(arg) ?? undefined;
    } catch {
      return undefined;
    }
  },
  { arg: 'required', argKind: 'key' },
);
def('ka.target.name', 'target object name', at('objectRef', 'name'));
def('ka.target.namespace', 'target object namespace', at('objectRef', 'namespace'));
def('ka.target.resource', 'target object resource', at('objectRef', 'resource'));
def('ka.target.subresource', 'target object subresource', at('objectRef', 'subresource'));
def(
  'ka.target.pod.name',
  'name of the target pod, when the target is a pod or a pod subresource',
  () => (ev) => {
    if (get(ev.obj, 'objectRef', 'resource') !== 'pods') return undefined;
    return str(get(ev.obj, 'objectRef', 'name') ?? undefined);
  },
);
def(
  'ka.req.binding.subjects',
  'subjects of a (cluster) role binding, each as JSON',
  listAt('requestObject', 'subjects'),
  LIST,
);
def(
  'ka.req.binding.subjects.user_names',
  'user names bound by a (cluster) role binding',
  subjects('User', (s) => str(s.name ?? undefined)),
  LIST,
);
def(
  'ka.req.binding.subjects.serviceaccount_names',
  'service account names bound by a (cluster) role binding',
  subjects('ServiceAccount', (s) => str(s.name ?? undefined)),
  LIST,
);
def(
  'ka.req.binding.subjects.serviceaccount_ns_names',
  'service accounts bound by a (cluster) role binding as namespace:name',
  subjects('ServiceAccount', (s) =>
    s.name === undefined ? undefined : `${str(s.namespace ?? '') ?? ''}:${str(s.name)}`,
  ),
  LIST,
);
def(
  'ka.req.binding.subjects.group_names',
  'group names bound by a (cluster) role binding',
  subjects('Group', (s) => str(s.name ?? undefined)),
  LIST,
);
def(
  'ka.req.binding.role',
  'role named by a (cluster) role binding (roleRef.name)',
  at('requestObject', 'roleRef', 'name'),
);
def(
  'ka.req.binding.subject.has_name',
  'deprecated; always "true" (kept for old rules)',
  () => (ev) => (ev.obj.auditID === undefined ? undefined : 'true'),
  {
    arg: 'required',
    argKind: 'key',
    deprecated: true,
  },
);
def('ka.req.configmap.name', 'name of the configmap in the request', at('objectRef', 'name'));
def('ka.req.configmap.obj', 'data of the configmap in the request, as JSON', at('requestObject', 'data'));

for (const kind of Object.values(CONTAINER_KINDS)) {
  const p = `ka.req.pod.${kind}`;
  const what =
    kind === 'containers'
      ? 'containers'
      : kind === 'initContainers'
        ? 'init containers'
        : 'ephemeral containers';
  def(`${p}.name`, `names of the pod's ${what}`, perContainer(kind, ['name']), LIST_IDX);
  def(`${p}.image`, `images of the pod's ${what}`, images(kind, false), LIST_IDX);
  def(
    `${p}.image.repository`,
    `image repositories (image without tag or digest) of the pod's ${what}`,
    images(kind, true),
    LIST_IDX,
  );
  def(
    `${p}.command`,
    `commands of the pod's ${what} (flattened)`,
    perContainer(kind, ['command'], true),
    LIST_IDX,
  );
  def(`${p}.args`, `args of the pod's ${what} (flattened)`, perContainer(kind, ['args'], true), LIST_IDX);
  def(
    `${p}.privileged`,
    `securityContext.privileged of the pod's ${what}`,
    perContainer(kind, ['securityContext', 'privileged']),
    LIST_IDX,
  );
  def(
    `${p}.allow_privilege_escalation`,
    `securityContext.allowPrivilegeEscalation of the pod's ${what}`,
    perContainer(kind, ['securityContext', 'allowPrivilegeEscalation']),
    LIST_IDX,
  );
  def(
    `${p}.read_only_fs`,
    `securityContext.readOnlyRootFilesystem of the pod's ${what}`,
    perContainer(kind, ['securityContext', 'readOnlyRootFilesystem']),
    LIST_IDX,
  );
  def(
    `${p}.run_as_user`,
    `securityContext.runAsUser of the pod's ${what}`,
    perContainer(kind, ['securityContext', 'runAsUser']),
    LIST_IDX,
  );
  def(
    `${p}.eff_run_as_user`,
    `effective uid of the pod's ${what} (container, else pod, else 0)`,
    effective(kind, 'runAsUser'),
    LIST_IDX,
  );
  def(
    `${p}.run_as_group`,
    `securityContext.runAsGroup of the pod's ${what}`,
    perContainer(kind, ['securityContext', 'runAsGroup']),
    LIST_IDX,
  );
  def(
    `${p}.eff_run_as_group`,
    `effective gid of the pod's ${what} (container, else pod, else 0)`,
    effective(kind, 'runAsGroup'),
    LIST_IDX,
  );
  def(
    `${p}.proc_mount`,
    `securityContext.procMount of the pod's ${what}`,
    perContainer(kind, ['securityContext', 'procMount']),
    LIST_IDX,
  );
  def(
    `${p}.add_capabilities`,
    `capabilities added by the pod's ${what}`,
    perContainer(kind, ['securityContext', 'capabilities', 'add'], true),
    LIST_IDX,
  );
  def(
    `${p}.host_port`,
    `host ports of the pod's ${what} (containerPort when no hostPort)`,
    hostPorts(kind),
    LIST_IDX,
  );
}

const firstOf = (f: (arg: string | undefined) => Fn) => (): Fn => {
  const g = f(undefined);
  return (ev) => {
    const v = g(ev);
    return Array.isArray(v) ? v[0] : undefined;
  };
};
def(
  'ka.req.container.image',
  'deprecated: image of the first container',
  firstOf(images('containers', false)),
  { deprecated: true },
);
def(
  'ka.req.container.image.repository',
  'deprecated: image repository of the first container',
  firstOf(images('containers', true)),
  {
    deprecated: true,
  },
);
def(
  'ka.req.container.privileged',
  'deprecated: "true" when any container is privileged',
  () => (ev) => {
    const cs = containers(ev, 'containers', undefined);
    if (!cs) return undefined;
    return cs.some((c) => get(c, 'securityContext', 'privileged') === true) ? 'true' : 'false';
  },
  { deprecated: true },
);
def(
  'ka.req.container.host_network',
  'deprecated alias of ka.req.pod.host_network',
  at('requestObject', 'spec', 'hostNetwork'),
  { deprecated: true },
);
def('ka.req.pod.host_ipc', 'hostIPC of the pod ("true"/"false")', at('requestObject', 'spec', 'hostIPC'));
def(
  'ka.req.pod.host_network',
  'hostNetwork of the pod ("true"/"false")',
  at('requestObject', 'spec', 'hostNetwork'),
);
def('ka.req.pod.host_pid', 'hostPID of the pod ("true"/"false")', at('requestObject', 'spec', 'hostPID'));
def(
  'ka.req.pod.run_as_user',
  'pod-level securityContext.runAsUser',
  at('requestObject', 'spec', 'securityContext', 'runAsUser'),
);
def(
  'ka.req.pod.run_as_group',
  'pod-level securityContext.runAsGroup',
  at('requestObject', 'spec', 'securityContext', 'runAsGroup'),
);
def(
  'ka.req.pod.fs_group',
  'pod-level securityContext.fsGroup',
  at('requestObject', 'spec', 'securityContext', 'fsGroup'),
);
def(
  'ka.req.pod.supplemental_groups',
  'pod-level securityContext.supplementalGroups',
  listAt('requestObject', 'spec', 'securityContext', 'supplementalGroups'),
  LIST,
);
def('ka.req.role.rules', 'rules of a (cluster) role, each as JSON', listAt('requestObject', 'rules'), LIST);
def(
  'ka.req.role.rules.apiGroups',
  'api groups named by the rules of a (cluster) role',
  roleRules('apiGroups'),
  LIST_IDX,
);
def(
  'ka.req.role.rules.nonResourceURLs',
  'non-resource URLs named by the rules of a (cluster) role',
  roleRules('nonResourceURLs'),
  LIST_IDX,
);
def('ka.req.role.rules.verbs', 'verbs named by the rules of a (cluster) role', roleRules('verbs'), LIST_IDX);
def(
  'ka.req.role.rules.resources',
  'resources named by the rules of a (cluster) role',
  roleRules('resources'),
  LIST_IDX,
);
def('ka.req.service.type', 'type of the service in the request', at('requestObject', 'spec', 'type'));
def(
  'ka.req.service.ports',
  'ports of the service in the request, each as JSON',
  listAt('requestObject', 'spec', 'ports'),
  LIST_IDX,
);

const hostPaths = (ev: AuditEvent, idx: number | undefined): string[] | undefined => {
  const vols = pick(asArray(get(ev.obj, 'requestObject', 'spec', 'volumes')), idx);
  if (!vols) return undefined;
  const out: string[] = [];
  for (const v of vols) {
    const p = get(v, 'hostPath', 'path');
    if (p !== undefined && p !== null) out.push(str(p)!);
  }
  return out;
};
def(
  'ka.req.pod.volumes.hostpath',
  'hostPath paths of the pod volumes',
  (arg) => {
    const idx = indexArg(arg);
    return (ev) => hostPaths(ev, idx);
  },
  LIST_IDX,
);
def(
  'ka.req.volume.hostpath',
  'deprecated: "true" when a volume uses this host path (a trailing * matches a prefix)',
  (arg) => {
    if (arg === undefined) return undefined;
    const prefix = arg.endsWith('*') ? arg.slice(0, -1) : undefined;
    return (ev) => {
      const paths = hostPaths(ev, undefined);
      if (!paths) return undefined;
      return paths.some((p) => (prefix !== undefined ? p.startsWith(prefix) : p === arg)) ? 'true' : 'false';
    };
  },
  { arg: 'required', argKind: 'key', deprecated: true },
);
def(
  'ka.req.pod.volumes.flexvolume_driver',
  'flexVolume drivers of the pod volumes',
  (arg) => {
    const idx = indexArg(arg);
    return (ev) => {
      const vols = pick(asArray(get(ev.obj, 'requestObject', 'spec', 'volumes')), idx);
      if (!vols) return undefined;
      const out: string[] = [];
      for (const v of vols) {
        const d = get(v, 'flexVolume', 'driver');
        if (d !== undefined && d !== null) out.push(str(d)!);
      }
      return out;
    };
  },
  LIST_IDX,
);
def(
  'ka.req.pod.volumes.volume_type',
  'volume types of the pod volumes (hostPath, configMap, …)',
  (arg) => {
    const idx = indexArg(arg);
    return (ev) => {
      const vols = pick(asArray(get(ev.obj, 'requestObject', 'spec', 'volumes')), idx);
      if (!vols) return undefined;
      const out: string[] = [];
      for (const v of vols) {
        if (v === null || typeof v !== 'object' || Array.isArray(v)) continue;
        for (const k of Object.keys(v)) if (k !== 'name') out.push(k);
      }
      return out;
    };
  },
  LIST_IDX,
);
def('ka.resp.name', 'name of the response object', at('responseObject', 'metadata', 'name'));
def('ka.response.code', 'response code (e.g. "201")', at('responseStatus', 'code'));
def('ka.response.reason', 'response reason (usually only on failures)', at('responseStatus', 'reason'));
def('ka.useragent', 'user agent of the client', at('userAgent'));
def('ka.sourceips', 'IP addresses of the client', listAt('sourceIPs'), LIST_IDX);

/** Compile a JSON pointer (RFC 6901) into its reference tokens; undefined when malformed. */
export function compilePointer(ptr: string): string[] | undefined {
  if (ptr === '') return [];
  if (!ptr.startsWith('/')) return undefined;
  return ptr
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

const ARRAY_INDEX = /^(0|[1-9]\d*)$/;

/** Resolve compiled pointer tokens in a document. */
export function resolvePointer(root: Json, tokens: readonly string[]): Json | undefined {
  let cur: Json | undefined = root;
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i]!;
    if (Array.isArray(cur)) {
      if (!ARRAY_INDEX.test(tok)) return undefined;
      cur = cur[Number(tok)];
    } else if (cur !== null && typeof cur === 'object') {
      cur = Object.hasOwn(cur, tok) ? cur[tok] : undefined;
    } else return undefined;
    if (cur === undefined) return undefined;
  }
  return cur;
}

/** JSON pointer (RFC 6901) lookup. */
export function jsonPointer(root: Json, ptr: string): Json | undefined {
  const tokens = compilePointer(ptr);
  return tokens ? resolvePointer(root, tokens) : undefined;
}

function eventJson(ev: AuditEvent): string {
  if (ev.json === undefined) ev.json = JSON.stringify(ev.obj);
  return ev.json;
}

const JSON_FIELDS: Record<string, Impl> = {};
for (const prefix of ['json', 'jevt']) {
  JSON_FIELDS[`${prefix}.value`] = {
    spec: {
      type: S,
      desc: 'value at a JSON pointer (RFC 6901) in the event, e.g. [/objectRef/resource]',
      arg: 'required',
      argKind: 'key',
    },
    make: (arg) => {
      if (arg === undefined) return undefined;
      const tokens = compilePointer(arg);
      if (!tokens) return () => undefined;
      return (ev) => str(resolvePointer(ev.obj, tokens));
    },
  };
  JSON_FIELDS[`${prefix}.obj`] = {
    spec: { type: S, desc: 'the whole event as JSON' },
    make: () => eventJson,
  };
  JSON_FIELDS[`${prefix}.rawtime`] = {
    spec: { type: S, desc: 'event time in ns since the epoch' },
    make: () => (ev) => ev.timeNs.toString(),
  };
}

/** Our own description of every field we extract (ka.*, json.*, jevt.*), for docs and tests. */
export const K8SAUDIT_FIELD_SPECS: readonly FieldSpec[] = [
  ...Object.entries(table).map(([name, i]) => ({ name, ...i.spec })),
  ...Object.entries(JSON_FIELDS).map(([name, i]) => ({ name, ...i.spec })),
];

export interface K8sAuditExtractorOptions {
  /** Value of ka.cluster.name (agent config cluster_name); empty = not available. */
  clusterName?: string;
  /** Field table to publish (default: the engine's k8s_audit table). */
  fields?: readonly FieldSpec[];
}

/** The SourceExtractor for source `k8s_audit`. */
export function k8sAuditExtractor(opts: K8sAuditExtractorOptions = {}): SourceExtractor<AuditEvent> {
  const cluster = opts.clusterName ?? '';
  const fields: FieldSpec[] = [...(opts.fields ?? K8S_AUDIT_FIELDS)];
  // Many rules read the same fields of the same event: each field reference (name + arg)
  // shares one cell remembering the last event and its value. Values are never mutated.
  const cells = new Map<string, { ev: AuditEvent | undefined; v: FieldValue }>();
  const memo = (key: string, fn: (ev: AuditEvent) => FieldValue) => {
    let cell = cells.get(key);
    if (!cell) cells.set(key, (cell = { ev: undefined, v: undefined }));
    const c = cell;
    return (ev: AuditEvent): FieldValue => {
      if (c.ev === ev) return c.v;
      const v = fn(ev);
      c.ev = ev;
      c.v = v;
      return v;
    };
  };
  if (!fields.some((f) => f.name === 'ka.cluster.name'))
    fields.push({
      name: 'ka.cluster.name',
      type: 'string',
      desc: 'name of the cluster (agent config cluster_name)',
    });
  return {
    source: 'k8s_audit',
    fields,
    bind(name, arg) {
      if (name === 'ka.cluster.name')
        return (ev) => (cluster === '' || ev.obj.auditID === undefined ? undefined : cluster);
      if (name === 'evt.pluginname') return () => 'k8saudit';
      if (name === 'evt.source') return () => 'k8s_audit';
      if (name === 'evt.plugininfo')
        return (ev) => {
          const o = ev.obj;
          return (
            `${str(o.verb ?? undefined) ?? ''} ${str(o.requestURI ?? undefined) ?? ''}`.trim() || undefined
          );
        };
      const key = arg === undefined ? name : `${name}[${arg}]`;
      const j = JSON_FIELDS[name];
      if (j) {
        const fn = j.make(arg);
        return fn && memo(key, fn);
      }
      const impl = table[name];
      if (!impl) return undefined;
      const fn = impl.make(arg);
      if (!fn) return undefined;
      // ka.* fields are only available for audit events (they carry an auditID)
      return memo(key, (ev) => (ev.obj.auditID === undefined ? undefined : fn(ev)));
    },
    eventType: () => 'k8s_audit',
    timeNs: (ev) => ev.timeNs,
  };
}
