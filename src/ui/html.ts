import { escapeHtml, markup, SafeHtml, trustedHtml } from '../cli/report/html-escape';

/**
 * The console builds its pages with the report's escaping template (src/cli/report/html-escape.ts):
 * every interpolated value is escaped unless it is already markup, so a run id or an audit reason
 * can never inject HTML. `html` is its name here (Prettier formats these templates as HTML).
 */
export const html = markup;
export type Html = SafeHtml;
export const raw = trustedHtml;
export { escapeHtml };

/** JSON for a `<script type="application/json">` block: `<` escaped so it cannot close the tag. */
export function jsonScript(id: string, value: unknown): Html {
  return trustedHtml(
    `<script type="application/json" id="${escapeHtml(id)}">${JSON.stringify(value).replace(/</g, '\\u003c')}</script>`,
  );
}
