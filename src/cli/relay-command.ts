import type { Command } from 'commander';
import { createLogger } from '../common/log.js';
import { ConfigError } from '../relay/config/load.js';
import { loadRelayConfig } from '../relay/config/relay-config.js';
import { Relay } from '../relay/relay.js';
import { SINKS } from '../relay/sinks/registry.js';

/** `peregrine relay -c FILE`: the Falcosidekick-compatible durable alert fan-out (port 2801). */
export function registerRelayCommand(program: Command): void {
  program
    .command('relay')
    .description('durable Falcosidekick-compatible alert fan-out (intake on :2801, spool, sinks)')
    .option('-c, --config-file <file>', 'YAML config (optional: environment variables alone work too)')
    .option('--check', 'validate the configuration, print the enabled sinks and exit')
    .action(async (opts: { configFile?: string; check?: boolean }) => {
      const log = createLogger('relay');
      let config: ReturnType<typeof loadRelayConfig>;
      try {
        config = loadRelayConfig(SINKS, { file: opts.configFile });
      } catch (e) {
        if (e instanceof ConfigError) {
          process.stderr.write(`peregrine relay: ${e.message}\n`);
          process.exit(2);
        }
        throw e;
      }
      if (opts.check) {
        for (const w of config.warnings) process.stdout.write(`warning: ${w}\n`);
        process.stdout.write(
          `config ok; listen ${config.listenAddress || '0.0.0.0'}:${config.listenPort}; spool ${config.spool.dir}; sinks: ${
            config.sinks.map((s) => s.def.name).join(', ') || '(none)'
          }\n`,
        );
        return;
      }
      let relay: Relay;
      try {
        relay = await Relay.start(config, { log });
      } catch (e) {
        process.stderr.write(`peregrine relay: ${(e as Error).message}\n`);
        process.exit(2);
      }
      let stopping = false;
      const stop = (sig: string) => {
        if (stopping) return;
        stopping = true;
        log.info('stopping', { signal: sig });
        relay.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
}
