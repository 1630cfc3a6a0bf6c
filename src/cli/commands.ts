import type { Command } from 'commander';

/**
 * Every CLI command, one line each. A command is listed here only once it works
 * (it then appears in `peregrine --help` and in the README).
 */
export function registerCommands(_program: Command): void {
  // Commands are added here as their stages land.
}
