// End-to-end driver for the live view in real headless Chromium (playwright-core, no bundled
// browser). Run by the Rust test tests/browser_live.rs, which runs the footfall server, creates
// the user and posts an event before; this script logs in, opens the live page, waits until
// the stream is connected, THEN posts events to /api/event (as a visitor's browser would, with
// the given user agent: footfall drops headless browsers as bots) and waits for them to appear
// in the table, reporting what it saw on screen.
//
//   node e2e/live.mjs '{"base":"http://127.0.0.1:N","email":"…","password":"…","chromium":"/usr/bin/chromium",
//                       "user_agent":"Mozilla/5.0 …","before":["/x"],"paths":["/a","/b"]}'
//
// `before`: pages of the events stored before the page opened, which must show up first;
// `paths`: pages of the events to post once the stream is connected.
//
// Prints one JSON line, {"ok":true,...what was read...}, and exits 0; on any failure prints the
// error and {"ok":false,"error":...} and exits 1. Console errors, page errors and CSP violations
// are collected in `console_errors` (the Rust side asserts there are none).

import { chromium } from 'playwright-core';

const TIMEOUT_MS = 10_000;
// Generous: the stream polls once a second, and this machine may be busy.
const EVENT_TIMEOUT_MS = 30_000;

const config = JSON.parse(process.argv[2] ?? '{}');
for (const key of ['base', 'email', 'password', 'chromium', 'user_agent', 'before', 'paths']) {
  if (!config[key]) throw new Error(`config lacks ${key}: ${process.argv[2]}`);
}
const BASE = config.base.replace(/\/$/, '');
const LIVE_PATH = '/sites/example.com/live';

const report = { steps: [], console_errors: [], script_responses: [] };
const step = (name, detail = {}) => report.steps.push({ step: name, ...detail });
const fail = (message) => {
  throw new Error(message);
};

// The table's rows, top first, each as its cells' text.
const readRows = (page) =>
  page.locator('#live-events tr').evaluateAll((rows) => rows.map((row) => [...row.cells].map((c) => c.textContent)));

// Waits until the table has a row for each of `paths` (its Page column).
const waitForPaths = (page, paths, what) =>
  page
    .waitForFunction(
      (paths) => {
        const shown = [...document.querySelectorAll('#live-events tr')].map((row) => row.cells[2]?.textContent);
        return paths.every((p) => shown.includes(p));
      },
      paths,
      { timeout: EVENT_TIMEOUT_MS },
    )
    .catch(async () => fail(`${what} did not appear; rows: ${JSON.stringify(await readRows(page))}`));

const browser = await chromium.launch({
  executablePath: config.chromium,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT_MS);
  page.on('console', (msg) => {
    if (msg.type() === 'error') report.console_errors.push({ url: page.url(), text: msg.text() });
  });
  page.on('pageerror', (error) => report.console_errors.push({ url: page.url(), text: `pageerror: ${error.message}` }));
  page.on('response', (response) => {
    if (response.request().resourceType() === 'script') {
      report.script_responses.push({ url: response.url(), status: response.status() });
    }
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} in ${e.sourceFile}:${e.lineNumber}`);
    });
  });

  // Log in on the way to the live page.
  await page.goto(`${BASE}${LIVE_PATH}`);
  if (new URL(page.url()).pathname !== '/login') fail(`expected the login page, got ${page.url()}`);
  await page.locator('input[name="email"]').fill(config.email);
  await page.locator('input[name="password"]').fill(config.password);
  await Promise.all([
    page.waitForURL((u) => u.pathname === LIVE_PATH, { timeout: TIMEOUT_MS }).catch(() => fail(`login did not land on ${LIVE_PATH}: ${page.url()}`)),
    page.getByRole('button', { name: 'Log in' }).click(),
  ]);
  step('opened the live page', { url: page.url() });

  // The script says so once the EventSource is open.
  const status = page.locator('#live-status');
  await page
    .waitForFunction(() => document.getElementById('live-status')?.textContent.startsWith('Connected'), null, { timeout: EVENT_TIMEOUT_MS })
    .catch(async () => fail(`the stream never connected; status: ${await status.textContent()}`));
  report.status_connected = await status.textContent();
  step('connected');
  // The events stored before the page opened come first (the stream's backlog).
  await waitForPaths(page, config.before, 'the events stored before');
  report.rows_at_open = await readRows(page);

  // Now the visitors arrive.
  for (const path of config.paths) {
    const response = await fetch(`${BASE}/api/event`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain;charset=UTF-8', 'User-Agent': config.user_agent },
      body: JSON.stringify({ n: 'pageview', u: `https://example.com${path}`, d: 'example.com' }),
    });
    if (response.status !== 202) fail(`POST /api/event for ${path}: ${response.status}`);
  }
  step('posted events', { paths: config.paths });

  await waitForPaths(page, config.paths, 'the events posted after');
  report.rows_after = await readRows(page);
  report.status_after = await status.textContent();
  step('events appeared');

  await context.close();
  console.log(JSON.stringify({ ok: true, ...report }));
} catch (error) {
  console.error(error?.stack ?? String(error));
  console.log(JSON.stringify({ ok: false, error: String(error?.message ?? error), ...report }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
