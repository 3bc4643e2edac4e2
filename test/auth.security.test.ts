/**
 * The security properties of the authorization server (issue item 3), each
 * with its own test and a negative case, on the embedded backend and on Redis
 * with two instances of one deployment (requests spread over both, so that
 * codes, tokens and revocations are seen to cross instances).
 */
import { AccessTokenModel } from '../src/auth/models/access-token.js';
import { GrantModel } from '../src/auth/models/grant.js';
import { authBackendCases, authDeploymentForSuite, startAuthDeployment } from './support/auth-instances.js';
import {
  actAsUser,
  authorizationParams,
  authorizeUrl,
  consentCookie,
  exchangeCode,
  inputValue,
  mcpStatus,
  pkce,
  postForm,
  refreshTokens,
  registerClient,
  REDIRECT_URI,
  signIn,
  type RegisteredClient,
  type Tokens,
} from './support/auth-flow.js';
import { dumpStore, readRecord, sha256, writeRecord } from './support/auth-store.js';
import { expectPageHeaders } from './support/auth-pages.js';
import { expectJsonBody } from './support/http-raw.js';

/** GET /authorize without following the answer. */
async function authorize(url: string): Promise<{ status: number; location: URL | null; contentType: string | null; body: string; headers: Headers }> {
  const response = await fetch(url, { redirect: 'manual' });
  const location = response.headers.get('location');
  return { status: response.status, location: location ? new URL(location) : null, contentType: response.headers.get('content-type'), body: await response.text(), headers: response.headers };
}

describe.each(authBackendCases())('OAuth security properties on %s', (_name, start) => {
  const suite = authDeploymentForSuite(start);

  async function codeFor(client: RegisteredClient, challenge: string, extra: Record<string, string | undefined> = {}, userId = 'pat') {
    const response = await actAsUser(authorizeUrl(suite.base, authorizationParams(suite.base, client, challenge, extra)), userId);
    expect(response.code).toEqual(expect.any(String));
    return response.code!;
  }

  describe('PKCE: S256 only', () => {
    let client: RegisteredClient;
    beforeAll(async () => {
      client = await registerClient(suite.base);
    });

    test.each([
      ['plain', { code_challenge_method: 'plain' }],
      ['a missing method (which would mean plain)', { code_challenge_method: undefined }],
      ['a missing challenge', { code_challenge: undefined }],
      ['a malformed challenge', { code_challenge: 'short' }],
    ])('%s is refused with invalid_request at the redirect URI, with state and iss', async (_case, extra) => {
      const params = authorizationParams(suite.base, client, pkce().challenge, extra);
      const answer = await authorize(authorizeUrl(suite.base, params));
      expect(answer.status).toBe(302);
      expect(`${answer.location!.origin}${answer.location!.pathname}`).toBe(REDIRECT_URI);
      expect(answer.location!.searchParams.get('error')).toBe('invalid_request');
      expect(answer.location!.searchParams.get('code')).toBeNull();
      expect(answer.location!.searchParams.get('state')).toBe(params.state);
      expect(answer.location!.searchParams.get('iss')).toBe(suite.base);
    });

    test('a code_verifier that does not match the S256 challenge is invalid_grant', async () => {
      const { verifier, challenge } = pkce();
      const code = await codeFor(client, challenge);
      const wrong = await exchangeCode(suite.B, client, code, pkce().verifier);
      expect(wrong.status).toBe(400);
      expect(wrong.body.error).toBe('invalid_grant');
      const plain = await exchangeCode(suite.B, client, code, challenge); // the challenge itself, as plain PKCE would send
      expect([plain.status, plain.body.error]).toEqual([400, 'invalid_grant']);
      expect((await exchangeCode(suite.A, client, code, verifier)).status).toBe(200);
    });
  });

  describe('redirect_uri matched exactly', () => {
    let client: RegisteredClient;
    const registered = ['http://127.0.0.1:8123/cb', 'https://app.example.com/oauth/callback?tenant=1'];
    beforeAll(async () => {
      client = await registerClient(suite.base, { redirect_uris: registered });
    });

    test.each([
      ['another loopback port (RFC 8252 relaxation, which the SDK allows)', 'http://127.0.0.1:9999/cb'],
      ['localhost instead of 127.0.0.1', 'http://localhost:8123/cb'],
      ['a trailing slash', 'http://127.0.0.1:8123/cb/'],
      ['an extra query parameter', 'http://127.0.0.1:8123/cb?x=1'],
      ['a changed query', 'https://app.example.com/oauth/callback?tenant=2'],
      ['another host', 'https://evil.example/oauth/callback?tenant=1'],
    ])('at /authorize, %s gets the 400 page and no redirect', async (_case, uri) => {
      const answer = await authorize(authorizeUrl(suite.base, authorizationParams(suite.base, client, pkce().challenge, { redirect_uri: uri })));
      expect(answer.status).toBe(400);
      expect(answer.location).toBeNull();
      expect(answer.contentType).toMatch(/^text\/html/);
      expect(answer.body).toContain('is not registered');
      expect(answer.body).not.toContain('<script');
      expectPageHeaders(answer.headers);
    });

    test('a missing redirect_uri (with several registered) and a repeated one get the 400 page', async () => {
      const missing = await authorize(authorizeUrl(suite.base, authorizationParams(suite.base, client, pkce().challenge, { redirect_uri: undefined })));
      expect([missing.status, missing.location, missing.contentType?.startsWith('text/html')]).toEqual([400, null, true]);
      const url = new URL(authorizeUrl(suite.base, authorizationParams(suite.base, client, pkce().challenge, { redirect_uri: registered[0] })));
      url.searchParams.append('redirect_uri', registered[0]!);
      const repeated = await authorize(url.href);
      expect([repeated.status, repeated.location, repeated.contentType?.startsWith('text/html')]).toEqual([400, null, true]);
    });

    test('each registered URI works exactly as registered, query included', async () => {
      for (const uri of registered) {
        const answer = await actAsUser(authorizeUrl(suite.base, authorizationParams(suite.base, client, pkce().challenge, { redirect_uri: uri })), 'pat');
        expect(answer.location.href.startsWith(uri)).toBe(true);
        expect(answer.code).toEqual(expect.any(String));
        expect(answer.iss).toBe(suite.base);
      }
    });

    test('at /token, a different or a missing redirect_uri is invalid_grant; the same one succeeds', async () => {
      const { verifier, challenge } = pkce();
      const code = await codeFor(client, challenge, { redirect_uri: registered[0] });
      const other = await exchangeCode(suite.B, client, code, verifier, { redirect_uri: registered[1] });
      expect([other.status, other.body.error]).toEqual([400, 'invalid_grant']);
      const missing = await exchangeCode(suite.A, client, code, verifier, { redirect_uri: undefined });
      expect([missing.status, missing.body.error]).toEqual([400, 'invalid_grant']);
      const same = await exchangeCode(suite.B, client, code, verifier, { redirect_uri: registered[0] });
      expect(same.status).toBe(200);
    });
  });

  describe('authorization codes', () => {
    test('are single use: a replay is invalid_grant and revokes every token the code gave (on every instance)', async () => {
      const client = await registerClient(suite.base);
      const { verifier, challenge } = pkce();
      const code = await codeFor(client, challenge);
      const first = await exchangeCode(suite.A, client, code, verifier);
      expect(first.status).toBe(200);
      const tokens = first.body as unknown as Tokens;
      // A verifies (and caches) the token before the replay happens elsewhere.
      expect((await mcpStatus(suite.A, tokens.access_token)).status).toBe(200);
      const replay = await exchangeCode(suite.B, client, code, verifier);
      expect([replay.status, replay.body.error]).toEqual([400, 'invalid_grant']);
      for (const url of suite.deployment.urls) expect((await mcpStatus(url, tokens.access_token)).status).toBe(401);
      const refreshed = await refreshTokens(suite.A, client, tokens.refresh_token);
      expect([refreshed.status, refreshed.body.error]).toEqual([400, 'invalid_grant']);
    });

    test('live at most 60 s: the record says so, and an expired code is refused', async () => {
      const client = await registerClient(suite.base);
      const { verifier, challenge } = pkce();
      const code = await codeFor(client, challenge);
      const key = `mcp:auth:code:${sha256(code)}`;
      const record = await readRecord(suite.deployment.servers[0]!, key);
      expect(record).toBeDefined();
      expect((record!.expiresAt as number) - (record!.issuedAt as number)).toBe(60_000);
      const redis = suite.deployment.servers[0]!.runtime.backend.redis;
      if (redis) {
        const ttl = await redis.pTTL(key);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(60_000);
      }
      await writeRecord(suite.deployment.servers[0]!, key, { ...record, expiresAt: Date.now() - 1 });
      const late = await exchangeCode(suite.B, client, code, verifier);
      expect([late.status, late.body.error]).toEqual([400, 'invalid_grant']);
    });

    test('are bound to their client: another client cannot exchange one', async () => {
      const owner = await registerClient(suite.base);
      const thief = await registerClient(suite.base);
      const { verifier, challenge } = pkce();
      const code = await codeFor(owner, challenge);
      const stolen = await exchangeCode(suite.B, { ...thief, redirect_uris: owner.redirect_uris }, code, verifier);
      expect([stolen.status, stolen.body.error]).toEqual([400, 'invalid_grant']);
      expect((await exchangeCode(suite.A, owner, code, verifier)).status).toBe(200);
    });
  });

  describe('refresh tokens', () => {
    test('rotate; reusing a rotated one is invalid_grant and revokes the whole family', async () => {
      const { client, tokens } = await signIn(suite.base, 'rita');
      const rotated = await refreshTokens(suite.B, client, tokens.refresh_token);
      expect(rotated.status).toBe(200);
      const next = rotated.body as unknown as Tokens;
      expect(next.refresh_token).not.toBe(tokens.refresh_token);
      expect(next.access_token).not.toBe(tokens.access_token);
      expect((await mcpStatus(suite.A, next.access_token)).status).toBe(200);
      const reuse = await refreshTokens(suite.A, client, tokens.refresh_token);
      expect([reuse.status, reuse.body.error]).toEqual([400, 'invalid_grant']);
      for (const url of suite.deployment.urls) expect((await mcpStatus(url, next.access_token)).status).toBe(401);
      const latest = await refreshTokens(suite.B, client, next.refresh_token);
      expect([latest.status, latest.body.error]).toEqual([400, 'invalid_grant']);
    });

    test('may narrow scope but not widen it, and stay bound to their client', async () => {
      const { client, tokens } = await signIn(suite.base, 'rita');
      const wider = await refreshTokens(suite.A, client, tokens.refresh_token, { scope: 'mcp admin' });
      expect([wider.status, wider.body.error]).toEqual([400, 'invalid_scope']);
      const other = await registerClient(suite.base);
      const foreign = await refreshTokens(suite.A, other, tokens.refresh_token);
      expect([foreign.status, foreign.body.error]).toEqual([400, 'invalid_grant']);
      expect((await refreshTokens(suite.B, client, tokens.refresh_token, { scope: 'mcp' })).status).toBe(200);
    });

    test('go only to clients that registered the refresh_token grant', async () => {
      const client = await registerClient(suite.base, { grant_types: ['authorization_code'] });
      const { verifier, challenge } = pkce();
      const issued = await exchangeCode(suite.A, client, await codeFor(client, challenge), verifier);
      expect(issued.status).toBe(200);
      expect(issued.body.refresh_token).toBeUndefined();
    });
  });

  describe('access tokens', () => {
    test('live 1 h: expires_in, the stored record and its TTL say so; an expired one gets 401', async () => {
      const { tokens } = await signIn(suite.base, 'ada');
      expect(tokens.expires_in).toBe(3600);
      const key = `mcp:auth:access:${sha256(tokens.access_token)}`;
      const record = await readRecord(suite.deployment.servers[0]!, key);
      expect((record!.expiresAt as number) - (record!.issuedAt as number)).toBe(3_600_000);
      const redis = suite.deployment.servers[0]!.runtime.backend.redis;
      if (redis) {
        const ttl = await redis.pTTL(key);
        expect(ttl).toBeGreaterThan(3_500_000);
        expect(ttl).toBeLessThanOrEqual(3_600_000);
      }
      // Never used yet, so not cached anywhere: make it expired in the store.
      await writeRecord(suite.deployment.servers[0]!, key, { ...record, expiresAt: Date.now() - 1 });
      const answer = await mcpStatus(suite.B, tokens.access_token);
      expect(answer.status).toBe(401);
      expect(answer.wwwAuthenticate).toContain('error="invalid_token"');
    });

    test('a token issued for another resource (audience) is refused at /mcp', async () => {
      const server = suite.deployment.servers[0]!;
      const grant = await new GrantModel(server.runtime.backend.kv).create('some-client', 'eve');
      const foreign = await new AccessTokenModel(server.runtime.backend.kv).issue({
        grantId: grant.grantId,
        clientId: 'some-client',
        userId: 'eve',
        scopes: ['mcp'],
        resource: 'https://other.example/mcp',
      });
      const answer = await mcpStatus(suite.B, foreign.token);
      expect(answer.status).toBe(401);
      expect(answer.wwwAuthenticate).toContain('error="invalid_token"');
      expect(answer.wwwAuthenticate).toContain(`resource_metadata="${suite.base}/.well-known/oauth-protected-resource/mcp"`);
      // The same token with our audience passes: the audience alone made the difference.
      const ours = await new AccessTokenModel(server.runtime.backend.kv).issue({
        grantId: grant.grantId,
        clientId: 'some-client',
        userId: 'eve',
        scopes: ['mcp'],
        resource: `${suite.base}/mcp`,
      });
      expect((await mcpStatus(suite.B, ours.token)).status).toBe(200);
    });

    test('/authorize refuses another resource with invalid_target', async () => {
      const client = await registerClient(suite.base);
      const params = authorizationParams(suite.base, client, pkce().challenge, { resource: 'https://other.example/mcp' });
      const answer = await authorize(authorizeUrl(suite.base, params));
      expect(answer.status).toBe(302);
      expect(answer.location!.searchParams.get('error')).toBe('invalid_target');
      expect(answer.location!.searchParams.get('iss')).toBe(suite.base);
    });
  });

  test('tokens, codes, client secrets and request ids are stored only as hashes', async () => {
    const client = await registerClient(suite.base, { token_endpoint_auth_method: 'client_secret_post' });
    expect(client.client_secret).toEqual(expect.any(String));
    const { verifier, challenge } = pkce();
    // Walk the flow by hand to keep every secret it hands out.
    const consent = await (await fetch(authorizeUrl(suite.base, authorizationParams(suite.base, client, challenge)))).text();
    const pendingId = inputValue(consent, 'pending');
    const approved = await fetch(`${suite.base}/consent`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ pending: pendingId, decision: 'approve' }).toString(),
    });
    const idpHtml = await (await fetch(new URL(approved.headers.get('location')!, suite.base))).text();
    const upstreamCode = inputValue(idpHtml, 'code');
    // Before the callback: the pending request and the upstream code are in the store, hashed.
    const midway = await dumpStore(suite.deployment.servers[0]!);
    const cookie = consentCookie(approved.headers)!;
    const callback = await fetch(`${suite.base}/fakeupstreamauth/callback?${new URLSearchParams({ state: pendingId, code: upstreamCode, userId: 'hash-check' })}`, { redirect: 'manual', headers: { cookie } });
    const code = new URL(callback.headers.get('location')!).searchParams.get('code')!;
    const afterCallback = await dumpStore(suite.deployment.servers[0]!);
    const exchanged = await exchangeCode(suite.A, client, code, verifier, { client_secret: client.client_secret });
    expect(exchanged.status).toBe(200);
    const tokens = exchanged.body as unknown as Tokens;
    const rotated = (await refreshTokens(suite.B, client, tokens.refresh_token, { client_secret: client.client_secret })).body as unknown as Tokens;
    const after = await dumpStore(suite.deployment.servers[0]!);

    const secrets = {
      client_secret: client.client_secret!,
      consent_binding: cookie.split('=')[1]!,
      pending: pendingId,
      upstream: upstreamCode,
      code,
      access: tokens.access_token,
      refresh: tokens.refresh_token,
      access2: rotated.access_token,
      refresh2: rotated.refresh_token,
    };
    for (const dump of [midway, afterCallback, after]) {
      for (const [key, value] of dump) {
        for (const [name, secret] of Object.entries(secrets)) {
          expect(`${name} in ${key}: ${key.includes(secret) || value.includes(secret)}`).toBe(`${name} in ${key}: false`);
        }
      }
    }
    // ...and each is there as its hash.
    expect(midway.has(`mcp:auth:pending:${sha256(pendingId)}`)).toBe(true);
    expect(midway.has(`mcp:auth:upstream:${sha256(upstreamCode)}`)).toBe(true);
    expect(afterCallback.has(`mcp:auth:code:${sha256(code)}`)).toBe(true);
    expect(after.has(`mcp:auth:access:${sha256(tokens.access_token)}`)).toBe(true);
    expect(after.has(`mcp:auth:refresh:${sha256(rotated.refresh_token)}`)).toBe(true);
    expect(after.get(`mcp:auth:client:${client.client_id}`)).toContain(sha256(client.client_secret!));
  });

  test('a confidential client must authenticate (its secret, with the method it registered)', async () => {
    const basic = await registerClient(suite.base, { token_endpoint_auth_method: 'client_secret_basic' });
    const { verifier, challenge } = pkce();
    const code = await codeFor(basic, challenge);
    const credentials = (secret: string) => `Basic ${Buffer.from(`${basic.client_id}:${secret}`).toString('base64')}`;
    const none = await exchangeCode(suite.A, basic, code, verifier);
    expect([none.status, none.body.error]).toEqual([401, 'invalid_client']);
    const wrong = await postForm(`${suite.B}/token`, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT_URI }, { authorization: credentials('not-the-secret') });
    expect([wrong.status, wrong.body.error]).toEqual([401, 'invalid_client']);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic /);
    const post = await exchangeCode(suite.A, basic, code, verifier, { client_secret: basic.client_secret });
    expect([post.status, post.body.error]).toEqual([401, 'invalid_client']); // registered basic, used post
    const right = await postForm(`${suite.B}/token`, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT_URI }, { authorization: credentials(basic.client_secret!) });
    expect(right.status).toBe(200);
  });

  test('/revoke: only the client a token was issued to may revoke it; revoking a refresh token revokes its grant', async () => {
    const owner = await signIn(suite.base, 'rev');
    const other = await registerClient(suite.base);
    const foreign = await postForm(`${suite.A}/revoke`, { token: owner.tokens.access_token, client_id: other.client_id });
    expect([foreign.status, foreign.body.error]).toEqual([400, 'invalid_grant']);
    expect((await mcpStatus(suite.B, owner.tokens.access_token)).status).toBe(200);
    const unknown = await postForm(`${suite.A}/revoke`, { token: 'mcp_at_unknown', client_id: owner.client.client_id });
    expect(unknown.status).toBe(200); // RFC 7009 §2.2
    const revoked = await postForm(`${suite.B}/revoke`, { token: owner.tokens.refresh_token, token_type_hint: 'refresh_token', client_id: owner.client.client_id });
    expect(revoked.status).toBe(200);
    for (const url of suite.deployment.urls) expect((await mcpStatus(url, owner.tokens.access_token)).status).toBe(401);
  });
});

test('a token issued by another deployment (another resource) sharing the Redis is refused', async () => {
  const url = process.env.TEST_REDIS_URL!;
  const first = await startAuthDeployment(url, 1);
  const second = await startAuthDeployment(url, 1);
  try {
    const { tokens } = await signIn(first.baseUri, 'zoe');
    expect((await mcpStatus(first.urls[0]!, tokens.access_token)).status).toBe(200);
    const elsewhere = await mcpStatus(second.urls[0]!, tokens.access_token);
    expect(elsewhere.status).toBe(401);
    expect(elsewhere.wwwAuthenticate).toContain('error="invalid_token"');
    expect(elsewhere.wwwAuthenticate).toContain(`resource_metadata="${second.baseUri}/.well-known/oauth-protected-resource/mcp"`);
    expect(expectJsonBody(elsewhere.contentType, elsewhere.body)).toMatchObject({ error: 'invalid_token' });
  } finally {
    await Promise.all([first.stop(), second.stop()]);
  }
});
