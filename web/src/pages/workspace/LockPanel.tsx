import { api, type Workspace } from '../../api';
import { can, useAccount } from '../../account';
import { useAction } from '../../action';
import { href } from '../../router';
import { ErrorAlert } from '../../components/ErrorAlert';
import { Section } from '../../components/Section';
import { Time } from '../../components/Time';

/** The lock and who holds it; Unlock for the holder's own token (write), Force unlock for
 * admins. `onChanged` gets the workspace as the unlock left it. */
export function LockPanel(props: { workspace: Workspace; onChanged: (ws: Workspace) => void }) {
  const account = useAccount();
  const action = useAction();
  const lock = props.workspace.lock;
  const unlockWith = (unlock: (ws: string) => Promise<Workspace>) =>
    action.perform(async () => props.onChanged(await unlock(props.workspace.id)));

  // Only the holder may unlock (an admin may force-unlock anyone's).
  const mine = lock && lock.holder === account?.token_id;
  return (
    <Section headingId="lock-title" title="Lock" class="panel">
      <p aria-live="polite">
        {lock ? (
          <>
            <span class="locked">Locked</span> by{' '}
            {lock.holder.startsWith('run-') ? (
              <a href={href.run(lock.holder)} class="mono">
                {lock.holder}
              </a>
            ) : (
              <span class="mono">{lock.holder}</span>
            )}{' '}
            <Time iso={lock.locked_at} />
            {lock.reason ? `: ${lock.reason}` : ''}
          </>
        ) : props.workspace.locked ? (
          <span class="locked">Locked</span>
        ) : (
          'Not locked.'
        )}
      </p>
      {lock && (
        <div class="actions">
          {mine && can(account, 'write') && (
            <button type="button" disabled={action.busy} onClick={() => unlockWith(api.unlock)}>
              Unlock
            </button>
          )}
          {can(account, 'admin') && (
            <button type="button" class="danger" disabled={action.busy} onClick={() => unlockWith(api.forceUnlock)}>
              Force unlock
            </button>
          )}
        </div>
      )}
      <ErrorAlert error={action.error} />
    </Section>
  );
}
