import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { useAction } from '../action';
import { Dialog } from './Dialog';
import { DialogButtons } from './DialogButtons';

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
  const action = useAction();

  // Each opening starts blank.
  useEffect(() => {
    if (props.open) {
      setComment('');
      action.clearError();
    }
  }, [props.open]);

  const submit = (event: Event) => {
    event.preventDefault();
    void action.perform(async () => {
      await props.onConfirm(comment);
      props.onClose();
    });
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
        <DialogButtons
          submitLabel="Confirm"
          danger={props.danger}
          busy={action.busy}
          error={action.error}
          onClose={props.onClose}
        />
      </form>
    </Dialog>
  );
}
