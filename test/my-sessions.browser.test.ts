/**
 * The "my sessions" page in a real browser (headless Debian chromium through
 * playwright-core), on two instances sharing Redis: the browser signs in
 * through the consent page and the fake IdP, sees its own session (made
 * through the other instance) with its client and protocol, taps it and
 * watches a tool call and its reply appear, and sees nothing of a second
 * user's session, whose tap answers 404. No CSP violation, no script error.
 */
import { jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { browserSuite, pageProblems } from './support/browser.js';
import { connectWithToken } from './support/mcp-client.js';
import { freshUserWithId, signIn } from './support/auth-flow.js';

jest.setTimeout(60_000);

const suite = browserSuite();

test('sign in, see one own session (made through the other instance), tap it, watch a call cross; nothing of another user', async () => {
  const userId = `browser-${randomUUID()}`;
  const { tokens } = await signIn(suite.deployment.baseUri, userId);
  const [, otherToken] = await freshUserWithId(suite.deployment.baseUri, 'stranger');
  // BASE_URI is the first instance; the sessions are made through the second.
  const mine = await connectWithToken(suite.deployment.urls[1]!, tokens.access_token, 'browser-test-client', '1.0.0');
  const theirs = await connectWithToken(suite.deployment.urls[1]!, otherToken, 'stranger-client');

  const context = await suite.browser.newContext();
  const page = await context.newPage();
  const problems = pageProblems(page);
  try {
    // Not signed in: /my sends the browser through the sign-in (consent, then the fake IdP).
    await page.goto(`${suite.deployment.baseUri}/my`);
    await page.waitForURL(/\/authorize\?/);
    await page.click('#approve');
    await page.waitForURL(/\/fakeupstreamauth\/authorize\?state=/);
    await page.fill('#userId', userId);
    await page.click('#continue');
    await page.waitForURL(`${suite.deployment.baseUri}/my`);
    expect(await page.textContent('#user-id')).toBe(userId);

    const row = page.locator(`tr[data-session-id="${mine.sessionId}"]`);
    await row.waitFor();
    expect(await row.locator('[data-field="client"]').textContent()).toBe('browser-test-client 1.0.0');
    expect(await row.locator('[data-field="protocol"]').textContent()).toBe('2025-11-25 (sessionful, Streamable HTTP)');
    expect(await row.locator('[data-field="instance"]').textContent()).toBe(suite.deployment.servers[1]!.runtime.instanceId);
    expect(await page.locator('#sessions tbody tr').count()).toBe(1);
    expect(await page.locator(`tr[data-session-id="${theirs.sessionId}"]`).count()).toBe(0);

    await row.locator('button[data-tap]').click();
    await page.waitForFunction(() => document.getElementById('tap-state')?.textContent?.startsWith('Listening'));
    const marker = `seen-in-browser-${randomUUID()}`;
    await mine.client.callTool({ name: 'echo', arguments: { message: marker } });
    const call = page.locator('#tap-log .event[data-direction="client-to-server"][data-method="tools/call"]');
    await call.waitFor();
    expect(await call.locator('pre').textContent()).toContain(marker);
    const reply = page.locator('#tap-log .event[data-direction="server-to-client"]', { hasText: `Echo: ${marker}` });
    await reply.waitFor();
    expect(problems).toEqual([]);

    // The other user's session cannot be tapped from this browser: 404, as for a session that does not exist.
    const statuses = await page.evaluate(async (ids) => {
      const answers = [];
      for (const id of ids) answers.push((await fetch(`/my/sessions/${id}/tap`)).status);
      return answers;
    }, [theirs.sessionId, randomUUID()]);
    expect(statuses).toEqual([404, 404]);
  } finally {
    await context.close();
    await mine.client.close();
    await theirs.client.close();
  }
});
