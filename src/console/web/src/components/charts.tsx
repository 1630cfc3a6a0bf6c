import { fmtNumber } from '../format';
import type { Histogram } from '../types';
import { PRIORITIES } from '../types';

export const PRIORITY_COLORS: Record<string, string> = {
  Emergency: '#7f1d1d',
  Alert: '#b91c1c',
  Critical: '#ef4444',
  Error: '#f97316',
  Warning: '#eab308',
  Notice: '#3b82f6',
  Informational: '#14b8a6',
  Debug: '#94a3b8',
};

/** Bars per time bucket, stacked by priority (most severe on top). */
export function StackedTimeline({ data }: { data: Histogram }) {
  const W = 1000;
  const H = 200;
  const pad = { l: 44, r: 8, t: 8, b: 22 };
  const max = Math.max(1, ...data.buckets.map((b) => b.total));
  const n = data.buckets.length || 1;
  const bw = (W - pad.l - pad.r) / n;
  const y = (v: number) => ((H - pad.t - pad.b) * v) / max;
  const ticks = [0, Math.round(max / 2), max];
  const labelEvery = Math.max(1, Math.ceil(n / 8));
  const label = (iso: string) => {
    const d = new Date(iso);
    return data.bucketMs >= 86_400_000
      ? d.toLocaleDateString()
      : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  };
  return (
    <svg className="timeline" viewBox={`0 0 ${W} ${H}`} role="img" aria-label="events over time by priority">
      {ticks.map((t) => (
        <g key={t}>
          <line x1={pad.l} x2={W - pad.r} y1={H - pad.b - y(t)} y2={H - pad.b - y(t)} className="grid" />
          <text x={pad.l - 6} y={H - pad.b - y(t) + 4} textAnchor="end" className="axis">
            {fmtNumber(t)}
          </text>
        </g>
      ))}
      {data.buckets.map((b, i) => {
        let acc = 0;
        const x = pad.l + i * bw;
        return (
          <g key={b.start}>
            <title>{`${new Date(b.start).toLocaleString()}: ${fmtNumber(b.total)} events${Object.entries(
              b.byPriority,
            )
              .map(([p, c]) => `\n${p}: ${c}`)
              .join('')}`}</title>
            {[...PRIORITIES].reverse().map((p) => {
              const c = b.byPriority[p] ?? 0;
              if (!c) return null;
              const h = y(c);
              acc += h;
              return (
                <rect
                  key={p}
                  x={x + 0.5}
                  width={Math.max(1, bw - 1)}
                  y={H - pad.b - acc}
                  height={h}
                  fill={PRIORITY_COLORS[p]}
                  data-priority={p}
                />
              );
            })}
            {i % labelEvery === 0 && (
              <text x={x} y={H - 6} className="axis">
                {label(b.start)}
              </text>
            )}
          </g>
        );
      })}
    </svg>
  );
}

/** Horizontal bars with counts; clicking a row calls onPick. */
export function BarList({
  rows,
  onPick,
  color,
  empty = 'nothing in this range',
}: {
  rows: { value: string; count: number }[];
  onPick?: (value: string) => void;
  color?: (value: string) => string | undefined;
  empty?: string;
}) {
  if (!rows.length) return <p className="empty">{empty}</p>;
  const max = Math.max(...rows.map((r) => r.count));
  return (
    <ul className="barlist">
      {rows.map((r) => (
        <li key={r.value}>
          <button type="button" onClick={() => onPick?.(r.value)} title={`filter on ${r.value || '(empty)'}`}>
            <span
              className="bar"
              style={{ width: `${(100 * r.count) / max}%`, background: color?.(r.value) }}
            />
            <span className="label">{r.value || <em>(none)</em>}</span>
            <span className="num">{fmtNumber(r.count)}</span>
          </button>
        </li>
      ))}
    </ul>
  );
}

export function Sparkline({ values, color = 'var(--accent)' }: { values: number[]; color?: string }) {
  const W = 120;
  const H = 28;
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? W / (values.length - 1) : W;
  const pts = values
    .map((v, i) => `${(i * step).toFixed(1)},${(H - 2 - ((H - 4) * v) / max).toFixed(1)}`)
    .join(' ');
  return (
    <svg className="spark" viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label="trend">
      <polyline points={pts} fill="none" stroke={color} strokeWidth="1.5" />
    </svg>
  );
}
