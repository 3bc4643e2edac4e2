// Takes the screenshots in docs/ of the server's pages, with headless chromium
// (playwright-core and Debian's /usr/bin/chromium): starts an embedded
// instance, opens each page, saves a PNG. Run with `npm run screenshots`.
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { chromium } from 'playwright-core';
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
} finally {
  await browser.close();
  await server.stop();
}
