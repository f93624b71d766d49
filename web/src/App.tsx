import { useEffect, useState } from 'preact/hooks';
import { fetchAccount, setUnauthorizedHandler, type Account } from './api';
import { AccountContext } from './account';
import { href, useRoute } from './router';
import { clearToken, getToken, setToken } from './session';
import { SignIn } from './pages/SignIn';
import { WorkspaceList } from './pages/WorkspaceList';
import { WorkspacePage } from './pages/Workspace';
import { RunPage } from './pages/Run';
import { ErrorAlert } from './components/ErrorAlert';

type Session =
  | { state: 'checking' }
  | { state: 'signed-out'; reason?: string }
  | { state: 'signed-in'; account: Account };

export function App() {
  const route = useRoute();
  const [session, setSession] = useState<Session>(() =>
    getToken() ? { state: 'checking' } : { state: 'signed-out' },
  );

  // A token kept from before a reload is checked again: it may have expired or been revoked.
  useEffect(() => {
    const token = getToken();
    if (!token) return;
    fetchAccount(token)
      .then((account) => setSession({ state: 'signed-in', account }))
      .catch((error: Error) => {
        clearToken();
        setSession({ state: 'signed-out', reason: error.message });
      });
  }, []);

  // Any 401 later (revoked, expired) ends the session, saying why.
  useEffect(() => {
    setUnauthorizedHandler(() => {
      clearToken();
      setSession({ state: 'signed-out', reason: 'Your session ended: the API no longer accepts the token.' });
    });
    return () => setUnauthorizedHandler(null);
  }, []);

  const signOut = () => {
    clearToken();
    setSession({ state: 'signed-out' });
  };

  // Each page's title names it, for tabs, history and screen readers.
  useEffect(() => {
    const what =
      session.state !== 'signed-in'
        ? 'Sign in'
        : route.page === 'workspaces'
          ? 'Workspaces'
          : route.page === 'not-found'
            ? 'Not found'
            : route.id;
    document.title = `${what} · iacp`;
  }, [route, session.state]);

  return (
    <>
      <a class="skip-link" href="#main" onClick={skipToMain}>
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href={href.workspaces()}>
          iacp
        </a>
        {session.state === 'signed-in' && (
          <div class="who">
            <span class="muted">
              {session.account.token_id || 'token'}
              {session.account.role ? ` · ${session.account.role}` : ''}
            </span>
            <button type="button" onClick={signOut}>
              Sign out
            </button>
          </div>
        )}
      </header>
      {session.state === 'checking' && (
        <main id="main">
          <p aria-live="polite">Checking your token…</p>
        </main>
      )}
      {session.state === 'signed-out' && (
        <>
          {session.reason && (
            <div class="page-alert">
              <ErrorAlert error={session.reason} />
            </div>
          )}
          <SignIn
            onSignedIn={(token, account) => {
              setToken(token);
              setSession({ state: 'signed-in', account });
            }}
          />
        </>
      )}
      {session.state === 'signed-in' && (
        <AccountContext.Provider value={session.account}>
          {route.page === 'workspaces' && <WorkspaceList />}
          {route.page === 'workspace' && <WorkspacePage key={route.id} id={route.id} />}
          {route.page === 'run' && <RunPage key={route.id} id={route.id} />}
          {route.page === 'not-found' && (
            <main id="main">
              <h1>Not found</h1>
              <p>
                Nothing lives at <code>{route.path}</code>. <a href={href.workspaces()}>Back to workspaces</a>
              </p>
            </main>
          )}
        </AccountContext.Provider>
      )}
    </>
  );
}

// The skip link's target is in the app, not a route: focus it instead of changing the hash
// (which the router would read as a page).
function skipToMain(event: Event) {
  event.preventDefault();
  const main = document.getElementById('main');
  if (main) {
    main.setAttribute('tabindex', '-1');
    main.focus();
  }
}
