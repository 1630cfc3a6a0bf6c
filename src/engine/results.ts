/** Load results: Falco's codes, short descriptions, and the text / falco_load_results JSON forms. */
import type { FileLoadResult, LoadCode, LoadLocation, LoadMessage, LoadResult, Position } from './api.js';

export const CODE_DESC: Record<LoadCode, string> = {
  LOAD_ERR_FILE_READ: 'File read error',
  LOAD_ERR_YAML_PARSE: 'YAML parse error',
  LOAD_ERR_YAML_VALIDATE: 'Error validating internal structure of YAML file',
  LOAD_ERR_COMPILE_CONDITION: 'Error compiling condition',
  LOAD_ERR_COMPILE_OUTPUT: 'Error compiling output',
  LOAD_ERR_VALIDATE: 'Error validating rule/macro/list/exception objects',
  LOAD_ERR_EXTENSION: 'Error in extension item',
  LOAD_UNKNOWN_SOURCE: 'Unknown event source',
  LOAD_UNSAFE_NA_CHECK: 'Unsafe <NA> comparison in condition',
  LOAD_NO_EVTTYPE: 'Condition has no event-type restriction',
  LOAD_UNKNOWN_FILTER: 'Unknown field or event-type in condition or output',
  LOAD_UNUSED_MACRO: 'Unused macro',
  LOAD_UNUSED_LIST: 'Unused list',
  LOAD_UNKNOWN_ITEM: 'Unknown rules file item',
  LOAD_DEPRECATED_ITEM: 'Used deprecated item',
  LOAD_WARNING_EXTENSION: 'Warning in extension item',
  LOAD_APPEND_NO_VALUES: 'Overriding/appending with no values',
  LOAD_EXCEPTION_NAME_NOT_UNIQUE: 'Multiple exceptions defined with the same name',
  LOAD_INVALID_MACRO_NAME: 'Invalid macro name',
  LOAD_INVALID_LIST_NAME: 'Invalid list name',
  LOAD_COMPILE_CONDITION: 'Warning in rule condition',
  LOAD_UNKNOWN_KEY: 'Unknown key in item definition',
};

/** Longer descriptions used for warnings (errors use the short string, as Falco does). */
const WARNING_LONG_DESC: Partial<Record<LoadCode, string>> = {
  LOAD_UNKNOWN_SOURCE:
    'A rule has an unknown event source. This can occur when reading rules content without having a corresponding plugin loaded, etc. The rule will be silently ignored.',
  LOAD_UNSAFE_NA_CHECK:
    "Comparing a field value with <NA> is unsafe and can lead to unpredictable behavior of the rule. Use 'exists' to check whether a field has a value.",
  LOAD_NO_EVTTYPE:
    'A rule condition matches too many evt.type values. This has a significant performance penalty. Make the condition more specific by adding an evt.type field or further restricting the number of evt.type values in the condition.',
  LOAD_UNKNOWN_FILTER:
    'A rule condition or output refers to a field that does not exist. This is normally an error, but if a rule has a skip-if-unknown-filter property, the error is downgraded to a warning.',
  LOAD_UNUSED_MACRO: 'A macro is defined in the rules content but is not used by any other macro or rule.',
  LOAD_UNUSED_LIST:
    'A list is defined in the rules content but is not used by any other list, macro, or rule.',
  LOAD_UNKNOWN_ITEM: 'An unknown top-level object is in the rules content. It will be ignored.',
  LOAD_DEPRECATED_ITEM: 'A deprecated item is employed by lists, macros, or rules.',
  LOAD_WARNING_EXTENSION: 'An extension item has a warning',
  LOAD_APPEND_NO_VALUES: 'A rule exception is overridden/appended with no values to add',
  LOAD_EXCEPTION_NAME_NOT_UNIQUE: 'A rule is defining multiple exceptions with the same name',
  LOAD_INVALID_MACRO_NAME: 'A macro is defined with an invalid name',
  LOAD_INVALID_LIST_NAME: 'A list is defined with an invalid name',
  LOAD_COMPILE_CONDITION: 'A rule condition or output have been parsed with a warning',
  LOAD_UNKNOWN_KEY: 'An unknown key is in an item definition. It will be ignored.',
};

export function isErrorCode(c: LoadCode): boolean {
  return c.startsWith('LOAD_ERR_');
}

export function makeMessage(
  code: LoadCode,
  message: string,
  locations: LoadLocation[],
  snippet: string,
  deprecatedField?: string,
): LoadMessage {
  const m: LoadMessage = {
    code,
    codedesc: isErrorCode(code) ? CODE_DESC[code] : (WARNING_LONG_DESC[code] ?? CODE_DESC[code]),
    message,
    context: { locations, snippet },
  };
  if (deprecatedField) m.deprecated_field = deprecatedField;
  return m;
}

/** Caret snippet: the source line at `pos` (max 160 chars) and a `^` under the column. */
export function snippetAt(content: string, pos: Position | undefined): string {
  if (!pos) return '';
  const lines = content.split('\n');
  const line = lines[pos.line] ?? '';
  const shown = line.length > 160 ? line.slice(0, 160) : line;
  return `${shown}\n${' '.repeat(Math.min(pos.column, 160))}^\n`;
}

function posText(p: Position): string {
  return `(${p.name}:${p.line}:${p.column})`;
}

function messageText(m: LoadMessage): string {
  const out: string[] = [];
  const locs = m.context.locations;
  locs.forEach((l, i) => {
    const head = l.item_name ? `${l.item_type} '${l.item_name}'` : l.item_type;
    out.push(`${i === 0 ? 'In ' : '    '}${head}: ${posText(l.position)}`);
  });
  if (m.context.snippet) {
    out.push('------');
    out.push(m.context.snippet.replace(/\n$/, ''));
    out.push('------');
  }
  out.push(`${m.code} (${CODE_DESC[m.code]}): ${m.message}`);
  return out.join('\n');
}

/** The "N Errors: ... M Warnings: ..." part of a file's verbose result. */
export function fileMessagesText(r: FileLoadResult): string {
  const out: string[] = [];
  if (r.errors.length > 0) {
    out.push(`${r.errors.length} Errors:`);
    for (const e of r.errors) out.push(messageText(e));
  }
  if (r.warnings.length > 0) {
    out.push(`${r.warnings.length} Warnings:`);
    for (const w of r.warnings) out.push(messageText(w));
  }
  return out.join('\n');
}

export function fileStatus(r: FileLoadResult): string {
  return !r.successful ? 'Invalid' : r.warnings.length > 0 ? 'Ok, with warnings' : 'Ok';
}

export function fileResultText(r: FileLoadResult, verbose: boolean): string {
  const head = `${r.name}: ${fileStatus(r)}`;
  if (!verbose && r.successful) return head;
  const body = fileMessagesText(r);
  return body ? `${head}\n${body}` : head;
}

export function makeLoadResult(files: FileLoadResult[]): LoadResult {
  return {
    successful: files.every((f) => f.successful),
    files,
    toText(verbose = true) {
      return files.map((f) => fileResultText(f, verbose)).join('\n');
    },
    toJSON() {
      return { falco_load_results: files };
    },
  };
}
