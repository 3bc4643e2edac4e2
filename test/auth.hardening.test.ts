/**
 * Findings of the security review of the authorization server, each pinned by
 * a test that failed before its fix:
 * - consent is bound to the browser that gave it: an approval given in one
 *   browser (the attacker's) cannot be completed in another (the victim's) by
 *   sending it the IdP page;
 * - /consent refuses cross-site posts, even from origins CORS allows;
 * - a replayed code revokes its grant only when its own client presents it;
 * - a store outage at /register is temporarily_unavailable, never a 500;
 * - registrations are normalized and bounded (no repeated grant types or
 *   scopes), and refuse what would display differently from what it does
 *   (whitespace, control and bidirectional-override characters).
 */
import { OAuthError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { ClientsStore } from '../src/auth/server/clients-store.js';
import { ClientModel } from '../src/auth/models/client.js';
import type { KeyValueStore } from '../src/store/kv.js';
import { authBackendCases, authDeploymentForSuite, startAuthDeployment, type AuthDeployment } from './support/auth-instances.js';
import {
  actAsUser,
  authorizationParams,
  authorizeUrl,
  consentCookie,
  exchangeCode,
  inputValue,
  mcpStatus,
  pkce,
  registerClient,
  type RegisteredClient,
  type Tokens,
} from './support/auth-flow.js';
import { readRecord } from './support/auth-store.js';
import { expectJsonBody } from './support/http-raw.js';

describe.each(authBackendCases())('review findings on %s', (_name, start) => {
  const suite = authDeploymentForSuite(start);

  /** /authorize then POST /consent (approve) on `via`; what the approving browser holds afterwards. */
  async function approve(client: RegisteredClient, via: string, headers: Record<string, string> = {}) {
    const params = authorizationParams(suite.base, client, pkce().challenge);
    const url = new URL(authorizeUrl(suite.base, params));
    const consent = await (await fetch(`${via}${url.pathname}${url.search}`)).text();
    const pendingId = inputValue(consent, 'pending');
    const approved = await fetch(`${via}/consent`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams({ pending: pendingId, decision: 'approve' }).toString(),
    });
    const body = await approved.text();
    return { approved, body, pendingId, clientState: params.state, cookie: consentCookie(approved.headers) };
  }

  /** Opens the IdP page for a request and submits its form as `userId`, with `cookie` (what that browser holds). */
  async function submitIdp(via: string, pendingId: string, userId: string, cookie: string | undefined) {
    const page = await (await fetch(`${via}/fakeupstreamauth/authorize?${new URLSearchParams({ state: pendingId })}`)).text();
    const query = new URLSearchParams({ state: inputValue(page, 'state'), code: inputValue(page, 'code'), userId });
    return fetch(`${via}/fakeupstreamauth/callback?${query}`, { redirect: 'manual', headers: cookie ? { cookie } : {} });
  }

  describe('consent is bound to the browser that gave it', () => {
    test("an attacker's approval, completed by a victim sent to the IdP page, gives nobody a code", async () => {
      const attackerClient = await registerClient(suite.base, { client_name: 'Innocent Looking App', redirect_uris: ['https://attacker.example/cb'] });
      // The attacker starts an authorization for their own client and approves it in their own browser...
      const attacker = await approve(attackerClient, suite.A);
      expect(attacker.approved.status).toBe(303);
      // ...then sends the victim the IdP page. The victim's browser holds no approval for it
      // (neither none at all, nor the one of an authorization of its own).
      const victimsOwn = await approve(await registerClient(suite.base), suite.B);
      for (const cookie of [undefined, victimsOwn.cookie]) {
        const landed = await submitIdp(suite.B, attacker.pendingId, 'victim-user', cookie);
        const body = await landed.text();
        expect(`${landed.status} ${landed.headers.get('location')}`).toBe('400 null');
        expect(expectJsonBody(landed.headers.get('content-type'), body)).toMatchObject({ error: 'invalid_request' });
      }
      // The browser that approved completes it (the refusals above burned nothing).
      const own = await submitIdp(suite.A, attacker.pendingId, 'attacker-user', attacker.cookie);
      await own.text();
      expect(own.status).toBe(302);
      expect(new URL(own.headers.get('location')!).searchParams.get('state')).toBe(attacker.clientState);
    });

    test('the binding cookie is HttpOnly, SameSite=Lax, short-lived, and only a hash of it is stored', async () => {
      const approved = await approve(await registerClient(suite.base), suite.A);
      const setCookie = approved.approved.headers.getSetCookie().join('\n');
      expect(setCookie).toMatch(/HttpOnly/i);
      expect(setCookie).toMatch(/SameSite=Lax/i);
      expect(setCookie).toMatch(/Max-Age=\d+/i);
      const value = approved.cookie!.split('=')[1]!;
      const { sha256 } = await import('./support/auth-store.js');
      const record = await readRecord(suite.deployment.servers[0]!, `mcp:auth:pending:${sha256(approved.pendingId)}`);
      expect(JSON.stringify(record)).not.toContain(value);
      expect(record!.browserHash).toBe(sha256(value));
    });

    test('an approved request cannot be re-approved (rebound) or denied from another browser', async () => {
      const client = await registerClient(suite.base);
      const first = await approve(client, suite.A);
      for (const decision of ['approve', 'deny']) {
        const other = await fetch(`${suite.B}/consent`, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ pending: first.pendingId, decision }).toString(),
        });
        const body = await other.text();
        expect(`${other.status} ${other.headers.get('location')}`).toBe('400 null');
        expect(expectJsonBody(other.headers.get('content-type'), body)).toMatchObject({ error: 'invalid_request' });
        expect(consentCookie(other.headers)).toBeUndefined();
      }
      // The approving browser may still decide again, and completes the request.
      const again = await fetch(`${suite.B}/consent`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: first.cookie! },
        body: new URLSearchParams({ pending: first.pendingId, decision: 'approve' }).toString(),
      });
      await again.text();
      expect(again.status).toBe(303);
      const landed = await submitIdp(suite.A, first.pendingId, 'first-browser', first.cookie);
      await landed.text();
      expect(landed.status).toBe(302);
    });

    test('one browser may run several authorizations at once', async () => {
      const client = await registerClient(suite.base);
      const first = await approve(client, suite.A);
      const second = await approve(client, suite.B, { cookie: first.cookie! });
      expect(second.cookie).toBe(first.cookie);
      for (const request of [first, second]) {
        const landed = await submitIdp(suite.A, request.pendingId, 'multi-tab', first.cookie);
        await landed.text();
        expect(landed.status).toBe(302);
      }
    });
  });

  describe('/consent refuses cross-site posts, even from an origin CORS allows', () => {
    test.each([
      ['an allowed CORS origin (localhost dev page)', { origin: 'http://localhost:5173' }],
      ['Sec-Fetch-Site: cross-site without Origin', { 'sec-fetch-site': 'cross-site' }],
      ['Sec-Fetch-Site: same-site (a sibling host)', { 'sec-fetch-site': 'same-site' }],
    ])('%s → 403, and the request is not approved', async (_case, headers) => {
      const client = await registerClient(suite.base);
      const refused = await approve(client, suite.A, headers);
      expect(refused.approved.status).toBe(403);
      expect(expectJsonBody(refused.approved.headers.get('content-type'), refused.body)).toMatchObject({ error: 'invalid_request' });
      expect(refused.cookie).toBeUndefined();
      // Not approved: the IdP callback completes nothing for it.
      const landed = await submitIdp(suite.A, refused.pendingId, 'victim', undefined);
      await landed.text();
      expect(landed.status).toBe(400);
    });

    test('a same-origin post (Origin or Sec-Fetch-Site: same-origin) is accepted', async () => {
      const client = await registerClient(suite.base);
      expect((await approve(client, suite.A, { origin: new URL(suite.A).origin })).approved.status).toBe(303);
      expect((await approve(client, suite.A, { 'sec-fetch-site': 'same-origin', origin: new URL(suite.A).origin })).approved.status).toBe(303);
    });
  });

  test("a used code presented by another client is refused without revoking its owner's grant", async () => {
    const owner = await registerClient(suite.base);
    const thief = await registerClient(suite.base);
    const { verifier, challenge } = pkce();
    const response = await actAsUser(authorizeUrl(suite.base, authorizationParams(suite.base, owner, challenge)), 'owner-user');
    const exchanged = await exchangeCode(suite.A, owner, response.code!, verifier);
    expect(exchanged.status).toBe(200);
    const tokens = exchanged.body as unknown as Tokens;
    const stolen = await exchangeCode(suite.B, { ...thief, redirect_uris: owner.redirect_uris }, response.code!, verifier);
    expect([stolen.status, stolen.body.error]).toEqual([400, 'invalid_grant']);
    for (const url of suite.deployment.urls) expect((await mcpStatus(url, tokens.access_token)).status).toBe(200);
    // The owner's own replay still revokes (the property the replay rule is for).
    const replay = await exchangeCode(suite.A, owner, response.code!, verifier);
    expect([replay.status, replay.body.error]).toEqual([400, 'invalid_grant']);
    for (const url of suite.deployment.urls) expect((await mcpStatus(url, tokens.access_token)).status).toBe(401);
  });

  describe('registration is normalized and bounded', () => {
    test('repeated grant types and scopes are stored once', async () => {
      const client = await registerClient(suite.base, {
        grant_types: ['authorization_code', ...Array.from({ length: 2000 }, () => 'refresh_token')],
        scope: Array.from({ length: 2000 }, () => 'mcp').join(' '),
      });
      expect(client.grant_types).toEqual(['authorization_code', 'refresh_token']);
      expect(client.scope).toBe('mcp');
      const stored = await readRecord(suite.deployment.servers[0]!, `mcp:auth:client:${client.client_id}`);
      expect(stored!.grant_types).toEqual(['authorization_code', 'refresh_token']);
      expect(stored!.scope).toBe('mcp');
      expect(JSON.stringify(stored).length).toBeLessThan(2000);
    });

    test.each([
      ['a tab', 'https://good.example\t.evil.example/cb'],
      ['a newline', 'https://app.example/c\nb'],
    ])('a redirect URI with %s is refused or stored as the browser would use it (no control characters)', async (_case, uri) => {
      const response = await fetch(`${suite.base}/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ redirect_uris: [uri], token_endpoint_auth_method: 'none' }),
      });
      const body = expectJsonBody(response.headers.get('content-type'), await response.text());
      if (response.status === 201) {
        const stored = await readRecord(suite.deployment.servers[0]!, `mcp:auth:client:${body.client_id as string}`);
        for (const registered of [...(body.redirect_uris as string[]), ...(stored!.redirect_uris as string[])]) {
          expect(registered).not.toMatch(/\s/);
          expect(new URL(registered).href).toBe(registered);
        }
      } else {
        expect([response.status, body.error]).toEqual([400, 'invalid_client_metadata']);
      }
    });

    test.each([
      ['a redirect URI with a space', { redirect_uris: ['https://app.example/c b'] }],
      ['a redirect URI with a bidirectional override', { redirect_uris: ['https://app.example/\u202ebc/'] }],
      ['a client_name with a control character', { client_name: 'Good App\u0000' }],
      ['a client_name with a bidirectional override', { client_name: 'Good \u202eppA' }],
    ])('%s is invalid_client_metadata', async (_case, metadata) => {
      const response = await fetch(`${suite.base}/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: 'none', ...metadata }),
      });
      const body = await response.text();
      expect(`${response.status} ${body}`).toMatch(/^400 /);
      expect(expectJsonBody(response.headers.get('content-type'), body)).toMatchObject({ error: 'invalid_client_metadata' });
    });
  });
});

describe('a store outage never makes an OAuth endpoint answer 500', () => {
  let deployment: AuthDeployment;
  beforeAll(async () => {
    deployment = await startAuthDeployment(undefined, 1);
  });
  afterAll(async () => {
    await deployment?.stop();
  });

  test('/register while writes fail: temporarily_unavailable', async () => {
    const kv = deployment.servers[0]!.runtime.backend.kv;
    const set = kv.set;
    kv.set = async () => {
      throw new Error('store down');
    };
    try {
      const response = await fetch(`${deployment.baseUri}/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: 'none' }),
      });
      const body = await response.text();
      expect(`${response.status} ${body}`).not.toMatch(/^5\d\d /);
      expect(expectJsonBody(response.headers.get('content-type'), body)).toMatchObject({ error: 'temporarily_unavailable' });
    } finally {
      kv.set = set;
    }
  });

  test('the SDK handlers’ client lookup turns a store failure into an OAuth error (not a 500)', async () => {
    const broken = { get: async () => { throw new Error('store down'); } } as unknown as KeyValueStore;
    const clients = new ClientsStore(new ClientModel(broken));
    const failure = await clients.getClient('00000000-0000-4000-8000-000000000000').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OAuthError);
    expect((failure as OAuthError).errorCode).toBe('temporarily_unavailable');
  });
});
