// Deterministic synthetic Falco alerts for the console benchmark: a skewed rule
// mix (a few noisy rules, a long tail), Falco priorities, hosts, images,
// namespaces and tags, spread over `spanMs` ending now.
const PRIORITY_WEIGHTS = [
  ['Emergency', 1],
  ['Alert', 2],
  ['Critical', 30],
  ['Error', 60],
  ['Warning', 300],
  ['Notice', 400],
  ['Informational', 150],
  ['Debug', 57],
];

export function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = 'shell spawned container write below etc sensitive file opened reading network connection outbound privileged pod exec launched package management process crypto miner binary ssh key modified cron job'.split(' ');

export function makeGenerator(seed = 42, spanMs = 7 * 86_400_000) {
  const r = rng(seed);
  const pick = (arr) => arr[Math.floor(r() * arr.length)];
  const zipf = (n) => Math.floor(n * r() ** 3);
  const rules = Array.from({ length: 80 }, (_, i) => `Bench rule ${String(i).padStart(2, '0')} ${pick(WORDS)} ${pick(WORDS)}`);
  const hosts = Array.from({ length: 200 }, (_, i) => `node-${i}`);
  const images = Array.from({ length: 40 }, (_, i) => `registry.example/app-${i}`);
  const nss = Array.from({ length: 25 }, (_, i) => `ns-${i}`);
  const tagSets = [['container', 'shell'], ['filesystem', 'mitre_persistence'], ['network'], ['k8s', 'mitre_privilege_escalation'], ['process', 'mitre_execution'], []];
  const total = PRIORITY_WEIGHTS.reduce((s, [, w]) => s + w, 0);
  const priority = () => {
    let x = r() * total;
    for (const [p, w] of PRIORITY_WEIGHTS) if ((x -= w) < 0) return p;
    return 'Debug';
  };
  const end = Date.now();
  return (i, n) => {
    const ts = end - spanMs + Math.floor((spanMs * i) / n) + Math.floor(r() * 1000);
    const rule = rules[zipf(rules.length)];
    const host = hosts[zipf(hosts.length)];
    const image = images[zipf(images.length)];
    const ns = nss[zipf(nss.length)];
    const cmd = `${pick(WORDS)} -${pick(WORDS)} /var/lib/${pick(WORDS)}/${Math.floor(r() * 1e6)}`;
    const p = priority();
    return {
      hostname: host,
      output: `${new Date(ts).toISOString()}: ${p} ${rule} (user=root command=${cmd} container=${image} ns=${ns})`,
      output_fields: {
        'container.id': (Math.floor(r() * 2 ** 48)).toString(16).padStart(12, '0'),
        'container.image.repository': image,
        'container.name': `${image.split('/')[1]}-${Math.floor(r() * 10)}`,
        'k8s.ns.name': ns,
        'k8s.pod.name': `${image.split('/')[1]}-${Math.floor(r() * 1e5).toString(36)}`,
        'proc.cmdline': cmd,
        'proc.name': cmd.split(' ')[0],
        'user.name': 'root',
      },
      priority: p,
      rule,
      source: r() < 0.85 ? 'syscall' : 'k8s_audit',
      tags: pick(tagSets),
      time: new Date(ts).toISOString(),
      ...(r() < 0.1 ? { count: 1 + Math.floor(r() * 20) } : {}),
    };
  };
}
