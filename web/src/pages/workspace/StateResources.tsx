import { api, type Resource } from '../../api';
import { useLoad } from '../../load';
import { DataTable } from '../../components/DataTable';
import { Listing } from '../../components/Listing';
import { Pager, useCursors } from '../../components/Pager';
import { Section } from '../../components/Section';

/** The resources of the current state, a page at a time; read again when its serial changes. */
export function StateResources(props: { workspaceId: string; serial: number }) {
  const cursors = useCursors();
  const resources = useLoad(
    () => api.resources(props.workspaceId, { limit: 50, cursor: cursors.current }),
    [props.workspaceId, props.serial, cursors.current],
  );
  return (
    <Section headingId="resources-title" title="Resources" level={3}>
      <Listing items={resources.data?.items} error={resources.error} empty="No resources indexed.">
        {(items: Resource[]) => (
          <DataTable columns={['Address', 'Type', 'Cloud ID']}>
            {items.map((resource) => (
              <tr key={resource.id}>
                <th scope="row" class="mono">
                  {resource.address}
                </th>
                <td class="mono">{resource.type}</td>
                <td class="mono">{resource.cloud_id ?? '—'}</td>
              </tr>
            ))}
          </DataTable>
        )}
      </Listing>
      {resources.data && (
        <Pager cursors={cursors} nextCursor={resources.data.next_cursor} label="Resource pages" />
      )}
    </Section>
  );
}
