/**
 * The container image's Dockerfile, checked structurally. No container engine can build images on
 * this machine (and base images can't be pulled), so instead of building, this test parses the
 * Dockerfile and checks what a build depends on: the stages and their base images, the packages
 * each stage installs, that every `COPY` from the build context names a path that exists in the
 * repository and is not excluded by .dockerignore, that every `COPY --from=build` names something
 * the build stage copied in or produces (dist/ from tsconfig.build.json, the collector binary from
 * collector/Makefile), that the entrypoint `peregrine` resolves to bin/peregrine.js, which loads
 * dist/cli/main.js, and that the runtime runs as a non-root user.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../../', import.meta.url).pathname;

interface Instr {
  op: string;
  args: string;
  line: number;
}
interface Stage {
  base: string;
  name: string;
  instrs: Instr[];
}

/** Parse a Dockerfile: comments dropped, `\` continuations joined, instructions grouped by stage. */
function parseDockerfile(text: string): { preArgs: Instr[]; stages: Stage[] } {
  const instrs: Instr[] = [];
  let buf = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (buf === '' && (line.trim().startsWith('#') || line.trim() === '')) return;
    if (buf !== '' && line.trim().startsWith('#')) return;
    if (buf === '') start = i + 1;
    if (line.endsWith('\\')) {
      buf += `${line.slice(0, -1)} `;
      return;
    }
    buf += line;
    const m = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(buf);
    if (!m) throw new Error(`Dockerfile line ${start}: cannot parse ${JSON.stringify(buf)}`);
    instrs.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start });
    buf = '';
  });
  if (buf !== '') throw new Error('Dockerfile ends inside a line continuation');
  const preArgs: Instr[] = [];
  const stages: Stage[] = [];
  for (const ins of instrs) {
    if (ins.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`Dockerfile line ${ins.line}: bad FROM`);
      stages.push({ base: m[1]!, name: m[2] ?? String(stages.length), instrs: [] });
    } else if (stages.length === 0) {
      if (ins.op !== 'ARG') throw new Error(`Dockerfile line ${ins.line}: ${ins.op} before FROM`);
      preArgs.push(ins);
    } else stages.at(-1)!.instrs.push(ins);
  }
  return { preArgs, stages };
}

/** Whether .dockerignore excludes a context path (patterns as Docker reads them; `!` re-includes). */
function ignored(path: string, patterns: string[]): boolean {
  let out = false;
  for (const raw of patterns) {
    const neg = raw.startsWith('!');
    const p = (neg ? raw.slice(1) : raw).replace(/^\/+/, '').replace(/\/+$/, '');
    const re = new RegExp(
      `^${p
        .split('/')
        .map((seg) =>
          seg === '**'
            ? '.*'
            : seg
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
        .join('/')}(/.*)?$`,
    );
    if (re.test(path)) out = !neg;
  }
  return out;
}

interface Copy {
  from?: string;
  sources: string[];
  dest: string;
  line: number;
}

function copies(stage: Stage): Copy[] {
  return stage.instrs
    .filter((i) => i.op === 'COPY')
    .map((i) => {
      const parts = i.args.split(/\s+/);
      let from: string | undefined;
      while (parts[0]?.startsWith('--')) {
        const flag = parts.shift()!;
        if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
      }
      const dest = parts.pop()!;
      return { from, sources: parts, dest, line: i.line };
    });
}

function runText(stage: Stage): string {
  return stage.instrs
    .filter((i) => i.op === 'RUN')
    .map((i) => i.args)
    .join('\n');
}

function aptPackages(stage: Stage): string[] {
  const m = /apt-get install\s+((?:-\S+\s+)*)([^&;|]+)/.exec(runText(stage));
  return m ? m[2]!.trim().split(/\s+/) : [];
}

const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const { preArgs, stages } = parseDockerfile(text);
const dockerignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));
const build = stages.find((s) => s.name === 'build')!;
const runtime = stages.at(-1)!;

function resolveArgs(s: string): string {
  return s.replace(/\$\{?([A-Z_]+)\}?/g, (_m, name: string) => {
    const a = preArgs.find((p) => p.args.startsWith(`${name}=`));
    return a ? a.args.slice(name.length + 1) : `\${${name}}`;
  });
}

describe('Dockerfile', () => {
  it('has a Node 20 Debian bookworm build stage and a slim Node 20 runtime stage', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    expect(resolveArgs(build.base)).toBe('node:20-bookworm');
    expect(resolveArgs(runtime.base)).toBe('node:20-bookworm-slim');
  });

  it('the build stage installs the collector toolchain; the runtime only its shared libraries', () => {
    expect(aptPackages(build)).toEqual(
      expect.arrayContaining(['clang', 'llvm', 'libbpf-dev', 'bpftool', 'libelf-dev', 'zlib1g-dev', 'make']),
    );
    const rt = aptPackages(runtime);
    expect(rt).toEqual(expect.arrayContaining(['libbpf1', 'libelf1', 'zlib1g']));
    expect(rt.filter((p) => p.endsWith('-dev') || ['clang', 'llvm', 'make', 'gcc'].includes(p))).toEqual([]);
    for (const s of stages) {
      expect(runText(s)).toMatch(/--no-install-recommends/);
      expect(runText(s)).toMatch(/rm -rf \/var\/lib\/apt\/lists/);
    }
  });

  it('installs npm dependencies from the lockfile, builds TypeScript and the collector, prunes dev deps', () => {
    const run = runText(build);
    expect(run).toMatch(/npm ci\b/);
    expect(run).toMatch(/npm run build/);
    expect(run).toMatch(/make -C collector .*build\/peregrine-collector/);
    expect(run).toMatch(/npm prune --omit=dev/);
    // `npm run build` also builds the console's web UI into dist/console-web, where the console serves it.
    const buildScript = (
      JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    ).scripts.build!;
    const vite = /vite build (?:--config|-c) (\S+)/.exec(buildScript);
    expect(vite, 'npm run build builds the console web UI').not.toBeNull();
    expect(readFileSync(join(ROOT, vite![1]!), 'utf8')).toContain('dist/console-web');
    expect(readFileSync(join(ROOT, 'src/console/api/static.ts'), 'utf8')).toContain('dist/console-web');
    // The lockfile is copied (first) before `npm ci`, the sources after it: dependency layers are reused.
    const idx = (pred: (i: Instr) => boolean) => build.instrs.findIndex(pred);
    const lockCopy = idx((i) => i.op === 'COPY' && i.args.includes('package-lock.json'));
    const ciRun = idx((i) => i.op === 'RUN' && /npm ci\b/.test(i.args));
    const srcCopy = idx((i) => i.op === 'COPY' && /^src\b/.test(i.args));
    expect(lockCopy).toBe(idx((i) => i.op === 'COPY'));
    expect(lockCopy).toBeLessThan(ciRun);
    expect(ciRun).toBeLessThan(srcCopy);
    // The Makefile really has the target the Dockerfile builds.
    expect(readFileSync(join(ROOT, 'collector/Makefile'), 'utf8')).toMatch(
      /^\$\(BUILD\)\/peregrine-collector:/m,
    );
  });

  it('every COPY from the build context exists in the repository and is not excluded by .dockerignore', () => {
    const ctx = stages.flatMap((s) => copies(s).filter((c) => c.from === undefined));
    expect(ctx.length).toBeGreaterThan(0);
    for (const c of ctx)
      for (const src of c.sources) {
        expect(existsSync(join(ROOT, src)), `Dockerfile line ${c.line}: ${src} missing from the repo`).toBe(
          true,
        );
        expect(
          ignored(src, dockerignore),
          `Dockerfile line ${c.line}: ${src} is excluded by .dockerignore`,
        ).toBe(false);
      }
    // What the build reads must reach the context too.
    for (const p of ['src/cli/main.ts', 'collector/src', 'bin/peregrine.js', 'package-lock.json'])
      expect(ignored(p, dockerignore), p).toBe(false);
    for (const p of ['node_modules', 'dist', 'collector/build', '.git'])
      expect(ignored(p, dockerignore), p).toBe(true);
  });

  it('every COPY --from=build names a path the build stage copied in or produces', () => {
    const tsBuild = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as {
      compilerOptions: { outDir: string };
    };
    const produced = [
      `/src/${tsBuild.compilerOptions.outDir}`,
      '/src/collector/build/peregrine-collector',
      '/src/node_modules',
    ];
    const copiedIn = copies(build).flatMap((c) =>
      c.sources.map((s) => (c.dest === './' ? `/src/${s}` : `/src/${c.dest.replace(/^\.\//, '')}`)),
    );
    const fromBuild = copies(runtime).filter((c) => c.from === 'build');
    expect(fromBuild.length).toBeGreaterThan(0);
    for (const c of fromBuild)
      for (const src of c.sources)
        expect(
          [...produced, ...copiedIn].some((p) => src === p || src.startsWith(`${p}/`)),
          `Dockerfile line ${c.line}: ${src} is neither copied into nor produced by the build stage`,
        ).toBe(true);
  });

  it('the runtime has everything the CLI loads at startup, and the entrypoint is peregrine', () => {
    const dests = copies(runtime).map((c) => c.dest.replace(/^\.\//, ''));
    for (const d of ['dist', 'bin', 'node_modules', 'package.json', 'config', 'rules'])
      expect(dests).toContain(d);
    const workdir = runtime.instrs.filter((i) => i.op === 'WORKDIR').at(-1)?.args;
    expect(workdir).toBe('/opt/peregrine');
    expect(runText(runtime)).toContain('ln -s /opt/peregrine/bin/peregrine.js /usr/local/bin/peregrine');
    const entry = runtime.instrs.find((i) => i.op === 'ENTRYPOINT');
    expect(JSON.parse(entry!.args)).toEqual(['peregrine']);
    // bin/peregrine.js is executable, has a node shebang and loads dist/cli/main.js (built from src/cli/main.ts).
    const bin = readFileSync(join(ROOT, 'bin/peregrine.js'), 'utf8');
    expect(bin.startsWith('#!/usr/bin/env node')).toBe(true);
    expect(statSync(join(ROOT, 'bin/peregrine.js')).mode & 0o111).not.toBe(0);
    expect(bin).toContain('../dist/cli/main.js');
    expect(existsSync(join(ROOT, 'src/cli/main.ts'))).toBe(true);
    // package.json is ESM, which bin/ and dist/ rely on.
    expect(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).type).toBe('module');
  });

  it('the runtime runs as a non-root numeric user and exposes the default ports', () => {
    const user = runtime.instrs.filter((i) => i.op === 'USER').at(-1)?.args;
    expect(user).toMatch(/^[1-9][0-9]*(:[1-9][0-9]*)?$/);
    const expose = runtime.instrs
      .find((i) => i.op === 'EXPOSE')
      ?.args.split(/\s+/)
      .map(Number);
    expect(expose?.sort()).toEqual([2801, 2802, 8765, 9765]);
  });

  it('the parser and the .dockerignore matcher handle what they claim to', () => {
    const p = parseDockerfile(
      'ARG X=1\n# c\nFROM a:$X AS one\nRUN a \\\n  # skipped\n  b\nFROM b\nCOPY --from=one /x ./y\n',
    );
    expect(p.preArgs.map((i) => i.args)).toEqual(['X=1']);
    expect(p.stages.map((s) => [s.base, s.name])).toEqual([
      ['a:$X', 'one'],
      ['b', '1'],
    ]);
    expect(p.stages[0]!.instrs[0]).toMatchObject({ op: 'RUN', args: 'a    b' });
    expect(ignored('test/unit/x.ts', ['test'])).toBe(true);
    expect(ignored('src/test.ts', ['test'])).toBe(false);
    expect(ignored('a/b.log', ['**/*.log'])).toBe(true);
    expect(ignored('keep.log', ['*.log', '!keep.log'])).toBe(false);
    expect(() => parseDockerfile('RUN x\n')).toThrow(/before FROM/);
  });
});
