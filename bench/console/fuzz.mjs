// Larger fuzz run of the console's input parsers (alerts and query strings):
// every input must either parse or fail with the console's own error type.
import { filterFromQuery } from '../../dist/console/store/filter.js';
import { AlertError, normalizeAlert } from '../../dist/console/store/normalize.js';
import { rng } from './gen.mjs';

const VALUES = [null, 0, -1, 1.5, 1e308, '', ' ', 'x', 'Warning', 'INFO', 'null', '2024-03-01T08:52:34Z', '2024-03-01T08:52:34.123456789+02:00', '9999-99-99T99:99:99Z', [], ['a'], [1], {}, { a: 1 }, { 'k8s.ns.name': ['x'] }, true, '\u0000', '😀', 'a,b,,c', '%', '"', '\\'];
const KEYS = ['rule', 'priority', 'time', 'uuid', 'tags', 'count', 'hostname', 'output', 'output_fields', 'source', 'cluster', 'message'];
const QKEYS = ['priority', 'min_priority', 'rule', 'source', 'hostname', 'tags', 'cluster', 'container', 'namespace', 'q', 'since', 'from', 'to'];

export function fuzz(iterations, seed = 1) {
  const r = rng(seed);
  const pick = (a) => a[Math.floor(r() * a.length)];
  let accepted = 0;
  let rejected = 0;
  const crashes = [];
  for (let i = 0; i < iterations; i++) {
    const alert = { rule: 'R', priority: 'Warning', time: '2024-03-01T08:52:34Z', output_fields: {} };
    for (const k of KEYS) if (r() < 0.25) alert[k] = pick(VALUES);
    if (r() < 0.05) delete alert[pick(KEYS)];
    const q = {};
    for (const k of QKEYS) if (r() < 0.2) q[k] = String(pick(VALUES));
    for (const [fn, input] of [
      [normalizeAlert, r() < 0.02 ? pick(VALUES) : alert],
      [filterFromQuery, q],
    ]) {
      try {
        fn(input);
        accepted++;
      } catch (e) {
        if (e instanceof AlertError) rejected++;
        else crashes.push(`${e?.message ?? e} on ${JSON.stringify(input)}`);
      }
    }
  }
  return { accepted, rejected, crashes };
}
