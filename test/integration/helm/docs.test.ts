/**
 * The deployment docs stay true to the code: every metric name docs/operations.md and docs/deploy.md
 * mention is registered somewhere in src/ (or is one of prom-client's default process metrics, which
 * src/ turns on), and the files the docs link to exist.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../../', import.meta.url).pathname;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

const METRIC = /`((?:peregrine|falcosecurity|process|nodejs)_[a-z0-9_]+)(?:\{[^}`]*\})?`/g;
const DOCS = ['docs/operations.md', 'docs/deploy.md'];

describe('deployment docs', () => {
  it('every metric the docs name exists in the code', () => {
    const code = sources(join(ROOT, 'src'))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    const promDefaults = sources(join(ROOT, 'node_modules/prom-client/lib'))
      .concat(
        readdirSync(join(ROOT, 'node_modules/prom-client/lib/metrics')).map((f) =>
          join(ROOT, 'node_modules/prom-client/lib/metrics', f),
        ),
      )
      .filter((f) => f.endsWith('.js'))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    const missing: string[] = [];
    let count = 0;
    for (const doc of DOCS) {
      const text = readFileSync(join(ROOT, doc), 'utf8');
      for (const m of text.matchAll(METRIC)) {
        count++;
        const name = m[1]!;
        const inCode = code.includes(`'${name}'`) || code.includes(`"${name}"`);
        const isDefault =
          /^(process|nodejs)_/.test(name) &&
          code.includes('collectDefaultMetrics') &&
          promDefaults.includes(name);
        if (!inCode && !isDefault) missing.push(`${doc}: ${name}`);
      }
    }
    expect(count).toBeGreaterThan(10);
    expect(missing).toEqual([]);
  });

  it('relative links in the deployment docs point to existing files', () => {
    const broken: string[] = [];
    for (const doc of ['docs/deploy.md', 'docs/operations.md', 'docs/quickstart.md']) {
      const text = readFileSync(join(ROOT, doc), 'utf8');
      for (const m of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/.test(target)) continue;
        if (!existsSync(join(ROOT, dirname(doc), target))) broken.push(`${doc} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
