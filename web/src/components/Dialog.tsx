// A modal <dialog>: the browser traps focus inside it, makes the page behind inert, closes it
// on Escape and gives focus back to the button that opened it.

import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

export function Dialog(props: {
  open: boolean;
  onClose: () => void;
  labelledBy: string;
  children: ComponentChildren;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (props.open && !dialog.open) dialog.showModal();
    if (!props.open && dialog.open) dialog.close();
  }, [props.open]);
  return (
    <dialog ref={ref} aria-labelledby={props.labelledBy} onClose={props.onClose}>
      {props.open && props.children}
    </dialog>
  );
}
