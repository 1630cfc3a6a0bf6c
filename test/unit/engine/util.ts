import {
  createEngine,
  type Engine,
  type EngineOptions,
  K8S_AUDIT_FIELDS,
  type MemoryEvent,
  memoryExtractor,
  SYSCALL_FIELDS,
} from '../../../src/engine/index.js';

export const SYSCALL = memoryExtractor('syscall', SYSCALL_FIELDS);
export const K8S = memoryExtractor('k8s_audit', K8S_AUDIT_FIELDS);

export function engine(
  opts: Partial<EngineOptions> & { suggestedOutput?: boolean; codegen?: boolean } = {},
): Engine {
  return createEngine({ extractors: [SYSCALL, K8S], hostname: 'testhost', suggestedOutput: false, ...opts });
}

/** Engine with one syscall rule `r` whose condition is `cond`; throws with the load text on failure. */
export function ruleEngine(cond: string, extra = '', opts: Partial<EngineOptions> = {}): Engine {
  const e = engine(opts);
  const yaml = `${extra}
- rule: r
  desc: d
  condition: ${JSON.stringify(cond)}
  output: out %proc.name
  priority: WARNING
`;
  const res = e.load([{ name: 'r.yaml', content: yaml }]);
  if (!res.successful) throw new Error(res.toText());
  return e;
}

export function hit(cond: string, ev: MemoryEvent, extra = ''): boolean {
  return ruleEngine(cond, extra).process('syscall', { 'evt.type': 'open', ...ev }).length > 0;
}

/** Load and return the first error or warning codes. */
export function load(yaml: string | string[], opts: Partial<EngineOptions> = {}) {
  const e = engine(opts);
  const files = (Array.isArray(yaml) ? yaml : [yaml]).map((content, i) => ({ name: `f${i}.yaml`, content }));
  const res = e.load(files);
  const errors = res.files.flatMap((f) => f.errors);
  const warnings = res.files.at(-1)?.warnings ?? [];
  return { e, res, errors, warnings, codes: warnings.map((w) => w.code), error: errors[0] };
}
