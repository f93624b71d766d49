import type { ComponentChildren } from 'preact';

/** A <section> named by its heading, so that it is a region of that name (screen readers list
 * it; the browser tests find "Outputs", "Run tasks" so). `headingId` must be unique on the
 * page. */
export function Section(props: {
  headingId: string;
  title: ComponentChildren;
  level?: 2 | 3;
  class?: string;
  children?: ComponentChildren;
}) {
  const Heading = props.level === 3 ? 'h3' : 'h2';
  return (
    <section aria-labelledby={props.headingId} class={props.class}>
      <Heading id={props.headingId}>{props.title}</Heading>
      {props.children}
    </section>
  );
}
