import { useCallback, useEffect, useRef, useState } from 'react';
import { api } from '../api';
import { FilterBar } from '../components/FilterBar';
import { Empty, ErrorBox } from '../components/States';
import { apiQuery, filtersOnly, rangeLabel } from '../filters';
import { fmtNumber, fmtTime, priorityClass } from '../format';
import { linkProps } from '../router';
import type { FalcoEvent, SearchResult } from '../types';

const ROW = 34;
const PAGE = 200;
const OVERSCAN = 10;

function str(v: unknown): string {
  return v === undefined || v === null ? '' : String(v);
}

export function Events({ search }: { search: URLSearchParams }) {
  const q = apiQuery(search);
  const [events, setEvents] = useState<FalcoEvent[]>([]);
  const [cursor, setCursor] = useState<string | undefined>();
  const [error, setError] = useState('');
  const [loading, setLoading] = useState(true);
  const [live, setLive] = useState(!search.get('to'));
  const [paused, setPaused] = useState(false);
  const [pending, setPending] = useState<FalcoEvent[]>([]);
  const [streamState, setStreamState] = useState<'off' | 'connecting' | 'on' | 'error'>('off');
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  const box = useRef<HTMLDivElement>(null);
  const loadingMore = useRef(false);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;

  const load = useCallback(
    async (after?: string) => {
      setLoading(true);
      try {
        const r = await api.get<SearchResult>(
          `/api/v2/events?${q}&limit=${PAGE}${after ? `&cursor=${encodeURIComponent(after)}` : ''}`,
        );
        setEvents((cur) => (after ? [...cur, ...r.events] : r.events));
        setCursor(r.nextCursor);
        setError('');
      } catch (e) {
        setError((e as Error).message);
      } finally {
        setLoading(false);
        loadingMore.current = false;
      }
    },
    [q],
  );

  useEffect(() => {
    setEvents([]);
    setPending([]);
    setCursor(undefined);
    box.current?.scrollTo({ top: 0 });
    void load();
  }, [load]);

  // Live tail: new events matching the filter arrive over server-sent events.
  useEffect(() => {
    if (!live) {
      setStreamState('off');
      return;
    }
    setStreamState('connecting');
    const es = new EventSource(`/api/v2/stream?${filtersOnly(search)}`);
    es.onopen = () => setStreamState('on');
    es.onerror = () => setStreamState('error');
    es.addEventListener('alert', (m) => {
      const ev = JSON.parse((m as MessageEvent<string>).data) as FalcoEvent;
      if (pausedRef.current) setPending((p) => [ev, ...p]);
      else setEvents((cur) => (cur.some((e) => e.uuid === ev.uuid) ? cur : [ev, ...cur]));
    });
    return () => es.close();
  }, [live, search]);

  useEffect(() => {
    if (!paused && pending.length) {
      setEvents((cur) => {
        const have = new Set(cur.map((e) => e.uuid));
        return [...pending.filter((e) => !have.has(e.uuid)), ...cur];
      });
      setPending([]);
    }
  }, [paused, pending]);

  useEffect(() => {
    const measure = () => box.current && setHeight(box.current.clientHeight);
    measure();
    window.addEventListener('resize', measure);
    return () => window.removeEventListener('resize', measure);
  }, []);

  const onScroll = () => {
    const el = box.current;
    if (!el) return;
    setScrollTop(el.scrollTop);
    if (cursor && !loadingMore.current && el.scrollTop + el.clientHeight > el.scrollHeight - ROW * 20) {
      loadingMore.current = true;
      void load(cursor);
    }
  };

  const first = Math.max(0, Math.floor(scrollTop / ROW) - OVERSCAN);
  const last = Math.min(events.length, Math.ceil((scrollTop + height) / ROW) + OVERSCAN);
  const visible = events.slice(first, last);

  return (
    <>
      <FilterBar search={search} />
      <div className="toolbar">
        <span className="muted" data-testid="events-summary">
          {fmtNumber(events.length)} shown{cursor ? ' (scroll for more)' : ''} · {rangeLabel(search)}
        </span>
        <label className="live">
          <input type="checkbox" checked={live} onChange={(e) => setLive(e.target.checked)} /> live tail
          <span className={`dot ${streamState}`} title={`stream ${streamState}`} />
        </label>
        {live && (
          <button type="button" onClick={() => setPaused(!paused)} aria-pressed={paused}>
            {paused ? `resume${pending.length ? ` (${pending.length} new)` : ''}` : 'pause'}
          </button>
        )}
      </div>
      {error && <ErrorBox error={error} retry={() => load()} />}
      {!error && !loading && events.length === 0 ? (
        <Empty>No events match these filters in this time range.</Empty>
      ) : (
        <section className="table" aria-label="events">
          <div className="thead">
            <span>Time</span>
            <span>Priority</span>
            <span>Rule</span>
            <span>Host</span>
            <span>Source</span>
            <span>Container / namespace</span>
            <span>Output</span>
          </div>
          <div className="tbody" ref={box} onScroll={onScroll} data-testid="events-scroll">
            <div style={{ height: events.length * ROW, position: 'relative' }}>
              {visible.map((e, i) => {
                const f = e.output_fields ?? {};
                const container = str(f['container.image.repository']) || str(f['container.name']);
                const ns = str(f['k8s.ns.name']) || str(f['ka.target.namespace']);
                return (
                  <a
                    className="tr"
                    key={e.uuid}
                    style={{ top: (first + i) * ROW, height: ROW }}
                    {...linkProps(`/events/${e.uuid}`)}
                    data-rule={e.rule}
                    data-priority={e.priority}
                  >
                    <span className="mono">{fmtTime(e.time)}</span>
                    <span>
                      <span className={priorityClass(e.priority)}>{e.priority}</span>
                    </span>
                    <span className="rule" title={e.rule}>
                      {e.rule}
                      {e.count > 1 && (
                        <span className="dedup" title={`${e.count} alerts collapsed by the relay`}>
                          ×{fmtNumber(e.count)}
                        </span>
                      )}
                    </span>
                    <span title={e.hostname}>{e.hostname}</span>
                    <span>{e.source}</span>
                    <span title={`${container} ${ns}`}>{[container, ns].filter(Boolean).join(' / ')}</span>
                    <span className="output" title={e.output}>
                      {e.output}
                    </span>
                  </a>
                );
              })}
            </div>
          </div>
        </section>
      )}
      {loading && <p className="muted">Loading…</p>}
    </>
  );
}
