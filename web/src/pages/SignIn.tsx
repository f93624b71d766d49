import { useState } from 'preact/hooks';
import { fetchAccount, type Account } from '../api';
import { ErrorAlert } from '../components/ErrorAlert';

/** The sign-in form: the token is checked against GET /account before it is kept. */
export function SignIn(props: { onSignedIn: (token: string, account: Account) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const value = token.trim();
    if (!value) {
      setError(new Error('Enter an API token.'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const account = await fetchAccount(value);
      props.onSignedIn(value, account);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="signin">
      <h1>Sign in</h1>
      <p>Sign in with an iacp API token. It is kept in this browser tab only, until you sign out or close the tab.</p>
      {/* The form never submits to a server (form-action 'none'): the handler calls the API. */}
      <form onSubmit={submit} noValidate>
        <label for="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          spellcheck={false}
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          aria-describedby={error ? 'signin-error' : undefined}
          aria-invalid={error ? true : undefined}
          required
        />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
      <ErrorAlert error={error} id="signin-error" />
    </main>
  );
}
