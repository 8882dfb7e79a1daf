// The dashboard's speed (bench/dashboard.sh): the overview's first load in a fresh headless
// Chromium context, five times, and the p50/p99 of 100 sequential calls of each API route the
// pages use (fewer when a route takes over 20 s for them: n says how many).
// Env: MOAT_URL, ADMIN_TOKEN, CHROMIUM.
import { createRequire } from 'node:module';

const require = createRequire(new URL('../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const { MOAT_URL: base, ADMIN_TOKEN: token, CHROMIUM } = process.env;

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
const loads = [];
for (let run = 0; run < 5; run++) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addInitScript((t) => sessionStorage.setItem('moat.token', t), token);
  const page = await context.newPage();
  await page.goto(base + '/');
  await page.waitForSelector('[data-testid="images-total"]', { timeout: 60000 });
  await page.waitForFunction(() => document.querySelectorAll('[role="status"] .spinner').length === 0,
    null, { timeout: 60000 });
  loads.push(Math.round(await page.evaluate(() => performance.now())));
  await context.close();
}
await browser.close();
console.log(`overview first load (ms, 5 runs): ${loads.join(', ')}`);

const images = await (await fetch(`${base}/api/v1/images?sort=risk&limit=1`, {
  headers: { Authorization: `Bearer ${token}` },
})).json();
const digest = encodeURIComponent(images.items[0].digest);
const routes = [
  '/api/v1/summary',
  '/api/v1/trend?days=30',
  '/api/v1/images?sort=risk&limit=100',
  '/api/v1/images?severity=CRITICAL&fixable=1&limit=100',
  '/api/v1/images?q=bench&sort=name&limit=100',
  `/api/v1/images/${digest}`,
  `/api/v1/images/${digest}/usage`,
  `/api/v1/findings?resource_kind=image&resource_id=${digest}&limit=1000`,
  '/api/v1/repositories',
  '/api/v1/recommendations',
  // The recommendation that lists every vulnerable image: its first page, as the page asks it.
  '/api/v1/recommendations/registry-images-vulnerabilities?limit=50&findings=5',
  '/api/v1/alerts?status=active&limit=100',
  '/api/v1/hosts',
  '/api/v1/clusters',
];
console.log('| route | n | p50 ms | p99 ms |');
console.log('|---|---|---|---|');
for (const route of routes) {
  const times = [];
  const until = performance.now() + 20000;
  for (let n = 0; n < 100 && performance.now() < until; n++) {
    const start = performance.now();
    const response = await fetch(base + route, { headers: { Authorization: `Bearer ${token}` } });
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`${route}: HTTP ${response.status}`);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)].toFixed(1);
  console.log(`| \`${route.replace(digest, '{digest}')}\` | ${times.length} | ${at(0.5)} | ${at(0.99)} |`);
}
