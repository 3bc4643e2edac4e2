/** Headless Debian chromium through playwright-core, as the browser suites use it. */
import { chromium, type Browser, type Page } from 'playwright-core';
import { startAuthDeployment, type AuthDeployment } from './auth-instances.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

/**
 * Collects what goes wrong in a page: console errors (a CSP violation is one)
 * and uncaught script errors. The browser's own favicon probe of non-HTML
 * pages is not ours to judge.
 */
export function pageProblems(page: Page, problems: string[] = []): string[] {
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.location().url.endsWith('/favicon.ico')) problems.push(`${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return problems;
}

/**
 * A browser and a deployment of two instances on the run's Redis, started
 * before the enclosing describe's tests and stopped after them. The object is
 * filled in by beforeAll: read it only in tests and hooks.
 */
export function browserSuite(): { deployment: AuthDeployment; browser: Browser } {
  const suite = {} as { deployment: AuthDeployment; browser: Browser };
  beforeAll(async () => {
    suite.deployment = await startAuthDeployment(process.env.TEST_REDIS_URL!, 2);
    suite.browser = await launchChromium();
  });
  afterAll(async () => {
    await suite.browser?.close();
    await suite.deployment?.stop();
  });
  return suite;
}
