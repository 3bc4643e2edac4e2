/**
 * The OAuth flow as a client and a user drive it over HTTP: registration, PKCE,
 * the consent page, the fake IdP page, its callback, the token endpoint. The
 * "user" reads our pages as a browser would (forms and their fields) without
 * running their script. Also an OAuthClientProvider for the official SDK
 * client, whose redirect handler walks those pages.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';

export const REDIRECT_URI = 'http://127.0.0.1:1/callback';

export interface Pkce {
  verifier: string;
  challenge: string;
}

export function pkce(): Pkce {
  const verifier = randomBytes(48).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export interface RegisteredClient {
  client_id: string;
  client_secret?: string;
  redirect_uris: string[];
  token_endpoint_auth_method: string;
  [key: string]: unknown;
}

export async function registerClient(base: string, metadata: Record<string, unknown> = {}): Promise<RegisteredClient> {
  const response = await fetch(`${base}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'auth test client',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      ...metadata,
    }),
  });
  const body = await response.text();
  if (response.status !== 201) throw new Error(`registration failed: ${response.status} ${body}`);
  return JSON.parse(body) as RegisteredClient;
}

export function authorizeUrl(base: string, params: Record<string, string | undefined>): string {
  const url = new URL('/authorize', base);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.append(name, value);
  return url.href;
}

/** Standard authorization request parameters for a client; override or drop (undefined) any. */
export function authorizationParams(base: string, client: RegisteredClient, challenge: string, extra: Record<string, string | undefined> = {}) {
  return {
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: client.redirect_uris[0],
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: `state-${randomBytes(6).toString('hex')}`,
    scope: 'mcp',
    resource: `${base}/mcp`,
    ...extra,
  };
}

/** The value of a named input in one of our pages. */
export function inputValue(html: string, name: string): string {
  const match = new RegExp(`<input[^>]*name="${name}"[^>]*value="([^"]*)"`).exec(html);
  if (!match) throw new Error(`no input ${name} in page: ${html.slice(0, 500)}`);
  return match[1]!.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#96;/g, '`').replace(/&amp;/g, '&');
}

/**
 * The consent-binding cookie a /consent approval sets (`name=value`, ready for a
 * Cookie header), or undefined. The IdP callback completes an authorization only
 * for the browser that approved it, so a script walking the flow carries it on.
 */
export function consentCookie(headers: Headers): string | undefined {
  for (const line of headers.getSetCookie()) {
    const pair = line.split(';')[0]!.trim();
    if (/^(__Host-)?mcp-consent=/.test(pair)) return pair;
  }
  return undefined;
}

export interface AuthorizationResponse {
  /** The redirect URI with the response (never followed: nothing listens there). */
  location: URL;
  code: string | null;
  state: string | null;
  iss: string | null;
  error: string | null;
  /** What the IdP callback needed, for replay tests (the consent cookie included). */
  callback?: { state: string; code: string; cookie: string | undefined };
}

/**
 * A user at the browser: opens the authorization URL (consent page), approves,
 * is sent to the fake IdP, submits its form as `userId`, and lands on the
 * client's redirect URI (returned, not followed). Every hop may go to another
 * instance through `rewrite`.
 */
export async function actAsUser(
  authorizationUrl: string,
  userId: string,
  options: { decision?: 'approve' | 'deny'; rewrite?: (url: URL) => URL } = {},
): Promise<AuthorizationResponse> {
  const go = (url: string | URL, init: RequestInit = {}) => {
    const target = new URL(url);
    return fetch(options.rewrite ? options.rewrite(target) : target, { ...init, redirect: 'manual' });
  };
  const base = new URL(authorizationUrl).origin;
  const consent = await go(authorizationUrl);
  const consentHtml = await consent.text();
  if (consent.status !== 200) throw new Error(`consent page: ${consent.status} ${consentHtml.slice(0, 300)}`);
  const decided = await go(new URL('/consent', base), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ pending: inputValue(consentHtml, 'pending'), decision: options.decision ?? 'approve' }).toString(),
  });
  await decided.text();
  if (decided.status !== 303) throw new Error(`consent answered ${decided.status}`);
  const cookie = consentCookie(decided.headers);
  const next = new URL(decided.headers.get('location')!, base);
  if (options.decision === 'deny') return responseOf(next);
  const idp = await go(next);
  const idpHtml = await idp.text();
  if (idp.status !== 200) throw new Error(`IdP page: ${idp.status} ${idpHtml.slice(0, 300)}`);
  const callback = { state: inputValue(idpHtml, 'state'), code: inputValue(idpHtml, 'code'), cookie };
  const callbackUrl = new URL('/fakeupstreamauth/callback', base);
  callbackUrl.search = new URLSearchParams({ state: callback.state, code: callback.code, userId }).toString();
  const landed = await go(callbackUrl, cookie ? { headers: { cookie } } : {});
  const landedBody = await landed.text();
  if (landed.status !== 302) throw new Error(`callback answered ${landed.status} ${landedBody}`);
  return { ...responseOf(new URL(landed.headers.get('location')!)), callback };
}

function responseOf(location: URL): AuthorizationResponse {
  const p = location.searchParams;
  return { location, code: p.get('code'), state: p.get('state'), iss: p.get('iss'), error: p.get('error') };
}

const MCP_INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'auth-test', version: '1' } },
});

/** POST initialize to /mcp with a bearer token; the status says whether /mcp accepted it. */
export async function mcpStatus(url: string, token: string) {
  const response = await fetch(`${url}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` },
    body: MCP_INITIALIZE,
  });
  return {
    status: response.status,
    wwwAuthenticate: response.headers.get('www-authenticate'),
    contentType: response.headers.get('content-type'),
    body: await response.text(),
  };
}

/** POST a form to the token or revocation endpoint; returns status and parsed JSON body. */
export async function postForm(
  url: string,
  form: Record<string, string | undefined>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers; text: string }> {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(form)) if (value !== undefined) body.append(name, value);
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: body.toString(),
  });
  const text = await response.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = {};
  }
  return { status: response.status, body: parsed, headers: response.headers, text };
}

export interface Tokens {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  token_type: string;
  scope: string;
}

export async function exchangeCode(base: string, client: RegisteredClient, code: string, verifier: string, extra: Record<string, string | undefined> = {}) {
  return postForm(`${base}/token`, {
    grant_type: 'authorization_code',
    code,
    code_verifier: verifier,
    redirect_uri: client.redirect_uris[0],
    client_id: client.client_id,
    ...extra,
  });
}

export async function refreshTokens(base: string, client: RegisteredClient, refreshToken: string, extra: Record<string, string | undefined> = {}) {
  return postForm(`${base}/token`, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: client.client_id, ...extra });
}

export interface SignedIn {
  client: RegisteredClient;
  tokens: Tokens;
  userId: string;
}

/** Registers a public client and runs the whole flow as `userId`; returns the tokens. */
export async function signIn(base: string, userId: string, rewrite?: (url: URL) => URL): Promise<SignedIn> {
  const client = await registerClient(base);
  const { verifier, challenge } = pkce();
  const params = authorizationParams(base, client, challenge);
  const response = await actAsUser(authorizeUrl(base, params), userId, { rewrite });
  if (!response.code) throw new Error(`no code: ${response.location.href}`);
  const exchanged = await exchangeCode(base, client, response.code, verifier);
  if (exchanged.status !== 200) throw new Error(`token exchange failed: ${exchanged.status} ${exchanged.text}`);
  return { client, tokens: exchanged.body as unknown as Tokens, userId };
}

/**
 * An access token of a user no other test knows (`{name}-{uuid}`): the suites
 * share one Redis, where per-user counts (sessions, tasks, rate limits) live.
 */
export async function freshUser(base: string, name: string): Promise<string> {
  return (await freshUserWithId(base, name))[1];
}

/** The same, with the user id (to read what the server counts for it). */
export async function freshUserWithId(base: string, name: string): Promise<[userId: string, token: string]> {
  const userId = `${name}-${randomUUID()}`;
  return [userId, (await signIn(base, userId)).tokens.access_token];
}

/**
 * An OAuthClientProvider for the SDK client: in-memory storage, and a
 * redirectToAuthorization that walks our pages as `userId` and keeps the code
 * (as an app's redirect handler would receive it).
 */
export class TestOAuthProvider implements OAuthClientProvider {
  private client?: OAuthClientInformationMixed;
  private savedTokens?: OAuthTokens;
  private verifier?: string;
  private expectedState?: string;
  /** The code from the last authorization, and the full redirect it came in. */
  lastRedirect?: AuthorizationResponse;
  redirects = 0;
  invalidations: string[] = [];
  readonly savedTokenHistory: OAuthTokens[] = [];

  constructor(
    readonly userId: string,
    private readonly options: { rewrite?: (url: URL) => URL; clientName?: string } = {},
  ) {}

  get redirectUrl(): string {
    return REDIRECT_URI;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: this.options.clientName ?? 'SDK test client',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  state(): string {
    this.expectedState = randomBytes(12).toString('base64url');
    return this.expectedState;
  }

  clientInformation() {
    return this.client;
  }

  saveClientInformation(info: OAuthClientInformationMixed): void {
    this.client = info;
  }

  tokens() {
    return this.savedTokens;
  }

  saveTokens(tokens: OAuthTokens): void {
    this.savedTokens = tokens;
    this.savedTokenHistory.push(tokens);
  }

  async redirectToAuthorization(authorizationUrl: URL): Promise<void> {
    this.redirects++;
    const response = await actAsUser(authorizationUrl.href, this.userId, { rewrite: this.options.rewrite });
    if (response.state !== this.expectedState) throw new Error('state mismatch in the authorization response');
    this.lastRedirect = response;
  }

  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier;
  }

  codeVerifier(): string {
    if (!this.verifier) throw new Error('no code verifier saved');
    return this.verifier;
  }

  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    this.invalidations.push(scope);
    if (scope === 'all' || scope === 'client') this.client = undefined;
    if (scope === 'all' || scope === 'tokens') this.savedTokens = undefined;
  }
}

/** The `name=value` of a cookie a response sets. */
export function setCookie(headers: Headers, name: string): string | undefined {
  return headers
    .getSetCookie()
    .map((line) => line.split(';')[0]!)
    .find((pair) => pair.startsWith(`${name}=`) && pair.length > name.length + 1);
}

/**
 * Signs a browser in to the "my sessions" page of the instance at `url` as
 * `userId` (the built-in client's flow: /my/login, consent, the fake IdP,
 * /my/callback), every hop on that instance; returns the session cookie.
 */
export async function mySessionsCookie(url: string, userId: string): Promise<string> {
  const host = new URL(url).host;
  const onInstance = (target: URL) => Object.assign(new URL(target), { host });
  const login = await fetch(`${url}/my/login`, { redirect: 'manual' });
  const signInCookie = setCookie(login.headers, 'mcp_my_sign_in');
  if (login.status !== 302 || !signInCookie) throw new Error(`/my/login answered ${login.status}`);
  const response = await actAsUser(login.headers.get('location')!, userId, { rewrite: onInstance });
  const callback = onInstance(response.location);
  const done = await fetch(callback, { headers: { cookie: signInCookie }, redirect: 'manual' });
  const session = setCookie(done.headers, 'mcp_my_session');
  if (done.status !== 302 || !session) throw new Error(`/my/callback answered ${done.status}: ${await done.text()}`);
  return session;
}
