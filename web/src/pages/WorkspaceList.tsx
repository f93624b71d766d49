import { useEffect, useState } from 'preact/hooks';
import { api, type Page, type Workspace } from '../api';
import { usePoll } from '../poll';
import { href } from '../router';
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
  const [page, setPage] = useState<Page<Workspace> | null>(null);
  const [error, setError] = useState<unknown>(null);

  // Re-read every 5 s; a new filter or page starts over at once.
  usePoll(
    async (signal) => {
      try {
        const next = await api.workspaces({
          name_prefix: prefix || undefined,
          limit: PAGE_SIZE,
          cursor: cursors.current,
        });
        if (signal.cancelled) return;
        setPage(next);
        setError(null);
      } catch (e) {
        if (!signal.cancelled) setError(e);
      }
    },
    5000,
    true,
    [prefix, cursors.current],
  );

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
      <ErrorAlert error={error} />
      {page === null && !error && <p aria-live="polite">Loading workspaces…</p>}
      {page && (
        <>
          <div class="table-scroll">
            <table>
              <caption class="visually-hidden">Workspaces</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Latest run</th>
                  <th scope="col">When</th>
                  <th scope="col">Lock</th>
                  <th scope="col" class="num">
                    Resources
                  </th>
                  <th scope="col">Repository</th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((ws) => (
                  <tr key={ws.id}>
                    <th scope="row">
                      <a href={href.workspace(ws.id)}>{ws.name}</a>
                    </th>
                    <td>
                      {ws.latest_run ? (
                        <a href={href.run(ws.latest_run.id)} aria-label={`Latest run ${ws.latest_run.id}: ${ws.latest_run.status.replaceAll('_', ' ')}`}>
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
                ))}
              </tbody>
            </table>
          </div>
          {page.items.length === 0 && (
            <p>{prefix ? `No workspace's name begins with “${prefix}”.` : 'No workspaces yet.'}</p>
          )}
          <Pager cursors={cursors} nextCursor={page.next_cursor} label="Workspace pages" />
        </>
      )}
    </main>
  );
}
