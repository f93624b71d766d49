import { useState } from 'preact/hooks';
import { api } from '../api';
import { can, useAccount } from '../account';
import { usePolled, WORKSPACE_POLL_MS } from '../poll';
import { href } from '../router';
import { ErrorAlert } from '../components/ErrorAlert';
import { StartRunDialog } from '../components/StartRunDialog';
import { AttachedRunTasks } from './workspace/AttachedRunTasks';
import { CurrentState } from './workspace/CurrentState';
import { LockPanel } from './workspace/LockPanel';
import { WorkspaceFacts } from './workspace/WorkspaceFacts';
import { WorkspaceRuns } from './workspace/WorkspaceRuns';
import { WorkspaceVariables } from './workspace/WorkspaceVariables';

/** A workspace's page. The workspace itself (its settings, its lock) is polled here; each
 * section below reads and polls what it shows on its own, so that one slow or failing read
 * leaves the others be. */
export function WorkspacePage(props: { id: string }) {
  const account = useAccount();
  const workspace = usePolled(() => api.workspace(props.id), WORKSPACE_POLL_MS, [props.id]);
  const ws = workspace.data;

  return (
    <main id="main">
      <p class="breadcrumb">
        <a href={href.workspaces()}>Workspaces</a>
      </p>
      <h1>{ws?.name ?? props.id}</h1>
      <ErrorAlert error={workspace.error} />
      {ws && (
        <>
          <WorkspaceFacts workspace={ws} />
          <LockPanel workspace={ws} onChanged={workspace.setData} />
          {can(account, 'write') && <StartRun workspaceId={ws.id} />}
        </>
      )}
      <WorkspaceRuns workspaceId={props.id} />
      <CurrentState workspaceId={props.id} />
      <WorkspaceVariables workspaceId={props.id} />
      <AttachedRunTasks workspaceId={props.id} />
    </main>
  );
}

/** The Start run button and the dialog it opens (for a token that may write). */
function StartRun(props: { workspaceId: string }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <p>
        <button type="button" class="primary" onClick={() => setOpen(true)}>
          Start run
        </button>
      </p>
      <StartRunDialog workspaceId={props.workspaceId} open={open} onClose={() => setOpen(false)} />
    </>
  );
}
