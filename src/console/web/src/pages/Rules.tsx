import { api } from '../api';
import { PRIORITY_COLORS, Sparkline } from '../components/charts';
import { FilterBar } from '../components/FilterBar';
import { Empty, ErrorBox } from '../components/States';
import { apiQuery, filtersOnly, rangeLabel } from '../filters';
import { fmtNumber, fmtTime, priorityClass } from '../format';
import { useLoad } from '../hooks';
import { linkProps } from '../router';
import type { RuleRow } from '../types';

export function Rules({ search }: { search: URLSearchParams }) {
  const q = apiQuery(search);
  const d = useLoad(q, () => api.get<{ rules: RuleRow[] }>(`/api/v2/rules?${q}&buckets=24`), 15_000);
  const base = new URLSearchParams(filtersOnly(search));
  return (
    <>
      <FilterBar search={search} />
      {d.error && <ErrorBox error={d.error} retry={d.reload} />}
      {d.data &&
        (d.data.rules.length === 0 ? (
          <Empty>No rule fired in this range with these filters.</Empty>
        ) : (
          <section className="card">
            <h2>
              Rules <small className="muted">· {rangeLabel(search)}</small>
            </h2>
            <table className="rules">
              <thead>
                <tr>
                  <th>Rule</th>
                  <th>Priority</th>
                  <th className="num">Events</th>
                  <th>Trend</th>
                  <th>Last seen</th>
                  <th>Sources</th>
                </tr>
              </thead>
              <tbody>
                {d.data.rules.map((r) => {
                  const qs = new URLSearchParams(base);
                  qs.set('rule', r.rule);
                  return (
                    <tr key={r.rule} data-rule={r.rule}>
                      <td>
                        <a {...linkProps(`/events?${qs}`)}>{r.rule}</a>
                      </td>
                      <td>
                        <span className={priorityClass(r.priority)}>{r.priority}</span>
                      </td>
                      <td className="num">{fmtNumber(r.count)}</td>
                      <td>
                        <Sparkline values={r.spark} color={PRIORITY_COLORS[r.priority]} />
                      </td>
                      <td className="mono">{fmtTime(r.last)}</td>
                      <td>{r.sources.join(', ')}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </section>
        ))}
      {!d.data && !d.error && <p className="muted">Loading…</p>}
    </>
  );
}
