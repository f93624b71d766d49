import { useState } from 'preact/hooks';
import { api, type Operation, type RunCreate } from '../api';
import { href, navigate } from '../router';
import { useAction } from '../action';
import { Dialog } from './Dialog';
import { DialogButtons } from './DialogButtons';

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
  const action = useAction();

  const submit = (event: Event) => {
    event.preventDefault();
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
    void action.perform(async () => {
      const run = await api.createRun(props.workspaceId, body);
      props.onClose();
      navigate(href.run(run.id));
    });
  };

  const text = (setter: (value: string) => void) => (e: Event) => setter((e.target as HTMLInputElement).value);
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
        <AddressListField
          id="run-targets"
          label="Target addresses"
          hint="One resource or module address a line (-target)."
          value={targets}
          onChange={setTargets}
        />
        <AddressListField
          id="run-replaces"
          label="Replace addresses"
          hint="One managed resource instance a line (-replace)."
          value={replaces}
          onChange={setReplaces}
        />
        <DialogButtons submitLabel="Queue run" busy={action.busy} error={action.error} onClose={props.onClose} />
      </form>
    </Dialog>
  );
}

/** A textarea for addresses typed one a line, with its hint (what the addresses are for)
 * read out with it. */
function AddressListField(props: {
  id: string;
  label: string;
  hint: string;
  value: string;
  onChange: (value: string) => void;
}) {
  const hintId = `${props.id}-hint`;
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <textarea
        id={props.id}
        rows={3}
        spellcheck={false}
        value={props.value}
        onInput={(e) => props.onChange((e.target as HTMLTextAreaElement).value)}
        aria-describedby={hintId}
      />
      <p class="hint" id={hintId}>
        {props.hint}
      </p>
    </div>
  );
}
