/** Renders a chart with tools/helm-render (built on demand by its setup hook) and splits the manifests. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Manifest, Obj } from './k8s-schema.js';

export const ROOT = new URL('../../../', import.meta.url).pathname;
export const CHART = join(ROOT, 'deploy/helm/peregrine');
export const RENDERER = join(ROOT, 'tools/helm-render/bin/helm-render');

/** Build the renderer if needed (a no-op when it is up to date). Throws with the hook's output. */
export function ensureRenderer(): void {
  const r = spawnSync('bash', [join(ROOT, 'scripts/setup.d/helm-render.sh')], { encoding: 'utf8' });
  if (r.status !== 0 || !existsSync(RENDERER))
    throw new Error(
      `building tools/helm-render failed (install golang-go and the Go packages in scripts/debian-packages.txt):\n${r.stderr}`,
    );
}

export interface RenderResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

export function renderRaw(args: string[], chart = CHART): RenderResult {
  const r = spawnSync(RENDERER, ['--name', 'peregrine', '--namespace', 'peregrine', ...args, chart], {
    encoding: 'utf8',
  });
  return { ok: r.status === 0, stdout: r.stdout, stderr: r.stderr };
}

/** Render and parse; throws with the renderer's error when rendering fails. */
export function render(args: string[] = [], chart = CHART): Manifest[] {
  const out = execFileSync(RENDERER, ['--name', 'peregrine', '--namespace', 'peregrine', ...args, chart], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return splitManifests(out);
}

/** Split `helm template` output into objects, keeping each one's `# Source:` file. */
export function splitManifests(text: string): Manifest[] {
  const out: Manifest[] = [];
  let source = '(unknown)';
  for (const chunk of text.split(/^---[ \t]*$/m)) {
    const m = /^# Source: (\S+)/m.exec(chunk);
    if (m) source = m[1]!;
    for (const doc of parseAllDocuments(chunk)) {
      if (doc.errors.length > 0)
        throw new Error(`${source}: rendered YAML does not parse: ${doc.errors[0]!.message}`);
      const value = doc.toJS() as unknown;
      if (value === null || value === undefined) continue;
      if (typeof value !== 'object' || Array.isArray(value))
        throw new Error(`${source}: a document is not a mapping`);
      out.push({ source, obj: value as Obj });
    }
  }
  return out;
}
