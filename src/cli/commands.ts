import type { Command } from 'commander';
import { registerAgentCommands } from './agent-commands.js';
import { registerCaptureCommand } from './capture-command.js';
import { registerConsoleCommand } from './console-command.js';
import { registerEngineCommands } from './engine-commands.js';
import { registerGenerateCommand } from './generate-command.js';
import { registerRelayCommand } from './relay-command.js';
import { registerUpCommand } from './up-command.js';

/**
 * Every CLI command, one line each. A command is listed here only once it works
 * (it then appears in `peregrine --help` and in the README).
 */
export function registerCommands(program: Command): void {
  // Commands are added here as their stages land.
  registerUpCommand(program);
  registerAgentCommands(program);
  registerRelayCommand(program);
  registerConsoleCommand(program);
  registerEngineCommands(program);
  registerGenerateCommand(program);
  registerCaptureCommand(program);
}
