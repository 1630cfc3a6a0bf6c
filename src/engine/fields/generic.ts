import type { FieldSpec } from '../api.js';
import { fieldTable } from './table.js';

/** Fields every source has (libsinsp's generic event class). */
export const GENERIC_EVT_FIELDS: readonly FieldSpec[] = fieldTable(`
evt.num uint64 - event sequence number
evt.time charbuf - event time as local HH:MM:SS.nnnnnnnnn (nanoseconds since epoch in JSON output)
evt.time.s charbuf - event time as local HH:MM:SS
evt.time.iso8601 charbuf - event time in ISO 8601 with nanoseconds, UTC
evt.datetime charbuf - event date and time, YYYY-MM-DD HH:MM:SS.nnnnnnnnn
evt.datetime.s charbuf - event date and time to the second
evt.rawtime abstime - event time in nanoseconds since the epoch
evt.rawtime.s abstime - integer part of the event time in seconds
evt.rawtime.ns abstime - fractional part of the event time in nanoseconds
evt.reltime relativetime - nanoseconds since capture start
evt.reltime.s relativetime - seconds since capture start
evt.reltime.ns relativetime - nanosecond part of the time since capture start
evt.pluginname charbuf - name of the plugin that generated the event
evt.plugininfo charbuf - plugin-provided summary of the event
evt.source charbuf - name of the event source
evt.is_async bool - true for asynchronous events
evt.asynctype charbuf - type of an asynchronous event
evt.hostname charbuf - host name of the machine producing the event
`);
