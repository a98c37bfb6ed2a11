// The files Plausible snippets load (issue 15): each build does what its name asks for, and
// window.plausible / plausible.q work as on Plausible. Names and behaviours as Plausible's
// tracker documents them; see the README's "Switching from Plausible / Umami".
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { load, tick } from './harness.mjs';

const PLAUSIBLE_STUB =
  '<script>window.plausible=window.plausible||function(){(window.plausible.q=window.plausible.q||[]).push(arguments)}</script>';
const custom = (page) => page.events().filter((e) => e.n !== 'pageview');
const pageviews = (page) => page.events().filter((e) => e.n === 'pageview');
const variant = (extensions) => `plausible/script${extensions ? '.' + extensions : ''}.js`;

// Dispatches a click (or another mouse event) on #id and checks nothing cancelled it.
const fire = (page, id, type = 'click', init = {}) => {
  const event = new page.window.MouseEvent(type, { bubbles: true, cancelable: true, ...init });
  page.document.getElementById(id).dispatchEvent(event);
  assert.equal(event.defaultPrevented, false, `${type} on #${id} was prevented`);
};

describe('window.plausible in script.js', () => {
  test('plausible(name, {props, revenue, callback}) sends like footfall()', async () => {
    const page = await load({ url: 'https://example.com/checkout' });
    let called = 0;
    page.window.plausible('Purchase', {
      props: { plan: 'pro' },
      revenue: { amount: 12.5, currency: 'EUR' },
      callback: () => called++,
    });
    assert.equal(called, 1);
    assert.deepEqual(custom(page), [
      {
        n: 'Purchase',
        u: 'https://example.com/checkout',
        d: 'example.com',
        r: null,
        w: 1024,
        h: 0,
        p: { plan: 'pro' },
        $: { amount: 12.5, currency: 'EUR' },
      },
    ]);
    assert.equal(page.window.plausible, page.window.footfall);
  });

  test("calls queued in Plausible's stub are replayed after the pageview, with footfall's", async () => {
    const page = await load({
      head:
        PLAUSIBLE_STUB +
        '<script>window.footfall=window.footfall||function(){(window.footfall.q=window.footfall.q||[]).push(arguments)}</script>' +
        `<script>plausible('Early', {props: {step: 1}}); footfall('Also early'); plausible('Cb', {callback: function () { window.cb = 1 }})</script>`,
    });
    assert.deepEqual(page.errors, []);
    assert.deepEqual(
      page.events().map((e) => e.n),
      ['pageview', 'Also early', 'Early', 'Cb'],
    );
    assert.equal(page.window.cb, 1);
    assert.equal(page.window.plausible.q, undefined);
  });

  test('data-api sets the endpoint', async () => {
    const page = await load({ attrs: { domain: 'example.com', api: 'https://example.com/stats/event' } });
    assert.equal(page.beacons[0].url, 'https://example.com/stats/event');
  });
});

describe('plausible/ builds', () => {
  test('script.js (compat, local, revenue): pageviews and custom events, no link events, no footfall global', async () => {
    const page = await load({
      variant: variant(''),
      head: PLAUSIBLE_STUB + `<script>plausible('Queued')</script>`,
      body: '<a id="out" href="https://other.org/">out</a><a id="pdf" href="/a.pdf">pdf</a>',
    });
    fire(page, 'out');
    fire(page, 'pdf');
    assert.deepEqual(
      page.events().map((e) => e.n),
      ['pageview', 'Queued'],
    );
    assert.equal(page.window.footfall, undefined);
    assert.equal(typeof page.window.plausible, 'function');
  });

  test('hash: the hash stays in u, h is 1, hashchange is a pageview', async () => {
    const page = await load({ variant: variant('hash'), url: 'https://example.com/app#/home' });
    page.window.location.hash = '#/settings';
    await tick(5);
    assert.deepEqual(
      pageviews(page).map((e) => [e.u, e.h]),
      [
        ['https://example.com/app#/home', 1],
        ['https://example.com/app#/settings', 1],
      ],
    );
  });

  test('manual: no automatic pageview; plausible("pageview", {u}) sends one with that URL', async () => {
    const page = await load({ variant: variant('manual'), url: 'https://example.com/users/123' });
    page.window.history.pushState({}, '', '/users/456');
    assert.deepEqual(page.events(), []);
    page.window.plausible('pageview', { u: 'https://example.com/users/:id' });
    page.window.plausible('pageview');
    page.window.plausible('Signup', { url: 'https://example.com/signup/:step', props: { a: 1 } });
    assert.deepEqual(
      page.events().map((e) => [e.n, e.u]),
      [
        ['pageview', 'https://example.com/users/:id'],
        ['pageview', 'https://example.com/users/456'],
        ['Signup', 'https://example.com/signup/:step'],
      ],
    );
  });

  test('outbound-links: "Outbound Link: Click" with props.url; downloads are not tracked', async () => {
    const page = await load({
      variant: variant('outbound-links'),
      body: '<a id="out" href="https://other.org/x?y=1"><b id="in">x</b></a><a id="pdf" href="/a.pdf">pdf</a>',
    });
    fire(page, 'in');
    fire(page, 'pdf');
    assert.deepEqual(
      custom(page).map((e) => [e.n, e.p]),
      [['Outbound Link: Click', { url: 'https://other.org/x?y=1' }]],
    );
  });

  test("file-downloads: Plausible's default list, url without its query, outbound links not tracked", async () => {
    const page = await load({
      variant: variant('file-downloads'),
      body: `<a id="pdf" href="/files/report.pdf?v=2">pdf</a>
        <a id="docx" href="https://cdn.other.org/a.docx">docx</a>
        <a id="doc" href="/a.doc">doc (footfall's list only)</a>
        <a id="upper" href="/A.PDF">upper case</a>
        <a id="out" href="https://other.org/">out</a>`,
    });
    for (const id of ['pdf', 'docx', 'doc', 'upper', 'out']) fire(page, id);
    assert.deepEqual(
      custom(page).map((e) => [e.n, e.p.url]),
      [
        ['File Download', 'https://example.com/files/report.pdf'],
        ['File Download', 'https://cdn.other.org/a.docx'],
      ],
    );
  });

  test('file-downloads: file-types replaces the list, add-file-types extends it', async () => {
    const body = '<a id="epub" href="/b.epub">e</a><a id="pdf" href="/b.pdf">p</a><a id="js" href="/b.js">j</a>';
    const replaced = await load({ variant: variant('file-downloads'), tagAttrs: { 'file-types': 'epub,js' }, body });
    const added = await load({ variant: variant('file-downloads'), tagAttrs: { 'add-file-types': 'epub' }, body });
    for (const page of [replaced, added]) for (const id of ['epub', 'pdf', 'js']) fire(page, id);
    assert.deepEqual(
      custom(replaced).map((e) => e.p.url),
      ['https://example.com/b.epub', 'https://example.com/b.js'],
    );
    assert.deepEqual(
      custom(added).map((e) => e.p.url),
      ['https://example.com/b.epub', 'https://example.com/b.pdf'],
    );
  });

  test('file-downloads with outbound-links: outbound wins, as in Plausible', async () => {
    const page = await load({
      variant: variant('file-downloads.outbound-links'),
      body: '<a id="cdn" href="https://cdn.other.org/a.zip?x=1">zip</a><a id="local" href="/a.zip?x=1">zip</a>',
    });
    fire(page, 'cdn');
    fire(page, 'local');
    assert.deepEqual(
      custom(page).map((e) => [e.n, e.p.url]),
      [
        ['Outbound Link: Click', 'https://cdn.other.org/a.zip?x=1'],
        ['File Download', 'https://example.com/a.zip'],
      ],
    );
  });

  const TAGGED_BODY = `
    <button id="signup" class="btn plausible-event-name=Sign+Up plausible-event-plan=pro">Sign up</button>
    <div class="plausible-event-name--Card plausible-event-position--top"><p><span><i id="deep">x</i></span></p></div>
    <div class="plausible-event-name=TooDeep"><p><span><b><i id="toodeep">x</i></b></span></p></div>
    <a id="tlink" class="plausible-event-name=Docs+Link" href="https://other.org/docs">docs</a>
    <a id="plain" href="https://other.org/plain">plain</a>
    <form id="form" class="plausible-event-name=Newsletter plausible-event-list=weekly" onsubmit="return false">
      <button id="inform" class="plausible-event-name=Ignored">Subscribe</button>
    </form>
    <p id="nothing">nothing</p>`;

  test('tagged-events: a click on a tagged element (or up to 3 levels in) sends its event and props', async () => {
    const page = await load({ variant: variant('tagged-events'), body: TAGGED_BODY });
    for (const id of ['signup', 'deep', 'toodeep', 'nothing']) fire(page, id);
    fire(page, 'signup', 'auxclick', { button: 1 });
    fire(page, 'signup', 'auxclick', { button: 2 });
    assert.deepEqual(
      custom(page).map((e) => [e.n, e.p]),
      [
        ['Sign Up', { plan: 'pro' }],
        ['Card', { position: 'top' }],
        ['Sign Up', { plan: 'pro' }],
      ],
    );
    assert.deepEqual(page.errors, []);
  });

  test('tagged-events: a tagged link sends its event with url, never also as an outbound link', async () => {
    const page = await load({ variant: variant('outbound-links.tagged-events'), body: TAGGED_BODY });
    fire(page, 'tlink');
    fire(page, 'plain');
    assert.deepEqual(
      custom(page).map((e) => [e.n, e.p]),
      [
        ['Docs Link', { url: 'https://other.org/docs' }],
        ['Outbound Link: Click', { url: 'https://other.org/plain' }],
      ],
    );
  });

  test('tagged-events: a tagged form counts on submit; clicks inside forms do not', async () => {
    const page = await load({ variant: variant('tagged-events'), body: TAGGED_BODY });
    // The button's own (tagged) class counts for nothing; the submit it causes counts once.
    fire(page, 'inform');
    assert.deepEqual(
      custom(page).map((e) => [e.n, e.p]),
      [['Newsletter', { list: 'weekly' }]],
    );
  });

  test('pageview-props: event-<prop> attributes of the tag are props of every event; own props win', async () => {
    const page = await load({
      variant: variant('pageview-props'),
      tagAttrs: { 'event-author': 'Ann', 'event-kind': 'post' },
    });
    page.window.plausible('Like', { props: { kind: 'comment' } });
    assert.deepEqual(
      page.events().map((e) => [e.n, e.p]),
      [
        ['pageview', { author: 'Ann', kind: 'post' }],
        ['Like', { author: 'Ann', kind: 'comment' }],
      ],
    );
  });

  test('exclusions: data-exclude and data-include patterns decide which pageviews are sent', async () => {
    const excluded = await load({
      variant: variant('exclusions'),
      url: 'https://example.com/admin/users/1',
      attrs: { domain: 'example.com', exclude: '/admin/**, /private' },
    });
    excluded.window.plausible('Custom events still count');
    excluded.window.history.pushState({}, '', '/private/');
    excluded.window.history.pushState({}, '', '/blog/post');
    assert.deepEqual(
      excluded.events().map((e) => [e.n, new URL(e.u).pathname]),
      [
        ['Custom events still count', '/admin/users/1'],
        ['pageview', '/blog/post'],
      ],
    );
    const included = await load({
      variant: variant('exclusions'),
      url: 'https://example.com/docs/intro',
      attrs: { domain: 'example.com', include: '/docs/*' },
    });
    included.window.history.pushState({}, '', '/docs/intro/deeper');
    included.window.history.pushState({}, '', '/pricing');
    assert.deepEqual(
      pageviews(included).map((e) => new URL(e.u).pathname),
      ['/docs/intro'],
    );
  });

  test('a combination does each: hash.outbound-links', async () => {
    const page = await load({
      variant: variant('hash.outbound-links'),
      url: 'https://example.com/#/a',
      body: '<a id="out" href="https://other.org/">out</a>',
    });
    fire(page, 'out');
    assert.deepEqual(
      page.events().map((e) => [e.n, e.u, e.h]),
      [
        ['pageview', 'https://example.com/#/a', 1],
        ['Outbound Link: Click', 'https://example.com/#/a', 1],
      ],
    );
  });
});

describe('pa-*.js', () => {
  const INIT = (options) =>
    PLAUSIBLE_STUB +
    `<script>plausible.init=plausible.init||function(i){plausible.o=i||{}};plausible.init(${JSON.stringify(options)})</script>`;

  test("without data-domain the page's host names the site", async () => {
    const page = await load({
      variant: 'plausible/pa.js',
      url: 'https://www.example.com/',
      attrs: {},
      head: INIT({}),
    });
    assert.deepEqual(page.errors, []);
    assert.deepEqual(
      page.events().map((e) => [e.n, e.d]),
      [['pageview', 'www.example.com']],
    );
    assert.equal(typeof page.window.plausible.init, 'function');
  });

  test('plausible.init options: endpoint, hashBasedRouting, autoCapturePageviews', async () => {
    const page = await load({
      variant: 'plausible/pa.js',
      url: 'https://example.com/app#/a',
      attrs: {},
      head: INIT({ endpoint: 'https://example.com/proxy/event', hashBasedRouting: true }),
    });
    assert.deepEqual(
      page.beacons.map((b) => [b.url, JSON.parse(b.body).u, JSON.parse(b.body).h]),
      [['https://example.com/proxy/event', 'https://example.com/app#/a', 1]],
    );
    const manual = await load({
      variant: 'plausible/pa.js',
      attrs: {},
      head: INIT({ autoCapturePageviews: false }),
    });
    assert.deepEqual(manual.events(), []);
    manual.window.plausible('pageview');
    assert.equal(manual.events().length, 1);
  });
});
