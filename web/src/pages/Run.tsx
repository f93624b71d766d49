import { useEffect, useState } from 'preact/hooks';
import {
  api,
  ApiError,
  TERMINAL,
  type PlanJson,
  type Run,
  type RunAction,
  type RunActions,
  type TaskResult,
} from '../api';
import { usePolled } from '../poll';
import { href } from '../router';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { ErrorAlert } from '../components/ErrorAlert';
import { LogView } from '../components/LogView';
import { ResourceChanges } from '../components/ResourceChanges';
import { RunTrigger } from '../components/RunTrigger';
import { StateOutputs } from '../components/StateOutputs';
import { StatusBadge, statusText } from '../components/StatusBadge';
import { TaskStages } from '../components/TaskStages';
import { Time } from '../components/Time';
import { Timeline } from '../components/Timeline';

const POLL_MS = 2000;

// The statuses before the plan has been written: no plan JSON to ask for yet.
const BEFORE_PLAN = new Set(['pending', 'fetching', 'pre_plan_running', 'planning']);
// The statuses from which the apply phase has begun (or begins as soon as it can).
const APPLY_STARTED = ['applying', 'post_apply_running', 'applied'];

interface ActionSpec {
  action: RunAction;
  label: string; // the button's name
  allowed: keyof RunActions;
  title: string;
  explain: string;
  danger?: boolean;
}

// Each action is offered only when the run's `actions` says so: the API has already weighed
// the run's status and the caller's role (a read token gets all false).
const ACTIONS: ActionSpec[] = [
  {
    action: 'apply',
    label: 'Apply',
    allowed: 'is_confirmable',
    title: 'Apply this plan?',
    explain: 'Terraform applies the plan shown on this page.',
  },
  {
    action: 'discard',
    label: 'Discard',
    allowed: 'is_discardable',
    title: 'Discard this plan?',
    explain: 'The run ends without applying; nothing changes.',
  },
  {
    action: 'cancel',
    label: 'Cancel',
    allowed: 'is_cancelable',
    title: 'Cancel this run?',
    explain: 'Terraform is interrupted; what it already wrote is kept.',
    danger: true,
  },
  {
    action: 'force-cancel',
    label: 'Force cancel',
    allowed: 'is_force_cancelable',
    title: 'Force-cancel this run?',
    explain: 'The run ends at once, without waiting for Terraform to stop.',
    danger: true,
  },
  {
    action: 'override-tasks',
    label: 'Override',
    allowed: 'is_overridable',
    title: 'Override the failed run tasks?',
    explain: 'The run goes on past the failed run tasks of the stage it stopped at.',
    danger: true,
  },
];

export function RunPage(props: { id: string }) {
  const [results, setResults] = useState<TaskResult[]>([]);
  // Every 2 s until the run ends: its status, actions and task stages.
  const polled = usePolled(() => api.run(props.id), POLL_MS, [props.id], (run) => TERMINAL.has(run.status));
  const run = polled.data;

  // The task results' details (outcomes, links) are read again only when the stages' summary
  // changes, not on every poll.
  const stagesKey = JSON.stringify(run?.task_stages ?? []);
  useEffect(() => {
    if (stagesKey === '[]') return undefined;
    let cancelled = false;
    api
      .taskResults(props.id)
      .then((page) => !cancelled && setResults(page.items))
      .catch(() => undefined); // the stages' summary still shows each task's status
    return () => {
      cancelled = true;
    };
  }, [props.id, stagesKey]);

  return (
    <main id="main">
      <p class="breadcrumb">
        <a href={href.workspaces()}>Workspaces</a>
        {run && (
          <>
            {' / '}
            <a href={href.workspace(run.workspace_id)} class="mono">
              {run.workspace_id}
            </a>
          </>
        )}
      </p>
      <h1>Run {props.id}</h1>
      {!run && <ErrorAlert error={polled.error} />}
      {run && <RunBody run={run} results={results} onChanged={polled.setData} pollError={polled.error} />}
    </main>
  );
}

function RunBody(props: { run: Run; results: TaskResult[]; onChanged: (run: Run) => void; pollError: unknown }) {
  const { run } = props;
  const ended = TERMINAL.has(run.status);
  const applyStarted =
    APPLY_STARTED.some((s) => s in run.status_timestamps) ||
    run.status === 'applying' ||
    (run.applies_in_plan_task === true && run.status === 'planning');
  const options = describeOptions(run);

  return (
    <>
      <p class="run-status">
        Status: <StatusBadge status={run.status} label="Run status" live />
        {!ended && <span class="muted"> · updates every 2 seconds</span>}
      </p>
      <ErrorAlert error={props.pollError} />
      {run.error && (
        <div class="run-error">
          <strong>Failed at {run.error.stage}:</strong> {run.error.message}
        </div>
      )}
      <dl class="facts">
        <dt>Workspace</dt>
        <dd>
          <a href={href.workspace(run.workspace_id)} class="mono">
            {run.workspace_id}
          </a>
        </dd>
        <dt>Operation</dt>
        <dd>
          {statusText(run.operation)}
          {run.save_plan ? ' (saved plan)' : ''}
          {run.auto_apply ? ' · auto-apply' : ''}
        </dd>
        <dt>Created</dt>
        <dd>
          <Time iso={run.created_at} />
        </dd>
        <dt>Triggered by</dt>
        <dd>
          <RunTrigger run={run} />
        </dd>
        {run.message && (
          <>
            <dt>Message</dt>
            <dd>{run.message}</dd>
          </>
        )}
        {options && (
          <>
            <dt>Options</dt>
            <dd>{options}</dd>
          </>
        )}
        {(run.variable_keys ?? []).length > 0 && (
          <>
            <dt>Run variables</dt>
            <dd class="mono">{(run.variable_keys ?? []).join(', ')}</dd>
          </>
        )}
        {run.has_changes != null && (
          <>
            <dt>Changes</dt>
            <dd>
              {run.has_changes
                ? `+${run.resource_additions ?? 0} ~${run.resource_changes ?? 0} -${run.resource_destructions ?? 0}`
                : 'none'}
            </dd>
          </>
        )}
      </dl>
      <RunActionsBar run={run} onChanged={props.onChanged} />
      <Timeline run={run} />
      {((run.task_stages ?? []).length > 0 || props.results.length > 0) && (
        <TaskStages stages={run.task_stages ?? []} results={props.results} />
      )}
      <PlanChanges run={run} />
      <LogView
        runId={run.id}
        phase="plan"
        title="Plan log"
        started={!['pending', 'fetching', 'pre_plan_running'].includes(run.status) || 'planning' in run.status_timestamps}
        live={!ended}
        notStarted="The plan has not started."
      />
      <LogView
        runId={run.id}
        phase="apply"
        title="Apply log"
        started={applyStarted}
        live={!ended}
        notStarted={ended ? 'This run did not apply.' : 'The apply has not started.'}
      />
      {run.status === 'applied' && run.state_version_id && <StateOutputs stateVersionId={run.state_version_id} />}
    </>
  );
}

/** The buttons the run's `actions` allow, each with its confirmation dialog. */
function RunActionsBar(props: { run: Run; onChanged: (run: Run) => void }) {
  const [pending, setPending] = useState<ActionSpec | null>(null);
  const [notice, setNotice] = useState<string>('');
  const allowed = ACTIONS.filter((spec) => props.run.actions[spec.allowed]);
  // Keep the spec shown while the dialog closes; the dialog itself decides when it is open.
  const [shown, setShown] = useState<ActionSpec>(ACTIONS[0]);
  useEffect(() => {
    if (pending) setShown(pending);
  }, [pending]);

  return (
    <>
      {allowed.length > 0 && (
        <div class="actions" role="group" aria-label="Run actions">
          {allowed.map((spec) => (
            <button
              key={spec.action}
              type="button"
              class={spec.danger ? 'danger' : spec.action === 'apply' ? 'primary' : undefined}
              onClick={() => setPending(spec)}
            >
              {spec.label}
            </button>
          ))}
        </div>
      )}
      <p class="visually-hidden" aria-live="polite">
        {notice}
      </p>
      <ConfirmDialog
        open={pending !== null}
        title={(pending ?? shown).title}
        danger={(pending ?? shown).danger}
        onClose={() => setPending(null)}
        onConfirm={async (comment) => {
          const spec = pending ?? shown;
          const run = await api.runAction(props.run.id, spec.action, comment);
          props.onChanged(run);
          setNotice(`${spec.label}: the run is now ${statusText(run.status)}.`);
        }}
      >
        <p>{(pending ?? shown).explain}</p>
      </ConfirmDialog>
    </>
  );
}

/** The plan's resource changes, read once the plan has been written. */
function PlanChanges(props: { run: Run }) {
  const [plan, setPlan] = useState<PlanJson | null>(null);
  const [note, setNote] = useState<string | undefined>(undefined);
  const planned = !BEFORE_PLAN.has(props.run.status);
  useEffect(() => {
    if (!planned || plan) return undefined;
    let cancelled = false;
    api
      .planJson(props.run.id)
      .then((json) => !cancelled && setPlan(json))
      .catch((e) => {
        if (cancelled) return;
        setNote(e instanceof ApiError && e.status === 404 ? 'This run has no plan.' : (e as Error).message);
      });
    return () => {
      cancelled = true;
    };
    // Asked again when the status changes while there is none (a plan still being stored).
  }, [props.run.id, planned, props.run.status]);
  return <ResourceChanges plan={plan} note={planned ? note : 'The plan has not been written yet.'} />;
}

/** The run's plan options in words ('' for a plain run), as the platform's notifications say
 * them. */
function describeOptions(run: Run): string {
  const words: string[] = [];
  if (run.is_destroy) words.push('destroy plan');
  if (run.refresh_only) words.push('refresh-only plan');
  if (run.refresh === false) words.push('no refresh');
  if (run.allow_empty_apply) words.push('allow empty apply');
  if (run.target_addrs?.length) words.push('targets: ' + run.target_addrs.join(', '));
  if (run.replace_addrs?.length) words.push('replacing: ' + run.replace_addrs.join(', '));
  return words.join('; ');
}
