import type { FieldSpec, FieldType } from '../api.js';

/**
 * Compact field-table notation, one field a line: `name type flags description`.
 * flags (or `-`): L list, A argument required, a argument optional, I index argument,
 * K key argument, D `name.key` accepted as `name[key]`, F filter-only, X deprecated.
 */
export function fieldTable(text: string): FieldSpec[] {
  const out: FieldSpec[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\S+)\s+(\S+)\s+(\S+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`bad field table line: ${line}`);
    const [, name, type, flags, desc] = m as unknown as [string, string, FieldType, string, string];
    const spec: FieldSpec = { name, type, desc };
    if (flags.includes('L')) spec.isList = true;
    if (flags.includes('A')) spec.arg = 'required';
    else if (flags.includes('a')) spec.arg = 'optional';
    if (flags.includes('I')) spec.argKind = 'index';
    else if (flags.includes('K')) spec.argKind = 'key';
    else if (spec.arg) spec.argKind = 'any';
    if (flags.includes('D')) spec.dotArg = true;
    if (flags.includes('F')) spec.filterOnly = true;
    if (flags.includes('X')) spec.deprecated = true;
    out.push(spec);
  }
  return out;
}
