// The relay from dist/ (or BENCH_RELAY_DIST: another build, for before/after runs), configured only through
// the environment (as Falcosidekick users do).
import { pathToFileURL } from 'node:url';
const dist = process.env.BENCH_RELAY_DIST ? pathToFileURL(`${process.env.BENCH_RELAY_DIST.replace(/\/$/, '')}/`) : new URL('../../dist/', import.meta.url);
const { loadRelayConfig } = await import(new URL('relay/config/relay-config.js', dist).href);
const { Relay } = await import(new URL('relay/relay.js', dist).href);
const { SINKS } = await import(new URL('relay/sinks/registry.js', dist).href);
const { createLogger } = await import(new URL('common/log.js', dist).href);

import { readdirSync, readFileSync } from 'node:fs';
/** CPU seconds of the main (JavaScript) thread alone: utime + stime of /proc/self/task/<pid>/stat. */
function mainThreadCpu() {
  try {
    const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(parts[11]) + Number(parts[12])) / 100;
  } catch {
    return Number.NaN;
  }
}
/** CPU seconds per thread of this process (tid → seconds), from /proc/self/task/<tid>/stat. */
function threadCpu() {
  const out = {};
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      try {
        const f = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
        const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
        out[tid] = (Number(parts[11]) + Number(parts[12])) / 100;
      } catch {}
    }
  } catch {}
  return out;
}
const relay = await Relay.start(loadRelayConfig(SINKS, {}), { log: createLogger('relay', { level: 'error' }) });
process.send({ port: relay.port });
process.on('message', async (m) => {
  if (m === 'stats') {
    const cpu = process.cpuUsage();
    process.send({
      fsyncs: relay.spool?.fsyncs ?? 0,
      fsyncMs: relay.spool?.fsyncMs ?? 0,
      // with the JetStream bus there is no spool: the number of accepted alerts stands in for its end
      lastSeq: relay.spool?.lastSeq ?? (await relay.metrics.inputs.get()).values.filter((v) => v.labels.status === 'accepted').reduce((t, v) => t + v.value, 0),
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      mainCpuSeconds: mainThreadCpu(),
      threads: threadCpu(),
      mainTid: String(process.pid),
    });
  } else if (m === 'stop') {
    await relay.close();
    process.exit(0);
  }
});
