// End-to-end driver for the tracker in real headless Chromium (playwright-core, no bundled
// browser). Run by the Rust test tests/browser_tracker.rs, which serves the test page, runs the
// footfall server and checks what reached the database; this script only plays the visitor.
//
//   node e2e/drive.mjs '{"site_port":N,"stats_port":M,"chromium":"/usr/bin/chromium"}'
//
// `example.com` resolves to the test page server and `stats.footfall.test` to footfall (via
// --host-resolver-rules), so the page and the tracker see real origins. Every step that should
// send an event waits for footfall's answer to it before the next step, so events reach the
// server in the scenario's order; steps that must send nothing check that no request was made.
// Prints one JSON line, {"ok":true,"steps":[...]}, and exits 0; on any failure prints the
// error and exits 1.

import { chromium } from 'playwright-core';

const UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const SITE = 'http://example.com';
const COLLECT = 'http://stats.footfall.test/api/event';
// How long a page that must send nothing stays open (a beacon would be long sent by then).
const QUIET_MS = 500;

const config = JSON.parse(process.argv[2] ?? '{}');
for (const key of ['site_port', 'stats_port', 'chromium']) {
  if (!config[key]) throw new Error(`config lacks ${key}: ${process.argv[2]}`);
}

const steps = [];
const step = (name, detail = {}) => steps.push({ step: name, ...detail });

const fail = (message) => {
  throw new Error(message);
};

// Every request the tracker makes in a page, and footfall's answers to them.
const watch = (page) => {
  const sent = [];
  page.on('request', (request) => {
    if (request.url() === COLLECT) sent.push(JSON.parse(request.postData() ?? 'null'));
  });
  return sent;
};

// Runs `action` and waits for the one event it must send to be answered 202 by footfall;
// returns that event's body as the browser sent it.
const expectEvent = async (page, what, action) => {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url() === COLLECT, { timeout: 10_000 }),
    action(),
  ]);
  const status = response.status();
  if (status !== 202) fail(`${what}: footfall answered ${status}: ${await response.text()}`);
  const body = JSON.parse(response.request().postData() ?? 'null');
  step(what, { sent: body });
  return body;
};

// Runs `action` and checks that the tracker sent nothing within QUIET_MS.
const expectNothing = async (page, sent, what, action) => {
  const before = sent.length;
  await action();
  await page.waitForTimeout(QUIET_MS);
  if (sent.length !== before) fail(`${what} sent ${JSON.stringify(sent.slice(before))}`);
  step(`${what} sent nothing`);
};

const browser = await chromium.launch({
  executablePath: config.chromium,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    `--host-resolver-rules=MAP example.com 127.0.0.1:${config.site_port}, MAP stats.footfall.test 127.0.0.1:${config.stats_port}`,
  ],
});

const newContext = () => browser.newContext({ userAgent: UA, viewport: { width: 1280, height: 800 } });

try {
  // a-d: one visit.
  {
    const context = await newContext();
    const page = await context.newPage();
    await page.route('https://other.org/**', (route) =>
      route.fulfill({ body: '<p>elsewhere</p>', contentType: 'text/html' }),
    );
    const sent = watch(page);

    await expectEvent(page, 'landing pageview', () =>
      page.goto(`${SITE}/?utm_source=e2e&utm_campaign=launch`, {
        referer: 'https://news.ycombinator.com/',
      }),
    );
    await expectEvent(page, 'pushState pageview', () => page.click('#push'));
    // Same URL again: a new history entry, but the tracker must stay quiet; and so must the
    // popstate of going back from it, which lands on the same path.
    await expectNothing(page, sent, 'pushState of the same path', () => page.click('#push-again'));
    await expectNothing(page, sent, 'back to the same path', () => page.goBack());
    if (page.url() !== `${SITE}/spa/page2`) fail(`after one back the URL is ${page.url()}`);
    await expectEvent(page, 'popstate pageview', () => page.goBack());
    if (page.url() !== `${SITE}/?utm_source=e2e&utm_campaign=launch`) fail(`after two backs the URL is ${page.url()}`);
    await expectEvent(page, 'custom event', () => page.click('#signup'));
    // The beacon outlives the page it left, so footfall's answer is not reported to the page:
    // wait for the request only (the Rust side checks that it was stored).
    const [beacon] = await Promise.all([
      page.waitForRequest((r) => r.url() === COLLECT, { timeout: 10_000 }),
      page.waitForURL('https://other.org/landing'),
      page.click('#outbound'),
    ]);
    step('outbound click', { sent: JSON.parse(beacon.postData() ?? 'null') });
    if ((await page.textContent('p')) !== 'elsewhere') fail(`outbound navigation did not land: ${page.url()}`);
    step('outbound navigation happened', { url: page.url() });
    // Let the beacon finish before the context (and its network state) goes.
    await page.waitForTimeout(QUIET_MS);
    await context.close();
  }

  // e-f: pages that must send nothing. Each first proves that the tracker did load and that
  // the setting under test (`active`) is in force, so silence means the tracker chose not to
  // send; then waits QUIET_MS.
  const silent = async (what, path, init, active, act = async () => {}) => {
    const context = await newContext();
    await context.addInitScript(init);
    const page = await context.newPage();
    const sent = watch(page);
    await page.goto(`${SITE}${path}`);
    await page.waitForFunction(() => typeof window.footfall === 'function' && !window.footfall.q);
    if (!(await page.evaluate(active))) fail(`${what}: the setting is not in force`);
    await act(page);
    await page.waitForTimeout(QUIET_MS);
    if (sent.length) fail(`${what}: the tracker sent ${JSON.stringify(sent)}`);
    step(what);
    await context.close();
  };
  await silent(
    'opt-out sent nothing',
    '/optout',
    () => localStorage.setItem('footfall_ignore', 'true'),
    () => localStorage.footfall_ignore === 'true',
    async (page) => {
      await page.click('#signup');
      // The callback runs even when nothing is sent.
      await page.waitForFunction(() => window.signupCallbacks === 1);
    },
  );
  await silent(
    'DNT sent nothing',
    '/dnt',
    () => Object.defineProperty(Navigator.prototype, 'doNotTrack', { get: () => '1', configurable: true }),
    () => navigator.doNotTrack === '1',
  );
  await silent(
    'GPC sent nothing',
    '/gpc',
    () => Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true, configurable: true }),
    () => navigator.globalPrivacyControl === true,
  );

  // g: a sentinel pageview that the Rust side waits for.
  {
    const context = await newContext();
    const page = await context.newPage();
    await expectEvent(page, 'sentinel pageview', () => page.goto(`${SITE}/sentinel`));
    await context.close();
  }

  console.log(JSON.stringify({ ok: true, steps }));
} catch (error) {
  console.error(error?.stack ?? String(error));
  console.log(JSON.stringify({ ok: false, error: String(error?.message ?? error), steps }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
