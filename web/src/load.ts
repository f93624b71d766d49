// Reading what a component shows once per change of what it depends on (a state version, a
// page cursor), as opposed to polling it (poll.ts).

import { useEffect, useState } from 'preact/hooks';

export interface Loaded<T> {
  /** The last value read; undefined until the first read ends. */
  data: T | undefined;
  error: unknown;
}

/** Calls `load` now and whenever `deps` change, and gives its value or its error. The last
 * value stays shown while the next is read (turning a page does not blank the table), and a
 * reply that comes after `deps` changed again is dropped. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [loaded, setLoaded] = useState<Loaded<T>>({ data: undefined, error: null });
  useEffect(() => {
    let cancelled = false;
    load().then(
      (data) => !cancelled && setLoaded({ data, error: null }),
      (error: unknown) => !cancelled && setLoaded((old) => ({ data: old.data, error })),
    );
    return () => {
      cancelled = true;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return loaded;
}
