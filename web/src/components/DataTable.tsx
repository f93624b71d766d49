import type { ComponentChildren } from 'preact';

/** A header cell's text; `numeric` columns are right-aligned. */
export type Column = string | { label: string; numeric: true };

/** A table with a header cell per column, in a box that scrolls sideways on a narrow screen
 * (390 px) so that the page itself never widens. `children` are the body's rows. A table is
 * named by its caption: `caption` shows it, `hiddenCaption` gives it to screen readers only. */
export function DataTable(props: {
  columns: Column[];
  caption?: string;
  hiddenCaption?: string;
  children: ComponentChildren;
}) {
  return (
    <div class="table-scroll">
      <table>
        {props.caption && <caption>{props.caption}</caption>}
        {props.hiddenCaption && <caption class="visually-hidden">{props.hiddenCaption}</caption>}
        <thead>
          <tr>
            {props.columns.map((column) =>
              typeof column === 'string' ? (
                <th scope="col" key={column}>
                  {column}
                </th>
              ) : (
                <th scope="col" class="num" key={column.label}>
                  {column.label}
                </th>
              ),
            )}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </div>
  );
}
