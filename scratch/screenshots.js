// Takes the screenshots in docs/ of the server's pages, with headless chromium
// (playwright-core and Debian's /usr/bin/chromium): starts an embedded
// instance, opens the landing page; then signs a browser in to "my sessions"
// as a demo user, makes a session of that user with the SDK client (its token
// from scratch/oauth.sh), taps it and calls two tools. Saves one PNG per page.
// Run with `npm run screenshots`.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { chromium } from 'playwright-core';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { loadConfig } from '../dist/config.js';
import { createLogger } from '../dist/observability/logger.js';
import { startServer } from '../dist/server.js';

const PAGES = [['landing.png', '/']];

// A free port first, so that BASE_URI (and every URL the pages show) names it.
const port = await new Promise((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port } = probe.address();
    probe.close(() => resolve(port));
  });
});
const base = `http://localhost:${port}`;
const config = loadConfig({ PORT: String(port), HOST: '127.0.0.1', BASE_URI: base, LOG_LEVEL: 'warn' });
const server = await startServer(config, createLogger(config.logLevel, true));
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
try {
  await mkdir('docs/screenshots', { recursive: true });
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  for (const [file, path] of PAGES) {
    await page.goto(`${base}${path}`);
    await page.screenshot({ path: `docs/screenshots/${file}`, fullPage: true });
    console.log(`docs/screenshots/${file}`);
  }

  const user = 'demo-user';
  // Asynchronously: the server answering the script runs in this process.
  const { stdout: walkthrough } = await promisify(execFile)('bash', ['scratch/oauth.sh', base, user]);
  const token = /^export MCP_TOKEN=(\S+)$/m.exec(walkthrough)[1];
  const client = new Client({ name: 'demo-client', version: '1.0.0' }, { capabilities: {} });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
  await client.subscribeResource({ uri: 'test://static/resource/1' });

  await page.goto(`${base}/my`);
  await page.click('#approve');
  await page.fill('#userId', user);
  await page.click('#continue');
  await page.waitForURL(`${base}/my`);
  await page.locator('button[data-tap]').first().click();
  await page.waitForFunction(() => document.getElementById('tap-state')?.textContent?.startsWith('Listening'));
  await client.callTool({ name: 'echo', arguments: { message: 'hello from the demo' } });
  await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } });
  await page.locator('#tap-log .event').nth(3).waitFor();
  // The whole log in the picture, not its scrolled end (a style property set from script: the CSP allows it).
  await page.evaluate(() => (document.getElementById('tap-log').style.maxHeight = 'none'));
  await page.screenshot({ path: 'docs/screenshots/my-sessions.png', fullPage: true });
  console.log('docs/screenshots/my-sessions.png');
  await client.close();
} finally {
  await browser.close();
  await server.stop();
}
