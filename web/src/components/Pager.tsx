// Cursor pagination: the API gives only the next page's cursor, so the cursors of the pages
// already seen are kept on a stack for "Previous".

import { useState } from 'preact/hooks';

export interface Cursors {
  current: string | null;
  next: (cursor: string) => void;
  previous: () => void;
  reset: () => void;
  hasPrevious: boolean;
  pageNumber: number;
}

export function useCursors(): Cursors {
  // The stack holds the cursor of every page up to the current one; the first page's is null.
  const [stack, setStack] = useState<(string | null)[]>([null]);
  return {
    current: stack[stack.length - 1],
    next: (cursor) => setStack((s) => [...s, cursor]),
    previous: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
    reset: () => setStack([null]),
    hasPrevious: stack.length > 1,
    pageNumber: stack.length,
  };
}

export function Pager(props: { cursors: Cursors; nextCursor: string | null | undefined; label: string }) {
  const { cursors, nextCursor } = props;
  if (!cursors.hasPrevious && !nextCursor) return null;
  return (
    <nav class="pager" aria-label={props.label}>
      <button type="button" disabled={!cursors.hasPrevious} onClick={cursors.previous}>
        Previous
      </button>
      <span class="muted">Page {cursors.pageNumber}</span>
      <button type="button" disabled={!nextCursor} onClick={() => nextCursor && cursors.next(nextCursor)}>
        Next
      </button>
    </nav>
  );
}
