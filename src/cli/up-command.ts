import type { Command } from 'commander';
import { Stack } from '../stack/up.js';

const port = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`not a TCP port: ${v}`);
  return n;
};

/** `peregrine up`: agent + relay + console on embedded defaults, one command (what `npm start` runs). */
export function registerUpCommand(program: Command): void {
  program
    .command('up')
    .description('run the whole stack on this machine: agent → relay → console (SQLite), Ctrl-C stops all')
    .option(
      '--data-dir <dir>',
      'where the console database, the relay spool and the stack secret live',
      './data',
    )
    .option(
      '--demo',
      'also generate alerts (audit demo events; `peregrine generate all` when the syscall source runs)',
    )
    .option('--no-syscall', 'do not run the live syscall source (audit source only)')
    .option('--console-port <port>', 'console port', port, 2802)
    .option('--relay-port <port>', 'relay port', port, 2801)
    .option('--agent-port <port>', 'agent web server port', port, 8765)
    .option('--audit-port <port>', 'Kubernetes audit webhook port', port, 9765)
    .option('-v, --verbose', 'show the components’ info logs')
    .action(
      async (opts: {
        dataDir: string;
        demo?: boolean;
        syscall: boolean;
        consolePort: number;
        relayPort: number;
        agentPort: number;
        auditPort: number;
        verbose?: boolean;
      }) => {
        const stack = new Stack({
          ...opts,
          demo: !!opts.demo,
          verbose: !!opts.verbose,
          onStopped: (c) => process.exit(c),
        });
        let stopping = false;
        const stop = (code: number) => {
          if (stopping) return;
          stopping = true;
          void stack.stop(code).then((c) => process.exit(c));
        };
        process.on('SIGINT', () => stop(0));
        process.on('SIGTERM', () => stop(0));
        try {
          await stack.start();
        } catch (e) {
          process.stderr.write(`peregrine up: ${(e as Error).message}\n`);
          stop(1);
        }
      },
    );
}
