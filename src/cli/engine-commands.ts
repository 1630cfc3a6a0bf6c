/**
 * Rules-engine commands: `peregrine validate`, `peregrine rules list`, `peregrine fields`.
 * They load rule files exactly as the agent does (files in order, directories contribute their
 * *.yaml / *.yml files sorted by name) and print Falco's formats.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import {
  createValidator,
  type FieldSpec,
  type FileLoadResult,
  K8S_AUDIT_FIELDS,
  type RuleFile,
  SYSCALL_FIELDS,
} from '../engine/index.js';
import { fileMessagesText, fileStatus, makeMessage } from '../engine/results.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

interface ReadOutcome {
  files: RuleFile[];
  /** A file that could not be read: reported as LOAD_ERR_FILE_READ. */
  unreadable?: FileLoadResult;
}

/** Expand `-r` arguments to rule files; stops at the first unreadable path (as Falco does). */
export function readRuleArgs(paths: readonly string[]): ReadOutcome {
  const files: RuleFile[] = [];
  for (const p of paths) {
    try {
      if (statSync(p).isDirectory()) {
        for (const f of readdirSync(p).sort()) {
          const full = join(p, f);
          if (/\.ya?ml$/.test(f) && statSync(full).isFile())
            files.push({ name: full, content: readFileSync(full, 'utf8') });
        }
      } else files.push({ name: p, content: readFileSync(p, 'utf8') });
    } catch (e) {
      const msg = makeMessage(
        'LOAD_ERR_FILE_READ',
        `Could not read file ${p}: ${(e as Error).message}`,
        [{ item_type: 'rules content', item_name: '', position: { name: p, line: 0, column: 0, offset: 0 } }],
        '',
      );
      return { files, unreadable: { name: p, successful: false, errors: [msg], warnings: [] } };
    }
  }
  return { files, unreadable: undefined };
}

function loadAll(paths: readonly string[]) {
  const { files, unreadable } = readRuleArgs(paths);
  const engine = createValidator();
  const res = engine.load(files);
  const results = [...res.files];
  if (unreadable && res.successful) results.push(unreadable);
  return { engine, results, ok: results.every((r) => r.successful) };
}

function fieldsFor(source: string | undefined): { source: string; fields: readonly FieldSpec[] }[] {
  const all = [
    { source: 'syscall', fields: SYSCALL_FIELDS },
    { source: 'k8s_audit', fields: K8S_AUDIT_FIELDS },
  ];
  return source ? all.filter((s) => s.source === source) : all;
}

/** Exit quietly when stdout is closed early (e.g. piped into `head`). */
function quietEpipe(): void {
  process.stdout.once('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

function wrap(text: string, width: number): string[] {
  const words = text.replace(/\s+/g, ' ').trim().split(' ');
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    if (cur && cur.length + 1 + w.length > width) {
      lines.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(cur);
  return lines.length ? lines : [''];
}

export function registerEngineCommands(program: Command): void {
  program
    .command('validate')
    .description('validate rules files as Falco -V does (exit 0 valid, 1 invalid)')
    .requiredOption(
      '-r, --rules-file <path>',
      'rules file or directory (repeatable, loaded in order)',
      collect,
    )
    .option('--json', 'print the falco_load_results JSON')
    .action((opts: { rulesFile: string[]; json?: boolean }) => {
      quietEpipe();
      const { results, ok } = loadAll(opts.rulesFile);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ falco_load_results: results })}\n`);
      } else {
        for (const r of results) {
          process.stdout.write(`${r.name}: ${fileStatus(r)}\n`);
          if (!r.successful) process.stdout.write(`${fileMessagesText(r)}\n`);
          else if (r.warnings.length > 0) process.stderr.write(`${fileMessagesText(r)}\n`);
        }
      }
      process.exitCode = ok ? 0 : 1;
    });

  const rules = program.command('rules').description('inspect rules files');
  rules
    .command('list')
    .description(
      'list the rules of the given files in evaluation order (-L); --json prints the describe JSON',
    )
    .requiredOption(
      '-r, --rules-file <path>',
      'rules file or directory (repeatable, loaded in order)',
      collect,
    )
    .option('--json', 'print the describe JSON (falco -L with json_output)')
    .action((opts: { rulesFile: string[]; json?: boolean }) => {
      quietEpipe();
      const { engine, results, ok } = loadAll(opts.rulesFile);
      if (!ok) {
        for (const r of results.filter((x) => !x.successful))
          process.stderr.write(`${r.name}: Invalid\n${fileMessagesText(r)}\n`);
        process.exitCode = 1;
        return;
      }
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(engine.describe())}\n`);
        return;
      }
      const list = engine.rules();
      const w = Math.max(4, ...list.map((r) => r.name.length));
      let out = `${'Rule'.padEnd(w)}  Description\n${'----'.padEnd(w)}  -----------\n`;
      for (const r of list) {
        const lines = wrap(`${r.desc}${r.enabled ? '' : ' (disabled)'}`, Math.max(40, 120 - w));
        out += `${r.name.padEnd(w)}  ${lines[0]}\n`;
        for (const l of lines.slice(1)) out += `${' '.repeat(w)}  ${l}\n`;
      }
      process.stdout.write(out);
    });

  program
    .command('fields')
    .description('list the fields rules can use, per event source')
    .option('--source <source>', 'only this source (syscall, k8s_audit)')
    .option('--json', 'print JSON')
    .action((opts: { source?: string; json?: boolean }) => {
      quietEpipe();
      const sets = fieldsFor(opts.source);
      if (sets.length === 0) {
        process.stderr.write(
          `peregrine fields: unknown source '${opts.source}' (known: syscall, k8s_audit)\n`,
        );
        process.exitCode = 1;
        return;
      }
      if (opts.json) {
        process.stdout.write(
          `${JSON.stringify(sets.map((s) => ({ source: s.source, fields: s.fields })))}\n`,
        );
        return;
      }
      for (const s of sets) {
        process.stdout.write(`Event source: ${s.source}\n\n`);
        for (const f of s.fields) {
          if (f.deprecated) continue;
          const flags = [
            f.isList ? 'LIST' : '',
            f.arg === 'required' ? 'ARG_REQUIRED' : f.arg === 'optional' ? 'ARG_ALLOWED' : '',
            f.filterOnly ? 'FILTER_ONLY' : '',
          ]
            .filter(Boolean)
            .join(', ');
          process.stdout.write(
            `${f.name.padEnd(48)} ${f.type.padEnd(12)} ${flags ? `[${flags}] ` : ''}${f.desc}\n`,
          );
        }
        process.stdout.write('\n');
      }
    });
}
