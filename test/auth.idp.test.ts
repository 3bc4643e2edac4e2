/**
 * The fake upstream IdP (issue item 4): its page escapes everything it renders
 * and runs only a constant script under a per-response nonce; its callback
 * works when a script calls it directly, is bound to its pending authorization,
 * and is usable once (no replay, no re-binding to another user).
 */
import { authBackendCases, authDeploymentForSuite } from './support/auth-instances.js';
import { authorizationParams, authorizeUrl, consentCookie, inputValue, pkce, registerClient, type RegisteredClient } from './support/auth-flow.js';
import { expectPageHeaders } from './support/auth-pages.js';
import { expectJsonBody } from './support/http-raw.js';

describe.each(authBackendCases())('the fake upstream IdP on %s', (_name, start) => {
  const suite = authDeploymentForSuite(start);
  let client: RegisteredClient;

  beforeAll(async () => {
    client = await registerClient(suite.base, { client_name: 'IdP test client', redirect_uris: ['http://127.0.0.1:4321/cb'] });
  });

  /** Consent approved on `via`: returns the request id (the IdP's state) and the IdP page's URL. */
  async function approvedRequest(via = suite.A) {
    const params = authorizationParams(suite.base, client, pkce().challenge);
    const consentUrl = new URL(authorizeUrl(suite.base, params));
    const consent = await (await fetch(`${via}${consentUrl.pathname}${consentUrl.search}`)).text();
    const pendingId = inputValue(consent, 'pending');
    const approved = await fetch(`${via}/consent`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ pending: pendingId, decision: 'approve' }).toString(),
    });
    expect(approved.status).toBe(303);
    // The approving browser's consent-binding cookie: the callback completes the request only with it.
    return { pendingId, clientState: params.state, idpPath: approved.headers.get('location')!, cookie: consentCookie(approved.headers)! };
  }

  async function idpPage(url: string) {
    const response = await fetch(url);
    return { response, html: await response.text() };
  }

  const callback = (via: string, params: Record<string, string>, cookie?: string) =>
    fetch(`${via}/fakeupstreamauth/callback?${new URLSearchParams(params)}`, { redirect: 'manual', headers: cookie ? { cookie } : {} });

  test('the page: a form to the callback with state, code and a user id field; a constant script under a nonce', async () => {
    const first = await approvedRequest();
    expect(first.idpPath).toBe(`/fakeupstreamauth/authorize?state=${encodeURIComponent(first.pendingId)}`);
    const one = await idpPage(`${suite.A}${first.idpPath}`);
    expect(one.response.status).toBe(200);
    const nonce = expectPageHeaders(one.response.headers);
    expect(one.html).toMatch(/<form method="get" action="\/fakeupstreamauth\/callback" id="login">/);
    expect(inputValue(one.html, 'state')).toBe(first.pendingId);
    expect(inputValue(one.html, 'code')).toMatch(/^fake_up_/);
    expect(one.html).toMatch(/<input type="text" id="userId" name="userId" required maxlength="128"/);
    expect(one.html).toContain('id="generate"');
    const scripts = [...one.html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts).toHaveLength(1);
    expect(scripts[0]![1]).toBe(` nonce="${nonce}"`);
    expect(scripts[0]![2]).toContain('localStorage.getItem');
    expect(scripts[0]![2]).toContain('localStorage.setItem');
    expect(one.html).toContain(`<style nonce="${nonce}">`);
    // form-action allows our own callback and the client's redirect origin (where the flow ends), nothing else.
    expect(one.response.headers.get('content-security-policy')).toContain("form-action 'self' http://127.0.0.1:4321;");

    const second = await approvedRequest(suite.B);
    const two = await idpPage(`${suite.B}${second.idpPath}`);
    const otherNonce = expectPageHeaders(two.response.headers);
    expect(otherNonce).not.toBe(nonce);
    // Not built from the request: the script is the same text for another request.
    const otherScript = /<script[^>]*>([\s\S]*?)<\/script>/.exec(two.html)![1];
    expect(otherScript).toBe(scripts[0]![2]);
    expect(otherScript).not.toContain(second.pendingId);
    expect(scripts[0]![2]).not.toContain(first.pendingId);
  });

  test('escapes everything it renders: a hostile state comes back as text, inside no script', async () => {
    const hostile = `"><script>window.pwned=1</script><img src=x onerror="alert('x')">&amp;`;
    const { response, html } = await idpPage(`${suite.A}/fakeupstreamauth/authorize?${new URLSearchParams({ state: hostile })}`);
    expect(response.status).toBe(200);
    expectPageHeaders(response.headers);
    expect(html).not.toContain('<script>window.pwned');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&quot;&gt;&lt;script&gt;window.pwned=1&lt;/script&gt;&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;amp;');
    expect(inputValue(html, 'state')).toBe(hostile);
    expect(/<script[^>]*>([\s\S]*?)<\/script>/.exec(html)![1]).not.toContain('pwned');
    // ...and such a state leads nowhere: no authorization request has it.
    const answer = await callback(suite.A, { state: hostile, code: inputValue(html, 'code'), userId: 'mallory' });
    expect(answer.status).toBe(400);
    expect(expectJsonBody(answer.headers.get('content-type'), await answer.text())).toMatchObject({ error: 'invalid_request' });
  });

  test('a script can call the callback directly; the client gets code, its state and iss', async () => {
    const request = await approvedRequest(suite.A);
    const { html } = await idpPage(`${suite.B}${request.idpPath}`);
    const answer = await callback(suite.A, { state: inputValue(html, 'state'), code: inputValue(html, 'code'), userId: 'scripted-user' }, request.cookie);
    expect(answer.status).toBe(302);
    const location = new URL(answer.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe('http://127.0.0.1:4321/cb');
    expect(location.searchParams.get('code')).toMatch(/^mcp_ac_/);
    expect(location.searchParams.get('state')).toBe(request.clientState);
    expect(location.searchParams.get('iss')).toBe(suite.base);
  });

  test('usable once: a replayed callback is refused, and so is the same one re-bound to another user', async () => {
    const request = await approvedRequest();
    const { html } = await idpPage(`${suite.A}${request.idpPath}`);
    const params = { state: inputValue(html, 'state'), code: inputValue(html, 'code') };
    const first = await callback(suite.A, { ...params, userId: 'alice' }, request.cookie);
    expect(first.status).toBe(302);
    for (const [via, userId] of [[suite.B, 'alice'], [suite.A, 'mallory'], [suite.B, 'mallory']] as const) {
      const again = await callback(via, { ...params, userId }, request.cookie);
      expect(again.status).toBe(400);
      expect(again.headers.get('location')).toBeNull();
      expect(expectJsonBody(again.headers.get('content-type'), await again.text()).error).toMatch(/^invalid_(request|grant)$/);
    }
  });

  test('bound to its pending authorization: an upstream code works only with the state it was issued for', async () => {
    const one = await approvedRequest();
    const two = await approvedRequest(suite.B);
    const pageOne = (await idpPage(`${suite.A}${one.idpPath}`)).html;
    const pageTwo = (await idpPage(`${suite.B}${two.idpPath}`)).html;
    const swapped = await callback(suite.A, { state: two.pendingId, code: inputValue(pageOne, 'code'), userId: 'mallory' }, two.cookie);
    expect(swapped.status).toBe(400);
    expect(expectJsonBody(swapped.headers.get('content-type'), await swapped.text())).toMatchObject({ error: 'invalid_grant' });
    // The refusal burned nothing: request two still completes with its own code.
    const own = await callback(suite.B, { state: two.pendingId, code: inputValue(pageTwo, 'code'), userId: 'bob' }, two.cookie);
    expect(own.status).toBe(302);
    expect(new URL(own.headers.get('location')!).searchParams.get('state')).toBe(two.clientState);
  });

  test('before consent, the callback completes nothing', async () => {
    const params = authorizationParams(suite.base, client, pkce().challenge);
    const consentUrl = new URL(authorizeUrl(suite.base, params));
    const pendingId = inputValue(await (await fetch(`${suite.A}${consentUrl.pathname}${consentUrl.search}`)).text(), 'pending');
    // The IdP issues a code for any state, but the authorization server has no consent for this one yet.
    const page = (await idpPage(`${suite.A}/fakeupstreamauth/authorize?${new URLSearchParams({ state: pendingId })}`)).html;
    const early = await callback(suite.B, { state: pendingId, code: inputValue(page, 'code'), userId: 'eager' });
    expect(early.status).toBe(400);
    expect(expectJsonBody(early.headers.get('content-type'), await early.text())).toMatchObject({ error: 'invalid_request' });
  });
});
