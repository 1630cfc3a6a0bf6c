/** `peregrine generate [ACTION|all]`: perform, harmlessly, what the default syscall rules detect. */
import type { Command } from 'commander';
import { ACTIONS } from '../generate/actions.js';
import { type GenerateReport, runGenerate, selectActions } from '../generate/run.js';

function line(r: GenerateReport): string {
  const status = r.error ? `FAILED: ${r.error}` : r.skipped ? `skipped: ${r.skipped}` : r.did;
  return `${r.action.padEnd(24)} → ${r.rule}: ${status}`;
}

export function registerGenerateCommand(program: Command): void {
  program
    .command('generate')
    .description(
      'perform, harmlessly, each behaviour a default syscall rule detects (root; in a container when podman works)',
    )
    .argument('[actions...]', 'action names, or all (default)')
    .option('--list', 'list the actions and the rule each should trigger')
    .option('--json', 'one JSON object per action')
    .option('--sandbox <mode>', 'auto | container | namespaces', 'auto')
    .action(async (names: string[], o: { list?: boolean; json?: boolean; sandbox: string }) => {
      if (o.list) {
        for (const a of ACTIONS)
          process.stdout.write(
            o.json
              ? `${JSON.stringify({ action: a.name, rule: a.rule, where: a.where, describe: a.describe })}\n`
              : `${a.name.padEnd(24)} ${a.where.padEnd(10)} ${a.rule}: ${a.describe}\n`,
          );
        return;
      }
      if (!['auto', 'container', 'namespaces'].includes(o.sandbox)) {
        process.stderr.write(
          `peregrine generate: --sandbox must be auto, container or namespaces, not '${o.sandbox}'\n`,
        );
        process.exitCode = 2;
        return;
      }
      if (process.getuid?.() !== 0) {
        process.stderr.write('peregrine generate: must run as root (containers, /etc, /var/log, ptrace)\n');
        process.exitCode = 2;
        return;
      }
      let actions: ReturnType<typeof selectActions>;
      try {
        actions = selectActions(names);
      } catch (e) {
        process.stderr.write(`peregrine generate: ${(e as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      let failed = 0;
      try {
        await runGenerate(actions, {
          sandbox: o.sandbox as 'auto' | 'container' | 'namespaces',
          onInfo: (l) => process.stderr.write(`${l}\n`),
          onReport: (r) => {
            if (r.error) failed++;
            process.stdout.write(o.json ? `${JSON.stringify(r)}\n` : `${line(r)}\n`);
          },
        });
      } catch (e) {
        process.stderr.write(`peregrine generate: ${(e as Error).message}\n`);
        process.exitCode = 1;
        return;
      }
      if (failed) process.exitCode = 1;
    });
}
