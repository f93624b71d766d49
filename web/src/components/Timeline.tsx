import type { Run } from '../api';
import { absoluteTime, relativeTime } from '../time';
import { StatusBadge } from './StatusBadge';

/** The statuses the run went through, oldest first, with when it reached each. */
export function Timeline(props: { run: Run }) {
  const steps = Object.entries(props.run.status_timestamps)
    .filter(([status]) => !status.endsWith('_at'))
    .sort(([, a], [, b]) => a.localeCompare(b));
  return (
    <section aria-labelledby="timeline-title">
      <h2 id="timeline-title">Timeline</h2>
      <ol class="timeline">
        {steps.map(([status, at]) => (
          <li key={status}>
            <StatusBadge status={status} />{' '}
            <time dateTime={at} title={relativeTime(at)}>
              {absoluteTime(at)}
            </time>
          </li>
        ))}
      </ol>
    </section>
  );
}
