/**
 * The consent page and the fake IdP in a real browser (headless Debian
 * chromium through playwright-core): a user opens /authorize, approves, lets
 * the IdP page generate a user id (kept in localStorage), continues, and the
 * test's client receives the code; a second browser context is a second user,
 * whose token gets 404 on the first user's session. The pages run under their
 * CSP without a single violation, and hostile input stays text.
 */
import { keys } from '../src/protocol/channels.js';
import { jest } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, pageProblems } from './support/browser.js';
import { startAuthDeployment, type AuthDeployment } from './support/auth-instances.js';
import { authorizationParams, authorizeUrl, exchangeCode, pkce, registerClient, type RegisteredClient, type Tokens } from './support/auth-flow.js';

jest.setTimeout(90_000);

/** The client's redirect URI: records every authorization response it receives. */
async function startRedirectReceiver() {
  const received: URL[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/callback') received.push(url); // not the browser's /favicon.ico
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('authorization response received');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
  return { url, received, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

let deployment: AuthDeployment;
let browser: Browser;
let receiver: Awaited<ReturnType<typeof startRedirectReceiver>>;
let client: RegisteredClient;
/** The instance the browser talks to (B); BASE_URI, tokens and sessions are on A. */
let browserBase: string;
const problems: string[] = [];

beforeAll(async () => {
  deployment = await startAuthDeployment(process.env.TEST_REDIS_URL!, 2);
  browserBase = deployment.urls[1]!;
  receiver = await startRedirectReceiver();
  client = await registerClient(deployment.baseUri, { client_name: 'Browser Test Client', redirect_uris: [receiver.url] });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await receiver?.stop();
  await deployment?.stop();
});

async function newUser(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  pageProblems(page, problems);
  return { context, page };
}

/** Opens /authorize (on the browser's instance) and returns what the client must keep. */
async function startAuthorization(page: Page) {
  const { verifier, challenge } = pkce();
  const params = authorizationParams(deployment.baseUri, client, challenge);
  const url = new URL(authorizeUrl(deployment.baseUri, params));
  await page.goto(`${browserBase}${url.pathname}${url.search}`);
  return { verifier, state: params.state };
}

/** Consent → IdP; returns the user id the IdP page shows. */
async function approveAndReachIdp(page: Page): Promise<string> {
  await page.click('#approve');
  await page.waitForURL(/\/fakeupstreamauth\/authorize\?state=/);
  return page.inputValue('#userId');
}

async function continueToClient(page: Page, state: string): Promise<URL> {
  const before = receiver.received.length;
  await page.click('#continue');
  await page.waitForURL((url) => url.href.startsWith(receiver.url));
  expect(receiver.received.length).toBe(before + 1);
  const response = receiver.received[before]!;
  expect(response.searchParams.get('state')).toBe(state);
  expect(response.searchParams.get('iss')).toBe(deployment.baseUri);
  expect(response.searchParams.get('code')).toMatch(/^mcp_ac_/);
  return response;
}

async function tokensFor(code: string, verifier: string): Promise<Tokens> {
  const exchanged = await exchangeCode(deployment.baseUri, client, code, verifier);
  expect(exchanged.status).toBe(200);
  return exchanged.body as unknown as Tokens;
}

function mcp(token: string, body: unknown, sessionId?: string) {
  return fetch(`${deployment.urls[0]}/mcp`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(sessionId ? { 'mcp-session-id': sessionId } : {}),
    },
    body: JSON.stringify(body),
  });
}

test('two users in two browser contexts: consent, IdP, code; the second user cannot use the first one’s session', async () => {
  // User one: consent page, then the IdP page with a generated id.
  const one = await newUser();
  const first = await startAuthorization(one.page);
  expect(await one.page.textContent('#client-name')).toBe('Browser Test Client');
  expect(await one.page.textContent('#redirect-uri')).toBe(receiver.url);
  const initial = await approveAndReachIdp(one.page);
  expect(initial).toMatch(/^user-[0-9a-f]{16}$/);
  await one.page.click('#generate');
  const userOne = await one.page.inputValue('#userId');
  expect(userOne).toMatch(/^user-[0-9a-f]{16}$/);
  expect(userOne).not.toBe(initial);
  expect(await one.page.evaluate(() => localStorage.getItem('mcp-everything.fake-idp.user-id'))).toBe(userOne);
  const responseOne = await continueToClient(one.page, first.state);
  const tokensOne = await tokensFor(responseOne.searchParams.get('code')!, first.verifier);

  const init = await mcp(tokensOne.access_token, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'browser', version: '1' } } });
  expect(init.status).toBe(200);
  await init.text();
  const sessionId = init.headers.get('mcp-session-id')!;
  expect(await deployment.servers[0]!.runtime.backend.kv.get(keys.sessionOwner(sessionId))).toBe(userOne);

  // The same browser later: the IdP page remembers the user (localStorage).
  const again = await startAuthorization(one.page);
  expect(await approveAndReachIdp(one.page)).toBe(userOne);
  const responseAgain = await continueToClient(one.page, again.state);
  const tokensAgain = await tokensFor(responseAgain.searchParams.get('code')!, again.verifier);
  const same = await mcp(tokensAgain.access_token, { jsonrpc: '2.0', id: 2, method: 'ping' }, sessionId);
  expect(same.status).toBe(200);
  await same.text();

  // User two: a fresh context (its own localStorage), who types a user id of their own.
  const two = await newUser();
  const second = await startAuthorization(two.page);
  const generated = await approveAndReachIdp(two.page);
  expect(generated).not.toBe(userOne);
  const userTwo = `browser-user-two.${Date.now()}`;
  await two.page.fill('#userId', userTwo);
  const responseTwo = await continueToClient(two.page, second.state);
  // The edited id is what the IdP's origin now keeps.
  await two.page.goto(`${browserBase}/.well-known/oauth-authorization-server`);
  expect(await two.page.evaluate(() => localStorage.getItem('mcp-everything.fake-idp.user-id'))).toBe(userTwo);
  const tokensTwo = await tokensFor(responseTwo.searchParams.get('code')!, second.verifier);
  const foreign = await mcp(tokensTwo.access_token, { jsonrpc: '2.0', id: 3, method: 'ping' }, sessionId);
  expect(foreign.status).toBe(404);
  expect(await foreign.json()).toMatchObject({ error: { code: -32001 } });

  await Promise.all([one.context.close(), two.context.close()]);
  // Every page ran under its CSP without a violation (form-action, nonce) and without a script error.
  expect(problems).toEqual([]);
});

test('a user who denies is sent back with access_denied', async () => {
  const { context, page } = await newUser();
  const { state } = await startAuthorization(page);
  const before = receiver.received.length;
  await page.click('#deny');
  await page.waitForURL((url) => url.href.startsWith(receiver.url));
  const response = receiver.received[before]!;
  expect(response.searchParams.get('error')).toBe('access_denied');
  expect(response.searchParams.get('state')).toBe(state);
  expect(response.searchParams.get('iss')).toBe(deployment.baseUri);
  await context.close();
});

test('hostile input stays text: no injected script runs on the consent or the IdP page', async () => {
  const hostile = await registerClient(deployment.baseUri, {
    client_name: '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>',
    redirect_uris: [receiver.url],
  });
  const { context, page } = await newUser();
  const params = authorizationParams(deployment.baseUri, hostile, pkce().challenge);
  const url = new URL(authorizeUrl(deployment.baseUri, params));
  await page.goto(`${browserBase}${url.pathname}${url.search}`);
  expect(await page.textContent('#client-name')).toBe(hostile.client_name);
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  await page.goto(`${browserBase}/fakeupstreamauth/authorize?${new URLSearchParams({ state: '"><script>window.__pwned=3</script><img src=x onerror="window.__pwned=4">' })}`);
  expect(await page.textContent('#state')).toBe('"><script>window.__pwned=3</script><img src=x onerror="window.__pwned=4">');
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  // The page's own script did run (it filled the field).
  expect(await page.inputValue('#userId')).toMatch(/^user-[0-9a-f]{16}$/);
  await context.close();
});
