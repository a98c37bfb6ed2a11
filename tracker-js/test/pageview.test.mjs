import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { load, define, tick, until } from './harness.mjs';

const pageviews = (page) => page.events().filter((e) => e.n === 'pageview');
const urls = (page) => pageviews(page).map((e) => e.u);

describe('pageview on load', () => {
  test('sends the contract payload to <script origin>/api/event', async () => {
    const page = await load({
      referrer: 'https://news.ycombinator.com/',
      setup: (w) => define(w, 'innerWidth', 1440),
    });
    assert.deepEqual(page.errors, []);
    assert.equal(page.beacons.length, 1);
    assert.equal(page.beacons[0].url, 'https://stats.example.com/api/event');
    // A string body is what makes sendBeacon send text/plain (no preflight).
    assert.equal(typeof page.beacons[0].body, 'string');
    assert.deepEqual(JSON.parse(page.beacons[0].body), {
      n: 'pageview',
      u: 'https://example.com/blog/post?utm_source=news',
      d: 'example.com',
      r: 'https://news.ycombinator.com/',
      w: 1440,
      h: 0,
    });
    assert.equal(page.fetches.length, 0);
  });

  test('empty referrer is sent as null; no p without props', async () => {
    const page = await load();
    const [event] = page.events();
    assert.equal(event.r, null);
    assert.equal('p' in event, false);
  });

  test('drops the hash from u without data-hash', async () => {
    const page = await load({ url: 'https://example.com/docs?x=1#install' });
    assert.deepEqual(urls(page), ['https://example.com/docs?x=1']);
  });

  test('endpoint follows the script src origin, including port', async () => {
    const page = await load({ src: 'https://cdn.stats.example.org:8443/js/script.js' });
    assert.equal(page.beacons[0].url, 'https://cdn.stats.example.org:8443/api/event');
  });

  test('data-api overrides the endpoint', async () => {
    const page = await load({
      attrs: { domain: 'example.com', api: 'https://example.com/proxy/event' },
    });
    assert.equal(page.beacons.length, 1);
    assert.equal(page.beacons[0].url, 'https://example.com/proxy/event');
  });

  test('finds its tag without document.currentScript (last data-domain script)', async () => {
    const page = await load({ viaEval: true, attrs: { domain: 'fallback.example' } });
    assert.deepEqual(page.errors, []);
    assert.equal(page.beacons.length, 1);
    assert.equal(page.beacons[0].url, 'https://stats.example.com/api/event');
    assert.equal(page.events()[0].d, 'fallback.example');
  });

  test('creates no globals besides window.footfall (and window.plausible in script.js)', async () => {
    const baseline = await load({ serve: false });
    const page = await load();
    const before = new Set(Object.getOwnPropertyNames(baseline.window));
    const added = Object.getOwnPropertyNames(page.window).filter((k) => !before.has(k));
    // script.js is also what Plausible's plain snippet loads (issue 15); the engagement build is not.
    assert.deepEqual(added, process.env.FOOTFALL_TRACKER_BUILD === 'engagement' ? ['footfall'] : ['footfall', 'plausible']);
    assert.equal(typeof page.window.footfall, 'function');
  });
});

describe('single-page app navigation', () => {
  test('pushState to a new path sends a pageview; to the same path does not', async () => {
    const page = await load();
    const h = page.window.history;
    h.pushState({}, '', '/pricing');
    h.pushState({ some: 'state' }, '', '/pricing');
    h.pushState({}, '', '/pricing?plan=pro');
    assert.deepEqual(urls(page), [
      'https://example.com/blog/post?utm_source=news',
      'https://example.com/pricing',
      'https://example.com/pricing?plan=pro',
    ]);
    assert.deepEqual(page.errors, []);
  });

  test('replaceState with the same path sends nothing, a new path sends a pageview', async () => {
    const page = await load();
    const h = page.window.history;
    h.replaceState({ scroll: 10 }, '');
    h.replaceState({ scroll: 20 }, '', '/blog/post?utm_source=news');
    assert.equal(pageviews(page).length, 1);
    h.replaceState({}, '', '/blog/post');
    assert.deepEqual(urls(page).slice(1), ['https://example.com/blog/post']);
  });

  test('pushState still works for the page (state and URL applied)', async () => {
    const page = await load();
    page.window.history.pushState({ a: 1 }, '', '/x');
    assert.equal(page.window.location.pathname, '/x');
    assert.deepEqual(page.window.history.state, { a: 1 });
  });

  test('popstate (back) sends a pageview for the restored path', async () => {
    const page = await load();
    page.window.history.pushState({}, '', '/next');
    page.window.history.back();
    await until(() => urls(page).length >= 3);
    await tick(20); // and nothing more arrives
    assert.deepEqual(urls(page), [
      'https://example.com/blog/post?utm_source=news',
      'https://example.com/next',
      'https://example.com/blog/post?utm_source=news',
    ]);
  });

  test('hash-only changes are ignored without data-hash', async () => {
    const page = await load();
    page.window.history.pushState({}, '', '#section');
    page.window.location.hash = 'other';
    await tick(20);
    assert.equal(pageviews(page).length, 1);
  });
});

describe('hash mode (data-hash)', () => {
  const hashPage = () =>
    load({ url: 'https://example.com/app#/inbox', attrs: { domain: 'example.com', hash: true } });

  test('keeps the hash in u', async () => {
    const page = await hashPage();
    assert.deepEqual(urls(page), ['https://example.com/app#/inbox']);
  });

  test('hashchange sends exactly one pageview per new hash', async () => {
    const page = await hashPage();
    page.window.location.hash = '/settings';
    await tick(20);
    // Fragment navigation fires both popstate and hashchange: deduped to one.
    assert.deepEqual(urls(page), ['https://example.com/app#/inbox', 'https://example.com/app#/settings']);
    page.window.location.hash = '/settings';
    await tick(20);
    assert.equal(pageviews(page).length, 2);
  });

  test('pushState with only a new hash counts', async () => {
    const page = await hashPage();
    page.window.history.pushState({}, '', '#/compose');
    assert.deepEqual(urls(page).slice(1), ['https://example.com/app#/compose']);
  });
});
