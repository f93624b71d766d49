// Terraform's coloured output as HTML, for a log that grows by pieces.
//
// ansi_up with use_classes emits class names (ansi-red-fg ...) that styles.css colours. It
// still writes bold, faint, italic, underline and 24-bit colours as style="..." attributes,
// which the CSP (style-src 'self') forbids; so those styles are given marker names here and
// turned into classes, and 24-bit colours are dropped (Terraform does not use them).

import { AnsiUp } from 'ansi_up';

const MARKERS: Record<string, string> = {
  'ansi-x-bold': 'ansi-bold',
  'ansi-x-faint': 'ansi-faint',
  'ansi-x-italic': 'ansi-italic',
  'ansi-x-underline': 'ansi-underline',
};

/** One converter per log: it carries colour state, and a half-received escape sequence,
 * from one piece of the log to the next. */
export function ansiConverter(): (text: string) => string {
  const converter = new AnsiUp();
  converter.use_classes = true;
  converter.escape_html = true;
  converter.boldStyle = 'ansi-x-bold';
  converter.faintStyle = 'ansi-x-faint';
  converter.italicStyle = 'ansi-x-italic';
  converter.underlineStyle = 'ansi-x-underline';
  return (text) =>
    // The log text itself is escaped (no quote or < survives), so this matches only the
    // spans ansi_up wrote.
    converter
      .ansi_to_html(text)
      .replace(/<span style="([^"]*)"(?: class="([^"]*)")?>/g, (_match, styles: string, classes?: string) => {
        const names = styles
          .split(';')
          .map((style) => MARKERS[style])
          .filter(Boolean);
        if (classes) names.push(classes);
        return names.length ? `<span class="${names.join(' ')}">` : '<span>';
      });
}
