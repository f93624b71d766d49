import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { Dialog } from './Dialog';
import { ErrorAlert } from './ErrorAlert';

/** Confirms a run action with a comment (recorded with the action by the API). The confirm
 * button is named "Confirm" in every such dialog; the heading says what it confirms. An
 * error stays in the dialog, worded as the API words it. */
export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  children?: ComponentChildren;
  danger?: boolean;
  onConfirm: (comment: string) => Promise<void>;
  onClose: () => void;
}) {
  const [comment, setComment] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  // Each opening starts blank.
  useEffect(() => {
    if (props.open) {
      setComment('');
      setError(null);
    }
  }, [props.open]);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await props.onConfirm(comment);
      props.onClose();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog open={props.open} onClose={props.onClose} labelledBy="confirm-title">
      <form class="dialog-form" onSubmit={submit}>
        <h2 id="confirm-title">{props.title}</h2>
        {props.children}
        <div class="field">
          <label for="confirm-comment">Comment</label>
          <textarea
            id="confirm-comment"
            rows={3}
            maxLength={1000}
            value={comment}
            onInput={(e) => setComment((e.target as HTMLTextAreaElement).value)}
          />
        </div>
        <ErrorAlert error={error} />
        <div class="dialog-buttons">
          <button type="submit" class={props.danger ? 'danger' : 'primary'} disabled={busy}>
            Confirm
          </button>
          <button type="button" onClick={props.onClose}>
            Close
          </button>
        </div>
      </form>
    </Dialog>
  );
}
