// What a button or a form does on the API, with the state every such control needs.

import { useState } from 'preact/hooks';

export interface Action {
  /** True while an action runs: its buttons are disabled so that it is not sent twice. */
  busy: boolean;
  /** The last action's error, worded as the API words it. */
  error: unknown;
  clearError: () => void;
  perform: (action: () => Promise<void>) => Promise<void>;
}

export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const perform = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, clearError: () => setError(null), perform };
}
