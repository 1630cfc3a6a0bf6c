import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const bin = new URL('../../bin/peregrine.js', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

describe('peregrine CLI', () => {
  it('prints its version', () => {
    expect(execFileSync(process.execPath, [bin, '--version'], { encoding: 'utf8' }).trim()).toBe(pkg.version);
  });

  it('--help lists exactly the commands that are registered', async () => {
    const help = execFileSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    expect(help).toContain('Usage: peregrine');
    const { buildProgram } = await import('../../src/cli/main.js');
    const names = buildProgram().commands.map((c) => c.name());
    for (const name of names) expect(help).toMatch(new RegExp(`^\\s+${name}\\b`, 'm'));
    const listed = [...help.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]).filter((n) => n !== 'help');
    expect(listed.sort()).toEqual(names.filter((n) => n !== 'help').sort());
  });

  it('rejects an unknown command with a clear error', () => {
    let stderr = '';
    try {
      execFileSync(process.execPath, [bin, 'frobnicate'], { encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      stderr = String((e as { stderr: string }).stderr);
    }
    expect(stderr).toContain("unknown command 'frobnicate'");
  });
});
