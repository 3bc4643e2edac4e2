/**
 * The landing page in a real browser (headless Debian chromium through
 * playwright-core): it renders under its CSP without a violation, its
 * endpoints and snippets name the configured BASE_URI, and its feature list
 * is exactly what tools/list and prompts/list return. The same description as
 * JSON, for programs.
 */
import { jest } from '@jest/globals';
import { browserSuite, pageProblems } from './support/browser.js';
import { callTool, modernCall, resultOf } from './support/modern.js';
import { freshUser } from './support/auth-flow.js';

jest.setTimeout(60_000);

const suite = browserSuite();

test('the landing page renders, names BASE_URI everywhere, and lists exactly the tools and prompts the server serves', async () => {
  const token = await freshUser(suite.deployment.baseUri, 'landing');
  const tools = resultOf(await modernCall(suite.deployment.urls[0]!, 1, 'tools/list', {}, { token })).tools.map((t: { name: string }) => t.name);
  const prompts = resultOf(await modernCall(suite.deployment.urls[0]!, 2, 'prompts/list', {}, { token })).prompts.map((p: { name: string }) => p.name);
  expect(resultOf(await callTool(suite.deployment.urls[0]!, 'echo', { message: 'warm' }, { token })).resultType).toBe('complete');

  const context = await suite.browser.newContext();
  const page = await context.newPage();
  const problems = pageProblems(page);
  // The browser reaches the second instance; BASE_URI is the first's URL.
  const response = await page.goto(`${suite.deployment.urls[1]}/`);
  expect(response?.status()).toBe(200);
  expect(await page.title()).toBe('MCP Everything Server');

  const mcpUrl = `${suite.deployment.baseUri}/mcp`;
  expect(await page.textContent('#mcp-url')).toBe(mcpUrl);
  expect(await page.textContent('#sse-url')).toBe(`${suite.deployment.baseUri}/sse`);
  expect(await page.textContent('#resource-metadata')).toBe(`${suite.deployment.baseUri}/.well-known/oauth-protected-resource/mcp`);
  expect(await page.getAttribute('#my-sessions', 'href')).toBe(`${suite.deployment.baseUri}/my`);
  for (const snippet of ['#inspector-cli', '#client-config', '#curl', '#sdk']) expect(await page.textContent(snippet)).toContain(mcpUrl);
  expect(await page.textContent('#inspector-cli')).toContain('Authorization: Bearer $MCP_TOKEN');

  const listedTools = await page.$$eval('#tools li', (items) => items.map((item) => item.getAttribute('data-tool')));
  const listedPrompts = await page.$$eval('#prompts li', (items) => items.map((item) => item.getAttribute('data-prompt')));
  expect(listedTools).toEqual(tools);
  expect(listedPrompts).toEqual(prompts);
  // Two instances share the Redis of the deployment (other suites' instances may share it too).
  expect(Number(await page.textContent('#instances'))).toBeGreaterThanOrEqual(2);
  expect(problems).toEqual([]);
  await context.close();
});

test('the same description as JSON, to Accept: application/json', async () => {
  const response = await fetch(`${suite.deployment.urls[0]}/`, { headers: { accept: 'application/json' } });
  expect(response.status).toBe(200);
  const landing = await response.json();
  expect(landing.endpoints).toEqual({
    streamableHttp: `${suite.deployment.baseUri}/mcp`,
    legacySse: { stream: `${suite.deployment.baseUri}/sse`, messages: `${suite.deployment.baseUri}/message` },
    mySessions: `${suite.deployment.baseUri}/my`,
  });
  expect(landing.protocolVersions).toEqual(expect.arrayContaining(['2026-07-28', '2025-11-25']));
  expect(landing.authorization.mode).toBe('internal');
  expect(landing.features.tools.map((t: { name: string }) => t.name)).toContain('echo');
  expect(landing.status.instanceId).toBe(suite.deployment.servers[0]!.runtime.instanceId);
});

test('a Host that is not ours gets 403 (DNS-rebinding protection), not the page', async () => {
  const { request } = await import('node:http');
  const url = new URL(suite.deployment.urls[0]!);
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: '/', headers: { host: 'evil.example.com' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
  expect(status).toBe(403);
});
