// Polling: a page re-reads what it shows every few seconds, in place (no reload), so focus,
// scroll and open dialogs stay as they are. One request at a time: the next waits until the
// previous one ended, so a slow platform is never asked twice at once.

import { useEffect, useRef, useState } from 'preact/hooks';

// The workspace list and a workspace's page: what they show changes at the pace of runs.
export const WORKSPACE_POLL_MS = 5000;

/** Calls `tick` now and then every `intervalMs` after each call ends, while `active`.
 * `deps` restart it (a new workspace or run). A hidden tab skips its ticks. */
export function usePoll(
  tick: (signal: { cancelled: boolean }) => Promise<unknown> | void,
  intervalMs: number,
  active: boolean,
  deps: unknown[],
): void {
  const latest = useRef(tick);
  latest.current = tick;
  useEffect(() => {
    if (!active) return undefined;
    const signal = { cancelled: false };
    let timer: number | undefined;
    const run = async () => {
      if (signal.cancelled) return;
      if (!document.hidden) {
        try {
          await latest.current(signal);
        } catch {
          // the tick shows its own errors; polling goes on
        }
      }
      if (!signal.cancelled) timer = window.setTimeout(run, intervalMs);
    };
    void run();
    return () => {
      signal.cancelled = true;
      window.clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [active, intervalMs, ...deps]);
}

export interface Polled<T> {
  /** The last value read; undefined until the first read ends. */
  data: T | undefined;
  /** The last read's error, cleared by the next read that succeeds. */
  error: unknown;
  /** Shows a value got otherwise (an action's reply) until the next poll replaces it. */
  setData: (value: T) => void;
}

/** Polls `read` (see usePoll) and gives what it read, until `done` says the value read is
 * final (a run that has ended). A failed read keeps the last value, so the page goes on
 * showing it under the error. */
export function usePolled<T>(
  read: () => Promise<T>,
  intervalMs: number,
  deps: unknown[],
  done?: (value: T) => boolean,
): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const active = data === undefined || !done?.(data);
  usePoll(
    async (signal) => {
      try {
        const next = await read();
        if (signal.cancelled) return;
        setData(next);
        setError(null);
      } catch (e) {
        if (!signal.cancelled) setError(e);
      }
    },
    intervalMs,
    active,
    deps,
  );
  return { data, error, setData };
}
