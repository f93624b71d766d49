// Hash routing (#/workspaces/ws-1, #/runs/run-1): the document is always the app's root, so
// the platform serves one index.html whatever the stage prefix, and a reload keeps the page.

import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { page: 'workspaces' }
  | { page: 'workspace'; id: string }
  | { page: 'run'; id: string }
  | { page: 'not-found'; path: string };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/';
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0 || (parts.length === 1 && parts[0] === 'workspaces')) return { page: 'workspaces' };
  if (parts.length === 2 && parts[0] === 'workspaces') return { page: 'workspace', id: parts[1] };
  if (parts.length === 2 && parts[0] === 'runs') return { page: 'run', id: parts[1] };
  return { page: 'not-found', path };
}

export const href = {
  workspaces: () => '#/workspaces',
  workspace: (id: string) => `#/workspaces/${encodeURIComponent(id)}`,
  run: (id: string) => `#/runs/${encodeURIComponent(id)}`,
};

export function navigate(to: string): void {
  window.location.hash = to;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const changed = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return route;
}
