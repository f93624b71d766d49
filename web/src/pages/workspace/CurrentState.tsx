import { api, ApiError, type StateVersion } from '../../api';
import { usePolled, WORKSPACE_POLL_MS } from '../../poll';
import { href } from '../../router';
import { ErrorAlert } from '../../components/ErrorAlert';
import { Section } from '../../components/Section';
import { StateOutputs } from '../../components/StateOutputs';
import { Time } from '../../components/Time';
import { StateResources } from './StateResources';
import { StateVersions } from './StateVersions';

/** The current state version, or null when the workspace has none (404: no apply has written
 * one yet). */
async function readCurrentState(workspaceId: string): Promise<StateVersion | null> {
  try {
    return await api.currentStateVersion(workspaceId);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

/** The current state (serial, outputs, resources) and the state history. Only the current
 * state version is polled: outputs, resources and history depend on its id and serial, so
 * they are read again only when it changes. */
export function CurrentState(props: { workspaceId: string }) {
  const state = usePolled(() => readCurrentState(props.workspaceId), WORKSPACE_POLL_MS, [props.workspaceId]);
  const current = state.data;
  return (
    <Section headingId="state-title" title="Current state">
      <ErrorAlert error={state.error} />
      {current === null && <p class="muted">No state yet: no apply has written one.</p>}
      {current && (
        <>
          <dl class="facts">
            <dt>Serial</dt>
            <dd>{current.serial}</dd>
            <dt>State version</dt>
            <dd class="mono">{current.id}</dd>
            <dt>Written</dt>
            <dd>
              <Time iso={current.created_at} />
              {current.run_id && (
                <>
                  {' '}
                  by <a href={href.run(current.run_id)} class="mono">{current.run_id}</a>
                </>
              )}
            </dd>
          </dl>
          <StateOutputs stateVersionId={current.id} headingLevel={3} />
          <StateResources workspaceId={props.workspaceId} serial={current.serial} />
        </>
      )}
      <StateVersions workspaceId={props.workspaceId} currentId={current?.id ?? null} />
    </Section>
  );
}
