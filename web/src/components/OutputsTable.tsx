import type { StateOutput } from '../api';

/** An output's value as text: strings as they are, anything else as JSON. */
function shown(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value, null, 2) ?? 'null';
}

/** A state version's outputs in a region named "Outputs". A sensitive output shows
 * "sensitive", whatever the API returned for it (an admin token gets the value; the page
 * still does not display it). */
export function OutputsTable(props: { outputs: StateOutput[] | null; error?: unknown; headingLevel?: 2 | 3 }) {
  const Heading = props.headingLevel === 3 ? 'h3' : 'h2';
  return (
    <section aria-labelledby="outputs-title">
      <Heading id="outputs-title">Outputs</Heading>
      {props.error ? (
        <p class="alert" role="alert">
          {props.error instanceof Error ? props.error.message : String(props.error)}
        </p>
      ) : props.outputs === null ? (
        <p class="muted">Loading outputs…</p>
      ) : props.outputs.length === 0 ? (
        <p class="muted">No outputs.</p>
      ) : (
        <div class="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Value</th>
              </tr>
            </thead>
            <tbody>
              {props.outputs.map((output) => (
                <tr key={output.name}>
                  <th scope="row" class="mono">
                    {output.name}
                  </th>
                  <td>
                    {output.sensitive ? (
                      <span class="sensitive">sensitive</span>
                    ) : (
                      <pre class="value">{shown(output.value)}</pre>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
