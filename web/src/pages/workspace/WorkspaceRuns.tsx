import { api, type Run } from '../../api';
import { usePolled, WORKSPACE_POLL_MS } from '../../poll';
import { href } from '../../router';
import { DataTable } from '../../components/DataTable';
import { Listing } from '../../components/Listing';
import { Pager, useCursors } from '../../components/Pager';
import { RunTrigger } from '../../components/RunTrigger';
import { Section } from '../../components/Section';
import { StatusBadge, statusText } from '../../components/StatusBadge';
import { Time } from '../../components/Time';

/** The workspace's runs, newest first, a page at a time; the page shown is polled. */
export function WorkspaceRuns(props: { workspaceId: string }) {
  const cursors = useCursors();
  const runs = usePolled(
    () => api.runs(props.workspaceId, { limit: 20, cursor: cursors.current }),
    WORKSPACE_POLL_MS,
    [props.workspaceId, cursors.current],
  );
  return (
    <Section headingId="runs-title" title="Runs">
      <Listing items={runs.data?.items} error={runs.error} empty="No runs yet.">
        {(items: Run[]) => (
          <DataTable
            hiddenCaption="Runs, newest first"
            columns={['Run', 'Status', 'Operation', 'Created', 'Message', 'Triggered by']}
          >
            {items.map((run) => (
              <RunRow key={run.id} run={run} />
            ))}
          </DataTable>
        )}
      </Listing>
      {runs.data && <Pager cursors={cursors} nextCursor={runs.data.next_cursor} label="Run pages" />}
    </Section>
  );
}

function RunRow(props: { run: Run }) {
  const { run } = props;
  return (
    <tr>
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
  );
}
