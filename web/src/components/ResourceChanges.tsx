import type { PlanJson } from '../api';
import { DataTable } from './DataTable';
import { Section } from './Section';

type Kind = 'create' | 'update' | 'delete' | 'replace' | 'read' | 'no-op';
const ORDER: Kind[] = ['create', 'update', 'replace', 'delete', 'read'];

/** An HCP plan's change actions as one word: delete-then-create (or create-then-delete,
 * create_before_destroy) is a replace. */
export function changeKind(actions: string[]): Kind {
  if (actions.includes('delete') && actions.includes('create')) return 'replace';
  if (actions.includes('create')) return 'create';
  if (actions.includes('delete')) return 'delete';
  if (actions.includes('update')) return 'update';
  if (actions.includes('read')) return 'read';
  return 'no-op';
}

/** The plan's resource changes (terraform show -json's resource_changes) with a count of
 * each kind; resources left as they are (no-op) are counted, not listed. */
export function ResourceChanges(props: { plan: PlanJson | null; note?: string }) {
  const changes = (props.plan?.resource_changes ?? []).map((rc) => ({
    address: rc.address,
    kind: changeKind(rc.change?.actions ?? []),
  }));
  const listed = changes.filter((c) => c.kind !== 'no-op');
  const count = (kind: Kind) => changes.filter((c) => c.kind === kind).length;
  listed.sort((a, b) => ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind) || a.address.localeCompare(b.address));
  return (
    <Section headingId="changes-title" title="Plan">
      {props.plan === null ? (
        <p class="muted">{props.note ?? 'No plan yet.'}</p>
      ) : (
        <>
          <p class="change-counts">
            <span class="change change-create">{count('create')} to create</span>
            <span class="change change-update">{count('update')} to update</span>
            <span class="change change-replace">{count('replace')} to replace</span>
            <span class="change change-delete">{count('delete')} to delete</span>
            {count('no-op') > 0 && <span class="muted">{count('no-op')} unchanged</span>}
          </p>
          <DataTable caption="Resource changes" columns={['Action', 'Address']}>
            {listed.length === 0 && (
              <tr>
                <td colSpan={2} class="muted">
                  No changes.
                </td>
              </tr>
            )}
            {listed.map((c) => (
              <tr key={c.address}>
                <td>
                  <span class={`change change-${c.kind}`}>{c.kind}</span>
                </td>
                <td class="mono">{c.address}</td>
              </tr>
            ))}
          </DataTable>
        </>
      )}
    </Section>
  );
}
