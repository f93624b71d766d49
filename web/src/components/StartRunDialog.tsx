import { useState } from 'preact/hooks';
import { api, type Operation, type RunCreate } from '../api';
import { href, navigate } from '../router';
import { Dialog } from './Dialog';
import { ErrorAlert } from './ErrorAlert';

/** Addresses typed one a line, as -target and -replace take them. */
function lines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
}

/** "Start run": the run options of POST /workspaces/{id}/runs (RunCreate). The API checks
 * them (422, shown here as it words it); the form does not second-guess it. */
export function StartRunDialog(props: { workspaceId: string; open: boolean; onClose: () => void }) {
  const [operation, setOperation] = useState<Operation>('plan_and_apply');
  const [message, setMessage] = useState('');
  const [isDestroy, setIsDestroy] = useState(false);
  const [refreshOnly, setRefreshOnly] = useState(false);
  const [refresh, setRefresh] = useState(true);
  const [targets, setTargets] = useState('');
  const [replaces, setReplaces] = useState('');
  const [allowEmptyApply, setAllowEmptyApply] = useState(false);
  const [savePlan, setSavePlan] = useState(false);
  const [autoApply, setAutoApply] = useState<'default' | 'yes' | 'no'>('default');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const body: RunCreate = {
      operation,
      message,
      is_destroy: isDestroy,
      refresh_only: refreshOnly,
      refresh,
      target_addrs: lines(targets),
      replace_addrs: lines(replaces),
      allow_empty_apply: allowEmptyApply,
      save_plan: savePlan,
    };
    if (autoApply !== 'default') body.auto_apply = autoApply === 'yes';
    try {
      const run = await api.createRun(props.workspaceId, body);
      props.onClose();
      navigate(href.run(run.id));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const text = (setter: (value: string) => void) => (e: Event) =>
    setter((e.target as HTMLInputElement | HTMLTextAreaElement).value);
  const check = (setter: (value: boolean) => void) => (e: Event) => setter((e.target as HTMLInputElement).checked);

  return (
    <Dialog open={props.open} onClose={props.onClose} labelledBy="start-run-title">
      <form class="dialog-form" onSubmit={submit}>
        <h2 id="start-run-title">Start a run</h2>
        <div class="field">
          <label for="run-operation">Operation</label>
          <select
            id="run-operation"
            value={operation}
            onChange={(e) => setOperation((e.target as HTMLSelectElement).value as Operation)}
          >
            <option value="plan_and_apply">Plan and apply</option>
            <option value="plan_only">Plan only</option>
          </select>
        </div>
        <div class="field">
          <label for="run-message">Message</label>
          <input id="run-message" type="text" maxLength={1000} value={message} onInput={text(setMessage)} />
        </div>
        <fieldset>
          <legend>Plan options</legend>
          <label class="check">
            <input type="checkbox" checked={isDestroy} onChange={check(setIsDestroy)} /> Destroy plan (destroys
            everything in the state)
          </label>
          <label class="check">
            <input type="checkbox" checked={refreshOnly} onChange={check(setRefreshOnly)} /> Refresh-only plan
          </label>
          <label class="check">
            <input type="checkbox" checked={refresh} onChange={check(setRefresh)} /> Refresh before planning
          </label>
          <label class="check">
            <input type="checkbox" checked={allowEmptyApply} onChange={check(setAllowEmptyApply)} /> Allow empty
            apply
          </label>
          <label class="check">
            <input type="checkbox" checked={savePlan} onChange={check(setSavePlan)} /> Save plan (apply later,
            without holding the workspace meanwhile)
          </label>
        </fieldset>
        <div class="field">
          <label for="run-auto-apply">Auto-apply</label>
          <select
            id="run-auto-apply"
            value={autoApply}
            onChange={(e) => setAutoApply((e.target as HTMLSelectElement).value as 'default' | 'yes' | 'no')}
          >
            <option value="default">Workspace's setting</option>
            <option value="yes">Apply without confirmation</option>
            <option value="no">Wait for confirmation</option>
          </select>
        </div>
        <div class="field">
          <label for="run-targets">Target addresses</label>
          <textarea
            id="run-targets"
            rows={3}
            spellcheck={false}
            value={targets}
            onInput={text(setTargets)}
            aria-describedby="run-targets-hint"
          />
          <p class="hint" id="run-targets-hint">
            One resource or module address a line (-target).
          </p>
        </div>
        <div class="field">
          <label for="run-replaces">Replace addresses</label>
          <textarea
            id="run-replaces"
            rows={3}
            spellcheck={false}
            value={replaces}
            onInput={text(setReplaces)}
            aria-describedby="run-replaces-hint"
          />
          <p class="hint" id="run-replaces-hint">
            One managed resource instance a line (-replace).
          </p>
        </div>
        <ErrorAlert error={error} />
        <div class="dialog-buttons">
          <button type="submit" class="primary" disabled={busy}>
            Queue run
          </button>
          <button type="button" onClick={props.onClose}>
            Close
          </button>
        </div>
      </form>
    </Dialog>
  );
}
