import { useState } from 'react';
import { api } from '../api';
import { Empty, ErrorBox } from '../components/States';
import { addToFilter } from '../filters';
import { fmtTime, priorityClass } from '../format';
import { useLoad } from '../hooks';
import { linkProps } from '../router';
import type { FalcoEvent } from '../types';

async function copy(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const ta = document.createElement('textarea');
    ta.value = text;
    document.body.append(ta);
    ta.select();
    const ok = document.execCommand('copy');
    ta.remove();
    return ok;
  }
}

export function EventDetail({ uuid }: { uuid: string }) {
  const d = useLoad<FalcoEvent>(uuid, () =>
    api.get<FalcoEvent>(`/api/v2/events/${encodeURIComponent(uuid)}`),
  );
  const [copied, setCopied] = useState('');
  const doCopy = async (what: string, text: string) =>
    setCopied((await copy(text)) ? `${what} copied` : 'copy failed');
  if (d.error)
    return d.error.includes('no event') ? (
      <Empty>No event with uuid {uuid} (it may have aged out by retention).</Empty>
    ) : (
      <ErrorBox error={d.error} retry={d.reload} />
    );
  const e = d.data;
  if (!e) return <p className="muted">Loading…</p>;
  const json = JSON.stringify(e, null, 2);
  const permalink = `${location.origin}/events/${e.uuid}`;
  return (
    <article className="detail">
      <p>
        <a {...linkProps('/events')}>← events</a>
      </p>
      <h1>
        <span className={priorityClass(e.priority)}>{e.priority}</span> {e.rule}
        {e.count > 1 && (
          <span className="dedup" title="alerts collapsed into this one by the relay">
            ×{e.count}
          </span>
        )}
      </h1>
      <p className="output-full">{e.output}</p>
      <div className="actions">
        <button type="button" onClick={() => doCopy('JSON', json)}>
          copy JSON
        </button>
        <button type="button" onClick={() => doCopy('link', permalink)}>
          copy permalink
        </button>
        <a href={permalink} data-testid="permalink">
          permalink
        </a>
        <span className="muted" role="status">
          {copied}
        </span>
      </div>
      <div className="grid two">
        <section className="card">
          <h2>Event</h2>
          <dl className="kv">
            <dt>time</dt>
            <dd className="mono">
              {fmtTime(e.time)} ({e.time})
            </dd>
            <dt>uuid</dt>
            <dd className="mono">{e.uuid}</dd>
            <dt>hostname</dt>
            <dd>{e.hostname}</dd>
            <dt>source</dt>
            <dd>{e.source}</dd>
            {e.cluster && (
              <>
                <dt>cluster</dt>
                <dd>{e.cluster}</dd>
              </>
            )}
            <dt>count</dt>
            <dd>{e.count}</dd>
            <dt>tags</dt>
            <dd>
              {(e.tags ?? []).length === 0 ? (
                <span className="muted">none</span>
              ) : (
                (e.tags ?? []).map((t) => (
                  <button
                    type="button"
                    className="chip"
                    key={t}
                    onClick={() => addToFilter('tags', t, '/events')}
                  >
                    {t}
                  </button>
                ))
              )}
            </dd>
          </dl>
        </section>
        <section className="card">
          <h2>Output fields</h2>
          {Object.keys(e.output_fields ?? {}).length === 0 ? (
            <p className="muted">This alert has no output fields.</p>
          ) : (
            <table className="fields">
              <tbody>
                {Object.entries(e.output_fields).map(([k, v]) => (
                  <tr key={k}>
                    <th className="mono">{k}</th>
                    <td className="mono">
                      {v === null ? (
                        <span className="muted">&lt;NA&gt;</span>
                      ) : Array.isArray(v) ? (
                        v.join(', ')
                      ) : (
                        String(v)
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>
      <section className="card">
        <h2>Raw JSON</h2>
        <pre className="raw" data-testid="raw-json">
          {json}
        </pre>
      </section>
    </article>
  );
}
