import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { load } from './harness.mjs';

const custom = (page) => page.events().filter((e) => e.n !== 'pageview');

// The documented one-line stub, pasted before the tracker tag.
const STUB =
  '<script>window.footfall=window.footfall||function(){(window.footfall.q=window.footfall.q||[]).push(arguments)}</script>';

describe('custom events', () => {
  test('footfall(name, {props}) sends name and flat props', async () => {
    const page = await load({ url: 'https://example.com/signup#form' });
    page.window.footfall('Signup', { props: { plan: 'pro', seats: 3 } });
    assert.deepEqual(custom(page), [
      {
        n: 'Signup',
        u: 'https://example.com/signup',
        d: 'example.com',
        r: null,
        w: 1024,
        h: 0,
        p: { plan: 'pro', seats: 3 },
      },
    ]);
  });

  test('footfall(name, {revenue}) sends it as $, as given', async () => {
    const page = await load({ url: 'https://example.com/checkout' });
    page.window.footfall('Purchase', { revenue: { amount: 12.5, currency: 'EUR' } });
    const bodies = [...page.beacons, ...page.fetches].map((s) => s.init?.body ?? s.body);
    assert.equal(bodies.length, 2);
    assert.match(bodies[1], /^\{"n":"Purchase",.*,"\$":\{"amount":12\.5,"currency":"EUR"\}\}$/);
    assert.deepEqual(custom(page)[0].$, { amount: 12.5, currency: 'EUR' });
    // With props too, and neither on pageviews or events without revenue.
    page.window.footfall('Order', { props: { plan: 'pro' }, revenue: { amount: 0, currency: 'usd' } });
    page.window.footfall('Signup', { props: { plan: 'pro' } });
    const [pageview, , order, signup] = page.events();
    assert.deepEqual([order.p, order.$], [{ plan: 'pro' }, { amount: 0, currency: 'usd' }]);
    assert.ok(!('$' in pageview) && !('$' in signup));
  });

  test('without options: no p; callback is called', async () => {
    const page = await load();
    page.window.footfall('Ping');
    let called = 0;
    page.window.footfall('Pong', { callback: () => called++ });
    assert.equal(called, 1);
    const events = custom(page);
    assert.deepEqual(events.map((e) => e.n), ['Ping', 'Pong']);
    assert.ok(events.every((e) => !('p' in e)));
  });

  test('unserialisable props do not throw into the page; callback still runs', async () => {
    const page = await load();
    const props = {};
    props.self = props;
    let called = 0;
    assert.doesNotThrow(() => page.window.footfall('Loop', { props, callback: () => called++ }));
    assert.equal(called, 1);
    assert.equal(custom(page).length, 0);
  });

  test('calls made before load are replayed from footfall.q, in order, after the pageview', async () => {
    const page = await load({
      head:
        STUB +
        `<script>
          footfall('Early', {props: {step: '1'}});
          footfall('Earlier callback', {callback: function () { window.cbRan = true }});
        </script>`,
    });
    assert.deepEqual(page.errors, []);
    assert.deepEqual(
      page.events().map((e) => [e.n, e.p]),
      [
        ['pageview', undefined],
        ['Early', { step: '1' }],
        ['Earlier callback', undefined],
      ],
    );
    assert.equal(page.window.cbRan, true);
    // The stub is replaced by the real function.
    assert.equal(page.window.footfall.q, undefined);
    page.window.footfall('Later');
    assert.equal(custom(page).at(-1).n, 'Later');
  });
});

describe('outbound links and downloads', () => {
  const links = `
    <a id="out" href="https://other.org/page?x=1">out</a>
    <a id="blank" target="_blank" href="https://other.org/new">new tab</a>
    <a id="nested" href="https://other.org/deep"><span><b id="inner">deep</b></span></a>
    <a id="sub" href="https://blog.example.com/">subdomain</a>
    <a id="pdf" href="/files/Report.PDF?v=2">pdf</a>
    <a id="cdnzip" href="https://cdn.other.org/app-1.2.zip">zip</a>
    <a id="docx" href="/a/b.docx">docx</a>
    <a id="local" href="/about">about</a>
    <a id="htmlfile" href="/page.html">html</a>
    <a id="mail" href="mailto:hi@example.com">mail</a>
    <a id="tel" href="tel:+123">tel</a>
    <a id="js" href="javascript:void 0">js</a>
    <a id="nohref">no href</a>
    <button id="btn">button</button>`;

  // Dispatches like a browser would and reports whether anything cancelled it.
  const fire = (page, id, type = 'click', init = {}) => {
    const { window } = page;
    const event = new window.MouseEvent(type, { bubbles: true, cancelable: true, ...init });
    window.document.getElementById(id).dispatchEvent(event);
    assert.equal(event.defaultPrevented, false, `${type} on #${id} was prevented`);
  };

  test('outbound click → "Outbound Link: Click" with props.url, not prevented', async () => {
    const page = await load({ body: links });
    fire(page, 'out');
    assert.deepEqual(custom(page), [
      {
        n: 'Outbound Link: Click',
        u: 'https://example.com/blog/post?utm_source=news',
        d: 'example.com',
        r: null,
        w: 1024,
        h: 0,
        p: { url: 'https://other.org/page?x=1' },
      },
    ]);
    assert.deepEqual(page.errors, []);
  });

  test('target=_blank, ctrl/meta-click, nested elements and subdomains count as outbound', async () => {
    const page = await load({ body: links });
    fire(page, 'blank');
    fire(page, 'out', 'click', { ctrlKey: true });
    fire(page, 'out', 'click', { metaKey: true });
    fire(page, 'inner');
    fire(page, 'sub');
    assert.deepEqual(
      custom(page).map((e) => [e.n, e.p.url]),
      [
        ['Outbound Link: Click', 'https://other.org/new'],
        ['Outbound Link: Click', 'https://other.org/page?x=1'],
        ['Outbound Link: Click', 'https://other.org/page?x=1'],
        ['Outbound Link: Click', 'https://other.org/deep'],
        ['Outbound Link: Click', 'https://blog.example.com/'],
      ],
    );
  });

  test('download click → "File Download" with absolute props.url (also for other hosts)', async () => {
    const page = await load({ body: links });
    fire(page, 'pdf');
    fire(page, 'cdnzip');
    fire(page, 'docx');
    assert.deepEqual(
      custom(page).map((e) => [e.n, e.p]),
      [
        ['File Download', { url: 'https://example.com/files/Report.PDF?v=2' }],
        ['File Download', { url: 'https://cdn.other.org/app-1.2.zip' }],
        ['File Download', { url: 'https://example.com/a/b.docx' }],
      ],
    );
  });

  test('internal, non-http and href-less links and non-links send nothing', async () => {
    const page = await load({ body: links });
    for (const id of ['local', 'htmlfile', 'mail', 'tel', 'js', 'nohref', 'btn']) fire(page, id);
    assert.deepEqual(custom(page), []);
    assert.deepEqual(page.errors, []);
  });

  test('middle-click (auxclick button 1) counts; right-click does not', async () => {
    const page = await load({ body: links });
    fire(page, 'out', 'auxclick', { button: 1 });
    fire(page, 'pdf', 'auxclick', { button: 1 });
    fire(page, 'out', 'auxclick', { button: 2 });
    assert.deepEqual(
      custom(page).map((e) => e.n),
      ['Outbound Link: Click', 'File Download'],
    );
  });

  test('events dispatched on document itself are ignored without errors', async () => {
    const page = await load();
    page.document.dispatchEvent(new page.window.MouseEvent('click', { bubbles: true }));
    assert.deepEqual(custom(page), []);
    assert.deepEqual(page.errors, []);
  });

  test('a real link click is not cancelled by the tracker', async () => {
    const page = await load({ body: links });
    // click() runs activation behaviour; our listener must leave it alone.
    let prevented;
    page.window.addEventListener('click', (e) => (prevented = e.defaultPrevented));
    page.document.getElementById('out').click();
    assert.equal(prevented, false);
    assert.equal(custom(page).length, 1);
  });
});
