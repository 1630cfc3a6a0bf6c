/**
 * Public contract of the rules engine. Event sources (syscall, k8s_audit) and the agent code
 * against this file only; everything else under src/engine is internal.
 *
 * The engine does no I/O: callers hand it file contents and events.
 */
import type { FalcoAlert } from '../alert/falco-alert.js';
import type { PriorityLevel, PriorityName } from '../alert/priority.js';

export type FieldScalar = string | number | boolean;
/** `undefined` = the field has no value (`<NA>` in text output, `null` in JSON). */
export type FieldValue = FieldScalar | FieldScalar[] | undefined;

/** Falco/libsinsp field types (PT_* names, lower-cased). */
export type FieldType =
  | 'string'
  | 'charbuf'
  | 'bytebuf'
  | 'uint64'
  | 'int64'
  | 'uint32'
  | 'int32'
  | 'uint16'
  | 'int16'
  | 'uint8'
  | 'bool'
  | 'ipaddr'
  | 'ipnet'
  | 'port'
  | 'relativetime'
  | 'abstime'
  | 'fd'
  | 'pid'
  | 'errno'
  | 'flags'
  | 'mode'
  | 'sigtype'
  | 'double'
  | 'fspath'
  | 'fsrelpath';

export interface FieldSpec {
  name: string;
  type: FieldType;
  /** The field yields a list of values (`in` = all-of, `intersects` = any-of). */
  isList?: boolean;
  /** Whether `name[arg]` is accepted: never (default), always required, or optional. */
  arg?: 'none' | 'required' | 'optional';
  /** What the argument is: a numeric index, a key, or anything. */
  argKind?: 'index' | 'key' | 'any';
  /** Accepts `name.key` as well as `name[key]` (plugin key fields such as `k8s.pod.label.app`). */
  dotArg?: boolean;
  /** Usable in conditions only, not in outputs. */
  filterOnly?: boolean;
  /** Deprecated field (warning LOAD_DEPRECATED_ITEM when used). */
  deprecated?: boolean;
  desc: string;
}

/** Supplied by each event source (syscall, k8s_audit): field definitions + extraction bound at compile time. */
export interface SourceExtractor<E> {
  /** 'syscall' | 'k8s_audit' | ... */
  readonly source: string;
  /** The typed table for this source (reuse the tables in src/engine/fields/). */
  readonly fields: readonly FieldSpec[];
  /**
   * Called once per field reference at compile time; returns the extraction function or
   * undefined when this source cannot extract it (the engine then reports the unknown field).
   * For non-list fields the function may return an array to mean "any of these values"
   * (e.g. `proc.aname` without argument = any ancestor).
   */
  bind(name: string, arg: string | undefined): ((ev: E) => FieldValue) | undefined;
  /** Event type name used by the event-type index ('open', 'execve', ... for syscall). */
  eventType(ev: E): string;
  /** Event time, ns since the epoch (alert `time`, `evt.time`). */
  timeNs(ev: E): bigint;
}

/** Type-erased extractor as stored by the engine. */
// biome-ignore lint/suspicious/noExplicitAny: heterogeneous sources are stored together
export type AnyExtractor = SourceExtractor<any>;

export type LoadCode =
  | 'LOAD_ERR_FILE_READ'
  | 'LOAD_ERR_YAML_PARSE'
  | 'LOAD_ERR_YAML_VALIDATE'
  | 'LOAD_ERR_COMPILE_CONDITION'
  | 'LOAD_ERR_COMPILE_OUTPUT'
  | 'LOAD_ERR_VALIDATE'
  | 'LOAD_ERR_EXTENSION'
  | 'LOAD_UNKNOWN_SOURCE'
  | 'LOAD_UNSAFE_NA_CHECK'
  | 'LOAD_NO_EVTTYPE'
  | 'LOAD_UNKNOWN_FILTER'
  | 'LOAD_UNUSED_MACRO'
  | 'LOAD_UNUSED_LIST'
  | 'LOAD_UNKNOWN_ITEM'
  | 'LOAD_DEPRECATED_ITEM'
  | 'LOAD_WARNING_EXTENSION'
  | 'LOAD_APPEND_NO_VALUES'
  | 'LOAD_EXCEPTION_NAME_NOT_UNIQUE'
  | 'LOAD_INVALID_MACRO_NAME'
  | 'LOAD_INVALID_LIST_NAME'
  | 'LOAD_COMPILE_CONDITION'
  | 'LOAD_UNKNOWN_KEY';

/** A position: file name, 1-based line and column, 0-based offset (as in falco_load_results). */
export interface Position {
  name: string;
  line: number;
  column: number;
  offset: number;
}

export interface LoadLocation {
  /** Falco item-type strings: 'rule', 'rule condition', 'condition expression', 'list', 'macro', ... */
  item_type: string;
  item_name: string;
  position: Position;
}

export interface LoadMessage {
  code: LoadCode;
  codedesc: string;
  message: string;
  context: { locations: LoadLocation[]; snippet: string };
  deprecated_field?: string;
}

export interface FileLoadResult {
  name: string;
  successful: boolean;
  errors: LoadMessage[];
  warnings: LoadMessage[];
}

export interface LoadResult {
  /** True when every file loaded without error. */
  readonly successful: boolean;
  readonly files: readonly FileLoadResult[];
  /** Falco's `-V` text form (one block per file). */
  toText(verbose?: boolean): string;
  /** `{ falco_load_results: [...] }`. */
  toJSON(): { falco_load_results: FileLoadResult[] };
}

export interface RuleFile {
  name: string;
  content: string;
}

/** One entry of falco.yaml `rules:` (applied in order after loading). */
export type RuleSelection =
  | { enable: { rule?: string; tag?: string } }
  | { disable: { rule?: string; tag?: string } };

export interface RuleInfo {
  name: string;
  desc: string;
  condition: string;
  output: string;
  priority: PriorityName;
  source: string;
  enabled: boolean;
  tags: string[];
  capture: boolean;
  capture_duration: number;
}

export interface Match {
  rule: RuleInfo;
  source: string;
  /** Internal compiled rule (opaque to callers). */
  readonly ref: unknown;
}

export interface AlertOptions {
  json_include_output_property?: boolean;
  json_include_message_property?: boolean;
  json_include_output_fields_property?: boolean;
  json_include_tags_property?: boolean;
  time_format_iso_8601?: boolean;
}

export interface EngineOptions {
  extractors: readonly AnyExtractor[];
  /** Minimum priority (falco.yaml `priority`); rules less severe are not loaded. Default debug. */
  priority?: PriorityName | PriorityLevel | string;
  /** falco.yaml `rule_matching`. Default 'first'. */
  ruleMatching?: 'first' | 'all';
  /** Alert `hostname`. Default FALCO_HOSTNAME or os.hostname(). */
  hostname?: string;
  /** falco.yaml `rules:` selection, applied after each successful load. */
  selection?: readonly RuleSelection[];
  /**
   * Sources known to the engine but without an extractor here (rules for them are compiled
   * against the field table only). Defaults to syscall and k8s_audit.
   */
  knownSources?: readonly string[];
}

export interface Engine {
  /**
   * Load rule files in order into one accumulated collection (each file recompiles everything).
   * Stops at the first failing file; on failure the previously loaded rules stay active.
   */
  load(files: readonly RuleFile[], selection?: readonly RuleSelection[]): LoadResult;
  /** Matching rules for one event, in evaluation order (one at most with ruleMatching 'first'). */
  process(source: string, ev: unknown): Match[];
  /** Build the Falco alert for a match. */
  toAlert(match: Match, ev: unknown, opts?: AlertOptions): FalcoAlert;
  /** Union of event types the enabled rules of `source` need (the syscall source asks the kernel for these). */
  eventTypes(source: string): Set<string>;
  /** The `-L` describe JSON. */
  describe(): Record<string, unknown>;
  /** Loaded rules in evaluation order (enabled or not, within the priority threshold). */
  rules(): RuleInfo[];
  /** Enable/disable rules by name wildcard or tag (falco.yaml `rules:` semantics). */
  select(selection: readonly RuleSelection[]): void;
}

/*
 * Entry points (src/engine/index.ts):
 *   createEngine(opts: EngineOptions & ExtraOptions): Engine     ExtraOptions: suggestedOutput, codegen
 *   createValidator(opts?): Engine                               no extraction bound (peregrine validate)
 *   memoryExtractor(source, fields): SourceExtractor<MemoryEvent>  (tests, bench)
 *   SYSCALL_FIELDS, SYSCALL_EVENT_TYPES, K8S_AUDIT_FIELDS, GENERIC_EVT_FIELDS: typed field tables
 */
