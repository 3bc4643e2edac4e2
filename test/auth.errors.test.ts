/**
 * Every OAuth error is a 400/401 JSON body with the right `error` code (never a
 * 500, never HTML), and nothing a client or a user agent sends can crash the
 * process: unknown state, missing or repeated parameters, replayed callbacks,
 * malformed bodies and headers. Runs on both backends.
 */
import { authBackendCases, authDeploymentForSuite } from './support/auth-instances.js';
import { actAsUser, authorizationParams, authorizeUrl, consentCookie, inputValue, pkce, registerClient, signIn, type RegisteredClient } from './support/auth-flow.js';
import { expectJsonBody } from './support/http-raw.js';

const form = { 'content-type': 'application/x-www-form-urlencoded' };
const json = { 'content-type': 'application/json' };
const VERIFIER = 'v'.repeat(43);

describe.each(authBackendCases())('OAuth errors and robustness on %s', (_name, start) => {
  const suite = authDeploymentForSuite(start);
  let publicClient: RegisteredClient;
  let confidential: RegisteredClient;

  beforeAll(async () => {
    publicClient = await registerClient(suite.base);
    confidential = await registerClient(suite.base, { token_endpoint_auth_method: 'client_secret_post' });
  });


  const post = (path: string, body: string, headers: Record<string, string> = form) =>
    fetch(`${suite.base}${path}`, { method: 'POST', headers, body, redirect: 'manual' });
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${suite.base}${path}`, { headers, redirect: 'manual' });
  const qs = (params: Record<string, string>) => new URLSearchParams(params).toString();
  const register = (metadata: unknown) => post('/register', JSON.stringify(metadata), json);
  const mcpInit = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } });

  type Case = [name: string, send: () => Promise<Response>, status: number, error: string];
  const cases: Case[] = [
    ['/token with a JSON body', () => post('/token', JSON.stringify({ grant_type: 'authorization_code' }), json), 400, 'invalid_request'],
    // An empty form names no client: client authentication fails first, as RFC 6749 §5.2 orders it.
    ['/token with an empty form', () => post('/token', ''), 401, 'invalid_client'],
    ['/token without grant_type', () => post('/token', qs({ client_id: publicClient.client_id })), 400, 'invalid_request'],
    ['/token with grant_type=password', () => post('/token', qs({ grant_type: 'password', client_id: publicClient.client_id, username: 'a', password: 'b' })), 400, 'unsupported_grant_type'],
    ['/token with grant_type=client_credentials', () => post('/token', qs({ grant_type: 'client_credentials', client_id: publicClient.client_id })), 400, 'unsupported_grant_type'],
    ['/token with an unknown client', () => post('/token', qs({ grant_type: 'authorization_code', client_id: '00000000-0000-4000-8000-000000000000', code: 'x', code_verifier: VERIFIER })), 401, 'invalid_client'],
    ['/token with no client at all', () => post('/token', qs({ grant_type: 'authorization_code', code: 'x', code_verifier: VERIFIER })), 401, 'invalid_client'],
    ['/token, confidential client without its secret', () => post('/token', qs({ grant_type: 'authorization_code', client_id: confidential.client_id, code: 'x', code_verifier: VERIFIER })), 401, 'invalid_client'],
    ['/token, confidential client with a wrong secret', () => post('/token', qs({ grant_type: 'authorization_code', client_id: confidential.client_id, client_secret: 'wrong', code: 'x', code_verifier: VERIFIER })), 401, 'invalid_client'],
    ['/token with a malformed Basic header', () => post('/token', qs({ grant_type: 'authorization_code', code: 'x', code_verifier: VERIFIER }), { ...form, authorization: 'Basic !!!' }), 401, 'invalid_client'],
    ['/token with a Bearer header instead of client authentication', () => post('/token', qs({ grant_type: 'authorization_code', code: 'x' }), { ...form, authorization: 'Bearer abc' }), 401, 'invalid_client'],
    ['/token with an unknown code', () => post('/token', qs({ grant_type: 'authorization_code', client_id: publicClient.client_id, code: 'mcp_ac_nope', code_verifier: VERIFIER, redirect_uri: publicClient.redirect_uris[0]! })), 400, 'invalid_grant'],
    ['/token without code_verifier', () => post('/token', qs({ grant_type: 'authorization_code', client_id: publicClient.client_id, code: 'mcp_ac_nope' })), 400, 'invalid_request'],
    ['/token with a malformed code_verifier', () => post('/token', qs({ grant_type: 'authorization_code', client_id: publicClient.client_id, code: 'mcp_ac_nope', code_verifier: 'short' })), 400, 'invalid_request'],
    ['/token with a repeated parameter', () => post('/token', `grant_type=authorization_code&grant_type=refresh_token&client_id=${publicClient.client_id}`), 400, 'invalid_request'],
    ['/token with a resource that has a fragment', () => post('/token', qs({ grant_type: 'refresh_token', client_id: publicClient.client_id, refresh_token: 'x', resource: `${'http://127.0.0.1'}/mcp#x` })), 400, 'invalid_target'],
    ['/token with an unknown refresh token', () => post('/token', qs({ grant_type: 'refresh_token', client_id: publicClient.client_id, refresh_token: 'mcp_rt_nope' })), 400, 'invalid_grant'],
    ['/token with GET', () => get('/token'), 405, 'method_not_allowed'],
    ['/register without redirect_uris', () => register({ client_name: 'x' }), 400, 'invalid_client_metadata'],
    ['/register with an http redirect on a public host', () => register({ redirect_uris: ['http://example.com/cb'] }), 400, 'invalid_client_metadata'],
    ['/register with a javascript: redirect', () => register({ redirect_uris: ['javascript:alert(1)'] }), 400, 'invalid_client_metadata'],
    ['/register with a redirect fragment', () => register({ redirect_uris: ['https://app.example/cb#frag'] }), 400, 'invalid_client_metadata'],
    ['/register with malformed JSON', () => post('/register', '{"redirect_uris":', json), 400, 'invalid_client_metadata'],
    ['/register with private_key_jwt', () => register({ redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: 'private_key_jwt' }), 400, 'invalid_client_metadata'],
    ['/register with the implicit grant', () => register({ redirect_uris: ['https://app.example/cb'], grant_types: ['implicit'] }), 400, 'invalid_client_metadata'],
    ['/register with response_type token', () => register({ redirect_uris: ['https://app.example/cb'], response_types: ['token'] }), 400, 'invalid_client_metadata'],
    ['/register with an unknown scope', () => register({ redirect_uris: ['https://app.example/cb'], scope: 'admin' }), 400, 'invalid_client_metadata'],
    ['/revoke without token', () => post('/revoke', qs({ client_id: publicClient.client_id })), 400, 'invalid_request'],
    ['/revoke with an unknown client', () => post('/revoke', qs({ token: 'x', client_id: 'nobody' })), 401, 'invalid_client'],
    ['/authorize without client_id', () => get('/authorize?response_type=code'), 400, 'invalid_request'],
    ['/authorize with an unknown client_id', () => get('/authorize?response_type=code&client_id=00000000-0000-4000-8000-000000000000'), 400, 'invalid_client'],
    ['/authorize with a repeated client_id', () => get(`/authorize?client_id=${publicClient.client_id}&client_id=${publicClient.client_id}`), 400, 'invalid_request'],
    ['/consent with an unknown request', () => post('/consent', qs({ pending: 'mcp_pa_unknown', decision: 'approve' })), 400, 'invalid_request'],
    ['/consent without a decision', () => post('/consent', qs({ pending: 'mcp_pa_unknown' })), 400, 'invalid_request'],
    ['the IdP callback with an unknown state', () => get(`/fakeupstreamauth/callback?${qs({ state: 'nope', code: 'nope', userId: 'u' })}`), 400, 'invalid_request'],
    ['the IdP callback without parameters', () => get('/fakeupstreamauth/callback'), 400, 'invalid_request'],
    ['the IdP callback with a repeated userId', () => get('/fakeupstreamauth/callback?state=a&code=b&userId=u&userId=v'), 400, 'invalid_request'],
    ['the IdP callback with a userId that is markup', () => get(`/fakeupstreamauth/callback?${qs({ state: 'a', code: 'b', userId: '<script>alert(1)</script>' })}`), 400, 'invalid_request'],
    ['the IdP page without state', () => get('/fakeupstreamauth/authorize'), 400, 'invalid_request'],
    ['/mcp without a token', () => post('/mcp', mcpInit, { ...json, accept: 'application/json, text/event-stream' }), 401, 'invalid_token'],
    ['/mcp with an unknown token', () => post('/mcp', mcpInit, { ...json, accept: 'application/json, text/event-stream', authorization: 'Bearer mcp_at_nope' }), 401, 'invalid_token'],
    ['/mcp with Basic credentials', () => post('/mcp', mcpInit, { ...json, accept: 'application/json, text/event-stream', authorization: 'Basic dTpw' }), 401, 'invalid_token'],
    ['GET /sse without a token', () => get('/sse', { accept: 'text/event-stream' }), 401, 'invalid_token'],
    ['POST /message without a token', () => post('/message?sessionId=00000000-0000-4000-8000-000000000000', '{}', json), 401, 'invalid_token'],
  ];

  test.each(cases)('%s: JSON error with the right code', async (_case, send, status, error) => {
    const response = await send();
    const body = await response.text();
    expect(`${response.status} ${body}`).toMatch(new RegExp(`^${status} `));
    expect(expectJsonBody(response.headers.get('content-type'), body)).toMatchObject({ error, error_description: expect.any(String) });
    if (status === 401 && error === 'invalid_token') {
      const challenge = response.headers.get('www-authenticate') ?? '';
      expect(challenge).toMatch(/^Bearer /);
      expect(challenge).toContain('error="invalid_token"');
      expect(challenge).toContain(`resource_metadata="${suite.base}/.well-known/oauth-protected-resource/mcp"`);
    }
  });

  test.each([
    ['an unsupported response_type', { response_type: 'token' }, 'unsupported_response_type'],
    ['a missing response_type', { response_type: undefined }, 'invalid_request'],
    ['an unknown scope', { scope: 'mcp admin' }, 'invalid_scope'],
    ['a state over 2048 characters', { state: 's'.repeat(2049) }, 'invalid_request'],
  ])('/authorize with %s redirects with the error code, iss, and no code', async (_case, extra, error) => {
    const params = authorizationParams(suite.base, publicClient, pkce().challenge, extra);
    const response = await get(new URL(authorizeUrl(suite.base, params)).pathname + new URL(authorizeUrl(suite.base, params)).search);
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get('location')!);
    expect(location.searchParams.get('error')).toBe(error);
    expect(location.searchParams.get('iss')).toBe(suite.base);
    expect(location.searchParams.get('code')).toBeNull();
    expect(location.searchParams.get('state')).toBe(params.state && params.state.length <= 2048 ? params.state : null);
  });

  test('a user who denies consent: access_denied at the redirect URI, with state and iss', async () => {
    const params = authorizationParams(suite.base, publicClient, pkce().challenge);
    const response = await actAsUser(authorizeUrl(suite.base, params), 'dora', { decision: 'deny' });
    expect(response.error).toBe('access_denied');
    expect(response.state).toBe(params.state);
    expect(response.iss).toBe(suite.base);
    expect(response.code).toBeNull();
  });

  test('nothing in the flow crashes the process; every answer is JSON or one of our pages, never a 500', async () => {
    const failures: unknown[] = [];
    const record = (error: unknown) => void failures.push(error);
    process.on('unhandledRejection', record);
    process.on('uncaughtException', record);
    try {
      // A flow stopped at the IdP, to replay and rebind its callback.
      const consent = await (await get(new URL(authorizeUrl(suite.base, authorizationParams(suite.base, publicClient, pkce().challenge))).pathname + new URL(authorizeUrl(suite.base, authorizationParams(suite.base, publicClient, pkce().challenge))).search)).text();
      const pendingId = inputValue(consent, 'pending');
      const beforeConsent = await get(`/fakeupstreamauth/callback?${qs({ state: pendingId, code: 'x', userId: 'u' })}`);
      const approved = await post('/consent', qs({ pending: pendingId, decision: 'approve' }));
      const browser = { cookie: consentCookie(approved.headers)! };
      const idp = await (await get(approved.headers.get('location')!)).text();
      const callback = `/fakeupstreamauth/callback?${qs({ state: inputValue(idp, 'state'), code: inputValue(idp, 'code'), userId: 'u1' })}`;
      const requests: Array<() => Promise<Response>> = [
        async () => beforeConsent,
        () => get(callback, browser),
        () => get(callback, browser),
        () => get(callback.replace('u1', 'u2'), browser),
        () => get(callback.replace('u1', 'u3')),
        () => get(callback, { cookie: 'mcp-consent=mcp_cb_forged; mcp-consent=x' }),
        () => get('/fakeupstreamauth/callback?state=%ff&code=%zz&userId=%'),
        () => get('/fakeupstreamauth/callback?state[a]=1&code[]=2&userId=u'),
        () => get(`/fakeupstreamauth/callback?${qs({ state: 'x'.repeat(10_000), code: 'y', userId: 'u' })}`),
        () => get('/fakeupstreamauth/authorize?state=%ff%fe'),
        () => get('/fakeupstreamauth/authorize?state=a&state=b'),
        () => post('/fakeupstreamauth/authorize', 'state=a'),
        () => get('/authorize?client_id[x]=1'),
        () => get(`/authorize?client_id=${publicClient.client_id}&redirect_uri=%zz`),
        () => get(`/authorize?client_id=${'x'.repeat(8000)}`),
        () => post('/authorize', '%%%&&&=', form),
        () => post('/authorize', JSON.stringify({ client_id: publicClient.client_id }), json),
        () => post('/token', '%', form),
        () => post('/token', 'a='.padEnd(40_000, 'x'), form),
        () => post('/token', `grant_type=authorization_code&code[]=x&client_id=${publicClient.client_id}`),
        () => post('/token', 'grant_type=refresh_token', { ...form, authorization: `Basic ${Buffer.from([0xff, 0x3a, 0xfe]).toString('base64')}` }),
        () => post('/token', 'grant_type=refresh_token', { ...form, authorization: `Basic ${Buffer.from('%E0%A4%A:x').toString('base64')}` }),
        () => post('/register', '[]', json),
        () => post('/register', 'null', json),
        () => post('/register', '"text"', json),
        () => post('/register', JSON.stringify({ redirect_uris: [{ nested: true }] }), json),
        () => post('/register', JSON.stringify({ redirect_uris: ['https://a.example/cb'], client_name: 'x'.repeat(5000) }), json),
        () => post('/register', 'x'.repeat(200_000), json),
        () => get('/consent'),
        () => post('/consent', 'pending[]=a&decision=approve'),
        () => post('/revoke', 'token=a&token=b'),
        () => post('/revoke', `token=${'t'.repeat(15_000)}&client_id=${publicClient.client_id}`),
        () => post('/mcp', '{}', { ...json, authorization: 'Bearer' }),
        () => post('/mcp', '{}', { ...json, authorization: 'Bearer  ' }),
        () => post('/mcp', '{}', { ...json, authorization: `Bearer ${'a'.repeat(8000)}` }),
        () => get('/.well-known/oauth-authorization-server/../../etc/passwd'),
      ];
      for (const send of requests) {
        const response = await send();
        const body = await response.text();
        expect(`${response.status} ${body.slice(0, 200)}`).not.toMatch(/^5\d\d /);
        const type = response.headers.get('content-type') ?? '';
        if (response.status >= 300 && response.status < 400) expect(response.headers.get('location')).toEqual(expect.any(String));
        else if (type.startsWith('text/html')) expect(body).toMatch(/^<!doctype html>/);
        else if (body.length > 0) expectJsonBody(type, body);
      }
      // Still serving: a whole flow and a session.
      const { tokens } = await signIn(suite.base, 'after-the-storm');
      const session = await post('/mcp', mcpInit, { ...json, accept: 'application/json, text/event-stream', authorization: `Bearer ${tokens.access_token}` });
      expect(session.status).toBe(200);
      await session.text();
    } finally {
      process.off('unhandledRejection', record);
      process.off('uncaughtException', record);
    }
    expect(failures).toEqual([]);
  });
});
