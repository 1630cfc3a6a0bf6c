import { api } from '../api';
import { ErrorBox } from '../components/States';
import { fmtBytes, fmtDuration, fmtNumber, fmtTime } from '../format';
import { useLoad } from '../hooks';
import type { Info as InfoData, Session } from '../types';

export function Info({ session }: { session: Session }) {
  const d = useLoad('info', () => api.get<InfoData>('/api/v2/info'), 5_000);
  if (d.error) return <ErrorBox error={d.error} retry={d.reload} />;
  const i = d.data;
  if (!i) return <p className="muted">Loading…</p>;
  return (
    <div className="grid two">
      <section className="card">
        <h2>Console</h2>
        <dl className="kv">
          <dt>version</dt>
          <dd data-testid="version">{i.version}</dd>
          <dt>Falco rule language</dt>
          <dd>{i.falcoEngineVersion}</dd>
          <dt>uptime</dt>
          <dd>
            {fmtDuration(i.uptimeSeconds * 1000) === 'forever'
              ? '0 min'
              : `${Math.floor(i.uptimeSeconds / 60)} min`}
          </dd>
          <dt>signed in as</dt>
          <dd>
            {session.username} ({session.role})
          </dd>
        </dl>
      </section>
      <section className="card">
        <h2>Store</h2>
        <dl className="kv">
          <dt>kind</dt>
          <dd data-testid="store-kind">{i.store.kind}</dd>
          <dt>location</dt>
          <dd className="mono">{i.store.location}</dd>
          <dt>events stored</dt>
          <dd>{fmtNumber(i.store.events)}</dd>
          <dt>size</dt>
          <dd>
            {fmtBytes(i.store.bytes)}
            {i.store.events > 0 && (
              <span className="muted">
                {' '}
                ({fmtNumber(Math.round(i.store.bytes / i.store.events))} bytes/event)
              </span>
            )}
          </dd>
          <dt>oldest / newest</dt>
          <dd className="mono">
            {i.store.oldest ? fmtTime(i.store.oldest) : '—'} /{' '}
            {i.store.newest ? fmtTime(i.store.newest) : '—'}
          </dd>
        </dl>
      </section>
      <section className="card">
        <h2>Retention</h2>
        <dl className="kv">
          <dt>maximum age</dt>
          <dd>{fmtDuration(i.retention.maxAgeMs)}</dd>
          <dt>maximum events</dt>
          <dd>{i.retention.maxEvents ? fmtNumber(i.retention.maxEvents) : 'unlimited'}</dd>
        </dl>
      </section>
      <section className="card">
        <h2>Ingest</h2>
        <dl className="kv">
          <dt>rate (last minute)</dt>
          <dd data-testid="ingest-rate">{i.ingest.perSecond1m.toFixed(2)} events/s</dd>
          <dt>since start</dt>
          <dd>{fmtNumber(i.ingest.sinceStart)}</dd>
          <dt>last event received</dt>
          <dd className="mono">{i.ingest.last ? fmtTime(i.ingest.last) : 'none since start'}</dd>
          <dt>live streams open</dt>
          <dd>{i.ingest.liveStreams}</dd>
        </dl>
      </section>
    </div>
  );
}
