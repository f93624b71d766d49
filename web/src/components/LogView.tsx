import { useRef, useState } from 'preact/hooks';
import { api, type LogPhase } from '../api';
import { ansiConverter } from '../ansi';
import { usePoll } from '../poll';

const POLL_MS = 2000;
// Pages read back to back in one tick while the API has more (a long log, or a page opened
// late): enough to catch up quickly, bounded so a tick never runs on.
const PAGES_PER_TICK = 20;

/** A phase's log, followed live: each poll asks from the last byte offset read and appends
 * only the new text to the <pre>, converted from ANSI colours to classes. The <pre> is
 * written directly (Preact renders it empty and never touches its content), so a long log
 * is never re-rendered whole. It has a fixed height and scrolls itself: it sticks to the
 * bottom while the reader is there, and stays put when they scrolled up to read. */
export function LogView(props: {
  runId: string;
  phase: LogPhase;
  title: string;
  /** The phase has begun: there is, or will be, a log to read. */
  started: boolean;
  /** The run may still write this log. Once false, the log is read to its end and left. */
  live: boolean;
  notStarted: string;
}) {
  const pre = useRef<HTMLPreElement>(null);
  const offset = useRef(0);
  const convert = useRef(ansiConverter());
  const [state, setState] = useState<'waiting' | 'following' | 'complete' | 'ended'>('waiting');
  const [error, setError] = useState<string | null>(null);
  const done = state === 'complete' || state === 'ended';

  usePoll(
    async (signal) => {
      for (let i = 0; i < PAGES_PER_TICK; i++) {
        let page;
        try {
          page = await api.logs(props.runId, props.phase, offset.current);
        } catch (e) {
          if (!signal.cancelled) setError((e as Error).message);
          return;
        }
        if (signal.cancelled) return;
        setError(null);
        if (page.data) append(page.data);
        offset.current = page.next_offset;
        if (page.complete) {
          setState('complete');
          return;
        }
        if (!page.data) {
          // Nothing new. A run that has ended writes no more: what was read is the log.
          setState(props.live ? 'following' : 'ended');
          return;
        }
        setState('following');
      }
    },
    POLL_MS,
    props.started && !done,
    [props.runId, props.phase, props.live],
  );

  function append(text: string) {
    const element = pre.current;
    if (!element) return;
    const atBottom = element.scrollTop + element.clientHeight >= element.scrollHeight - 8;
    element.insertAdjacentHTML('beforeend', convert.current(text));
    if (atBottom) element.scrollTop = element.scrollHeight;
  }

  const id = `log-${props.phase}`;
  // A log not begun is a short empty box: it grows once, when its phase starts, and never
  // while it streams.
  const note = !props.started
    ? props.notStarted
    : state === 'waiting'
      ? 'Loading…'
      : state === 'following'
        ? 'Following the log as it is written…'
        : state === 'complete'
          ? 'Complete.'
          : 'The log ended with the run.';
  return (
    <section aria-labelledby={`${id}-title`} class="log">
      <h2 id={`${id}-title`}>{props.title}</h2>
      <p class="muted log-note">{note}</p>
      {error && (
        <p class="alert" role="alert">
          {error}
        </p>
      )}
      {/* tabindex: a scrollable region must be reachable by keyboard to be scrolled. */}
      <pre ref={pre} class={props.started ? 'log-text' : 'log-text log-idle'} tabIndex={0} aria-label={`${props.title} text`} />
    </section>
  );
}
