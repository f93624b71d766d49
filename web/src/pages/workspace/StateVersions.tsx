import { api, type StateVersion } from '../../api';
import { useLoad } from '../../load';
import { href } from '../../router';
import { DataTable } from '../../components/DataTable';
import { Listing } from '../../components/Listing';
import { Pager, useCursors } from '../../components/Pager';
import { Section } from '../../components/Section';
import { Time } from '../../components/Time';

/** The state history, newest first, a page at a time; read again when the current state
 * version changes (a new one is at the top). `currentId` is tagged "current". */
export function StateVersions(props: { workspaceId: string; currentId: string | null }) {
  const cursors = useCursors();
  const versions = useLoad(
    () => api.stateVersions(props.workspaceId, { limit: 10, cursor: cursors.current }),
    [props.workspaceId, props.currentId, cursors.current],
  );
  // Nothing at all until the first read ends, not even the heading.
  if (!versions.data && !versions.error) return null;
  return (
    <Section headingId="history-title" title="State versions" level={3}>
      <Listing items={versions.data?.items} error={versions.error} empty="No state versions.">
        {(items: StateVersion[]) => (
          <DataTable columns={['Serial', 'State version', 'Written', 'By', { label: 'Resources', numeric: true }]}>
            {items.map((sv) => (
              <StateVersionRow key={sv.id} sv={sv} current={sv.id === props.currentId} />
            ))}
          </DataTable>
        )}
      </Listing>
      {versions.data && (
        <Pager cursors={cursors} nextCursor={versions.data.next_cursor} label="State version pages" />
      )}
    </Section>
  );
}

function StateVersionRow(props: { sv: StateVersion; current: boolean }) {
  const { sv } = props;
  return (
    <tr>
      <th scope="row">
        {sv.serial}
        {props.current && <span class="tag">current</span>}
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
  );
}
