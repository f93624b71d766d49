import type { Workspace } from '../../api';

/** The workspace's settings, as a list of facts under its name. */
export function WorkspaceFacts(props: { workspace: Workspace }) {
  const { workspace } = props;
  return (
    <>
      {workspace.description && <p>{workspace.description}</p>}
      <dl class="facts">
        <dt>ID</dt>
        <dd class="mono">{workspace.id}</dd>
        <dt>Terraform</dt>
        <dd>{workspace.terraform_version ?? 'platform default'}</dd>
        <dt>Auto-apply</dt>
        <dd>{workspace.auto_apply ? 'yes' : 'no'}</dd>
        {workspace.runner_size && (
          <>
            <dt>Runner</dt>
            <dd>
              {workspace.runner_size.cpu / 1024} vCPU, {workspace.runner_size.memory} MiB
            </dd>
          </>
        )}
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
    </>
  );
}
