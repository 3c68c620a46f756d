/**
 * HTML built so that escaping cannot be forgotten: `markup` escapes every interpolated string and
 * number, and only values that are already `SafeHtml` (built by `markup` or marked with `trustedHtml`)
 * are inserted as they are. Hospital ids, reasons and paths come from files on disk, so they are
 * treated as hostile.
 */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for element content and quoted attribute values (HTML and inline SVG alike). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false || value === true) return '';
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/**
 * Tagged template: markup`<td>${hospitalId}</td>` escapes hospitalId. (Not named `html` on purpose:
 * Prettier would reformat `html` templates and so change the page this module renders.)
 */
export function markup(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0];
  values.forEach((value, i) => {
    out += render(value) + strings[i + 1];
  });
  return new SafeHtml(out);
}

/** Marks markup this module's own code produced (e.g. a rendered chart) as safe to insert. */
export function trustedHtml(text: string): SafeHtml {
  return new SafeHtml(text);
}
