// End-to-end driver for the dashboard in real headless Chromium (playwright-core, no bundled
// browser). Run by the Rust test tests/browser_dashboard.rs, which runs the footfall server,
// creates the user and posts the events; this script plays the site owner and reports what it
// saw on screen: it logs in, opens the site, clicks a row of the Page table to filter, switches
// the period, removes the filter; on the way it downloads the filtered Page table as CSV.
//
//   node e2e/dashboard.mjs '{"base":"http://127.0.0.1:N","email":"…","password":"…","chromium":"/usr/bin/chromium"}'
//
// An optional "screenshot" key names a PNG file for a full-page screenshot of the dashboard.
// Prints one JSON line, {"ok":true,...what was read...}, and exits 0; on any failure prints the
// error and {"ok":false,"error":...} and exits 1. Console errors, page errors and CSP violations
// are collected in `console_errors` (the Rust side asserts there are none).

import { readFile } from 'node:fs/promises';
import { chromium } from 'playwright-core';

const TIMEOUT_MS = 10_000;

const config = JSON.parse(process.argv[2] ?? '{}');
for (const key of ['base', 'email', 'password', 'chromium']) {
  if (!config[key]) throw new Error(`config lacks ${key}: ${process.argv[2]}`);
}
const BASE = config.base.replace(/\/$/, '');
const SITE_PATH = '/sites/example.com';

const report = { steps: [], console_errors: [] };
const step = (name, detail = {}) => report.steps.push({ step: name, ...detail });
const fail = (message) => {
  throw new Error(message);
};

const browser = await chromium.launch({
  executablePath: config.chromium,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});

// What the markup says (textContent: innerText would apply the CSS text-transform), with
// whitespace collapsed.
const text = async (locator) => ((await locator.textContent()) ?? '').replace(/\s+/g, ' ').trim();
const texts = async (locator) => (await locator.allTextContents()).map((t) => t.replace(/\s+/g, ' ').trim());

// The top figures, label → value.
const readFigures = async (page) => {
  const stats = page.locator('.top-stats .stat');
  const count = await stats.count();
  if (!count) fail(`no top figures on ${page.url()}`);
  const figures = {};
  for (let i = 0; i < count; i++) {
    const stat = stats.nth(i);
    const label = await text(stat.locator('.stat-label'));
    figures[label] = await text(stat.locator('.stat-value'));
  }
  return figures;
};

// The Page table (its caption is "Page"), row label → visitors.
const pageTable = (page) => page.getByRole('table', { name: 'Page', exact: true });
const readPageRows = async (page) => {
  const table = pageTable(page);
  await table.waitFor({ state: 'visible', timeout: TIMEOUT_MS }).catch(() => fail(`no visible Page table on ${page.url()}`));
  const rows = table.locator('tbody tr');
  const out = {};
  const count = await rows.count();
  for (let i = 0; i < count; i++) {
    const cells = rows.nth(i).locator('td');
    if ((await cells.count()) < 2) continue; // "No data for this period"
    const label = await text(cells.nth(0));
    out[label] = await text(cells.nth(1));
  }
  return out;
};

const chip = (page, label) => page.locator('ul.chips li').filter({ hasText: label });

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT_MS);
  page.on('console', (msg) => {
    if (msg.type() === 'error') report.console_errors.push({ url: page.url(), text: msg.text() });
  });
  page.on('pageerror', (error) => report.console_errors.push({ url: page.url(), text: `pageerror: ${error.message}` }));
  // CSP violations also show up as console errors; this catches any that do not.
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} in ${e.sourceFile}:${e.lineNumber}`);
    });
  });

  // Log in: the dashboard sends an anonymous visitor to the login page, which returns there.
  await page.goto(`${BASE}${SITE_PATH}`);
  const loginUrl = new URL(page.url());
  if (loginUrl.pathname !== '/login') fail(`expected the login page, got ${page.url()}`);
  if (loginUrl.searchParams.get('next') !== SITE_PATH) fail(`login page has next=${loginUrl.searchParams.get('next')}`);
  step('redirected to login', { url: page.url() });
  await page.locator('input[name="email"]').fill(config.email);
  await page.locator('input[name="password"]').fill(config.password);
  await Promise.all([
    page.waitForURL((u) => u.pathname === SITE_PATH, { timeout: TIMEOUT_MS }).catch(() => fail(`login did not land on ${SITE_PATH}: ${page.url()}`)),
    page.getByRole('button', { name: 'Log in' }).click(),
  ]);
  report.dashboard_url = page.url();
  step('logged in', { url: page.url() });
  const heading = await text(page.getByRole('heading', { level: 1 }));
  if (heading !== 'example.com') fail(`dashboard heading is ${JSON.stringify(heading)}`);

  report.figures_before = await readFigures(page);
  report.rows_before = await readPageRows(page);
  if (config.screenshot) await page.screenshot({ path: config.screenshot, fullPage: true });

  // Filter: click "/pricing" in the Page table.
  await Promise.all([
    page.waitForURL((u) => u.search.includes('f=page%3Ais%3A%2Fpricing'), { timeout: TIMEOUT_MS }).catch(() => fail(`clicking /pricing did not filter: ${page.url()}`)),
    pageTable(page).getByRole('link', { name: '/pricing', exact: true }).click(),
  ]);
  report.filtered_url = page.url();
  const pricingChip = chip(page, 'Page is /pricing');
  if (!(await pricingChip.isVisible())) fail(`no visible chip "Page is /pricing" on ${page.url()}`);
  report.chips_filtered = await texts(page.locator('ul.chips li'));
  report.figures_filtered = await readFigures(page);
  report.rows_filtered = await readPageRows(page);
  step('filtered by /pricing', { url: page.url() });

  // Download the filtered Page table with its "Export CSV" link, as a person would.
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: TIMEOUT_MS }).catch(() => fail('clicking Export CSV started no download')),
    pageTable(page).getByRole('link', { name: 'Export CSV' }).click(),
  ]);
  report.export_filename = download.suggestedFilename();
  report.export_csv = await readFile(await download.path(), 'utf8');
  step('exported the Page table', { file: report.export_filename });

  // Switch the period: the filter must survive.
  const periods = page.getByRole('navigation', { name: 'Period' });
  await Promise.all([
    page.waitForURL((u) => u.searchParams.get('period') === 'today', { timeout: TIMEOUT_MS }).catch(() => fail(`clicking Today did not switch the period: ${page.url()}`)),
    periods.getByRole('link', { name: 'Today', exact: true }).click(),
  ]);
  report.today_url = page.url();
  report.today_aria_current = await periods.getByRole('link', { name: 'Today', exact: true }).getAttribute('aria-current');
  report.active_periods = await texts(periods.locator('a[aria-current="page"]'));
  report.chip_after_period = await pricingChip.isVisible();
  report.period_label = await text(page.locator('.period-label'));
  report.figures_today = await readFigures(page);
  report.rows_today = await readPageRows(page);
  step('switched to today', { url: page.url() });

  // Remove the filter with the chip's × link.
  await Promise.all([
    page.waitForURL((u) => !u.search.includes('f='), { timeout: TIMEOUT_MS }).catch(() => fail(`removing the chip did not drop the filter: ${page.url()}`)),
    page.getByRole('link', { name: 'Remove filter Page is /pricing' }).click(),
  ]);
  report.unfiltered_url = page.url();
  report.chips_after_remove = await page.locator('ul.chips li').count();
  report.rows_after_remove = await readPageRows(page);
  step('removed the filter', { url: page.url() });

  await context.close();
  console.log(JSON.stringify({ ok: true, ...report }));
} catch (error) {
  console.error(error?.stack ?? String(error));
  console.log(JSON.stringify({ ok: false, error: String(error?.message ?? error), ...report }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
