import type { Response } from 'express';
import { escapeHtml, sendPage } from './html.js';

/**
 * The 400 page of /authorize when the redirect URI cannot be trusted (missing,
 * repeated, or not registered exactly): the user learns what went wrong, and
 * nothing is sent to the unverified URI (RFC 6749 §4.1.2.1).
 */
export function sendRedirectUriErrorPage(res: Response, description: string, secure: boolean): void {
  res.setHeader('Cache-Control', 'no-store');
  sendPage(res, {
    status: 400,
    title: 'Authorization request refused',
    secure,
    body: `<div class="error">
<h1>Authorization request refused</h1>
<p id="error-code"><code>invalid_request</code></p>
<p id="error-description">${escapeHtml(description)}</p>
</div>
<p class="note">The application that sent you here is misconfigured: it asked for an answer at an address it did not register. Nothing was sent to that address. You can close this page.</p>`,
  });
}
