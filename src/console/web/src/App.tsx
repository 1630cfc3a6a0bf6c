import { useEffect, useState } from 'react';
import { api, setCsrf, setUnauthorizedHandler } from './api';
import { filtersOnly } from './filters';
import { Dashboard } from './pages/Dashboard';
import { EventDetail } from './pages/EventDetail';
import { Events } from './pages/Events';
import { Info } from './pages/Info';
import { Login } from './pages/Login';
import { Rules } from './pages/Rules';
import { linkProps, navigate, useLocation } from './router';
import type { Session } from './types';

type Theme = 'dark' | 'light';

function initialTheme(): Theme {
  const saved = localStorage.getItem('peregrine-theme');
  if (saved === 'dark' || saved === 'light') return saved;
  return matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark';
}

export function App() {
  const { path, search } = useLocation();
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [theme, setTheme] = useState<Theme>(initialTheme);

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem('peregrine-theme', theme);
  }, [theme]);

  useEffect(() => {
    setUnauthorizedHandler(() => setSession(null));
    api.session().then(
      (s) => {
        setCsrf(s.csrfToken);
        setSession(s);
      },
      () => setSession(null),
    );
  }, []);

  if (session === undefined) return <p className="muted boot">Loading…</p>;
  if (session === null)
    return (
      <Login
        onLogin={(s) => {
          setSession(s);
          if (path === '/login') navigate('/', true);
        }}
      />
    );

  const f = filtersOnly(search);
  const withF = (p: string) => (f ? `${p}?${f}` : p);
  const nav = [
    { to: '/', label: 'Dashboard', on: path === '/' || path === '/dashboard' },
    { to: '/events', label: 'Events', on: path.startsWith('/events') },
    { to: '/rules', label: 'Rules', on: path === '/rules' },
    { to: '/info', label: 'Info', on: path === '/info' },
  ];
  let page: React.ReactNode;
  const m = /^\/events\/([^/]+)$/.exec(path);
  if (m) page = <EventDetail uuid={decodeURIComponent(m[1]!)} />;
  else if (path === '/events') page = <Events search={search} />;
  else if (path === '/rules') page = <Rules search={search} />;
  else if (path === '/info') page = <Info session={session} />;
  else if (path === '/' || path === '/dashboard' || path === '/login') page = <Dashboard search={search} />;
  else page = <p className="empty-state">No page at {path}.</p>;

  return (
    <div className="app">
      <header>
        <a className="brand" {...linkProps('/')}>
          <span className="logo">◭</span> peregrine
        </a>
        <nav>
          {nav.map((n) => (
            <a key={n.to} className={n.on ? 'on' : ''} {...linkProps(n.to === '/info' ? n.to : withF(n.to))}>
              {n.label}
            </a>
          ))}
        </nav>
        <div className="right">
          <button
            type="button"
            className="theme"
            onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')}
            title="switch theme"
            aria-label={`switch to ${theme === 'dark' ? 'light' : 'dark'} theme`}
          >
            {theme === 'dark' ? '☀' : '☾'}
          </button>
          <span className="user">
            {session.username} · {session.role}
          </span>
          <button
            type="button"
            onClick={async () => {
              await api.post('/api/v2/auth/logout').catch(() => {});
              setCsrf('');
              setSession(null);
            }}
          >
            Log out
          </button>
        </div>
      </header>
      <main>{page}</main>
    </div>
  );
}
