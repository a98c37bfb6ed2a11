// footfall's /script.js for pages with Umami's snippet (issue 15): Umami's /api/send payload
// and umami.track(...), as Umami's tracker sends them.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { load, define } from './harness.mjs';

const ID = '94db1cb1-74f4-4a40-ad6c-962362670409';
const SRC = 'https://stats.example.com/script.js';
const umami = (opts = {}) =>
  load({
    ...opts,
    variant: 'umami.js',
    src: SRC,
    attrs: { 'website-id': ID, ...opts.attrs },
    setup: (w) => {
      define(w.screen, 'width', 1920);
      define(w.screen, 'height', 1080);
      opts.setup?.(w);
    },
  });
const sent = (page) => page.events();

describe('umami.js', () => {
  test("the landing sends Umami's event payload to <script origin>/api/send", async () => {
    const page = await umami({ referrer: 'https://news.example.org/item?id=1' });
    page.document.title = 'ignored after load';
    assert.deepEqual(page.errors, []);
    assert.equal(page.beacons[0].url, 'https://stats.example.com/api/send');
    assert.deepEqual(sent(page), [
      {
        type: 'event',
        payload: {
          website: ID,
          hostname: 'example.com',
          screen: '1920x1080',
          language: 'en-US',
          title: '',
          url: 'https://example.com/blog/post?utm_source=news',
          referrer: 'https://news.example.org/item?id=1',
        },
      },
    ]);
  });

  test('umami.track(name, data), (object) and (function); a same-site referrer is none', async () => {
    const page = await umami({ referrer: 'https://example.com/before' });
    page.window.umami.track('Signup', { plan: 'pro' });
    page.window.umami.track({ url: '/custom', name: 'Custom' });
    page.window.umami.track((props) => ({ ...props, name: 'Fn', data: { n: 1 } }));
    page.window.umami.identify('someone');
    const events = sent(page).map((e) => e.payload);
    assert.equal(events[0].referrer, '');
    assert.deepEqual(
      events.slice(1).map((p) => [p.name, p.data, p.url, p.website]),
      [
        ['Signup', { plan: 'pro' }, 'https://example.com/blog/post?utm_source=news', ID],
        ['Custom', undefined, '/custom', ID],
        ['Fn', { n: 1 }, 'https://example.com/blog/post?utm_source=news', ID],
      ],
    );
  });

  test('SPA navigation sends a pageview per new URL; data-umami-event clicks send events', async () => {
    const page = await umami({
      body: '<button id="b" data-umami-event="Signup" data-umami-event-plan="pro"><span id="in">go</span></button>',
    });
    page.window.history.pushState({}, '', '/pricing');
    page.window.history.replaceState({}, '', '/pricing');
    page.document.getElementById('in').click();
    assert.deepEqual(
      sent(page).map((e) => [e.payload.name, e.payload.url, e.payload.data]),
      [
        [undefined, 'https://example.com/blog/post?utm_source=news', undefined],
        [undefined, 'https://example.com/pricing', undefined],
        ['Signup', 'https://example.com/pricing', { plan: 'pro' }],
      ],
    );
  });

  test('data-host-url, data-exclude-search, data-exclude-hash, data-auto-track="false"', async () => {
    const page = await umami({
      url: 'https://example.com/a?x=1#top',
      attrs: { 'host-url': 'https://proxy.example.com/u/', 'exclude-search': 'true', 'exclude-hash': 'true' },
    });
    assert.equal(page.beacons[0].url, 'https://proxy.example.com/u/api/send');
    assert.equal(sent(page)[0].payload.url, 'https://example.com/a');
    const manual = await umami({ attrs: { 'auto-track': 'false' } });
    assert.deepEqual(sent(manual), []);
    manual.window.umami.track();
    assert.equal(sent(manual).length, 1);
  });

  test('nothing is sent on other domains than data-domains, with DNT, or with umami.disabled', async () => {
    const other = await umami({ attrs: { domains: 'shop.example.com, www.example.com' } });
    const dnt = await umami({ setup: (w) => define(w.navigator, 'doNotTrack', '1') });
    const disabled = await umami({ setup: (w) => w.localStorage.setItem('umami.disabled', '1') });
    const noId = await umami({ attrs: { 'website-id': '' } });
    for (const page of [other, dnt, disabled, noId]) {
      page.window.umami.track('x');
      assert.deepEqual(sent(page), []);
      assert.deepEqual(page.errors, []);
    }
  });
});
