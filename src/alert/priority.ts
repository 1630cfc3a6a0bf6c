/**
 * Falco priorities. Numbers follow falco_common::priority_type (and syslog):
 * lower is more severe. The long names are what Falco writes in alert JSON.
 */
export const PRIORITIES = [
  'Emergency',
  'Alert',
  'Critical',
  'Error',
  'Warning',
  'Notice',
  'Informational',
  'Debug',
] as const;

export type PriorityName = (typeof PRIORITIES)[number];

/** Numeric severity: Emergency=0 … Debug=7. */
export type PriorityLevel = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7;

const BY_LOWER: Record<string, PriorityLevel> = {
  emergency: 0,
  alert: 1,
  critical: 2,
  error: 3,
  warning: 4,
  notice: 5,
  informational: 6,
  info: 6,
  debug: 7,
};

/** Parse a priority name case-insensitively (`info` is accepted for Informational). */
export function parsePriority(name: string): PriorityLevel | undefined {
  return BY_LOWER[name.trim().toLowerCase()];
}

export function priorityName(level: PriorityLevel): PriorityName {
  return PRIORITIES[level];
}

/** True when `level` is as severe as `threshold` or more (Falco's `priority` config semantics). */
export function atLeast(level: PriorityLevel, threshold: PriorityLevel): boolean {
  return level <= threshold;
}
