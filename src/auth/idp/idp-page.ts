import type { Response } from 'express';
import { escapeHtml, sendPage } from '../pages/html.js';

/**
 * The page's only script. A constant: nothing from the request is ever part of
 * it, and it writes only `.value`s (never HTML). It keeps the user id in
 * localStorage, fills the field with it (or a fresh one), and lets the user
 * generate another.
 */
const SCRIPT = `(() => {
  const KEY = 'mcp-everything.fake-idp.user-id';
  const VALID = /^[A-Za-z0-9._@+-]{1,128}$/;
  const input = document.getElementById('userId');
  const fresh = () => {
    const bytes = new Uint8Array(8);
    crypto.getRandomValues(bytes);
    return 'user-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  };
  const save = (value) => { try { localStorage.setItem(KEY, value); } catch (e) { /* storage disabled */ } };
  let saved = null;
  try { saved = localStorage.getItem(KEY); } catch (e) { saved = null; }
  input.value = saved && VALID.test(saved) ? saved : fresh();
  if (!saved) save(input.value);
  document.getElementById('generate').addEventListener('click', () => { input.value = fresh(); save(input.value); });
  document.getElementById('login').addEventListener('submit', () => { if (VALID.test(input.value)) save(input.value); });
})();`;

export interface IdpView {
  state: string;
  code: string;
  /** Where our callback will redirect in the end (form-action must allow it). */
  formTargets: string[];
  secure: boolean;
}

export function sendIdpPage(res: Response, view: IdpView): void {
  sendPage(res, {
    status: 200,
    title: 'Fake upstream identity provider',
    secure: view.secure,
    formTargets: view.formTargets,
    script: SCRIPT,
    body: `<h1>Fake upstream identity provider</h1>
<p class="note">This is not a real sign-in. Pick the user id you want to be: the MCP server treats everyone who presents the same id as the same user, and sessions belong to their user. This browser keeps the id in localStorage.</p>
<form method="get" action="/fakeupstreamauth/callback" id="login">
<input type="hidden" name="state" value="${escapeHtml(view.state)}">
<input type="hidden" name="code" value="${escapeHtml(view.code)}">
<label for="userId">User id</label>
<input type="text" id="userId" name="userId" required maxlength="128" pattern="[A-Za-z0-9._@+\\-]{1,128}" autocomplete="off" spellcheck="false">
<div class="actions">
<button type="button" id="generate">Generate a new user id</button>
<button class="primary" type="submit" id="continue">Continue</button>
</div>
</form>
<p class="note">Request: <code id="state">${escapeHtml(view.state)}</code></p>`,
  });
}
