import type { Response } from 'express';
import { escapeHtml, formActionSource, sendPage } from './html.js';

export interface ConsentView {
  pendingId: string;
  clientId: string;
  clientName: string | undefined;
  redirectUri: string;
  scopes: string[];
  resource: string;
  secure: boolean;
}

/** The consent page: who asks (client name and id), where the answer goes (redirect URI), for what. */
export function sendConsentPage(res: Response, view: ConsentView): void {
  const name = view.clientName?.trim() ? view.clientName : view.clientId;
  const target = formActionSource(view.redirectUri);
  sendPage(res, {
    status: 200,
    title: 'Authorize access',
    secure: view.secure,
    formTargets: target ? [target] : [],
    body: `<h1>Authorize access</h1>
<p><strong id="client-name">${escapeHtml(name)}</strong> asks to use the MCP server <code>${escapeHtml(view.resource)}</code> on your behalf.</p>
<dl>
<dt>Client ID</dt><dd><code id="client-id">${escapeHtml(view.clientId)}</code></dd>
<dt>Redirect URI (where your answer is sent)</dt><dd><code id="redirect-uri">${escapeHtml(view.redirectUri)}</code></dd>
<dt>Scopes</dt><dd><code id="scopes">${escapeHtml(view.scopes.join(' '))}</code></dd>
</dl>
<p class="note">Approving takes you to the fake upstream identity provider, where you choose who you are.</p>
<form method="post" action="/consent">
<input type="hidden" name="pending" value="${escapeHtml(view.pendingId)}">
<div class="actions">
<button class="primary" type="submit" name="decision" value="approve" id="approve">Approve</button>
<button type="submit" name="decision" value="deny" id="deny">Deny</button>
</div>
</form>`,
  });
}
