/** Public entry point of the rules engine (see api.ts for the contract). */
export * from './api.js';
export {
  createEngine,
  createValidator,
  type ExtraOptions,
  PROVIDED_PLUGINS,
  SOURCE_FIELDS,
} from './engine.js';
export { GENERIC_EVT_FIELDS } from './fields/generic.js';
export { K8S_AUDIT_FIELDS } from './fields/k8s_audit.js';
export { SUGGESTED_OUTPUT_FIELDS, SYSCALL_EVENT_TYPES, SYSCALL_FIELDS } from './fields/syscall.js';
export { type MemoryEvent, memoryExtractor } from './memory-extractor.js';
