// The dashboard in headless Chromium (playwright-core, Debian's /usr/bin/chromium) against the
// moat server that tests/web_test.sh started and filled. Prints PASS/FAIL per check; screenshots
// and metrics.json go to $OUT.
// Env: MOAT_URL, ADMIN_TOKEN, ANALYST_TOKEN, READER_TOKEN, CHROMIUM, OUT.
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// playwright-core and axe-core are the dashboard's dev dependencies (web/package-lock.json).
const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const { MOAT_URL: base, ADMIN_TOKEN, ANALYST_TOKEN, READER_TOKEN, CHROMIUM, OUT } = process.env;
let passed = 0;
let failed = 0;
function check(name, ok, detail = '') {
  if (ok) {
    passed++;
    console.log(`PASS ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}${detail ? `: ${detail}` : ''}`);
  }
}

async function api(token, path, options = {}) {
  const response = await fetch(base + path, {
    method: options.method ?? 'GET',
    headers: {
      Authorization: `Bearer ${token}`,
      ...(options.body ? { 'Content-Type': 'application/json' } : {}),
    },
    body: options.body ? JSON.stringify(options.body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function all(token, path) {
  const items = [];
  let cursor = '';
  for (;;) {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api(token, `${path}${sep}limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
    items.push(...page.body.items);
    cursor = page.body.next_cursor;
    if (!cursor) return items;
  }
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  // As root (CI) Chromium refuses its sandbox.
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});

// A signed-in tab: the token is in sessionStorage before the page's script runs, as after the
// sign-in form. Console errors and page errors are collected per page.
async function tab(token, options = {}) {
  // bypassCSP lets the test inject axe-core; the page itself runs under its policy.
  const context = await browser.newContext({
    bypassCSP: true,
    viewport: { width: 1280, height: 900 },
    colorScheme: options.dark ? 'dark' : 'light',
  });
  if (token) {
    await context.addInitScript((t) => sessionStorage.setItem('moat.token', t), token);
  }
  const page = await context.newPage();
  page.errors = [];
  page.on('console', (message) => {
    if (message.type() === 'error') page.errors.push(message.text());
  });
  page.on('pageerror', (error) => page.errors.push(String(error)));
  return page;
}

// Waits until no loading indicator is left on the page.
async function settled(page) {
  await page.waitForSelector('main');
  await page.waitForFunction(() => document.querySelectorAll('[role="status"] .spinner').length === 0,
    null, { timeout: 15000 });
}

async function axe(page, name) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa'] } }),
  );
  const serious = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  check(`${name}: axe-core reports no serious violation`, serious.length === 0,
    serious.map((v) => `${v.id} (${v.nodes.length}): ${v.nodes[0]?.target}`).join('; '));
}

async function visit(page, name, path, { screenshot = name, accessibility = true } = {}) {
  page.errors.length = 0;
  await page.goto(base + path);
  await settled(page);
  await page.screenshot({ path: join(OUT, `${screenshot}.png`), fullPage: true });
  check(`${name}: renders with no console error`, page.errors.length === 0, page.errors.join(' | '));
  if (accessibility) await axe(page, name);
}

const text = async (page, testid) => (await page.getByTestId(testid).first().textContent())?.trim();
const metrics = {};

try {
  // ---- sign-in ----------------------------------------------------------------------------
  {
    const page = await tab('');
    await page.goto(base + '/');
    await page.getByLabel('API token').waitFor();
    await page.screenshot({ path: join(OUT, 'signin.png'), fullPage: true });
    check('sign-in: renders with no console error', page.errors.length === 0, page.errors.join(' | '));
    await axe(page, 'sign-in');
    await page.getByLabel('API token').fill('moat_not_a_token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    check('sign-in: an unknown token is refused with a message',
      /does not know this token/.test(await page.getByRole('alert').textContent()));
    await page.getByLabel('API token').fill(ANALYST_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('whoami').waitFor();
    check('sign-in: the analyst is signed in with name and role',
      (await text(page, 'whoami')) === 'alice (analyst)', await text(page, 'whoami'));
    check('sign-in: the token is kept in sessionStorage only',
      (await page.evaluate(() => [sessionStorage.getItem('moat.token'), localStorage.getItem('moat.token')]))
        .join(',') === `${ANALYST_TOKEN},`);
    await page.context().close();
  }

  // ---- overview: first load, numbers, charts --------------------------------------------
  {
    const page = await tab(ADMIN_TOKEN);
    const scripts = [];
    page.on('response', async (response) => {
      if (response.url().endsWith('.js')) {
        scripts.push(Number((await response.allHeaders())['content-length'] ?? 0));
      }
    });
    await page.goto(base + '/');
    await settled(page);
    // From the start of the navigation (the page's time origin) to every section drawn: the
    // page, its script, whoami and the overview's API calls.
    metrics.overview_first_load_ms = Math.round(await page.evaluate(() => performance.now()));
    metrics.first_page_js_bytes_transferred = scripts.reduce((a, b) => a + b, 0);
    await page.screenshot({ path: join(OUT, 'overview.png'), fullPage: true });
    check('overview: renders with no console error', page.errors.length === 0, page.errors.join(' | '));
    // The issue's target is 1 s (docs/benchmarks.md has the figure of a release build); this
    // debug/ASan server on a shared machine gets a looser bound that still catches a hang or a
    // request storm.
    check(`overview: first load in ${metrics.overview_first_load_ms} ms (under 5 s here)`,
      metrics.overview_first_load_ms < 5000);
    check(`overview: first-page JavaScript ${metrics.first_page_js_bytes_transferred} bytes compressed (under 300 KB)`,
      metrics.first_page_js_bytes_transferred > 0 && metrics.first_page_js_bytes_transferred < 300 * 1024);
    await axe(page, 'overview');

    const score = (await api(ADMIN_TOKEN, '/api/v1/score')).body;
    check('overview: the secure score is the API\'s',
      (await text(page, 'score-percent')) === String(Math.round(score.percent)),
      `${await text(page, 'score-percent')} vs ${score.percent}`);

    const recommendations = (await api(ADMIN_TOKEN, '/api/v1/recommendations')).body.items;
    for (const level of ['High', 'Medium', 'Low']) {
      const want = recommendations.filter((r) => r.severity === level).length;
      check(`overview: ${level} recommendations are the API's (${want})`,
        (await text(page, `rec-sev-${level}`)) === String(want), await text(page, `rec-sev-${level}`));
    }
    check('overview: there is at least one recommendation to show', recommendations.length > 0);

    const images = await all(ADMIN_TOKEN, '/api/v1/images');
    const worst = (v) => (v.critical ? 'CRITICAL' : v.high ? 'HIGH' : v.medium ? 'MEDIUM' : v.low ? 'LOW' : v.unknown ? 'UNKNOWN' : null);
    for (const severity of ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN']) {
      const want = images.filter((i) => worst(i.vulnerabilities) === severity).length;
      check(`overview: images whose worst is ${severity} are the API's (${want})`,
        (await text(page, `image-sev-${severity}`)) === String(want));
    }
    const vulnerable = images.filter((i) => worst(i.vulnerabilities));
    check(`overview: image totals are the API's (${vulnerable.length} of ${images.length})`,
      (await text(page, 'images-total')) === String(images.length) &&
        (await text(page, 'images-vulnerable')) === String(vulnerable.length) &&
        (await text(page, 'images-fixable')) ===
          String(vulnerable.filter((i) => i.vulnerabilities.fixable > 0).length));

    const agents = (await api(ADMIN_TOKEN, '/api/v1/agents')).body.items;
    const healthy = agents.filter((a) => a.last_heartbeat && Date.now() - Date.parse(a.last_heartbeat) <= 300000);
    check(`overview: agents' health is the API's (${healthy.length} of ${agents.length})`,
      (await text(page, 'agents-total')) === String(agents.length) &&
        (await text(page, 'agents-healthy')) === String(healthy.length));

    const alerts = await all(ADMIN_TOKEN, '/api/v1/alerts');
    check(`overview: alert counts are the API's (${alerts.length})`,
      (await text(page, 'alerts-total')) === String(alerts.length) &&
        (await text(page, 'alerts-active')) === String(alerts.filter((a) => a.status === 'active').length));
    check('overview: the alert timeline is drawn (uPlot canvas)',
      (await page.locator('[aria-label="Alerts over time by priority"].chart canvas').count()) === 1);

    // Keyboard: the first Tab reaches the skip link, which moves the focus to the content.
    await page.keyboard.press('Tab');
    const first = await page.evaluate(() => document.activeElement?.textContent?.trim());
    await page.keyboard.press('Enter');
    const focused = await page.evaluate(() => document.activeElement?.id);
    check('overview: keyboard: Tab then Enter skips to the content', first === 'Skip to content' && focused === 'main',
      `${first} -> ${focused}`);

    // ---- drill-down by clicks: overview -> image -> vulnerability ------------------------
    const topImage = page.getByTestId('top-image').first();
    const topName = (await topImage.textContent()).trim();
    await topImage.click();
    await page.getByTestId('finding-row').first().waitFor();
    await settled(page);
    const digest = (await text(page, 'image-digest')) ?? '';
    const findings = await all(ADMIN_TOKEN, `/api/v1/findings?resource_id=${encodeURIComponent(digest)}`);
    check(`drill-down: the image page of ${topName} lists the API's ${findings.length} vulnerabilities`,
      findings.length > 0 && (await page.getByTestId('finding-row').count()) === findings.length);
    await page.screenshot({ path: join(OUT, 'image.png'), fullPage: true });
    await axe(page, 'image');
    const link = page.getByTestId('finding-link').first();
    const findingId = (await link.textContent()).trim();
    await link.click();
    await page.getByTestId('vulnerability-cvss').first().waitFor();
    await settled(page);
    const finding = findings.find((f) => f.finding_id === findingId);
    check(`drill-down: the vulnerability page shows ${findingId} with the API's CVSS and fix`,
      (await text(page, 'vulnerability-id')) === findingId &&
        (await text(page, 'vulnerability-cvss')) === String(finding.cvss ?? 'not scored') &&
        (await text(page, 'vulnerability-fix')) ===
          (finding.fixed_version ? `upgrade to ${finding.fixed_version}` : 'no fixed version yet'));
    check('drill-down: the pages had no console error', page.errors.length === 0, page.errors.join(' | '));
    await page.screenshot({ path: join(OUT, 'vulnerability.png'), fullPage: true });
    await axe(page, 'vulnerability');
    await page.goBack();
    await page.getByTestId('finding-row').first().waitFor();
    check('drill-down: Back returns to the image', (await text(page, 'image-digest')) === digest);
    await page.context().close();
  }

  // ---- dark theme ---------------------------------------------------------------------
  {
    const page = await tab(ADMIN_TOKEN, { dark: true });
    await visit(page, 'overview (dark theme)', '/', { screenshot: 'overview-dark' });
    await page.getByLabel('Theme').selectOption('light');
    check('theme: the choice is applied and remembered',
      (await page.evaluate(() => [document.documentElement.dataset.theme, localStorage.getItem('moat.theme')]))
        .join() === 'light,light');
    await page.context().close();
  }

  // ---- images with filters in the URL, recommendations ------------------------------------
  {
    const page = await tab(READER_TOKEN);
    await visit(page, 'images', '/images');
    const images = await all(READER_TOKEN, '/api/v1/images');
    check(`images: every image of the API is listed (${images.length})`,
      (await page.getByTestId('image-row').count()) === images.length);
    await visit(page, 'images filtered', '/images?severity=CRITICAL', { screenshot: 'images-critical', accessibility: false });
    const critical = images.filter((i) => i.vulnerabilities.critical > 0).length;
    check(`images: ?severity=CRITICAL lists the ${critical} images with a critical finding`,
      (await page.getByTestId('image-row').count()) === critical &&
        (await page.getByLabel('With a finding of severity').inputValue()) === 'CRITICAL');
    await page.getByLabel('With a fix available').check();
    check('images: a filter changes the URL (shareable)', page.url().includes('fixable=1'), page.url());

    await visit(page, 'recommendations', '/recommendations');
    const recommendations = (await api(READER_TOKEN, '/api/v1/recommendations')).body.items;
    check(`recommendations: one row per recommendation (${recommendations.length})`,
      (await page.getByTestId('recommendation-row').count()) === recommendations.length);
    const first = page.getByTestId('recommendation-row').first().getByRole('link');
    const title = (await first.textContent()).trim();
    const rec = recommendations.find((r) => r.title === title);
    await first.click();
    await page.getByTestId('unhealthy-count').waitFor();
    await settled(page);
    const detail = (await api(READER_TOKEN, `/api/v1/recommendations/${rec.id}`)).body;
    check(`recommendation: ${rec.id} lists the API's ${detail.unhealthy.length} unhealthy resources`,
      (await page.getByTestId('unhealthy-row').count()) === detail.unhealthy.length &&
        (await text(page, 'unhealthy-count')) === String(detail.unhealthy.length));
    check('recommendation: no console error', page.errors.length === 0, page.errors.join(' | '));
    await page.screenshot({ path: join(OUT, 'recommendation.png'), fullPage: true });
    await axe(page, 'recommendation');

    // ---- a reader sees no triage button, and the API refuses the reader anyway ---------------
    await visit(page, 'alerts (reader)', '/alerts', { screenshot: 'alerts-reader', accessibility: false });
    const rows = await page.getByTestId('alert-row').count();
    check(`alerts: the reader sees the ${rows} active alerts and no triage button`,
      rows > 0 && (await page.getByTestId('dismiss').count()) === 0 &&
        (await page.getByTestId('resolve').count()) === 0);
    const id = await page.getByTestId('alert-row').first().getAttribute('data-alert-id');
    const refused = await api(READER_TOKEN, `/api/v1/alerts/${id}/status`, {
      method: 'POST',
      body: { status: 'dismissed', reason: 'reader tries' },
    });
    check('alerts: the API refuses a reader\'s dismissal (403)', refused.status === 403, String(refused.status));
    await page.context().close();
  }

  // ---- an analyst dismisses an alert with a reason ----------------------------------------
  {
    const page = await tab(ANALYST_TOKEN);
    await visit(page, 'alerts', '/alerts');
    const before = await page.getByTestId('alert-row').count();
    const row = page.getByTestId('alert-row').first();
    const id = await row.getAttribute('data-alert-id');
    await row.getByTestId('dismiss').click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await page.screenshot({ path: join(OUT, 'alerts-dismiss.png') });
    await dialog.getByTestId('reason').fill('expected: a debugging session');
    await dialog.getByTestId('confirm').click();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="alert-row"]').length === n - 1,
      before, { timeout: 10000 });
    const stored = (await api(ADMIN_TOKEN, `/api/v1/alerts/${id}`)).body;
    check('alerts: the analyst\'s dismissal is stored with who and why',
      stored.status === 'dismissed' && stored.status_by === 'alice' &&
        stored.status_reason === 'expected: a debugging session', JSON.stringify(stored).slice(0, 200));
    check('alerts: the dismissed alert leaves the active list', (await page.locator(`[data-alert-id="${id}"]`).count()) === 0);
    await visit(page, 'alert', `/alerts/${id}`);
    check('alert: its page shows the new status', (await text(page, 'alert-status')) === 'dismissed');
    const tree = await page.getByTestId('process-tree').locator('li').allTextContents();
    check('alert: the process tree runs from the oldest ancestor to the process',
      tree.length === 3 && tree[0].startsWith('nginx') && tree[2].trim().startsWith('bash'), tree.join(' > '));
    await visit(page, 'alerts (dismissed)', '/alerts?status=dismissed', { screenshot: 'alerts-dismissed', accessibility: false });
    check('alerts: ?status=dismissed lists it', (await page.locator(`[data-alert-id="${id}"]`).count()) === 1);
    check('alerts: no console error', page.errors.length === 0, page.errors.join(' | '));
    await page.context().close();
  }
} catch (error) {
  check('the browser test ran to its end', false, error.stack ?? String(error));
} finally {
  await browser.close();
  writeFileSync(join(OUT, 'metrics.json'), JSON.stringify(metrics, null, 2) + '\n');
}
console.log(`web browser: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
