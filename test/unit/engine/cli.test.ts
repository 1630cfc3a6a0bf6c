import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildProgram } from '../../../src/cli/main.js';

const dir = mkdtempSync(join(tmpdir(), 'peregrine-engine-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

async function run(args: string[]): Promise<{ out: string; err: string; code: number }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
    out += String(s);
    return true;
  });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    err += String(s);
    return true;
  });
  process.exitCode = 0;
  try {
    await buildProgram()
      .exitOverride()
      .parseAsync(['node', 'peregrine', ...args]);
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { out, err, code };
}

const GOOD = `- list: shells\n  items: [bash, sh]\n- macro: spawned\n  condition: evt.type = execve\n- rule: Shell\n  desc: a shell ran\n  condition: spawned and proc.name in (shells)\n  output: "shell %proc.name"\n  priority: WARNING\n  tags: [shell]\n`;

describe('peregrine validate / rules list / fields', () => {
  beforeEach(() => {
    process.exitCode = 0;
  });

  it('validate: exit 0 and "Ok" for a valid file, exit 1 with the error block for an invalid one', async () => {
    const good = file('good.yaml', GOOD);
    const ok = await run(['validate', '-r', good]);
    expect(ok.code).toBe(0);
    expect(ok.out).toBe(`${good}: Ok\n`);
    const bad = file(
      'bad.yaml',
      `${GOOD}- rule: Broken\n  desc: d\n  condition: evt.type = execve and (\n  output: x\n  priority: INFO\n`,
    );
    const r = await run(['validate', '-r', bad]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${bad}: Invalid`);
    expect(r.out).toContain(`    rule 'Broken': (${bad}:10:2)`);
    expect(r.out).toContain('LOAD_ERR_COMPILE_CONDITION (Error compiling condition): ');
  });

  it('validate --json prints falco_load_results; several -r files load in order', async () => {
    const base = file('base.yaml', GOOD);
    const extra = file('extra.yaml', `- list: shells\n  items: [zsh]\n  override:\n    items: append\n`);
    const r = await run(['validate', '-r', base, '-r', extra, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { falco_load_results: { name: string; successful: boolean }[] };
    expect(j.falco_load_results.map((f) => [f.name, f.successful])).toEqual([
      [base, true],
      [extra, true],
    ]);
    const missing = await run(['validate', '-r', base, '-r', join(dir, 'missing.yaml'), '--json']);
    expect(missing.code).toBe(1);
    expect(missing.out).toContain('LOAD_ERR_FILE_READ');
  });

  it('validate prints "Ok, with warnings" and the warnings on stderr', async () => {
    const w = file(
      'warn.yaml',
      `- rule: Wide\n  desc: d\n  condition: proc.name = x\n  output: o\n  priority: INFO\n`,
    );
    const r = await run(['validate', '-r', w]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(`${w}: Ok, with warnings\n`);
    expect(r.err).toContain('LOAD_NO_EVTTYPE');
  });

  it('rules list prints rules in order; --json prints the describe JSON', async () => {
    const p = file('list.yaml', GOOD);
    const r = await run(['rules', 'list', '-r', p]);
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[2]).toMatch(/^Shell\s+a shell ran$/);
    const j = JSON.parse((await run(['rules', 'list', '-r', p, '--json'])).out) as {
      rules: { info: { name: string; tags: string[] } }[];
    };
    expect(j.rules[0]!.info).toMatchObject({ name: 'Shell', tags: ['shell'] });
  });

  it('fields lists each source, with --source and --json', async () => {
    const t = await run(['fields', '--source', 'syscall']);
    expect(t.out).toMatch(/^proc\.aname\s+charbuf\s+\[ARG_ALLOWED\]/m);
    expect(t.out).not.toContain('ka.verb');
    const j = JSON.parse((await run(['fields', '--json'])).out) as {
      source: string;
      fields: { name: string }[];
    }[];
    expect(j.map((s) => s.source)).toEqual(['syscall', 'k8s_audit']);
    expect(j[1]!.fields.some((f) => f.name === 'ka.req.pod.containers.image')).toBe(true);
    const bad = await run(['fields', '--source', 'nope']);
    expect(bad.code).toBe(1);
  });
});
