/**
 * The Helm chart deploy/helm/peregrine, rendered and validated.
 *
 * Why this approach: neither the helm binary nor the Kubernetes OpenAPI schemas can be installed or
 * fetched on the build machine (no Debian package for helm, no network beyond the npm/Debian
 * registries). So the chart is rendered by tools/helm-render, a small Go program built from Debian's
 * packages on the same engine Helm uses — Go's text/template with the sprig v3 function library and
 * sigs.k8s.io/yaml for toYaml — with Helm's include/tpl/required/lookup, value merging (-f, --set)
 * and `# Source:` output. Every rendered object is then checked against a strict per-kind schema
 * (test/integration/helm/k8s-schema.ts: the fields the chart uses, their types, unknown fields
 * rejected) and against the cross-object rules the API server and kubelet would enforce: selectors
 * match template labels, Service/NetworkPolicy ports name real container ports, mounts have volumes,
 * referenced ConfigMaps/Secrets/PVCs exist. On top, peregrine's own rules: the agent's exact
 * capability set and read-only host mounts, non-root relay/console, resources everywhere, and the
 * default ports (agent 8765/9765, relay 2801, console 2802). The validator's own self-test below
 * breaks manifests on purpose to prove each rule fires.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { buildConfig } from '../../../src/agent/config.js';
import { buildProgram } from '../../../src/cli/main.js';
import { configFromObject as consoleConfigFromObject } from '../../../src/console/config.js';
import { loadRelayConfig } from '../../../src/relay/config/relay-config.js';
import { SINKS } from '../../../src/relay/sinks/registry.js';
import { testDir } from '../../harness/tmpdir.js';
import {
  containersOf,
  type Manifest,
  nameOf,
  type Obj,
  parseQuantity,
  validateManifests,
} from './k8s-schema.js';
import { CHART, ensureRenderer, ROOT, render, renderRaw } from './render.js';

const SLACK = 'https://hooks.slack.com/services/T000/B000/XXXX';
const RELAY_SLACK = [
  '--set',
  'relay.enabled=true',
  '--set',
  `relay.config.slack.webhookurl=${SLACK}`,
  '--set',
  'relay.config.slack.minimumpriority=warning,relay.config.slack.username=peregrine,relay.config.slack.footer=prod-cluster',
  '--set',
  'relay.config.slack.icon=https://example.com/icon.png,relay.config.slack.messageformat=Alert from prod',
];
const AGENT_CAPS = ['BPF', 'PERFMON', 'SYS_PTRACE', 'SYS_RESOURCE'];

beforeAll(() => ensureRenderer(), 120_000);

function find(ms: Manifest[], kind: string, name: string): Obj {
  const m = ms.find((x) => x.obj.kind === kind && nameOf(x.obj) === name);
  if (!m)
    throw new Error(
      `no ${kind}/${name} among ${ms.map((x) => `${String(x.obj.kind)}/${nameOf(x.obj)}`).join(', ')}`,
    );
  return m.obj;
}

function podSpec(o: Obj): Obj {
  return ((o.spec as Obj).template as Obj).spec as Obj;
}

function container(o: Obj, name: string): Obj {
  const c = containersOf(podSpec(o)).find((x) => x.name === name);
  if (!c) throw new Error(`no container ${name}`);
  return c;
}

function secretData(o: Obj): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((o.data as Record<string, string> | null) ?? {}))
    out[k] = Buffer.from(v, 'base64').toString('utf8');
  return out;
}

function kinds(ms: Manifest[]): string[] {
  return ms.map((m) => `${String(m.obj.kind)}/${nameOf(m.obj)}`).sort();
}

/** The container's environment: envFrom Secrets, then env (secretKeyRef resolved, $(VAR) expanded). */
function podEnv(ms: Manifest[], c: Obj): Record<string, string> {
  const secret = (name: string) => secretData(find(ms, 'Secret', name));
  const env: Record<string, string> = {};
  for (const ef of (c.envFrom as Obj[] | undefined) ?? [])
    Object.assign(env, secret(String((ef.secretRef as Obj).name)));
  for (const e of (c.env as Obj[] | undefined) ?? []) {
    const ref = (e.valueFrom as Obj | undefined)?.secretKeyRef as Obj | undefined;
    env[String(e.name)] = ref
      ? secret(String(ref.name))[String(ref.key)]!
      : String(e.value).replace(/\$\(([^)]+)\)/g, (_m, v: string) => env[v] ?? '');
  }
  return env;
}

describe('chart with default values', () => {
  let ms: Manifest[];
  beforeAll(() => {
    ms = render();
  });

  it('renders only the agent (relay and console are opt-in) and every object validates', () => {
    expect(kinds(ms)).toEqual([
      'ConfigMap/peregrine-agent',
      'DaemonSet/peregrine-agent',
      'NetworkPolicy/peregrine-agent',
      'Service/peregrine-agent',
      'ServiceAccount/peregrine-agent',
    ]);
    expect(validateManifests(ms)).toEqual([]);
  });

  it('agent: exactly BPF, PERFMON, SYS_RESOURCE, SYS_PTRACE after dropping ALL; hostPID; not privileged', () => {
    const ds = find(ms, 'DaemonSet', 'peregrine-agent');
    const sc = container(ds, 'agent').securityContext as Obj;
    const caps = sc.capabilities as { add: string[]; drop: string[] };
    expect([...caps.add].sort()).toEqual(AGENT_CAPS);
    expect(caps.drop).toEqual(['ALL']);
    expect(sc.privileged).toBe(false);
    expect(sc.allowPrivilegeEscalation).toBe(false);
    expect(sc.readOnlyRootFilesystem).toBe(true);
    expect(podSpec(ds).hostPID).toBe(true);
    expect(podSpec(ds).hostNetwork).toBeUndefined();
  });

  /** Host paths mounted into the agent: host path, hostPath type, read-only flag, mount path. */
  function hostMounts(ds: Obj): Array<{ host: unknown; type: unknown; ro: unknown; at: unknown }> {
    const vols = new Map((podSpec(ds).volumes as Obj[]).map((v) => [String(v.name), v]));
    return (container(ds, 'agent').volumeMounts as Obj[])
      .filter((m) => (vols.get(String(m.name)) as Obj).hostPath)
      .map((m) => {
        const hp = (vols.get(String(m.name)) as Obj).hostPath as Obj;
        return { host: hp.path, type: hp.type, ro: m.readOnly, at: m.mountPath };
      });
  }

  it('agent: BTF, cgroup and /proc are mounted read-only; no runtime socket unless one is configured', () => {
    expect(hostMounts(find(ms, 'DaemonSet', 'peregrine-agent'))).toEqual([
      { host: '/sys/kernel/btf', type: 'Directory', ro: true, at: '/sys/kernel/btf' },
      { host: '/sys/fs/cgroup', type: 'Directory', ro: true, at: '/host/sys/fs/cgroup' },
      { host: '/proc', type: 'Directory', ro: true, at: '/host/proc' },
    ]);
  });

  it('agent: a Docker-compatible runtime socket is mounted read-only and handed to the syscall source', () => {
    const withSocket = render(['--set', 'agent.containerRuntime.socket=/var/run/docker.sock']);
    expect(validateManifests(withSocket)).toEqual([]);
    expect(hostMounts(find(withSocket, 'DaemonSet', 'peregrine-agent'))).toContainEqual({
      host: '/var/run/docker.sock',
      type: 'Socket',
      ro: true,
      at: '/host/var/run/docker.sock',
    });
    const tree = parseYaml(
      (find(withSocket, 'ConfigMap', 'peregrine-agent').data as Record<string, string>)['peregrine.yaml']!,
    ) as Record<string, unknown>;
    const cfg = buildConfig(tree, { env: {} });
    expect(cfg.syscall.container_socket).toBe('/host/var/run/docker.sock');
    expect(cfg.syscall.enabled).toBe(true);
  });

  it('agent: the capabilities are exactly the ones docs/deploy.md documents (SYS_ADMIN only as opt-in)', () => {
    const doc = readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8');
    const table = doc.slice(doc.indexOf('| capability | why |'));
    const rows = table
      .split('\n')
      .slice(2)
      .filter((l) => l.startsWith('| `'));
    const documented = rows.filter((r) => !/only with/.test(r)).map((r) => /^\| `([A-Z_]+)`/.exec(r)![1]!);
    const optIn = rows
      .filter((r) => /only with `agent\.sysAdmin=true`/.test(r))
      .map((r) => /^\| `([A-Z_]+)`/.exec(r)![1]!);
    expect(documented.sort()).toEqual(AGENT_CAPS);
    expect(optIn).toEqual(['SYS_ADMIN']);
    const caps = (container(find(ms, 'DaemonSet', 'peregrine-agent'), 'agent').securityContext as Obj)
      .capabilities as {
      add: string[];
    };
    expect([...caps.add].sort()).toEqual(documented);
  });

  it('agent: tolerates every taint so it runs on every node', () => {
    const tol = podSpec(find(ms, 'DaemonSet', 'peregrine-agent')).tolerations as Obj[];
    expect(tol).toContainEqual({ operator: 'Exists' });
  });

  it('agent: resources are the benchmark targets (RSS 96 MiB request) with limits above them', () => {
    const res = container(find(ms, 'DaemonSet', 'peregrine-agent'), 'agent').resources as {
      requests: Obj;
      limits: Obj;
    };
    expect(parseQuantity(res.requests.memory)).toBe(96 * 1024 ** 2);
    expect(parseQuantity(res.limits.memory)!).toBeGreaterThan(96 * 1024 ** 2);
    expect(parseQuantity(res.requests.cpu)).toBe(0.05);
    const values = readFileSync(join(CHART, 'values.yaml'), 'utf8');
    expect(values).toMatch(/bench:syscall/);
  });

  it('agent: web 8765 and audit 9765 ports; the audit Service targets the audit port', () => {
    const ds = find(ms, 'DaemonSet', 'peregrine-agent');
    expect(container(ds, 'agent').ports).toEqual([
      { name: 'web', containerPort: 8765, protocol: 'TCP' },
      { name: 'audit', containerPort: 9765, protocol: 'TCP' },
    ]);
    const svc = find(ms, 'Service', 'peregrine-agent');
    expect((svc.spec as Obj).ports).toContainEqual({
      name: 'audit',
      port: 9765,
      targetPort: 'audit',
      protocol: 'TCP',
    });
  });

  it("the API server's webhook kubeconfig (deploy/k8s-audit) points at the chart's audit Service", () => {
    const kc = parseYaml(readFileSync(join(ROOT, 'deploy/k8s-audit/webhook-kubeconfig.yaml'), 'utf8')) as {
      clusters: Array<{ cluster: { server: string } }>;
    };
    const svc = find(ms, 'Service', 'peregrine-agent');
    const port = ((svc.spec as Obj).ports as Obj[]).find((p) => p.name === 'audit')!.port;
    const cfg = parseYaml(
      (find(ms, 'ConfigMap', 'peregrine-agent').data as Record<string, string>)['peregrine.yaml']!,
    ) as { k8s_audit: { endpoint: string } };
    expect(kc.clusters[0]!.cluster.server).toBe(
      `http://${nameOf(svc)}.${String((svc.metadata as Obj).namespace)}.svc:${String(port)}${cfg.k8s_audit.endpoint}`,
    );
  });

  it('agent config: falco.yaml keys with the fixed ports, audit endpoint, and no http_output without relay', () => {
    const cm = find(ms, 'ConfigMap', 'peregrine-agent');
    const cfg = parseYaml((cm.data as Record<string, string>)['peregrine.yaml']!) as Obj;
    expect(cfg.webserver).toMatchObject({ listen_port: 8765, k8s_healthz_endpoint: '/healthz' });
    expect(cfg.k8s_audit).toMatchObject({ enabled: true, listen_port: 9765, endpoint: '/k8s-audit' });
    expect(cfg.json_output).toBe(true);
    expect(cfg.http_output).toBeUndefined();
    const mount = (container(find(ms, 'DaemonSet', 'peregrine-agent'), 'agent').volumeMounts as Obj[]).find(
      (m) => m.name === 'config',
    );
    expect(mount).toMatchObject({ mountPath: '/etc/peregrine/peregrine.yaml', subPath: 'peregrine.yaml' });
    const args = container(find(ms, 'DaemonSet', 'peregrine-agent'), 'agent').args as string[];
    expect(args.join(' ')).toContain('/etc/peregrine/peregrine.yaml');
  });

  it('agent rules_files: the image paths exist in the repo (the image puts the repo under /opt/peregrine)', () => {
    const cfg = parseYaml(
      (find(ms, 'ConfigMap', 'peregrine-agent').data as Record<string, string>)['peregrine.yaml']!,
    ) as { rules_files: string[] };
    expect(cfg.rules_files.length).toBeGreaterThan(0);
    for (const r of cfg.rules_files) {
      expect(r.startsWith('/opt/peregrine/'), r).toBe(true);
      expect(existsSync(join(ROOT, r.slice('/opt/peregrine/'.length))), r).toBe(true);
    }
    expect(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).toMatch(/^WORKDIR \/opt\/peregrine$/m);
  });

  it('agent network policy: audit and web ingress only; egress DNS only without relay', () => {
    const np = find(ms, 'NetworkPolicy', 'peregrine-agent').spec as Obj;
    expect(np.policyTypes).toEqual(['Ingress', 'Egress']);
    const ports = (np.ingress as Obj[]).flatMap((r) => (r.ports as Obj[]).map((p) => p.port));
    expect(ports.sort()).toEqual(['audit', 'web']);
    const egressPorts = (np.egress as Obj[]).flatMap((r) => (r.ports as Obj[]).map((p) => p.port));
    expect(egressPorts).toEqual([53, 53]);
  });
});

describe('chart with relay.enabled=true and Slack set', () => {
  let ms: Manifest[];
  beforeAll(() => {
    ms = render(RELAY_SLACK);
  });

  it('renders agent, relay and console, and every object validates', () => {
    expect(kinds(ms)).toEqual([
      'ConfigMap/peregrine-agent',
      'ConfigMap/peregrine-console',
      'DaemonSet/peregrine-agent',
      'Deployment/peregrine-console',
      'Deployment/peregrine-relay',
      'NetworkPolicy/peregrine-agent',
      'NetworkPolicy/peregrine-console',
      'NetworkPolicy/peregrine-relay',
      'PersistentVolumeClaim/peregrine-console-data',
      'PersistentVolumeClaim/peregrine-relay-spool',
      'Secret/peregrine-console',
      'Secret/peregrine-relay',
      'Service/peregrine-agent',
      'Service/peregrine-console',
      'Service/peregrine-relay',
      'ServiceAccount/peregrine-agent',
    ]);
    expect(validateManifests(ms)).toEqual([]);
  });

  it('relay Secret carries the Falcosidekick env names for every slack key that was set', () => {
    const env = secretData(find(ms, 'Secret', 'peregrine-relay'));
    expect(env).toMatchObject({
      SLACK_WEBHOOKURL: SLACK,
      SLACK_MINIMUMPRIORITY: 'warning',
      SLACK_USERNAME: 'peregrine',
      SLACK_FOOTER: 'prod-cluster',
      SLACK_ICON: 'https://example.com/icon.png',
      SLACK_MESSAGEFORMAT: 'Alert from prod',
      SLACK_OUTPUTFORMAT: 'all',
    });
    // Empty values are left out so the relay's own defaults apply (Falcosidekick semantics).
    expect(env.SLACK_CHANNEL).toBeUndefined();
    expect(env.LOKI_HOSTPORT).toBeUndefined();
    const relay = find(ms, 'Deployment', 'peregrine-relay');
    expect(container(relay, 'relay').envFrom).toEqual([{ secretRef: { name: 'peregrine-relay' } }]);
  });

  it('relay: port 2801, spool on its PVC, one replica with Recreate, non-root', () => {
    const relay = find(ms, 'Deployment', 'peregrine-relay');
    const c = container(relay, 'relay');
    expect(c.ports).toEqual([{ name: 'http', containerPort: 2801, protocol: 'TCP' }]);
    const spoolDir = (c.env as Obj[]).find((e) => e.name === 'SPOOL_DIR')?.value;
    const mount = (c.volumeMounts as Obj[]).find((m) => m.mountPath === spoolDir);
    expect(mount?.name).toBe('spool');
    const vol = (podSpec(relay).volumes as Obj[]).find((v) => v.name === 'spool');
    expect(vol?.persistentVolumeClaim).toEqual({ claimName: 'peregrine-relay-spool' });
    expect((relay.spec as Obj).replicas).toBe(1);
    expect(((relay.spec as Obj).strategy as Obj).type).toBe('Recreate');
    expect(podSpec(relay).securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect((c.securityContext as Obj).capabilities).toEqual({ drop: ['ALL'] });
    expect((find(ms, 'Service', 'peregrine-relay').spec as Obj).ports).toEqual([
      { name: 'http', port: 2801, targetPort: 'http', protocol: 'TCP' },
    ]);
  });

  it('agent http_output points at the relay Service', () => {
    const cfg = parseYaml(
      (find(ms, 'ConfigMap', 'peregrine-agent').data as Record<string, string>)['peregrine.yaml']!,
    ) as Obj;
    expect(cfg.http_output).toEqual({ enabled: true, url: 'http://peregrine-relay.peregrine.svc:2801' });
    const np = find(ms, 'NetworkPolicy', 'peregrine-agent').spec as Obj;
    expect((np.egress as Obj[]).some((r) => (r.ports as Obj[]).some((p) => p.port === 2801))).toBe(true);
  });

  it('console: Service peregrine-console on 2802, admin password from its Secret, non-root', () => {
    const svc = find(ms, 'Service', 'peregrine-console');
    expect((svc.spec as Obj).ports).toEqual([
      { name: 'http', port: 2802, targetPort: 'http', protocol: 'TCP' },
    ]);
    const dep = find(ms, 'Deployment', 'peregrine-console');
    const c = container(dep, 'console');
    expect(c.ports).toEqual([{ name: 'http', containerPort: 2802, protocol: 'TCP' }]);
    const pw = (c.env as Obj[]).find((e) => e.name === 'PEREGRINE_ADMIN_PASSWORD');
    expect(pw?.valueFrom).toEqual({ secretKeyRef: { name: 'peregrine-console', key: 'admin-password' } });
    const generated = secretData(find(ms, 'Secret', 'peregrine-console'))['admin-password']!;
    expect(generated).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(podSpec(dep).securityContext).toMatchObject({ runAsNonRoot: true });
  });

  it('relay → console: the console sink gets the URL and the ingest token the console registers', () => {
    const relayEnv = container(find(ms, 'Deployment', 'peregrine-relay'), 'relay').env as Obj[];
    const consoleEnv = container(find(ms, 'Deployment', 'peregrine-console'), 'console').env as Obj[];
    const tokenRef = { secretKeyRef: { name: 'peregrine-console', key: 'ingest-token' } };
    expect(relayEnv.find((e) => e.name === 'CONSOLE_TOKEN')?.valueFrom).toEqual(tokenRef);
    expect(relayEnv.find((e) => e.name === 'CONSOLE_URL')?.value).toBe(
      'http://peregrine-console.peregrine.svc:2802',
    );
    expect(consoleEnv.find((e) => e.name === 'PEREGRINE_CONSOLE_INGEST_TOKEN')?.valueFrom).toEqual(tokenRef);
    const token = secretData(find(ms, 'Secret', 'peregrine-console'))['ingest-token']!;
    expect(token.length).toBeGreaterThanOrEqual(16);
  });

  it("console: console.yaml loads with the console's config loader; SQLite lives on the data volume", () => {
    const dep = find(ms, 'Deployment', 'peregrine-console');
    const c = container(dep, 'console');
    const doc = parseYaml(
      (find(ms, 'ConfigMap', 'peregrine-console').data as Record<string, string>)['console.yaml']!,
    );
    const cfg = consoleConfigFromObject(doc, {});
    expect(cfg.listenPort).toBe(2802);
    expect(cfg.store.type).toBe('sqlite');
    const dataMount = (c.volumeMounts as Obj[]).find((m) => m.name === 'data')!;
    expect(cfg.store.path!.startsWith(`${String(dataMount.mountPath)}/`)).toBe(true);
    expect((podSpec(dep).volumes as Obj[]).find((v) => v.name === 'data')?.persistentVolumeClaim).toEqual({
      claimName: 'peregrine-console-data',
    });
    expect((c.args as string[]).join(' ')).toBe('console --config /etc/peregrine/console.yaml');
  });

  it('console on PostgreSQL: URL from the Secret as PEREGRINE_CONSOLE_STORE_URL, no SQLite volume', () => {
    const url = 'postgres://peregrine:pw@db.example:5432/peregrine';
    const pg = render([...RELAY_SLACK, '--set', `console.database.url=${url}`]);
    expect(validateManifests(pg)).toEqual([]);
    expect(kinds(pg)).not.toContain('PersistentVolumeClaim/peregrine-console-data');
    const env = container(find(pg, 'Deployment', 'peregrine-console'), 'console').env as Obj[];
    expect(env.find((e) => e.name === 'PEREGRINE_CONSOLE_STORE_URL')?.valueFrom).toEqual({
      secretKeyRef: { name: 'peregrine-console', key: 'database-url' },
    });
    expect(secretData(find(pg, 'Secret', 'peregrine-console'))['database-url']).toBe(url);
    const doc = parseYaml(
      (find(pg, 'ConfigMap', 'peregrine-console').data as Record<string, string>)['console.yaml']!,
    );
    const cfg = consoleConfigFromObject(doc, { PEREGRINE_CONSOLE_STORE_URL: url });
    expect(cfg.store).toMatchObject({ type: 'postgres', url });
  });

  it('a console admin password shorter than 8 characters fails rendering with the key named', () => {
    const r = renderRaw([...RELAY_SLACK, '--set', 'console.admin.password=short']);
    expect(r.ok).toBe(false);
    expect(r.stderr).toContain('console.admin.password must be at least 8 characters');
  });

  it('console: a given admin password is used as is; the relay is the only in-cluster client allowed', () => {
    const withPw = render([...RELAY_SLACK, '--set', 'console.admin.password=s3cret-pass']);
    expect(secretData(find(withPw, 'Secret', 'peregrine-console'))['admin-password']).toBe('s3cret-pass');
    const np = find(ms, 'NetworkPolicy', 'peregrine-console').spec as Obj;
    const from = (np.ingress as Obj[])[0]!.from as Obj[];
    expect(from).toEqual([
      {
        podSelector: {
          matchLabels: {
            'app.kubernetes.io/name': 'peregrine',
            'app.kubernetes.io/instance': 'peregrine',
            'app.kubernetes.io/component': 'relay',
          },
        },
      },
    ]);
  });

  it('console.enabled=false leaves the console out and the relay stops pointing at it', () => {
    const noConsole = render([...RELAY_SLACK, '--set', 'console.enabled=false']);
    expect(kinds(noConsole).filter((k) => k.includes('console'))).toEqual([]);
    const relayEnv = container(find(noConsole, 'Deployment', 'peregrine-relay'), 'relay').env as Obj[];
    expect(relayEnv.map((e) => e.name)).not.toContain('CONSOLE_URL');
    expect(validateManifests(noConsole)).toEqual([]);
  });
});

describe('chart options', () => {
  it('custom rules become a ConfigMap mounted at rules.d and listed after the image rules', () => {
    const dir = testDir('peregrine-helm');
    const values = join(dir, 'values.yaml');
    writeFileSync(
      values,
      [
        'agent:',
        '  customRules:',
        '    shell_in_prod.yaml: |-',
        '      - rule: Shell in prod',
        '        desc: a shell in a prod container',
        '        condition: spawned_process and container and k8s.ns.name = "prod" and proc.name = bash',
        '        output: shell in prod (cmd=%proc.cmdline)',
        '        priority: WARNING',
        '',
      ].join('\n'),
    );
    const ms = render(['-f', values]);
    expect(validateManifests(ms)).toEqual([]);
    const rules = find(ms, 'ConfigMap', 'peregrine-agent-rules').data as Record<string, string>;
    const parsed = parseYaml(rules['shell_in_prod.yaml']!) as Obj[];
    expect(parsed[0]).toMatchObject({ rule: 'Shell in prod', priority: 'WARNING' });
    const ds = find(ms, 'DaemonSet', 'peregrine-agent');
    expect(container(ds, 'agent').volumeMounts).toContainEqual({
      name: 'rules',
      mountPath: '/etc/peregrine/rules.d',
      readOnly: true,
    });
    const cfg = parseYaml(
      (find(ms, 'ConfigMap', 'peregrine-agent').data as Record<string, string>)['peregrine.yaml']!,
    ) as { rules_files: string[] };
    expect(cfg.rules_files.at(-1)).toBe('/etc/peregrine/rules.d/shell_in_prod.yaml');
    expect(cfg.rules_files.length).toBeGreaterThan(1);
  });

  it('a custom rules file name that is not a plain .yaml name fails with the key named', () => {
    const r = renderRaw(['--set', 'agent.customRules.bad\\/name=x']);
    expect(r.ok).toBe(false);
    expect(r.stderr).toContain('agent.customRules');
  });

  it('agent.sysAdmin=true adds SYS_ADMIN and drops allowPrivilegeEscalation=false (API server rule)', () => {
    const ms = render(['--set', 'agent.sysAdmin=true']);
    expect(validateManifests(ms)).toEqual([]);
    const sc = container(find(ms, 'DaemonSet', 'peregrine-agent'), 'agent').securityContext as Obj;
    expect([...(sc.capabilities as { add: string[] }).add].sort()).toEqual(
      [...AGENT_CAPS, 'SYS_ADMIN'].sort(),
    );
    expect(sc.allowPrivilegeEscalation).toBeUndefined();
  });

  it('audit-only agent (syscallSource.enabled=false): no capabilities, no hostPID, no host mounts, non-root', () => {
    const ms = render(['--set', 'agent.syscallSource.enabled=false']);
    expect(validateManifests(ms)).toEqual([]);
    const ds = find(ms, 'DaemonSet', 'peregrine-agent');
    const sc = container(ds, 'agent').securityContext as Obj;
    expect(sc.capabilities).toEqual({ drop: ['ALL'] });
    expect(podSpec(ds).hostPID).toBe(false);
    expect((podSpec(ds).volumes as Obj[]).filter((v) => v.hostPath)).toEqual([]);
    expect(podSpec(ds).securityContext).toMatchObject({ runAsNonRoot: true });
    const tree = parseYaml(
      (find(ms, 'ConfigMap', 'peregrine-agent').data as Record<string, string>)['peregrine.yaml']!,
    ) as Record<string, unknown>;
    expect(buildConfig(tree, { env: {} }).syscall.enabled).toBe(false);
  });

  it('relay.replicaCount=2 with a spool volume fails and points at the NATS scale-out', () => {
    const r = renderRaw(['--set', 'relay.enabled=true,relay.replicaCount=2']);
    expect(r.ok).toBe(false);
    expect(r.stderr).toMatch(/NATS JetStream/);
  });

  it('networkPolicy.enabled=false renders no NetworkPolicy; the rest still validates', () => {
    const ms = render([...RELAY_SLACK, '--set', 'networkPolicy.enabled=false']);
    expect(ms.filter((m) => m.obj.kind === 'NetworkPolicy')).toEqual([]);
    expect(validateManifests(ms)).toEqual([]);
  });

  it('every container everywhere has requests and limits for cpu and memory', () => {
    for (const args of [[], RELAY_SLACK]) {
      for (const m of render(args)) {
        if (m.obj.kind !== 'Deployment' && m.obj.kind !== 'DaemonSet') continue;
        for (const c of containersOf(podSpec(m.obj))) {
          const res = c.resources as { requests: Obj; limits: Obj };
          for (const r of ['cpu', 'memory']) {
            expect(parseQuantity(res.requests[r]), `${nameOf(m.obj)} requests.${r}`).toBeGreaterThan(0);
            expect(parseQuantity(res.limits[r]), `${nameOf(m.obj)} limits.${r}`).toBeGreaterThanOrEqual(
              parseQuantity(res.requests[r])!,
            );
          }
        }
      }
    }
  });

  it('README carries the install and port-forward lines, and the Service name matches the chart', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(
      'helm install peregrine deploy/helm/peregrine -n peregrine --create-namespace --set relay.enabled=true',
    );
    expect(readme).toContain('kubectl port-forward svc/peregrine-console 2802:2802 -n peregrine');
    // The README's commands, applied to the chart: release "peregrine" in namespace "peregrine".
    const ms = render(['--set', 'relay.enabled=true']);
    const svc = find(ms, 'Service', 'peregrine-console');
    expect((svc.metadata as Obj).namespace).toBe('peregrine');
    expect(((svc.spec as Obj).ports as Obj[])[0]).toMatchObject({ port: 2802 });
  });
});

describe('values.yaml', () => {
  const values = parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Obj;
  const has = (path: string): boolean => {
    let cur: unknown = values;
    for (const k of path.split('.')) {
      if (typeof cur !== 'object' || cur === null || !(k in cur)) return false;
      cur = (cur as Obj)[k];
    }
    return true;
  };

  it('mirrors the seed chart keys (relay/console switches and the Slack section)', () => {
    for (const k of ['relay.enabled', 'console.enabled']) expect(has(k), k).toBe(true);
    for (const k of [
      'webhookurl',
      'footer',
      'icon',
      'username',
      'outputformat',
      'minimumpriority',
      'messageformat',
    ])
      expect(has(`relay.config.slack.${k}`), k).toBe(true);
    expect(has('agent.customRules')).toBe(true);
  });

  it('every .Values path a template reads is declared in values.yaml (a typo would render silently empty)', () => {
    const tplDir = join(CHART, 'templates');
    const undeclared: string[] = [];
    for (const f of readdirSync(tplDir)) {
      const text = readFileSync(join(tplDir, f), 'utf8');
      for (const m of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
        const path = m[1]!.slice(1);
        if (!has(path)) undeclared.push(`${f}: .Values.${path}`);
      }
    }
    expect(undeclared).toEqual([]);
  });
});

describe('the rendered configuration is accepted by the components themselves', () => {
  it("agent: the ConfigMap's peregrine.yaml loads with the agent's config loader, without warnings", () => {
    for (const args of [[], RELAY_SLACK, ['--set', 'agent.customRules.x\\.yaml=- list: a']]) {
      const cm = find(render(args), 'ConfigMap', 'peregrine-agent');
      const tree = parseYaml((cm.data as Record<string, string>)['peregrine.yaml']!) as Record<
        string,
        unknown
      >;
      const warnings: string[] = [];
      const cfg = buildConfig(tree, { env: {}, warn: (m) => warnings.push(m) });
      expect(warnings).toEqual([]);
      expect(cfg.webserver.listen_port).toBe(8765);
      expect(cfg.webserver.prometheus_metrics_enabled).toBe(true);
      expect(cfg.k8s_audit).toMatchObject({ enabled: true, listen_port: 9765, endpoint: '/k8s-audit' });
      expect(cfg.json_output).toBe(true);
      expect(cfg.http_output.enabled).toBe(args === RELAY_SLACK);
      expect(cfg.syscall.enabled).toBe(true);
    }
  });
});

describe("the relay's environment, as the pod would see it, loads with the relay's config loader", () => {
  it('Slack is an enabled sink with the values set; port 2801 and the spool on its volume', () => {
    const ms = render(RELAY_SLACK);
    const c = container(find(ms, 'Deployment', 'peregrine-relay'), 'relay');
    const cfg = loadRelayConfig(SINKS, { env: podEnv(ms, c) });
    expect(cfg.listenPort).toBe(2801);
    expect(cfg.spool.dir).toBe('/var/lib/peregrine/spool');
    const slack = cfg.sinks.find((x) => x.def.name === 'slack');
    expect(slack, `enabled sinks: ${cfg.sinks.map((x) => x.def.name).join(', ')}`).toBeDefined();
    expect(slack!.section).toMatchObject({
      webhookurl: SLACK,
      username: 'peregrine',
      footer: 'prod-cluster',
      icon: 'https://example.com/icon.png',
      messageformat: 'Alert from prod',
      outputformat: 'all',
    });
    expect(slack!.minimumPriority).toBe(4); // warning
    const consoleSink = cfg.sinks.find((x) => x.def.name === 'console');
    expect(consoleSink?.section).toMatchObject({
      url: 'http://peregrine-console.peregrine.svc:2802',
      token: secretData(find(ms, 'Secret', 'peregrine-console'))['ingest-token'],
    });
  });
});

describe("every container's args are a command line the peregrine CLI accepts", () => {
  /** Check args against the CLI's commander tree: a known command, known options, values where needed. */
  function checkArgs(args: string[]): string[] {
    const program = buildProgram();
    const errs: string[] = [];
    const cmd = program.commands.find((c) => c.name() === args[0]);
    if (!cmd) return [`unknown command ${args[0]}`];
    for (let i = 1; i < args.length; i++) {
      const a = args[i]!;
      if (!a.startsWith('-')) {
        errs.push(`unexpected argument ${a}`);
        continue;
      }
      const opt = cmd.options.find((o) => o.long === a || o.short === a);
      if (!opt) errs.push(`${args[0]}: unknown option ${a}`);
      else if (opt.required || opt.optional) i++;
    }
    return errs;
  }

  it('agent, relay and console args (default, relay + Slack, audit-only, PostgreSQL)', () => {
    const variants = [
      [],
      RELAY_SLACK,
      ['--set', 'agent.syscallSource.enabled=false'],
      [...RELAY_SLACK, '--set', 'console.database.url=postgres://u:p@db:5432/x'],
    ];
    let checked = 0;
    for (const v of variants)
      for (const m of render(v)) {
        if (m.obj.kind !== 'Deployment' && m.obj.kind !== 'DaemonSet') continue;
        for (const c of containersOf(podSpec(m.obj))) {
          expect(
            checkArgs(c.args as string[]),
            `${nameOf(m.obj)}: ${(c.args as string[]).join(' ')}`,
          ).toEqual([]);
          checked++;
        }
      }
    expect(checked).toBe(1 + 3 + 1 + 3);
    // The check itself rejects what the CLI would reject.
    expect(checkArgs(['agent', '--no-such-flag'])).toEqual(['agent: unknown option --no-such-flag']);
    expect(checkArgs(['agnet'])).toEqual(['unknown command agnet']);
  });
});

describe('the built CLI accepts the rendered configuration (peregrine … --check)', () => {
  const cli = join(ROOT, 'bin/peregrine.js');
  beforeAll(() => {
    if (!existsSync(join(ROOT, 'dist/cli/main.js')))
      throw new Error('dist/ is missing: run npm run build first');
  });
  const run = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [cli, ...args], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, ...env },
    });

  /** Write the agent's ConfigMaps to a temp dir, mapping image paths to the repo and rules.d to the dir. */
  function agentFiles(ms: Manifest[]): string {
    const dir = testDir('peregrine-agent-cfg');
    mkdirSync(join(dir, 'rules.d'));
    const rulesCm = ms.find((m) => m.obj.kind === 'ConfigMap' && nameOf(m.obj) === 'peregrine-agent-rules');
    for (const [f, text] of Object.entries((rulesCm?.obj.data as Record<string, string> | undefined) ?? {}))
      writeFileSync(join(dir, 'rules.d', f), text);
    const cfg = parseYaml(
      (find(ms, 'ConfigMap', 'peregrine-agent').data as Record<string, string>)['peregrine.yaml']!,
    ) as { rules_files: string[] };
    cfg.rules_files = cfg.rules_files.map((r) =>
      r.replace(/^\/opt\/peregrine\//, ROOT).replace(/^\/etc\/peregrine\/rules\.d\//, `${dir}/rules.d/`),
    );
    writeFileSync(join(dir, 'peregrine.yaml'), stringifyYaml(cfg));
    return dir;
  }

  const customRule = (condition: string) => [
    '--set-string',
    `agent.customRules.team\\.yaml=- rule: Pod created in prod\n  desc: a pod was created in prod\n  condition: ${condition}\n  output: pod created (user=%ka.user.name pod=%ka.resp.name)\n  priority: NOTICE\n  source: k8s_audit\n`,
  ];

  it('agent: the rendered peregrine.yaml and the image rules plus a custom rules file pass --check', () => {
    const ms = render(
      customRule('ka.verb = create and ka.target.resource = pods and ka.target.namespace = prod'),
    );
    const dir = agentFiles(ms);
    const r = run(['agent', '--config-file', join(dir, 'peregrine.yaml'), '--check']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ok/);
  });

  it('agent: a broken custom rule fails --check, naming the file', () => {
    const ms = render(customRule('ka.verb = = create'));
    const dir = agentFiles(ms);
    const r = run(['agent', '--config-file', join(dir, 'peregrine.yaml'), '--check']);
    expect(r.status).not.toBe(0);
    expect(r.stderr + r.stdout).toContain('team.yaml');
  });

  it('relay: the pod environment passes --check with the slack and console sinks', () => {
    const ms = render(RELAY_SLACK);
    const c = container(find(ms, 'Deployment', 'peregrine-relay'), 'relay');
    const spool = testDir('peregrine-relay-spool');
    const r = run([...(c.args as string[]), '--check'], { ...podEnv(ms, c), SPOOL_DIR: spool });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/listen 0\.0\.0\.0:2801/);
    expect(r.stdout).toMatch(/sinks: .*\bslack\b/);
    expect(r.stdout).toMatch(/sinks: .*\bconsole\b/);
  });
});

describe('the validator rejects broken manifests (each rule fires)', () => {
  let base: Manifest[];
  beforeAll(() => {
    base = render(RELAY_SLACK);
  });
  const mutate = (fn: (ms: Manifest[]) => void): string[] => {
    const ms = structuredClone(base);
    fn(ms);
    return validateManifests(ms);
  };
  const dep = (ms: Manifest[], name: string): Obj => find(ms, 'Deployment', name);

  it.each<[string, (ms: Manifest[]) => void, RegExp]>([
    [
      'unknown field',
      (ms) =>
        ((container(dep(ms, 'peregrine-relay'), 'relay').securityContext as Obj).readOnlyRootFileSystem =
          true),
      /unknown field/,
    ],
    ['missing image', (ms) => delete container(dep(ms, 'peregrine-relay'), 'relay').image, /image: required/],
    [
      'wrong type',
      (ms) => ((container(dep(ms, 'peregrine-relay'), 'relay').ports as Obj[])[0]!.containerPort = '2801'),
      /expected integer/,
    ],
    ['unknown kind', (ms) => (ms[0]!.obj.kind = 'Sevrice'), /unknown apiVersion\/kind/],
    [
      'selector mismatch',
      (ms) => (((dep(ms, 'peregrine-relay').spec as Obj).selector as Obj).matchLabels = { app: 'x' }),
      /does not match template labels/,
    ],
    [
      'service targetPort',
      (ms) =>
        (((find(ms, 'Service', 'peregrine-console').spec as Obj).ports as Obj[])[0]!.targetPort = 'web'),
      /targetPort web is not a port/,
    ],
    [
      'mount without volume',
      (ms) => (podSpec(dep(ms, 'peregrine-relay')).volumes as Obj[]).splice(0, 1),
      /mount spool has no volume/,
    ],
    [
      'writable host path',
      (ms) =>
        ((container(find(ms, 'DaemonSet', 'peregrine-agent'), 'agent').volumeMounts as Obj[]).find(
          (m) => m.name === 'proc',
        )!.readOnly = false),
      /mounted writable/,
    ],
    [
      'missing resources',
      (ms) => delete container(dep(ms, 'peregrine-console'), 'console').resources,
      /resources.requests.cpu missing/,
    ],
    [
      'missing securityContext',
      (ms) => delete container(dep(ms, 'peregrine-console'), 'console').securityContext,
      /no securityContext/,
    ],
    [
      'SYS_ADMIN with no-escalation',
      (ms) =>
        (
          (container(find(ms, 'DaemonSet', 'peregrine-agent'), 'agent').securityContext as Obj)
            .capabilities as { add: string[] }
        ).add.push('SYS_ADMIN'),
      /allowPrivilegeEscalation=false with SYS_ADMIN/,
    ],
    [
      'secret ref missing',
      (ms) =>
        ms.splice(
          ms.findIndex((m) => nameOf(m.obj) === 'peregrine-console' && m.obj.kind === 'Secret'),
          1,
        ),
      /missing Secret peregrine-console/,
    ],
    [
      'probe on unknown port',
      (ms) =>
        (((container(dep(ms, 'peregrine-relay'), 'relay').readinessProbe as Obj).httpGet as Obj).port =
          'metrics'),
      /readinessProbe uses port metrics/,
    ],
    [
      'np port',
      (ms) =>
        ((
          ((find(ms, 'NetworkPolicy', 'peregrine-relay').spec as Obj).ingress as Obj[])[0]!.ports as Obj[]
        )[0]!.port = 'grpc'),
      /ingress port grpc/,
    ],
    [
      'request above limit',
      (ms) =>
        (((container(dep(ms, 'peregrine-relay'), 'relay').resources as Obj).requests as Obj).memory = '4Gi'),
      /memory request exceeds its limit/,
    ],
    [
      'bad quantity',
      (ms) =>
        (((container(dep(ms, 'peregrine-relay'), 'relay').resources as Obj).limits as Obj).cpu = 'lots'),
      /not a resource quantity/,
    ],
    [
      'env used before defined',
      (ms) =>
        (container(dep(ms, 'peregrine-relay'), 'relay').env as Obj[]).push({
          name: 'X',
          value: 'http://$(NOT_DEFINED)/',
        }),
      /uses \$\(NOT_DEFINED\) before it is defined/,
    ],
  ])('%s', (_name, fn, expected) => {
    const errs = mutate(fn);
    expect(errs.join('\n')).toMatch(expected);
  });

  it('the unmodified render has no errors (so the failures above come from the mutations)', () => {
    expect(validateManifests(base)).toEqual([]);
  });
});

describe('tools/helm-render behaves like helm template for the features it supports', () => {
  it('merges values: -f over values.yaml, --set over -f, typed --set, null deletes, escaped comma', () => {
    const dir = testDir('peregrine-hr');
    const chart = join(dir, 'c');
    const t = join(chart, 'templates');
    for (const d of [chart, t]) requireDir(d);
    writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: c\nversion: 1.2.3\nappVersion: "9"\n');
    writeFileSync(join(chart, 'values.yaml'), 'a: {b: 1, c: keep, gone: x}\nlist: [1, 2]\n');
    writeFileSync(join(t, '_h.tpl'), '{{- define "c.n" -}}{{ .Release.Name }}-{{ .Chart.Name }}{{- end -}}');
    writeFileSync(
      join(t, 'cm.yaml'),
      [
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata: {name: {{ include "c.n" . }}, namespace: {{ .Release.Namespace }}}',
        'data:',
        '  b: {{ .Values.a.b | quote }}',
        '  bkind: {{ kindOf .Values.a.b | quote }}',
        '  c: {{ .Values.a.c | quote }}',
        '  gone: {{ hasKey .Values.a "gone" | quote }}',
        '  s: {{ .Values.s | quote }}',
        '  t: {{ tpl "{{ .Chart.Version }}" . | quote }}',
        '  y: {{ toYaml .Values.list | quote }}',
        '  app: {{ .Chart.AppVersion | quote }}',
        '  missing: "{{ .Values.nope }}"',
      ].join('\n'),
    );
    writeFileSync(join(t, 'NOTES.txt'), 'not a manifest {{ .Release.Name }}');
    writeFileSync(join(dir, 'over.yaml'), 'a: {c: fromfile, gone: null}\n');
    const ms = render(['-f', join(dir, 'over.yaml'), '--set', 'a.b=7,s=x\\,y'], chart);
    expect(ms).toHaveLength(1);
    expect(ms[0]!.source).toBe('c/templates/cm.yaml');
    expect(ms[0]!.obj).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'peregrine-c', namespace: 'peregrine' },
      data: {
        b: '7',
        bkind: 'int64',
        c: 'fromfile',
        gone: 'false',
        s: 'x,y',
        t: '1.2.3',
        y: '- 1\n- 2',
        app: '9',
        missing: '',
      },
    });
  });

  it('required fails naming the message; invalid YAML output fails naming the template', () => {
    const dir = testDir('peregrine-hr');
    const chart = join(dir, 'c');
    requireDir(join(chart, 'templates'));
    writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: c\nversion: 0.1.0\n');
    writeFileSync(join(chart, 'templates', 'a.yaml'), 'x: {{ required "x.y is required" .Values.x }}\n');
    let r = renderRaw([], chart);
    expect(r.ok).toBe(false);
    expect(r.stderr).toContain('x.y is required');
    r = renderRaw(['--set', 'x=ok'], chart);
    expect(r.ok).toBe(true);
    writeFileSync(join(chart, 'templates', 'b.yaml'), 'a: [unclosed\n');
    r = renderRaw(['--set', 'x=ok'], chart);
    expect(r.ok).toBe(false);
    expect(r.stderr).toContain('YAML parse error on c/templates/b.yaml');
    // NOTES.txt is not a manifest, but its template errors fail as with helm install.
    writeFileSync(join(chart, 'templates', 'b.yaml'), 'b: 1\n');
    writeFileSync(join(chart, 'templates', 'NOTES.txt'), '{{ required "notes need y" .Values.y }}\n');
    r = renderRaw(['--set', 'x=ok'], chart);
    expect(r.ok).toBe(false);
    expect(r.stderr).toContain('notes need y');
    r = renderRaw(['--set', 'x=ok,y=1'], chart);
    expect(r.ok).toBe(true);
    expect(r.stdout).not.toContain('NOTES');
  });
});

function requireDir(d: string): void {
  mkdirSync(d, { recursive: true });
}
