import { api, type Variable } from '../../api';
import { useLoad } from '../../load';
import { DataTable } from '../../components/DataTable';
import { Listing } from '../../components/Listing';
import { Section } from '../../components/Section';
import { SensitiveOr } from '../../components/SensitiveOr';

/** The workspace's variables, read once. */
export function WorkspaceVariables(props: { workspaceId: string }) {
  const variables = useLoad(() => api.variables(props.workspaceId), [props.workspaceId]);
  return (
    <Section headingId="vars-title" title="Variables">
      <Listing items={variables.data?.items} error={variables.error} empty="No variables.">
        {(items: Variable[]) => (
          <DataTable columns={['Key', 'Value', 'Category', 'Description']}>
            {items.map((variable) => (
              <tr key={variable.id}>
                <th scope="row" class="mono">
                  {variable.key}
                </th>
                <td>
                  <SensitiveOr sensitive={variable.sensitive}>
                    <span class="mono">{variable.value}</span>
                  </SensitiveOr>
                  {variable.hcl && <span class="tag">HCL</span>}
                </td>
                <td>{variable.category}</td>
                <td>{variable.description}</td>
              </tr>
            ))}
          </DataTable>
        )}
      </Listing>
    </Section>
  );
}
