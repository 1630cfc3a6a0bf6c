// The relay benchmarks' alert: what Falco's http_output posts for a shell in a container (~600 B as JSON).
// `n` numbers it, `phase` and `sent` (ms since the epoch) let the receivers measure end-to-end latency.
export function benchAlert(n, { phase = 'micro', sent = Date.now(), time = new Date().toISOString(), priority = 'Warning', rule = 'Terminal shell in container' } = {}) {
  return {
    hostname: 'bench-node',
    output: `12:00:00.000000000: Warning Shell spawned in a container (user=root shell=bash n=${n})`,
    output_fields: {
      'container.id': 'c0ffee12',
      'container.name': 'web',
      'k8s.ns.name': 'prod',
      'k8s.pod.name': 'web-7c9',
      'proc.cmdline': 'bash -i',
      'proc.name': 'bash',
      'proc.pname': 'nginx',
      'user.name': 'root',
      n,
      bench_phase: phase,
      bench_sent: sent,
    },
    priority,
    rule,
    source: 'syscall',
    tags: ['container', 'mitre_execution', 'shell'],
    time,
  };
}
