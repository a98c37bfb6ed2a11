// End-to-end driver for engagement (script.engagement.js) in real headless Chromium, run by
// tests/browser_engagement.rs: a visitor opens a long page, moves and scrolls for a few seconds,
// then closes the tab. This script checks that the tracker sent the pageview and at most one
// engagement update, for that page; the Rust test checks what was stored on the pageview.
//
//   node e2e/engagement.mjs '{"site_port":N,"stats_port":M,"chromium":"/usr/bin/chromium"}'
//
// Prints one JSON line, {"ok":true,"steps":[...]}, and exits 0; on failure the error, exit 1.

import { chromium } from 'playwright-core';

const UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const SITE = 'http://example.com';
const COLLECT = 'http://stats.footfall.test/api/event';

const config = JSON.parse(process.argv[2] ?? '{}');
for (const key of ['site_port', 'stats_port', 'chromium']) {
  if (!config[key]) throw new Error(`config lacks ${key}: ${process.argv[2]}`);
}
const steps = [];
const fail = (message) => {
  throw new Error(message);
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

try {
  const context = await browser.newContext({ userAgent: UA, viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const sent = [];
  const answered = [];
  // On the context: a beacon sent at pagehide belongs to the document being left.
  context.on('request', (r) => {
    if (r.url() === COLLECT) sent.push(JSON.parse(r.postData() ?? 'null'));
  });
  context.on('response', (r) => {
    if (r.url() === COLLECT) answered.push(r.status());
  });
  await Promise.all([
    page.waitForResponse((r) => r.url() === COLLECT, { timeout: 10_000 }),
    page.goto(`${SITE}/long`),
  ]);
  await page.bringToFront();
  steps.push({ step: 'pageview', sent: sent[0], focused: await page.evaluate(() => document.hasFocus()) });
  // About three seconds of activity: a pointer move every half second, and a scroll to
  // 2000 px of the 4000 px page (2000 + 800 visible: 70 %).
  for (let i = 0; i < 6; i++) {
    await page.mouse.move(100 + i * 10, 100 + i * 10);
    await page.waitForTimeout(500);
  }
  await page.evaluate(() => window.scrollTo(0, 2000));
  await page.mouse.move(300, 300);
  await page.waitForTimeout(300);
  await page.mouse.move(310, 310);
  // Leaving: the visitor closes the tab, which hides the page and sends the update. (A
  // navigation by page.goto does not deliver a pagehide beacon in headless Chromium here; the
  // jsdom tests cover that path and SPA navigation.)
  await page.close({ runBeforeUnload: true });
  for (let i = 0; i < 50 && answered.length < 2; i++) await new Promise((r) => setTimeout(r, 100));
  // Playwright may not see a beacon sent by a document being unloaded; what was stored is the
  // Rust test's to check. When it did see it, it is checked here too.
  const updates = sent.filter((b) => b?.n === 'engagement');
  if (updates.length > 1) fail(`more than one engagement update: ${JSON.stringify(sent)}`);
  for (const u of updates) {
    if (u.u !== `${SITE}/long`) fail(`the update is for ${u.u}`);
    if (u.s !== 70) fail(`scroll depth ${u.s}, expected 70`);
  }
  if (answered.some((s) => s !== 202)) fail(`footfall answered ${JSON.stringify(answered)}`);
  steps.push({ step: 'left', updates }, { step: 'all sent', sent });
  await context.close();
  console.log(JSON.stringify({ ok: true, steps }));
} catch (e) {
  console.error(e?.stack ?? String(e));
  console.log(JSON.stringify({ ok: false, steps }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
