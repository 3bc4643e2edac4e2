import { randomBytes } from 'node:crypto';
import type { Response } from 'express';

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Escapes text for HTML element content and quoted attribute values alike. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => ENTITIES[c]!);
}

/**
 * The CSP source allowing a form on our pages to end, after our redirects, at
 * this redirect URI (Chromium applies form-action to the redirect chain).
 * Only an origin or a bare scheme can come out, so nothing from the client's
 * registration can add a directive.
 */
export function formActionSource(redirectUri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(redirectUri);
  } catch {
    return undefined;
  }
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    return /^https?:\/\/[a-z0-9.\-[\]:]+$/i.test(url.origin) ? url.origin : undefined;
  }
  return /^[a-z][a-z0-9+.-]*:$/.test(url.protocol) ? url.protocol : undefined;
}

const STYLE = `
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
main{max-width:36rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.12)}
h1{font-size:1.4rem;margin-top:0}code{word-break:break-all;background:#eef0f3;padding:0 .25rem;border-radius:3px}
dt{font-weight:600;margin-top:.5rem}dd{margin:0}.actions{display:flex;gap:.75rem;margin-top:1.5rem;flex-wrap:wrap}
button{font:inherit;padding:.5rem 1.25rem;border-radius:6px;border:1px solid #9aa3b2;background:#fff;cursor:pointer}
button.primary{background:#2456d6;border-color:#2456d6;color:#fff}input[type=text]{font:inherit;width:100%;box-sizing:border-box;padding:.45rem;margin-top:.25rem}
.note{color:#5b6472;font-size:.9rem}.error{border-left:4px solid #c62828;padding-left:1rem}`;

export interface Page {
  status: number;
  title: string;
  /** Body HTML: every value from outside must already be escaped. */
  body: string;
  /** A constant script (never built from request input), run under the page's nonce. */
  script?: string;
  /** Extra form-action sources (see formActionSource). */
  formTargets?: string[];
  /** Add upgrade-insecure-requests (when the server is served over https). */
  secure: boolean;
  /** Constant CSS added to the pages' own (a wider layout, say), under the same nonce. */
  style?: string;
  /** The page's script may fetch from this origin (connect-src 'self'): live pages. */
  connectSelf?: boolean;
}

/**
 * Sends one of our HTML pages (consent, fake IdP, 400 for a bad redirect
 * URI, the landing page, "my sessions"). helmet's headers stay, but two: the
 * CSP is replaced by a stricter one (nothing loads; only the inline style and
 * script carrying this response's nonce run; a live page may fetch from its
 * own origin), and the referrer policy is same-origin (see below).
 */
export function sendPage(res: Response, page: Page): void {
  const nonce = randomBytes(16).toString('base64');
  const formAction = ["'self'", ...(page.formTargets ?? [])].join(' ');
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "img-src 'self' data:",
    ...(page.connectSelf ? ["connect-src 'self'"] : []),
    `form-action ${formAction}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
    ...(page.secure ? ['upgrade-insecure-requests'] : []),
  ].join('; ');
  res.setHeader('Content-Security-Policy', csp);
  // helmet's no-referrer makes browsers send `Origin: null` with the pages' own form posts, which the
  // Origin check (rightly) refuses. same-origin keeps the Origin for our own forms and still sends no
  // Referer (with its state, codes and user id) to any other site.
  res.setHeader('Referrer-Policy', 'same-origin');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  const script = page.script ? `\n<script nonce="${nonce}">${page.script}</script>` : '';
  res.status(page.status).send(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(page.title)}</title>
<style nonce="${nonce}">${STYLE}${page.style ?? ''}</style>
</head>
<body>
<main>
${page.body}
</main>${script}
</body>
</html>
`);
}
