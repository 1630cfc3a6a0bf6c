import { useEffect, useState } from 'react';
import { api } from '../api';
import { apiQuery, DEFAULT_SINCE, type FilterKey, listOf, setFilters, TIME_PRESETS } from '../filters';
import type { CountResult } from '../types';
import { PRIORITIES } from '../types';

const TEXT_FILTERS: { key: FilterKey; label: string; dim: string }[] = [
  { key: 'rule', label: 'Rule', dim: 'rule' },
  { key: 'source', label: 'Source', dim: 'source' },
  { key: 'hostname', label: 'Hostname', dim: 'hostname' },
  { key: 'tags', label: 'Tags', dim: 'tags' },
  { key: 'container', label: 'Container', dim: 'container_image' },
  { key: 'namespace', label: 'Namespace', dim: 'k8s_ns' },
  { key: 'cluster', label: 'Cluster', dim: 'cluster' },
];

function toLocalInput(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

/** Time range, priority and field filters; everything lives in the URL. */
export function FilterBar({ search }: { search: URLSearchParams }) {
  const [text, setText] = useState(search.get('q') ?? '');
  const [options, setOptions] = useState<Record<string, string[]>>({});
  const [custom, setCustom] = useState(!!search.get('from'));
  const [from, setFrom] = useState(toLocalInput(search.get('from')));
  const [to, setTo] = useState(toLocalInput(search.get('to')));
  const since = search.get('from') ? '' : (search.get('since') ?? DEFAULT_SINCE);
  const prios = listOf(search, 'priority');
  const timeKey = apiQuery(
    new URLSearchParams({
      since: search.get('since') ?? '',
      from: search.get('from') ?? '',
      to: search.get('to') ?? '',
    }),
  );

  useEffect(() => setText(search.get('q') ?? ''), [search]);
  useEffect(() => {
    let live = true;
    Promise.all(
      TEXT_FILTERS.map((f) =>
        api
          .get<CountResult>(`/api/v2/counts/${f.dim}?${timeKey}&limit=200`)
          .then((r) => [f.key, r.rows.map((x) => x.value).filter(Boolean)] as const)
          .catch(() => [f.key, []] as const),
      ),
    ).then((all) => live && setOptions(Object.fromEntries(all)));
    return () => {
      live = false;
    };
  }, [timeKey]);

  const togglePrio = (p: string) => {
    const next = prios.includes(p) ? prios.filter((x) => x !== p) : [...prios, p];
    setFilters({ priority: next.join(',') });
  };

  return (
    <section className="filters" aria-label="filters">
      <div className="row">
        <fieldset className="presets" aria-label="time range">
          {TIME_PRESETS.map((p) => (
            <button
              type="button"
              key={p}
              className={since === p && !custom ? 'on' : ''}
              onClick={() => {
                setCustom(false);
                setFilters({ since: p, from: undefined, to: undefined });
              }}
            >
              {p}
            </button>
          ))}
          <button type="button" className={custom ? 'on' : ''} onClick={() => setCustom(!custom)}>
            custom
          </button>
        </fieldset>
        {custom && (
          <form
            className="custom-range"
            onSubmit={(e) => {
              e.preventDefault();
              if (!from) return;
              setFilters({
                from: new Date(from).toISOString(),
                to: to ? new Date(to).toISOString() : undefined,
                since: undefined,
              });
            }}
          >
            <label>
              from{' '}
              <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} required />
            </label>
            <label>
              to <input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} />
            </label>
            <button type="submit">apply</button>
          </form>
        )}
        <form
          className="search"
          onSubmit={(e) => {
            e.preventDefault();
            setFilters({ q: text.trim() || undefined });
          }}
        >
          <input
            type="search"
            placeholder="search output, fields…"
            value={text}
            onChange={(e) => setText(e.target.value)}
            aria-label="free text search"
          />
          <button type="submit">search</button>
        </form>
      </div>
      <div className="row">
        <fieldset className="prio-chips" aria-label="priorities">
          {PRIORITIES.map((p) => (
            <button
              type="button"
              key={p}
              className={`chip prio-${p.toLowerCase()} ${prios.includes(p) ? 'on' : ''}`}
              aria-pressed={prios.includes(p)}
              onClick={() => togglePrio(p)}
            >
              {p}
            </button>
          ))}
        </fieldset>
        <label className="min-prio">
          at least
          <select
            value={search.get('min_priority') ?? ''}
            onChange={(e) => setFilters({ min_priority: e.target.value || undefined })}
            aria-label="minimum priority"
          >
            <option value="">any priority</option>
            {PRIORITIES.map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </label>
      </div>
      <div className="row fields">
        {TEXT_FILTERS.map((f) => (
          <FieldFilter
            key={f.key}
            k={f.key}
            label={f.label}
            value={search.get(f.key) ?? ''}
            options={options[f.key] ?? []}
          />
        ))}
        <button
          type="button"
          className="clear"
          onClick={() => setFilters(Object.fromEntries([...search.keys()].map((k) => [k, undefined])))}
        >
          clear all
        </button>
      </div>
    </section>
  );
}

function FieldFilter({
  k,
  label,
  value,
  options,
}: {
  k: FilterKey;
  label: string;
  value: string;
  options: string[];
}) {
  const [v, setV] = useState(value);
  useEffect(() => setV(value), [value]);
  const id = `opts-${k}`;
  return (
    <form
      className="field-filter"
      onSubmit={(e) => {
        e.preventDefault();
        setFilters({ [k]: v.trim() || undefined });
      }}
    >
      <label>
        <span>{label}</span>
        <input
          name={k}
          list={id}
          value={v}
          placeholder="any"
          onChange={(e) => setV(e.target.value)}
          onBlur={() => v !== value && setFilters({ [k]: v.trim() || undefined })}
        />
      </label>
      <datalist id={id}>
        {options.map((o) => (
          <option key={o} value={o} />
        ))}
      </datalist>
    </form>
  );
}
