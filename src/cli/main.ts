import { Command } from 'commander';
import { PEREGRINE_VERSION } from '../version.js';
import { registerCommands } from './commands.js';

/** Build the `peregrine` program. Each command registers itself in commands.ts once it works. */
export function buildProgram(): Command {
  const program = new Command('peregrine')
    .description('Runtime security camera for Linux hosts and Kubernetes (Falco-compatible)')
    .version(PEREGRINE_VERSION, '-V, --version', 'print the peregrine version')
    .showHelpAfterError()
    .enablePositionalOptions();
  registerCommands(program);
  return program;
}

export async function run(argv: string[]): Promise<void> {
  const program = buildProgram();
  if (argv.length <= 2) {
    program.outputHelp();
    return;
  }
  const first = argv[2]!;
  if (
    !first.startsWith('-') &&
    !program.commands.some((c) => c.name() === first || c.aliases().includes(first))
  ) {
    program.error(`error: unknown command '${first}'`, { exitCode: 1, code: 'commander.unknownCommand' });
  }
  await program.parseAsync(argv);
}
