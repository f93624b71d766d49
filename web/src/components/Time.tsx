import { absoluteTime, relativeTime } from '../time';

/** A time shown relative to now, with the exact time in the title and the datetime attribute. */
export function Time(props: { iso: string | null | undefined }) {
  if (!props.iso) return <span class="muted">—</span>;
  return (
    <time dateTime={props.iso} title={absoluteTime(props.iso)}>
      {relativeTime(props.iso)}
    </time>
  );
}
