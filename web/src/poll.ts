// Polling: a page re-reads what it shows every few seconds, in place (no reload), so focus,
// scroll and open dialogs stay as they are. One request at a time: the next waits until the
// previous one ended, so a slow platform is never asked twice at once.

import { useEffect, useRef } from 'preact/hooks';

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
