import type { Run } from '../api';

/** Who or what started a run: a VCS push or pull request (with links to the commit and the
 * pull request when the host gave them), or the API token that created it. */
export function RunTrigger(props: { run: Run }) {
  const { vcs, created_by } = props.run;
  if (!vcs) return <span class="mono">{created_by}</span>;
  const sha = vcs.commit_sha.slice(0, 7);
  return (
    <span>
      {vcs.pull_request_number != null ? 'pull request ' : 'push '}
      {vcs.pull_request_number != null &&
        (vcs.pull_request_url ? (
          <a href={vcs.pull_request_url} rel="noopener noreferrer">
            #{vcs.pull_request_number}
          </a>
        ) : (
          <span>#{vcs.pull_request_number}</span>
        ))}
      {vcs.pull_request_number != null && ' '}
      {vcs.commit_url ? (
        <a href={vcs.commit_url} class="mono" rel="noopener noreferrer" title={vcs.commit_sha}>
          {sha}
        </a>
      ) : (
        <span class="mono" title={vcs.commit_sha}>
          {sha}
        </span>
      )}{' '}
      <span class="muted">
        on {vcs.branch}
        {vcs.sender ? ` by ${vcs.sender}` : ''}
      </span>
    </span>
  );
}
