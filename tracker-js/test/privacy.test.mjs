// Cases where nothing may be sent, and the attributes that override them.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { load, define } from './harness.mjs';

const LINK = '<a id="out" href="https://other.org/">out</a>';

// Loads the page, then tries every way of producing an event.
async function exercise(opts) {
  const page = await load({ body: LINK, ...opts });
  const { window } = page;
  let called = 0;
  window.footfall('Signup', { props: { plan: 'pro' }, callback: () => called++ });
  try {
    window.history.pushState({}, '', '/elsewhere');
  } catch (e) {
    // jsdom refuses any URL rewrite on file: pages (an opaque origin).
    assert.equal(window.location.protocol, 'file:', String(e));
  }
  window.document.getElementById('out').dispatchEvent(new window.MouseEvent('click', { bubbles: true }));
  return { ...page, called };
}

async function assertSilent(opts) {
  const page = await exercise(opts);
  assert.deepEqual(page.errors, []);
  assert.deepEqual(page.beacons, []);
  assert.deepEqual(page.fetches, []);
  // Ignored calls still run the callback so sites that wait on it don't hang.
  assert.equal(page.called, 1);
}

async function assertSends(opts) {
  const page = await exercise(opts);
  assert.deepEqual(page.errors, []);
  assert.deepEqual(
    page.events().map((e) => e.n),
    ['pageview', 'Signup', 'pageview', 'Outbound Link: Click'],
  );
  assert.equal(page.called, 1);
}

describe('does not send', () => {
  for (const url of [
    'http://localhost:3000/',
    'http://127.0.0.1:8080/page',
    'http://[::1]:8080/',
    'file:///home/me/site/index.html',
  ]) {
    test(`on ${url}`, () => assertSilent({ url }));
  }

  test('when localStorage.footfall_ignore is "true"', () =>
    assertSilent({ setup: (w) => w.localStorage.setItem('footfall_ignore', 'true') }));

  test('with navigator.doNotTrack "1"', () =>
    assertSilent({ setup: (w) => define(w.navigator, 'doNotTrack', '1') }));

  test('with navigator.globalPrivacyControl true', () =>
    assertSilent({ setup: (w) => define(w.navigator, 'globalPrivacyControl', true) }));

  test('under webdriver', () => assertSilent({ setup: (w) => define(w.navigator, 'webdriver', true) }));
});

describe('does send', () => {
  test('by default on a public host', () => assertSends({}));

  test('on hosts that merely contain "localhost"', () =>
    assertSends({ url: 'https://localhost.example.com/' }));

  test('with footfall_ignore set to anything but "true"', () =>
    assertSends({ setup: (w) => w.localStorage.setItem('footfall_ignore', 'false') }));

  test('with doNotTrack "0" / "unspecified" and GPC false', () =>
    assertSends({
      setup: (w) => {
        define(w.navigator, 'doNotTrack', 'unspecified');
        define(w.navigator, 'globalPrivacyControl', false);
      },
    }));

  test('with DNT when data-dnt="ignore"', () =>
    assertSends({
      attrs: { domain: 'example.com', dnt: 'ignore' },
      setup: (w) => define(w.navigator, 'doNotTrack', '1'),
    }));

  test('with GPC when data-dnt="ignore"', () =>
    assertSends({
      attrs: { domain: 'example.com', dnt: 'ignore' },
      setup: (w) => define(w.navigator, 'globalPrivacyControl', true),
    }));

  test('under webdriver when data-webdriver="allow"', () =>
    assertSends({
      attrs: { domain: 'example.com', webdriver: 'allow' },
      setup: (w) => define(w.navigator, 'webdriver', true),
    }));

  test('when reading localStorage throws', () =>
    assertSends({
      setup: (w) =>
        Object.defineProperty(w, 'localStorage', {
          configurable: true,
          get() {
            throw new w.DOMException('The operation is insecure.', 'SecurityError');
          },
        }),
    }));
});

test('opt-out takes effect without a reload', async () => {
  const page = await load();
  page.window.localStorage.setItem('footfall_ignore', 'true');
  page.window.footfall('After opt-out');
  page.window.localStorage.removeItem('footfall_ignore');
  page.window.footfall('After opt-in');
  assert.deepEqual(
    page.events().map((e) => e.n),
    ['pageview', 'After opt-in'],
  );
});

test('the tracker never writes cookies or storage', async () => {
  const page = await exercise({});
  assert.equal(page.document.cookie, '');
  assert.equal(page.window.localStorage.length, 0);
  assert.equal(page.window.sessionStorage.length, 0);
});
