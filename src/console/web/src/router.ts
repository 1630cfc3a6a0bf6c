import { useEffect, useState } from 'react';

/** Minimal history-API router: the URL (path + query) is the state. */
export function navigate(to: string, replace = false): void {
  if (to === location.pathname + location.search) return;
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  window.dispatchEvent(new Event('locationchange'));
}

export function useLocation(): { path: string; search: URLSearchParams } {
  const [, force] = useState(0);
  useEffect(() => {
    const on = () => force((n) => n + 1);
    window.addEventListener('popstate', on);
    window.addEventListener('locationchange', on);
    return () => {
      window.removeEventListener('popstate', on);
      window.removeEventListener('locationchange', on);
    };
  }, []);
  return { path: location.pathname, search: new URLSearchParams(location.search) };
}

export function linkProps(to: string): { href: string; onClick: (e: React.MouseEvent) => void } {
  return {
    href: to,
    onClick: (e) => {
      if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
      e.preventDefault();
      navigate(to);
    },
  };
}
