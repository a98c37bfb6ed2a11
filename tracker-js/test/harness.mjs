// Test harness: loads the tracker into a fresh jsdom page the way a site
// would (a deferred <script src> tag), with navigator.sendBeacon and fetch
// stubbed to record what would have been sent.
//
// The script served is the *minified* build of the current source, built in
// memory, so the tests exercise exactly what ships; size.test.mjs separately
// checks that the committed static/js/script.js matches that build.
import { readFileSync } from 'node:fs';
import { JSDOM, VirtualConsole, requestInterceptor } from 'jsdom';
import { buildBuffers, sourceOf, VARIANTS } from '../build.mjs';

export const SCRIPT_URL = 'https://stats.example.com/js/script.js';

const built = {};
/**
 * The minified tracker build named by `variant`, a VARIANTS key ('script.js',
 * 'script.engagement.js', 'plausible/script.hash.js'...); true is
 * 'script.engagement.js' and false 'script.js', as the suites used to say.
 */
export async function trackerCode(variant = 'script.js') {
  if (variant === true) variant = 'script.engagement.js';
  if (variant === false) variant = 'script.js';
  const options = VARIANTS[variant];
  if (!options) throw new Error(`no build ${variant}`);
  built[variant] ??= (await buildBuffers(readFileSync(sourceOf(options), 'utf8'), options)).js.toString();
  return built[variant];
}

const escapeAttr = (v) => String(v).replace(/&/g, '&amp;').replace(/"/g, '&quot;');

/**
 * Loads a page with the tracker and resolves once the window's load event has
 * fired (deferred scripts run before it).
 *
 * Options:
 *  url        page URL
 *  referrer   document.referrer
 *  attrs      data-* attributes for the script tag (without "data-"); default
 *             {domain: 'example.com'}; a value of true renders a bare attribute
 *  src        script src (default SCRIPT_URL); null: no src attribute
 *  body       extra HTML for <body>, placed before the script tag
 *  head       extra HTML placed before the script tag (e.g. the queue stub)
 *  beacon     'ok' (default; returns true), 'false' (returns false), 'missing'
 *  setup(win) called before any page script runs: stub navigator props etc.
 *  viaEval    render the tag with type="text/plain" (so it does not run) and
 *             window.eval the tracker after load instead: document.currentScript
 *             is then null, exercising the fallback tag lookup
 *  serve      false: answer the script URL with 404 too (a page without us)
 *  engagement true: serve the script.engagement.js build (default: when
 *             FOOTFALL_TRACKER_BUILD=engagement)
 *  variant    serve this build instead (a VARIANTS key, e.g.
 *             'plausible/script.tagged-events.js')
 *  tagAttrs   attributes without the data- prefix (file-types, event-author)
 */
export async function load(opts = {}) {
  const {
    url = 'https://example.com/blog/post?utm_source=news',
    referrer,
    attrs = { domain: 'example.com' },
    src = SCRIPT_URL,
    body = '',
    head = '',
    beacon = 'ok',
    setup,
    viaEval = false,
    serve = true,
    // npm test runs the suites a second time against script.engagement.js.
    engagement = process.env.FOOTFALL_TRACKER_BUILD === 'engagement',
    variant = engagement ? 'script.engagement.js' : 'script.js',
    tagAttrs = {},
  } = opts;
  const code = await trackerCode(variant);

  const beacons = [];
  const fetches = [];
  const errors = [];

  const virtualConsole = new VirtualConsole();
  virtualConsole.on('jsdomError', (e) => {
    // jsdom cannot navigate; clicking a real link reports that. Not our bug.
    if (/navigation/i.test(e.message)) return;
    errors.push(e);
  });

  const attrHtml = Object.entries(attrs)
    .map(([k, v]) => (v === true ? ` data-${k}` : ` data-${k}="${escapeAttr(v)}"`))
    .join('') +
    Object.entries(tagAttrs)
      .map(([k, v]) => ` ${k}="${escapeAttr(v)}"`)
      .join('');
  const html = `<!doctype html><html><head>${head}<script ${viaEval ? 'type="text/plain"' : 'defer'}${attrHtml} ${src == null ? '' : ` src="${escapeAttr(src)}"`}></script></head><body>${body}</body></html>`;

  const dom = new JSDOM(html, {
    url,
    referrer,
    runScripts: 'dangerously',
    pretendToBeVisual: true,
    virtualConsole,
    resources: {
      interceptors: [
        // Serve the tracker for the script URL; answer everything else
        // locally with a 404 so no test ever touches the network.
        requestInterceptor((request) =>
          serve && request.url === src
            ? new Response(code, { headers: { 'Content-Type': 'application/javascript' } })
            : new Response('', { status: 404 }),
        ),
      ],
    },
    beforeParse(window) {
      const nav = window.navigator;
      if (beacon !== 'missing') {
        nav.sendBeacon = (url, data) => {
          beacons.push({ url: String(url), body: data });
          return beacon === 'ok';
        };
      }
      window.fetch = (url, init) => {
        fetches.push({ url: String(url), init });
        return Promise.resolve(new window.Response(''));
      };
      setup?.(window);
    },
  });

  const window = dom.window;
  if (window.document.readyState !== 'complete') {
    await new Promise((resolve) => window.addEventListener('load', resolve));
  }
  if (viaEval) window.eval(code);

  const events = () => [...beacons, ...fetches].map((s) => JSON.parse(s.init?.body ?? s.body));
  return { dom, window, document: window.document, beacons, fetches, errors, events };
}

/** Sets a read-only-looking property on an object (navigator, document...). */
export function define(obj, name, value) {
  Object.defineProperty(obj, name, { configurable: true, get: () => value });
}

/** Waits for queued tasks (jsdom fires popstate/hashchange asynchronously). */
export const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

// Waits until `done()` holds, for at most `ms`: jsdom runs some navigations (history.back)
// as queued tasks, which a fixed tick can miss on a loaded machine.
export async function until(done, ms = 2000) {
  const end = Date.now() + ms;
  while (!done() && Date.now() < end) await tick(5);
}
