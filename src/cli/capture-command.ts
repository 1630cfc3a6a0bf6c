/**
 * `peregrine capture -w FILE`: record live syscall events (decoded, with process,
 * fd and container state) into a capture file that `peregrine replay --source
 * syscall FILE` runs through the rules again — reproducible tests and triage.
 */
import type { Command } from 'commander';
import { defaultContainerSocket } from '../agent/syscall-source.js';
import { createLogger } from '../common/log.js';
import { CaptureWriter } from '../sources/syscall/capture.js';
import { SyscallSource, syscallSourceUnavailableReason } from '../sources/syscall/source.js';

export function registerCaptureCommand(program: Command): void {
  program
    .command('capture')
    .description('record live syscall events into a capture file (replay it with: replay --source syscall)')
    .requiredOption('-w, --write <file>', 'capture file to write')
    .option('--duration <seconds>', 'stop after this many seconds', Number)
    .option('--count <n>', 'stop after this many events', Number)
    .option(
      '--types <list>',
      'comma-separated event types to record (default: every type the collector traces)',
    )
    .option('--container-socket <path>', 'Docker-compatible API socket for container metadata')
    .action(
      async (opts: {
        write: string;
        duration?: number;
        count?: number;
        types?: string;
        containerSocket?: string;
      }) => {
        const reason = syscallSourceUnavailableReason();
        if (reason) {
          process.stderr.write(`peregrine capture: the syscall source cannot run here: ${reason}\n`);
          process.exit(1);
        }
        const log = createLogger('capture');
        const writer = new CaptureWriter(opts.write);
        const source = new SyscallSource({
          eventTypes: opts.types ? opts.types.split(',').map((t) => t.trim()) : undefined,
          containerSocket: opts.containerSocket ?? defaultContainerSocket(),
          log,
        });
        let done = false;
        const finish = async (why: string) => {
          if (done) return;
          done = true;
          await source.stop();
          await writer.close();
          process.stderr.write(
            `peregrine capture: ${writer.count} events written to ${opts.write} (${why})\n`,
          );
          process.exit(0);
        };
        await source.start((ev) => {
          if (done) return;
          writer.write(ev);
          if (opts.count && writer.count >= opts.count) void finish('count reached');
        });
        process.stderr.write(`peregrine capture: recording to ${opts.write}; Ctrl-C to stop\n`);
        if (opts.duration) setTimeout(() => void finish('duration reached'), opts.duration * 1000);
        process.on('SIGINT', () => void finish('interrupted'));
        process.on('SIGTERM', () => void finish('terminated'));
      },
    );
}
