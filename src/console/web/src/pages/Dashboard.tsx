import { api } from '../api';
import { BarList, PRIORITY_COLORS, StackedTimeline } from '../components/charts';
import { FilterBar } from '../components/FilterBar';
import { Empty, ErrorBox } from '../components/States';
import { addToFilter, apiQuery, type FilterKey, filtersOnly, rangeLabel } from '../filters';
import { fmtNumber } from '../format';
import { useLoad } from '../hooks';
import { linkProps } from '../router';
import type { CountResult, Histogram } from '../types';
import { PRIORITIES } from '../types';

const PANELS: { dim: string; key: FilterKey; title: string }[] = [
  { dim: 'rule', key: 'rule', title: 'Top rules' },
  { dim: 'source', key: 'source', title: 'By source' },
  { dim: 'hostname', key: 'hostname', title: 'By hostname' },
  { dim: 'tags', key: 'tags', title: 'By tag' },
  { dim: 'container_image', key: 'container', title: 'By container image' },
  { dim: 'k8s_ns', key: 'namespace', title: 'By Kubernetes namespace' },
];

interface DashData {
  priority: CountResult;
  hist: Histogram;
  panels: Record<string, CountResult>;
}

export function Dashboard({ search }: { search: URLSearchParams }) {
  const q = apiQuery(search);
  const d = useLoad<DashData>(
    q,
    async () => {
      const [priority, hist, ...panels] = await Promise.all([
        api.get<CountResult>(`/api/v2/counts/priority?${q}`),
        api.get<Histogram>(`/api/v2/histogram?${q}&buckets=36`),
        ...PANELS.map((p) => api.get<CountResult>(`/api/v2/counts/${p.dim}?${q}&limit=8`)),
      ]);
      return { priority, hist, panels: Object.fromEntries(PANELS.map((p, i) => [p.dim, panels[i]!])) };
    },
    10_000,
  );
  const counts = Object.fromEntries((d.data?.priority.rows ?? []).map((r) => [r.value, r.count]));
  return (
    <>
      <FilterBar search={search} />
      {d.error && <ErrorBox error={d.error} retry={d.reload} />}
      {d.data && (
        <>
          <section className="counters" aria-label="counts by priority">
            <a
              className="counter total"
              {...linkProps(filtersOnly(search) ? `/events?${filtersOnly(search)}` : '/events')}
            >
              <span className="n" data-testid="count-total">
                {fmtNumber(d.data.priority.total)}
              </span>
              <span>events · {rangeLabel(search)}</span>
            </a>
            {PRIORITIES.map((p) => (
              <button
                type="button"
                key={p}
                className={`counter prio-${p.toLowerCase()}`}
                onClick={() => addToFilter('priority', p)}
                disabled={!counts[p]}
              >
                <span className="n" data-testid={`count-${p}`}>
                  {fmtNumber(counts[p] ?? 0)}
                </span>
                <span>{p}</span>
              </button>
            ))}
          </section>
          {d.data.priority.total === 0 ? (
            <Empty>
              No events in this range with these filters. Widen the time range, clear filters, or point the
              relay's console sink (or a Falcosidekick <code>webui.url</code>) at this console.
            </Empty>
          ) : (
            <>
              <section className="card">
                <h2>
                  Timeline by priority{' '}
                  <small className="muted">
                    ({Math.round(d.data.hist.bucketMs / 60_000) || '<1'} min buckets)
                  </small>
                </h2>
                <StackedTimeline data={d.data.hist} />
                <div className="legend">
                  {PRIORITIES.filter((p) => counts[p]).map((p) => (
                    <span key={p}>
                      <i style={{ background: PRIORITY_COLORS[p] }} /> {p}
                    </span>
                  ))}
                </div>
              </section>
              <div className="grid">
                {PANELS.map((p) => (
                  <section className="card" key={p.dim} data-panel={p.dim}>
                    <h2>{p.title}</h2>
                    <BarList rows={d.data!.panels[p.dim]!.rows} onPick={(v) => v && addToFilter(p.key, v)} />
                  </section>
                ))}
              </div>
            </>
          )}
        </>
      )}
      {!d.data && !d.error && <p className="muted">Loading…</p>}
    </>
  );
}
