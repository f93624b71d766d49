import type { ComponentChildren } from 'preact';
import { ErrorAlert } from './ErrorAlert';

/** What a section lists once it has read it: the read's error, then `empty` when there is
 * nothing, or what `children` draws of the items. A failed re-read keeps the items read
 * before under its error. `loading` is shown until the first read ends (none when omitted). */
export function Listing<T>(props: {
  items: T[] | undefined;
  error: unknown;
  empty: string;
  loading?: string;
  children: (items: T[]) => ComponentChildren;
}) {
  const { items, error } = props;
  return (
    <>
      <ErrorAlert error={error} />
      {items === undefined && !error && props.loading && <p class="muted">{props.loading}</p>}
      {items && items.length === 0 && <p class="muted">{props.empty}</p>}
      {items && items.length > 0 && props.children(items)}
    </>
  );
}
