import { describe, expect, it } from 'vitest';
import { alertToJson } from '../../src/alert/falco-alert.js';
import { atLeast, parsePriority, priorityName } from '../../src/alert/priority.js';

describe('priorities', () => {
  it('parses Falco priority names case-insensitively, info included', () => {
    expect(parsePriority('WARNING')).toBe(4);
    expect(parsePriority('info')).toBe(6);
    expect(parsePriority('Informational')).toBe(6);
    expect(parsePriority('loud')).toBeUndefined();
    expect(priorityName(0)).toBe('Emergency');
    expect(priorityName(7)).toBe('Debug');
  });
  it('orders by severity like falco.yaml priority', () => {
    expect(atLeast(parsePriority('error')!, parsePriority('warning')!)).toBe(true);
    expect(atLeast(parsePriority('notice')!, parsePriority('warning')!)).toBe(false);
  });
});

describe('alert JSON', () => {
  it('serialises keys alphabetically like Falco', () => {
    const json = alertToJson({
      time: '2024-03-01T08:52:34.832049033Z',
      rule: 'r',
      priority: 'Warning',
      source: 'syscall',
      output_fields: { 'proc.name': null },
      hostname: 'h',
      tags: ['a'],
    });
    expect(Object.keys(JSON.parse(json))).toEqual([
      'hostname',
      'output_fields',
      'priority',
      'rule',
      'source',
      'tags',
      'time',
    ]);
  });
});
