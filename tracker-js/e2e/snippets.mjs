// End-to-end driver for Plausible's and Umami's snippets against footfall in real headless
// Chromium (issue 15). Run by tests/browser_snippets.rs, which serves one page per snippet,
// runs footfall and checks what reached the database; this script only plays the visitor.
//
//   node e2e/snippets.mjs '{"site_port":N,"stats_port":M,"chromium":"/usr/bin/chromium",
//                           "scenarios":[{"name":"…","steps":[{"goto":"/path","expect":1}, …]}]}'
//
// A step is one of {"goto": path}, {"click": selector}, {"eval": script} (run in the page),
// with "expect": how many requests to footfall's collection endpoints (/api/event,
// /api/send) it must cause. Each such request is waited for, and so is footfall's answer
// unless the step leaves the page ("leaves": true: a beacon outlives the page, its answer is
// not reported), so events reach the server in the scenario's order; a step expecting 0
// checks that nothing was sent. Each scenario has a browser context of its own.
//
// Pages are the snippets as their vendors document them: no data-webdriver attribute, so the
// browser runs with navigator.webdriver off (--disable-blink-features=AutomationControlled).
// Prints one JSON line, {"ok":true,"steps":[...]}, and exits 0; on failure prints the error
// and exits 1.

import { chromium } from 'playwright-core';

const UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const SITE = 'http://example.com';
const COLLECT = /^http:\/\/stats\.footfall\.test\/api\/(event|send)$/;
const QUIET_MS = 400;

const config = JSON.parse(process.argv[2] ?? '{}');
for (const key of ['site_port', 'stats_port', 'chromium', 'scenarios']) {
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
    '--disable-blink-features=AutomationControlled',
    `--host-resolver-rules=MAP example.com 127.0.0.1:${config.site_port}, MAP stats.footfall.test 127.0.0.1:${config.stats_port}, MAP other.org 127.0.0.1:${config.site_port}`,
  ],
});

try {
  for (const scenario of config.scenarios) {
    const context = await browser.newContext({ userAgent: UA, viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const sent = [];
    page.on('request', (r) => COLLECT.test(r.url()) && sent.push(r));
    for (const s of scenario.steps) {
      const what = `${scenario.name}: ${JSON.stringify(s)}`;
      const before = sent.length;
      const expect = s.expect ?? 0;
      if (s.goto) await page.goto(SITE + s.goto, { referer: s.referer });
      else if (s.click) await page.click(s.click);
      else if (s.eval) await page.evaluate(s.eval);
      const deadline = Date.now() + 10_000;
      while (sent.length < before + expect && Date.now() < deadline) await page.waitForTimeout(20);
      if (expect === 0 || s.leaves) await page.waitForTimeout(QUIET_MS);
      const mine = sent.slice(before);
      if (mine.length !== expect) {
        fail(`${what} sent ${mine.length} requests, not ${expect}: ${mine.map((r) => r.postData()).join(' | ')}`);
      }
      if (!s.leaves && expect > 0) {
        // Every answer of the step's requests, in order; footfall refuses nothing here.
        for (const request of mine) {
          const response = await request.response();
          const status = response?.status();
          if (status !== 202 && status !== 200) fail(`${what}: footfall answered ${status}: ${await response?.text()}`);
        }
      }
      steps.push({ step: what, sent: mine.map((r) => JSON.parse(r.postData() ?? 'null')) });
    }
    await context.close();
  }
  console.log(JSON.stringify({ ok: true, steps }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: String(e?.stack ?? e), steps }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
