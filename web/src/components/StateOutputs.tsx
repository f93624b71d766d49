import { api, type StateOutput } from '../api';
import { useLoad } from '../load';
import { DataTable } from './DataTable';
import { Listing } from './Listing';
import { Section } from './Section';
import { SensitiveOr } from './SensitiveOr';

/** An output's value as text: strings as they are, anything else as JSON. */
function shown(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value, null, 2) ?? 'null';
}

/** A state version's outputs, read once, in a region named "Outputs" (a run's page, a
 * workspace's current state). */
export function StateOutputs(props: { stateVersionId: string; headingLevel?: 2 | 3 }) {
  const outputs = useLoad(() => api.outputs(props.stateVersionId), [props.stateVersionId]);
  return (
    <Section headingId="outputs-title" title="Outputs" level={props.headingLevel}>
      <Listing items={outputs.data?.items} error={outputs.error} empty="No outputs." loading="Loading outputs…">
        {(items: StateOutput[]) => (
          <DataTable columns={['Name', 'Value']}>
            {items.map((output) => (
              <tr key={output.name}>
                <th scope="row" class="mono">
                  {output.name}
                </th>
                <td>
                  <SensitiveOr sensitive={output.sensitive}>
                    <pre class="value">{shown(output.value)}</pre>
                  </SensitiveOr>
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </Listing>
    </Section>
  );
}
