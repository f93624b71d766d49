import type { ComponentChildren } from 'preact';

/** `children` (a value), or the word "sensitive" in its place when the value is sensitive:
 * such a value is never displayed, even when the API returned it (to an admin token). */
export function SensitiveOr(props: { sensitive: boolean; children: ComponentChildren }) {
  return props.sensitive ? <span class="sensitive">sensitive</span> : <>{props.children}</>;
}
