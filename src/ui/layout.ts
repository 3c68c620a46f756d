import { html, type Html } from './html';

export const NAV = [
  { href: '/runs', label: 'Runs' },
  { href: '/models', label: 'Model versions' },
  { href: '/ledgers', label: 'Privacy ledgers' },
  { href: '/agents', label: 'Alerts and estimates' },
  { href: '/audit', label: 'Audit log' },
  { href: '/calculator', label: 'Risk calculator' },
] as const;

/** Every page: a skip link, the navigation (the current page marked for screen readers), main. */
export function page(options: {
  title: string;
  path: string;
  body: Html;
  footer: string;
  charts?: boolean;
}): Html {
  const current = NAV.find((n) => options.path === n.href || options.path.startsWith(`${n.href}/`))?.href;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${options.title} · HIMAS console</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href="/assets/console.css" />
        ${
          options.charts
            ? html`<script src="/assets/d3.min.js" defer></script>
                <script src="/assets/plot.umd.min.js" defer></script>`
            : ''
        }
        <script src="/assets/console.js" defer></script>
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header>
          <p class="brand">HIMAS console</p>
          <nav aria-label="Sections">
            <ul>
              ${NAV.map((n) => html`<li><a href="${n.href}" ${n.href === current ? html` aria-current="page"` : ''}>${n.label}</a></li>`)}
            </ul>
          </nav>
        </header>
        <main id="main" tabindex="-1">
          <h1>${options.title}</h1>
          ${options.body}
        </main>
        <footer>
          <p>Reading ${options.footer}. Read-only: the console never changes a run, a model or a ledger.</p>
        </footer>
      </body>
    </html>`;
}

/** A clear empty state: what is missing and what to do. */
export function empty(message: string, hint?: string): Html {
  return html`<p class="empty" role="status">
    ${message}${hint ? html` <span class="hint">${hint}</span>` : ''}
  </p>`;
}

export function errorBox(message: string): Html {
  return html`<div class="error" role="alert">
    <p><strong>Could not read the store.</strong> ${message}</p>
  </div>`;
}

export function badge(text: string, kind: string): Html {
  return html`<span class="badge badge-${kind}">${text}</span>`;
}
