// An error as the API worded it, in role="alert" so screen readers announce it at once.

export function ErrorAlert(props: { error: unknown; id?: string }) {
  if (!props.error) return null;
  const message = props.error instanceof Error ? props.error.message : String(props.error);
  return (
    <p class="alert" role="alert" id={props.id}>
      {message}
    </p>
  );
}
