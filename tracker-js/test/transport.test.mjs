import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { load, define, tick } from './harness.mjs';

describe('transport', () => {
  test('sendBeacon returning false falls back to fetch with keepalive', async () => {
    const page = await load({ beacon: 'false' });
    assert.equal(page.beacons.length, 1); // tried first
    assert.equal(page.fetches.length, 1);
    const { url, init } = page.fetches[0];
    assert.equal(url, 'https://stats.example.com/api/event');
    assert.equal(init.method, 'POST');
    assert.equal(init.keepalive, true);
    // A string body: fetch sends it as text/plain;charset=UTF-8, a CORS-simple
    // request like the beacon, so no preflight and no explicit header needed.
    assert.equal(typeof init.body, 'string');
    assert.equal(init.headers, undefined);
    assert.equal(init.credentials, undefined);
    assert.equal(JSON.parse(init.body).n, 'pageview');
  });

  test('missing sendBeacon falls back to fetch', async () => {
    const page = await load({ beacon: 'missing' });
    assert.deepEqual(page.errors, []);
    assert.equal(page.fetches.length, 1);
    assert.equal(page.fetches[0].url, 'https://stats.example.com/api/event');
  });

  test('a successful beacon does not also fetch', async () => {
    const page = await load();
    assert.equal(page.beacons.length, 1);
    assert.equal(page.fetches.length, 0);
  });

  test('a failing fetch is swallowed (no error, no unhandled rejection)', async () => {
    const rejections = [];
    const onRejection = (r) => rejections.push(r);
    process.on('unhandledRejection', onRejection);
    try {
      const page = await load({
        beacon: 'missing',
        setup: (w) => {
          w.fetch = () => Promise.reject(new TypeError('Failed to fetch'));
        },
      });
      page.window.footfall('Again');
      await tick(20);
      assert.deepEqual(page.errors, []);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
    assert.deepEqual(rejections, []);
  });

  test('no transport at all (no sendBeacon, no fetch) does not throw', async () => {
    const page = await load({
      beacon: 'missing',
      setup: (w) => {
        delete w.fetch;
      },
    });
    assert.doesNotThrow(() => page.window.footfall('Nothing'));
    page.window.history.pushState({}, '', '/x');
    assert.deepEqual(page.errors, []);
  });

  test('a throwing sendBeacon does not break the page', async () => {
    const page = await load({
      setup: (w) => {
        w.navigator.sendBeacon = () => {
          throw new TypeError('Beacons are only supported over HTTP(S).');
        };
      },
    });
    assert.deepEqual(page.errors, []);
    assert.doesNotThrow(() => page.window.footfall('X'));
  });
});

describe('prerendering', () => {
  // Simulates a page whose prerendering state the test controls.
  function prerenderSetup(state, prop) {
    return (w) => {
      if (prop === 'prerendering') {
        Object.defineProperty(w.document, 'prerendering', { configurable: true, get: () => state.on });
      } else {
        Object.defineProperty(w.document, 'visibilityState', {
          configurable: true,
          get: () => (state.on ? 'prerender' : 'visible'),
        });
      }
    };
  }

  for (const [prop, eventName] of [
    ['prerendering', 'prerenderingchange'],
    ['visibilityState', 'visibilitychange'],
  ]) {
    test(`document.${prop}: nothing until ${eventName}, then sent once`, async () => {
      const state = { on: true };
      const page = await load({
        body: '<a id="out" href="https://other.org/">out</a>',
        setup: prerenderSetup(state, prop),
      });
      const { window, document } = page;
      window.footfall('During prerender', { props: { a: 'b' } });
      assert.deepEqual(page.beacons, []);

      // Still prerendering: an unrelated visibility event must not flush.
      document.dispatchEvent(new window.Event(eventName));
      assert.deepEqual(page.beacons, []);

      state.on = false;
      document.dispatchEvent(new window.Event(eventName));
      assert.deepEqual(
        page.events().map((e) => [e.n, e.u]),
        [
          ['pageview', 'https://example.com/blog/post?utm_source=news'],
          ['During prerender', 'https://example.com/blog/post?utm_source=news'],
        ],
      );

      // Later visibility changes don't resend.
      document.dispatchEvent(new window.Event('visibilitychange'));
      document.dispatchEvent(new window.Event('prerenderingchange'));
      assert.equal(page.beacons.length, 2);

      // And once visible, events go out immediately.
      window.footfall('After');
      assert.equal(page.beacons.length, 3);
      assert.deepEqual(page.errors, []);
    });
  }

  test('a prerendered page that is never shown sends nothing', async () => {
    const page = await load({ setup: prerenderSetup({ on: true }, 'prerendering') });
    await tick(20);
    assert.deepEqual(page.beacons, []);
    assert.deepEqual(page.fetches, []);
  });

  test('an ordinary hidden (background) tab still sends', async () => {
    const page = await load({ setup: (w) => define(w.document, 'visibilityState', 'hidden') });
    assert.equal(page.beacons.length, 1);
  });
});

test('an inline copy without src or data-api stays silent and unbroken', async () => {
  const page = await load({ viaEval: true, src: null });
  assert.equal(typeof page.window.footfall, 'undefined');
  assert.deepEqual(page.errors, []);
  assert.deepEqual(page.beacons, []);
});

test('an inline copy with data-api works', async () => {
  const page = await load({
    viaEval: true,
    src: null,
    attrs: { domain: 'example.com', api: 'https://stats.example.com/api/event' },
  });
  assert.equal(page.beacons.length, 1);
  assert.equal(page.beacons[0].url, 'https://stats.example.com/api/event');
});
