import { ErrorAlert } from './ErrorAlert';

/** The foot of a dialog's form: the error of its last submit (it stays in the dialog, as the
 * API words it), the submit button, disabled while the submit runs, and Close. */
export function DialogButtons(props: {
  submitLabel: string;
  danger?: boolean;
  busy: boolean;
  error: unknown;
  onClose: () => void;
}) {
  return (
    <>
      <ErrorAlert error={props.error} />
      <div class="dialog-buttons">
        <button type="submit" class={props.danger ? 'danger' : 'primary'} disabled={props.busy}>
          {props.submitLabel}
        </button>
        <button type="button" onClick={props.onClose}>
          Close
        </button>
      </div>
    </>
  );
}
