// Engagement (issue 14), in the script.engagement.js build: engaged time and
// scroll depth per pageview, reported as one cumulative `engagement` update
// when the page is hidden or left, and before an SPA navigation's pageview.
// The clock, visibility, focus and geometry are all the test's, so every
// figure below is exact.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { load } from './harness.mjs';

const URL0 = 'https://example.com/blog/post?utm_source=news';

/**
 * Loads the engagement build with a controlled page: `state` holds the clock
 * (ms), visibility, focus, scroll position and sizes; the helpers move them
 * and fire the events a browser would.
 */
async function engagementPage(opts = {}) {
  const state = { now: 1_000_000, hidden: false, focus: true, scrollY: 0, innerHeight: 800, scrollHeight: 4000 };
  const getter = (obj, name, get) => Object.defineProperty(obj, name, { configurable: true, get });
  const page = await load({
    engagement: true,
    ...opts,
    setup: (w) => {
      w.Date.now = () => state.now;
      getter(w.document, 'hidden', () => state.hidden);
      getter(w.document, 'visibilityState', () => (state.hidden ? 'hidden' : 'visible'));
      w.document.hasFocus = () => state.focus;
      getter(w, 'scrollY', () => state.scrollY);
      getter(w, 'innerHeight', () => state.innerHeight);
      getter(w.HTMLHtmlElement.prototype, 'scrollHeight', () => state.scrollHeight);
      opts.setup?.(w);
    },
  });
  const { window, document } = page;
  const fire = (target, type) => target.dispatchEvent(new window.Event(type));
  return {
    ...page,
    state,
    wait: (ms) => (state.now += ms),
    act: (type = 'pointermove') => fire(window, type),
    scrollTo: (y) => {
      state.scrollY = y;
      fire(window, 'scroll');
    },
    hide: () => {
      state.hidden = true;
      fire(document, 'visibilitychange');
    },
    show: () => {
      state.hidden = false;
      fire(document, 'visibilitychange');
    },
    blur: () => {
      state.focus = false;
      fire(window, 'blur');
    },
    focus: () => {
      state.focus = true;
      fire(window, 'focus');
    },
    pagehide: () => fire(window, 'pagehide'),
    updates: () => page.events().filter((e) => e.n === 'engagement'),
  };
}

describe('engagement update', () => {
  test('is sent once on hide, with the contract payload', async () => {
    const page = await engagementPage();
    page.wait(3000);
    page.act();
    page.wait(2000);
    page.scrollTo(1200); // (1200 + 800) / 4000: 50 %
    page.wait(1000);
    page.hide();
    page.pagehide(); // follows the hide when the page is left: same totals, not sent again
    assert.deepEqual(page.errors, []);
    assert.equal(page.beacons.length, 2);
    assert.equal(page.beacons[1].url, 'https://stats.example.com/api/event');
    assert.equal(typeof page.beacons[1].body, 'string');
    assert.deepEqual(JSON.parse(page.beacons[1].body), {
      n: 'engagement',
      u: URL0,
      d: 'example.com',
      h: 0,
      e: 6000,
      s: 50,
    });
  });

  test('is sent on pagehide alone (browsers that skip the visibilitychange)', async () => {
    const page = await engagementPage();
    page.wait(4000);
    page.pagehide();
    assert.deepEqual(
      page.updates().map((u) => [u.e, u.s]),
      [[4000, 20]],
    );
  });

  test('is not sent again when nothing changed', async () => {
    const page = await engagementPage();
    page.wait(2000);
    page.hide();
    page.show();
    page.hide(); // visible for 0 ms: same totals
    page.pagehide();
    assert.equal(page.updates().length, 1);
  });

  test('after the page is visible again, a second update carries the cumulative totals', async () => {
    const page = await engagementPage();
    page.wait(2000);
    page.hide();
    page.wait(60_000);
    page.show();
    page.wait(3000);
    page.scrollTo(3200);
    page.wait(1000);
    page.hide();
    assert.deepEqual(
      page.updates().map((u) => [u.u, u.e, u.s]),
      [
        [URL0, 2000, 20],
        [URL0, 6000, 100],
      ],
    );
  });

  test('goes through the fetch keepalive fallback when sendBeacon refuses', async () => {
    const page = await engagementPage({ beacon: 'false' });
    page.wait(1000);
    page.hide();
    const last = page.fetches.at(-1);
    assert.equal(last.init.keepalive, true);
    assert.equal(JSON.parse(last.init.body).n, 'engagement');
  });
});

describe('engaged time', () => {
  test('does not count hidden time', async () => {
    const page = await engagementPage();
    page.wait(1000);
    page.hide();
    page.wait(30_000);
    page.act('keydown'); // a hidden page gets no input, but if it did it would not count
    page.wait(30_000);
    page.show();
    page.wait(500);
    page.pagehide();
    assert.deepEqual(
      page.updates().map((u) => u.e),
      [1000, 1500],
    );
  });

  test('counts at most 10 s after the last input', async () => {
    const page = await engagementPage();
    page.wait(2000);
    page.act('pointerdown');
    page.wait(45_000); // reading without input: only the first 10 s count
    page.act('keydown');
    page.wait(12_000);
    page.hide();
    assert.equal(page.updates()[0].e, 2000 + 10_000 + 10_000);
  });

  test('a wall clock set back takes nothing away', async () => {
    const page = await engagementPage();
    page.wait(3000);
    page.act();
    page.wait(-60_000);
    page.act();
    page.wait(1000);
    page.hide();
    assert.equal(page.updates()[0].e, 4000);
  });

  test('every kind of input keeps the visitor active', async () => {
    const page = await engagementPage();
    for (const type of ['scroll', 'keydown', 'pointermove', 'pointerdown']) {
      page.wait(9000);
      page.act(type);
    }
    page.hide();
    assert.equal(page.updates()[0].e, 36_000);
  });

  test('does not count while the window has no focus', async () => {
    const page = await engagementPage();
    page.wait(3000);
    page.blur();
    page.wait(5000);
    page.act('pointermove'); // the mouse passing over a window in the background
    page.wait(5000);
    page.focus();
    page.wait(2000);
    page.hide();
    assert.equal(page.updates()[0].e, 5000);
  });

  test('a page loaded in a background tab and closed unseen reports nothing', async () => {
    const page = await engagementPage({ setup: (w) => (w.document.hasFocus = () => false) });
    page.state.hidden = true;
    page.wait(20_000);
    page.pagehide();
    assert.deepEqual(page.updates(), []);
  });
});

describe('scroll depth', () => {
  test('keeps the deepest position reached', async () => {
    const page = await engagementPage();
    page.scrollTo(2600); // (2600 + 800) / 4000: 85 %
    page.scrollTo(0);
    page.wait(1000);
    page.hide();
    assert.equal(page.updates()[0].s, 85);
  });

  test('rounds to a whole percent', async () => {
    const page = await engagementPage();
    page.scrollTo(1); // 801 / 4000 = 20.025 %
    page.hide();
    page.show();
    page.scrollTo(1019); // 1819 / 4000 = 45.475 %
    page.hide();
    assert.deepEqual(
      page.updates().map((u) => u.s),
      [20, 45],
    );
  });

  test('a page shorter than the viewport is 100', async () => {
    const page = await engagementPage();
    page.state.scrollHeight = 500;
    page.hide();
    assert.equal(page.updates()[0].s, 100);
  });
});

describe('single-page navigation', () => {
  test('reports the old page, with its URL, before the new pageview, then starts from zero', async () => {
    const page = await engagementPage();
    page.wait(4000);
    page.scrollTo(1200);
    page.window.history.pushState({}, '', '/pricing');
    page.wait(1000);
    page.hide();
    assert.deepEqual(
      page.events().map((e) => [e.n, e.u, e.e, e.s]),
      [
        ['pageview', URL0, undefined, undefined],
        ['engagement', URL0, 4000, 50],
        ['pageview', 'https://example.com/pricing', undefined, undefined],
        ['engagement', 'https://example.com/pricing', 1000, 50],
      ],
    );
  });

  test('a push of the same path is no navigation: nothing reported', async () => {
    const page = await engagementPage();
    page.wait(1000);
    page.window.history.pushState({}, '', '/blog/post?utm_source=news');
    assert.deepEqual(page.updates(), []);
  });
});

describe('nothing is reported', () => {
  test('when the visitor opted out', async () => {
    const page = await engagementPage({ setup: (w) => w.localStorage.setItem('footfall_ignore', 'true') });
    page.wait(5000);
    page.scrollTo(1000);
    page.hide();
    page.pagehide();
    assert.deepEqual(page.beacons, []);
    assert.deepEqual(page.fetches, []);
  });

  test('for a pageview that was not sent, even after opting back in', async () => {
    const page = await engagementPage({ setup: (w) => w.localStorage.setItem('footfall_ignore', 'true') });
    page.wait(5000);
    page.window.localStorage.removeItem('footfall_ignore');
    page.hide();
    assert.deepEqual(page.beacons, []);
  });

  test('when the visitor opts out before leaving', async () => {
    const page = await engagementPage();
    page.wait(5000);
    page.window.localStorage.setItem('footfall_ignore', 'true');
    page.hide();
    assert.deepEqual(
      page.events().map((e) => e.n),
      ['pageview'],
    );
  });

  test('on localhost', async () => {
    const page = await engagementPage({ url: 'http://localhost:3000/' });
    page.wait(5000);
    page.hide();
    assert.deepEqual(page.beacons, []);
  });

  test('by the default script.js, which has no engagement', async () => {
    const page = await engagementPage({ engagement: false });
    page.wait(5000);
    page.scrollTo(1000);
    page.hide();
    page.pagehide();
    assert.deepEqual(
      page.events().map((e) => e.n),
      ['pageview'],
    );
  });
});
