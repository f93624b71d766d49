import { useEffect, useState } from 'preact/hooks';
import {
  api,
  ApiError,
  type Page,
  type Resource,
  type Run,
  type RunTask,
  type StateOutput,
  type StateVersion,
  type Variable,
  type Workspace,
  type WorkspaceRunTask,
} from '../api';
import { can, useAccount } from '../account';
import { usePoll } from '../poll';
import { href } from '../router';
import { ErrorAlert } from '../components/ErrorAlert';
import { OutputsTable } from '../components/OutputsTable';
import { Pager, useCursors } from '../components/Pager';
import { RunTrigger } from '../components/RunTrigger';
import { StartRunDialog } from '../components/StartRunDialog';
import { StatusBadge, statusText } from '../components/StatusBadge';
import { Time } from '../components/Time';

const POLL_MS = 5000;

export function WorkspacePage(props: { id: string }) {
  const account = useAccount();
  const [workspace, setWorkspace] = useState<Workspace | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [starting, setStarting] = useState(false);

  usePoll(
    async (signal) => {
      try {
        const ws = await api.workspace(props.id);
        if (!signal.cancelled) {
          setWorkspace(ws);
          setError(null);
        }
      } catch (e) {
        if (!signal.cancelled) setError(e);
      }
    },
    POLL_MS,
    true,
    [props.id],
  );

  return (
    <main id="main">
      <p class="breadcrumb">
        <a href={href.workspaces()}>Workspaces</a>
      </p>
      <h1>{workspace?.name ?? props.id}</h1>
      <ErrorAlert error={error} />
      {workspace && (
        <>
          {workspace.description && <p>{workspace.description}</p>}
          <dl class="facts">
            <dt>ID</dt>
            <dd class="mono">{workspace.id}</dd>
            <dt>Terraform</dt>
            <dd>{workspace.terraform_version ?? 'platform default'}</dd>
            <dt>Auto-apply</dt>
            <dd>{workspace.auto_apply ? 'yes' : 'no'}</dd>
            {workspace.working_directory && (
              <>
                <dt>Working directory</dt>
                <dd class="mono">{workspace.working_directory}</dd>
              </>
            )}
            {workspace.vcs && (
              <>
                <dt>Repository</dt>
                <dd>
                  <span class="mono">{workspace.vcs.repository}</span> ({workspace.vcs.branch})
                </dd>
              </>
            )}
          </dl>
          <LockPanel workspace={workspace} onChanged={setWorkspace} />
          {can(account, 'write') && (
            <p>
              <button type="button" class="primary" onClick={() => setStarting(true)}>
                Start run
              </button>
            </p>
          )}
          {can(account, 'write') && (
            <StartRunDialog workspaceId={workspace.id} open={starting} onClose={() => setStarting(false)} />
          )}
        </>
      )}
      <RunsSection workspaceId={props.id} />
      <StateSection workspaceId={props.id} />
      <VariablesSection workspaceId={props.id} />
      <RunTasksSection workspaceId={props.id} />
    </main>
  );
}

/** The lock and who holds it; Unlock for the holder's own token (write), Force unlock for
 * admins. */
function LockPanel(props: { workspace: Workspace; onChanged: (ws: Workspace) => void }) {
  const account = useAccount();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const lock = props.workspace.lock;

  const act = async (action: (ws: string) => Promise<Workspace>) => {
    setBusy(true);
    setError(null);
    try {
      props.onChanged(await action(props.workspace.id));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  // Only the holder may unlock (an admin may force-unlock anyone's).
  const mine = lock && lock.holder === account?.token_id;
  return (
    <section aria-labelledby="lock-title" class="panel">
      <h2 id="lock-title">Lock</h2>
      <p aria-live="polite">
        {lock ? (
          <>
            <span class="locked">Locked</span> by{' '}
            {lock.holder.startsWith('run-') ? (
              <a href={href.run(lock.holder)} class="mono">
                {lock.holder}
              </a>
            ) : (
              <span class="mono">{lock.holder}</span>
            )}{' '}
            <Time iso={lock.locked_at} />
            {lock.reason ? `: ${lock.reason}` : ''}
          </>
        ) : props.workspace.locked ? (
          <span class="locked">Locked</span>
        ) : (
          'Not locked.'
        )}
      </p>
      {lock && (
        <div class="actions">
          {mine && can(account, 'write') && (
            <button type="button" disabled={busy} onClick={() => act(api.unlock)}>
              Unlock
            </button>
          )}
          {can(account, 'admin') && (
            <button type="button" class="danger" disabled={busy} onClick={() => act(api.forceUnlock)}>
              Force unlock
            </button>
          )}
        </div>
      )}
      <ErrorAlert error={error} />
    </section>
  );
}

function RunsSection(props: { workspaceId: string }) {
  const cursors = useCursors();
  const [page, setPage] = useState<Page<Run> | null>(null);
  const [error, setError] = useState<unknown>(null);

  usePoll(
    async (signal) => {
      try {
        const next = await api.runs(props.workspaceId, { limit: 20, cursor: cursors.current });
        if (!signal.cancelled) {
          setPage(next);
          setError(null);
        }
      } catch (e) {
        if (!signal.cancelled) setError(e);
      }
    },
    POLL_MS,
    true,
    [props.workspaceId, cursors.current],
  );

  return (
    <section aria-labelledby="runs-title">
      <h2 id="runs-title">Runs</h2>
      <ErrorAlert error={error} />
      {page && page.items.length === 0 && <p class="muted">No runs yet.</p>}
      {page && page.items.length > 0 && (
        <div class="table-scroll">
          <table>
            <caption class="visually-hidden">Runs, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Status</th>
                <th scope="col">Operation</th>
                <th scope="col">Created</th>
                <th scope="col">Message</th>
                <th scope="col">Triggered by</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((run) => (
                <tr key={run.id}>
                  <th scope="row">
                    <a href={href.run(run.id)} class="mono">
                      {run.id}
                    </a>
                  </th>
                  <td>
                    <StatusBadge status={run.status} />
                  </td>
                  <td>{statusText(run.operation)}</td>
                  <td>
                    <Time iso={run.created_at} />
                  </td>
                  <td class="message">{run.message || <span class="muted">—</span>}</td>
                  <td>
                    <RunTrigger run={run} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {page && <Pager cursors={cursors} nextCursor={page.next_cursor} label="Run pages" />}
    </section>
  );
}

/** The current state (serial, outputs, resources) and the state history. The current state
 * version is polled; outputs, resources and history are read again only when it changes. */
function StateSection(props: { workspaceId: string }) {
  const [current, setCurrent] = useState<StateVersion | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);

  usePoll(
    async (signal) => {
      try {
        const sv = await api.currentStateVersion(props.workspaceId);
        if (!signal.cancelled) {
          setCurrent((old) => (old?.id === sv.id ? old : sv));
          setError(null);
        }
      } catch (e) {
        if (signal.cancelled) return;
        if (e instanceof ApiError && e.status === 404) setCurrent(null); // no state yet
        else setError(e);
      }
    },
    POLL_MS,
    true,
    [props.workspaceId],
  );

  return (
    <section aria-labelledby="state-title">
      <h2 id="state-title">Current state</h2>
      <ErrorAlert error={error} />
      {current === null && <p class="muted">No state yet: no apply has written one.</p>}
      {current && (
        <>
          <dl class="facts">
            <dt>Serial</dt>
            <dd>{current.serial}</dd>
            <dt>State version</dt>
            <dd class="mono">{current.id}</dd>
            <dt>Written</dt>
            <dd>
              <Time iso={current.created_at} />
              {current.run_id && (
                <>
                  {' '}
                  by <a href={href.run(current.run_id)} class="mono">{current.run_id}</a>
                </>
              )}
            </dd>
          </dl>
          <StateOutputs stateVersionId={current.id} />
          <ResourcesTable workspaceId={props.workspaceId} serial={current.serial} />
        </>
      )}
      <StateVersionsTable workspaceId={props.workspaceId} currentId={current?.id ?? null} />
    </section>
  );
}

function StateOutputs(props: { stateVersionId: string }) {
  const [outputs, setOutputs] = useState<StateOutput[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let cancelled = false;
    api
      .outputs(props.stateVersionId)
      .then((page) => !cancelled && setOutputs(page.items))
      .catch((e) => !cancelled && setError(e));
    return () => {
      cancelled = true;
    };
  }, [props.stateVersionId]);
  return <OutputsTable outputs={outputs} error={error} headingLevel={3} />;
}

function ResourcesTable(props: { workspaceId: string; serial: number }) {
  const cursors = useCursors();
  const [page, setPage] = useState<Page<Resource> | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let cancelled = false;
    api
      .resources(props.workspaceId, { limit: 50, cursor: cursors.current })
      .then((next) => {
        if (!cancelled) {
          setPage(next);
          setError(null);
        }
      })
      .catch((e) => !cancelled && setError(e));
    return () => {
      cancelled = true;
    };
  }, [props.workspaceId, props.serial, cursors.current]);
  return (
    <section aria-labelledby="resources-title">
      <h3 id="resources-title">Resources</h3>
      <ErrorAlert error={error} />
      {page && page.items.length === 0 && <p class="muted">No resources indexed.</p>}
      {page && page.items.length > 0 && (
        <div class="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Address</th>
                <th scope="col">Type</th>
                <th scope="col">Cloud ID</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((resource) => (
                <tr key={resource.id}>
                  <th scope="row" class="mono">
                    {resource.address}
                  </th>
                  <td class="mono">{resource.type}</td>
                  <td class="mono">{resource.cloud_id ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {page && <Pager cursors={cursors} nextCursor={page.next_cursor} label="Resource pages" />}
    </section>
  );
}

function StateVersionsTable(props: { workspaceId: string; currentId: string | null }) {
  const cursors = useCursors();
  const [page, setPage] = useState<Page<StateVersion> | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let cancelled = false;
    api
      .stateVersions(props.workspaceId, { limit: 10, cursor: cursors.current })
      .then((next) => {
        if (!cancelled) {
          setPage(next);
          setError(null);
        }
      })
      .catch((e) => !cancelled && setError(e));
    return () => {
      cancelled = true;
    };
  }, [props.workspaceId, props.currentId, cursors.current]);
  if (!page && !error) return null;
  return (
    <section aria-labelledby="history-title">
      <h3 id="history-title">State versions</h3>
      <ErrorAlert error={error} />
      {page && page.items.length === 0 && <p class="muted">No state versions.</p>}
      {page && page.items.length > 0 && (
        <div class="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Serial</th>
                <th scope="col">State version</th>
                <th scope="col">Written</th>
                <th scope="col">By</th>
                <th scope="col" class="num">
                  Resources
                </th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((sv) => (
                <tr key={sv.id}>
                  <th scope="row">
                    {sv.serial}
                    {sv.id === props.currentId && <span class="tag">current</span>}
                    {sv.partial && <span class="tag">partial</span>}
                  </th>
                  <td class="mono">{sv.id}</td>
                  <td>
                    <Time iso={sv.created_at} />
                  </td>
                  <td>
                    {sv.run_id ? (
                      <a href={href.run(sv.run_id)} class="mono">
                        {sv.run_id}
                      </a>
                    ) : sv.rolled_back_from ? (
                      <>rollback to {sv.rolled_back_from}</>
                    ) : (
                      '—'
                    )}
                  </td>
                  <td class="num">{sv.resource_count ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {page && <Pager cursors={cursors} nextCursor={page.next_cursor} label="State version pages" />}
    </section>
  );
}

function VariablesSection(props: { workspaceId: string }) {
  const [variables, setVariables] = useState<Variable[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let cancelled = false;
    api
      .variables(props.workspaceId)
      .then((page) => !cancelled && setVariables(page.items))
      .catch((e) => !cancelled && setError(e));
    return () => {
      cancelled = true;
    };
  }, [props.workspaceId]);
  return (
    <section aria-labelledby="vars-title">
      <h2 id="vars-title">Variables</h2>
      <ErrorAlert error={error} />
      {variables && variables.length === 0 && <p class="muted">No variables.</p>}
      {variables && variables.length > 0 && (
        <div class="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Value</th>
                <th scope="col">Category</th>
                <th scope="col">Description</th>
              </tr>
            </thead>
            <tbody>
              {variables.map((variable) => (
                <tr key={variable.id}>
                  <th scope="row" class="mono">
                    {variable.key}
                  </th>
                  <td>
                    {variable.sensitive ? (
                      <span class="sensitive">sensitive</span>
                    ) : (
                      <span class="mono">{variable.value}</span>
                    )}
                    {variable.hcl && <span class="tag">HCL</span>}
                  </td>
                  <td>{variable.category}</td>
                  <td>{variable.description}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function RunTasksSection(props: { workspaceId: string }) {
  const [attached, setAttached] = useState<(WorkspaceRunTask & { task?: RunTask })[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let cancelled = false;
    (async () => {
      try {
        const page = await api.attachedTasks(props.workspaceId);
        // The attachments name their run tasks by id: fetch each for its name and URL.
        const tasks = await Promise.all(page.items.map((a) => api.runTask(a.run_task_id).catch(() => undefined)));
        if (!cancelled) setAttached(page.items.map((a, i) => ({ ...a, task: tasks[i] })));
      } catch (e) {
        if (!cancelled) setError(e);
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [props.workspaceId]);
  return (
    <section aria-labelledby="ws-tasks-title">
      <h2 id="ws-tasks-title">Attached run tasks</h2>
      <ErrorAlert error={error} />
      {attached && attached.length === 0 && <p class="muted">No run tasks attached.</p>}
      {attached && attached.length > 0 && (
        <div class="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Run task</th>
                <th scope="col">Stages</th>
                <th scope="col">Enforcement</th>
              </tr>
            </thead>
            <tbody>
              {attached.map((a) => (
                <tr key={a.id}>
                  <th scope="row">{a.task?.name ?? <span class="mono">{a.run_task_id}</span>}</th>
                  <td>{a.stages.map(statusText).join(', ')}</td>
                  <td>{a.enforcement_level}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
