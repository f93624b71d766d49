import { useEffect, useState } from 'preact/hooks';
import { api, type Workspace } from '../api';
import { usePolled, WORKSPACE_POLL_MS } from '../poll';
import { href } from '../router';
import { DataTable } from '../components/DataTable';
import { ErrorAlert } from '../components/ErrorAlert';
import { Pager, useCursors } from '../components/Pager';
import { StatusBadge } from '../components/StatusBadge';
import { Time } from '../components/Time';

const PAGE_SIZE = 20;

export function WorkspaceList() {
  const [filter, setFilter] = useState('');
  // The prefix asked for: the filter once typing pauses, so a name is not fetched per key.
  const [prefix, setPrefix] = useState('');
  useEffect(() => {
    const timer = window.setTimeout(() => setPrefix(filter.trim()), 250);
    return () => window.clearTimeout(timer);
  }, [filter]);
  const cursors = useCursors();
  // Re-read every 5 s; a new filter or page starts over at once.
  const workspaces = usePolled(
    () => api.workspaces({ name_prefix: prefix || undefined, limit: PAGE_SIZE, cursor: cursors.current }),
    WORKSPACE_POLL_MS,
    [prefix, cursors.current],
  );
  const page = workspaces.data;

  return (
    <main id="main">
      <h1>Workspaces</h1>
      <div class="toolbar" role="search">
        <label for="name-filter">Filter by name</label>
        <input
          id="name-filter"
          type="text"
          value={filter}
          autoComplete="off"
          spellcheck={false}
          onInput={(e) => {
            setFilter((e.target as HTMLInputElement).value);
            cursors.reset();
          }}
        />
      </div>
      <ErrorAlert error={workspaces.error} />
      {page === undefined && !workspaces.error && <p aria-live="polite">Loading workspaces…</p>}
      {page && (
        <>
          <DataTable
            hiddenCaption="Workspaces"
            columns={['Name', 'Latest run', 'When', 'Lock', { label: 'Resources', numeric: true }, 'Repository']}
          >
            {page.items.map((ws) => (
              <WorkspaceRow key={ws.id} ws={ws} />
            ))}
          </DataTable>
          {page.items.length === 0 && (
            <p>{prefix ? `No workspace's name begins with “${prefix}”.` : 'No workspaces yet.'}</p>
          )}
          <Pager cursors={cursors} nextCursor={page.next_cursor} label="Workspace pages" />
        </>
      )}
    </main>
  );
}

function WorkspaceRow(props: { ws: Workspace }) {
  const { ws } = props;
  return (
    <tr>
      <th scope="row">
        <a href={href.workspace(ws.id)}>{ws.name}</a>
      </th>
      <td>
        {ws.latest_run ? (
          <a
            href={href.run(ws.latest_run.id)}
            aria-label={`Latest run ${ws.latest_run.id}: ${ws.latest_run.status.replaceAll('_', ' ')}`}
          >
            <StatusBadge status={ws.latest_run.status} />
          </a>
        ) : ws.latest_run === null ? (
          <span class="muted">no runs</span>
        ) : (
          <span class="muted">—</span> // a platform that does not say
        )}
      </td>
      <td>
        <Time iso={ws.latest_run?.status_at ?? ws.latest_run?.created_at} />
      </td>
      <td>{ws.locked ? <span class="locked">locked</span> : <span class="muted">unlocked</span>}</td>
      <td class="num">{ws.resource_count ?? <span class="muted">—</span>}</td>
      <td>
        {ws.vcs ? (
          <>
            <span class="mono">{ws.vcs.repository}</span> <span class="muted">({ws.vcs.branch})</span>
          </>
        ) : (
          <span class="muted">—</span>
        )}
      </td>
    </tr>
  );
}
