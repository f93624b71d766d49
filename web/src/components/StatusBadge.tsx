// A run's (or a run task's) status as a coloured badge. The colour only repeats the text,
// which is always shown: nobody has to tell colours apart to read a status.

type Tone = 'ok' | 'progress' | 'attention' | 'bad' | 'neutral';

const TONES: Record<string, Tone> = {
  applied: 'ok',
  planned_and_finished: 'ok',
  passed: 'ok',
  overridden: 'neutral',
  planned: 'attention',
  awaiting_override: 'attention',
  pending: 'progress',
  fetching: 'progress',
  pre_plan_running: 'progress',
  planning: 'progress',
  post_plan_running: 'progress',
  confirmed: 'progress',
  pre_apply_running: 'progress',
  applying: 'progress',
  post_apply_running: 'progress',
  running: 'progress',
  errored: 'bad',
  canceled: 'bad',
  force_canceled: 'bad',
  failed: 'bad',
  timeout: 'bad',
  discarded: 'neutral',
};

/** "planned_and_finished" → "planned and finished". */
export function statusText(status: string): string {
  return status.replaceAll('_', ' ');
}

export function StatusBadge(props: { status: string; label?: string; live?: boolean }) {
  const tone = TONES[props.status] ?? 'neutral';
  return (
    <span
      class={`badge badge-${tone}`}
      aria-label={props.label}
      role={props.live ? 'status' : undefined}
      data-status={props.status}
    >
      {statusText(props.status)}
    </span>
  );
}
