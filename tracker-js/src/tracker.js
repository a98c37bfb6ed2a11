// footfall browser tracker.
//
// Loaded on customer sites as
//   <script defer data-domain="example.com" src="https://stats.example.com/js/script.js"></script>
//
// Design constraints that shape this file:
// - It ships to every visitor of every tracked site, so the minified, gzipped
//   build must stay well under 1 KiB. Prefer code that minifies and compresses
//   well (arrow functions, repeated idioms) over cleverness. Engagement
//   measurement does not fit in that: it is the `if (ENGAGEMENT)` block, built
//   only into the opt-in script.engagement.js (see build.mjs).
// - It runs inside pages we don't control. Nothing here may throw into the host
//   page, and the only global it creates is `window.footfall`. (build.mjs
//   wraps the file in an IIFE, so top-level names stay private.)
// - It never stores identity: no cookies, no storage writes. The only storage
//   access is *reading* the opt-out flag.
// - Targets ES2020 (optional chaining, optional catch binding); every browser
//   without those is long out of support.
// - One source, many builds: besides ENGAGEMENT, build.mjs defines the
//   feature flags below per served file (script.js, and every file name a
//   Plausible snippet may ask for, issue 15). A flag that is false removes
//   its code from that build; see the VARIANTS table in build.mjs.
//     COMPAT     also answer to window.plausible (and replay plausible.q)
//     PLAUSIBLE_ONLY  no window.footfall (the files only Plausible names)
//     HASH       hash-based routing whatever the attributes (script.hash.js)
//     MANUAL     no automatic pageviews; plausible('pageview', {u}) sends one
//     OUTBOUND   "Outbound Link: Click" on links to other hosts
//     DOWNLOADS  "File Download", footfall's list of extensions (script.js)
//     FILES      "File Download" as Plausible's file-downloads extension:
//                its extension list, file-types / add-file-types attributes
//     TAGGED     elements with class plausible-event-name=... send that event
//     PROPS      the script tag's event-<prop>="value" attributes are props
//     EXCLUSIONS data-include / data-exclude page patterns for pageviews
//     PA         Plausible's per-site pa-*.js: no data-domain (the page's host
//                is sent); endpoint, hashBasedRouting and autoCapturePageviews
//                from its plausible.init({...}) options

let win = window;
let doc = document;
let loc = location;
let nav = navigator;
let on = (target, type, fn) => target.addEventListener(type, fn);

// Events held back while the page is being prerendered (see send()).
let held = [];
// Path of the last pageview, to suppress duplicates from routers that
// push/replace the same URL repeatedly.
let lastPath;

try {
  // Calls made before we loaded (via the documented one-line stub) sit in
  // footfall.q (or plausible.q, Plausible's stub) as `arguments` objects;
  // grab them before replacing the stubs.
  let queued = PLAUSIBLE_ONLY
    ? win.plausible?.q || []
    : [...(win.footfall?.q || []), ...((COMPAT && win.plausible?.q) || [])];
  // Plausible's pa-*.js snippet parks its plausible.init({...}) options here.
  let config = (PA && win.plausible?.o) || {};

  // currentScript is null for async callbacks and module scripts; fall back
  // to the last tagged script, which is ours in every sane page.
  let script = doc.currentScript || [...doc.querySelectorAll('script[data-domain]')].pop();
  let data = script.dataset;
  let attr = (name) => script.getAttribute(name);
  // Always on in script.hash.js; data-hash (or pa-*.js's hashBasedRouting)
  // elsewhere.
  let hashMode = HASH || (PA ? 'hash' in data || config.hashBasedRouting : 'hash' in data);
  // Events go to the server that served the script unless told otherwise, so
  // self-hosters need no extra configuration. Throws (and so disables us) for
  // an inline copy without data-api: there is nowhere to send to.
  // (A URL object is fine: sendBeacon and fetch stringify it.)
  let endpoint = data.api || (PA && config.endpoint) || new URL('/api/event', script.src);
  // pa-*.js names the site by an id we cannot map, so the page's host names
  // it (the server also tries it without "www.").
  let domain = PA ? data.domain || loc.hostname : data.domain;

  // pathname + search (+ hash in hash mode): both the dedupe key and, after
  // the origin, the reported URL. Using origin rather than href also keeps any
  // user:password@ out of the payload.
  let path = () => loc.pathname + loc.search + (hashMode ? loc.hash : '');

  let prerendering = () => doc.prerendering || doc.visibilityState == 'prerender';

  // data-include / data-exclude: comma-separated page patterns, `*` one
  // path segment (or part of one), `**` anything, as Plausible reads them.
  let matches =
    EXCLUSIONS &&
    ((list) =>
      list?.split(',').some((pattern) =>
        RegExp('^' + pattern.trim().replace(/\*\*?/g, (s) => (s[1] ? '.*' : '[^/]*')) + '/?$').test(
          loc.pathname + (hashMode ? loc.hash : ''),
        ),
      ));

  // Checked per event rather than once, so flipping the opt-out flag or DNT
  // takes effect without a reload.
  let ignored = () => {
    // Reading localStorage throws in sandboxed iframes and with storage
    // blocked. It comes last so that a throw can only mean "flag unset": every
    // other check has already come out false by then.
    try {
      return (
        /^(localhost|127\.0\.0\.1|\[::1])$/.test(loc.hostname) ||
        loc.protocol == 'file:' ||
        ((nav.doNotTrack == 1 || nav.globalPrivacyControl) && data.dnt != 'ignore') ||
        (nav.webdriver && data.webdriver != 'allow') ||
        localStorage.footfall_ignore == 'true'
      );
    } catch {}
  };

  // A string body is sent as text/plain;charset=UTF-8 by both sendBeacon and
  // fetch: a CORS "simple" request, so no preflight. (Hence no explicit
  // Content-Type header: the default is already right and the bytes are not
  // free.) The browser queues beacons past page unload, which is why link
  // clicks need no delay. fetch+keepalive is the fallback when sendBeacon is
  // missing or refuses the beacon (returns false, e.g. over its size quota).
  // sendBeacon only throws for a URL fetch would reject too.
  let post = (body) => {
    try {
      nav.sendBeacon?.(endpoint, body) ||
        fetch(endpoint, { method: 'POST', body, keepalive: true }).catch(() => {});
    } catch {}
  };

  // File Download as Plausible's extension: its default list, replaced by
  // file-types="pdf,epub" or extended by add-file-types="epub" (on the tag,
  // without data-; both: the two lists). Matched as Plausible does, case and
  // all.
  let fileTypes =
    FILES &&
    (
      (attr('add-file-types') || '') +
      ',' +
      (attr('file-types') || 'pdf,xlsx,docx,txt,rtf,csv,exe,key,pps,ppt,pptx,7z,pkg,rar,gz,zip,avi,mov,mp4,mpeg,wmv,midi,mp3,wav,wma,dmg')
    ).split(',');

  // The script tag's event-<prop>="value" attributes (pageview-props).
  let tagProps = {};
  if (PROPS) for (let name of script.getAttributeNames()) name.slice(0, 6) == 'event-' && (tagProps[name.slice(6)] = attr(name));

  // options: {props, revenue, u}; u (a page URL) only in the manual build.
  let send = (name, options) => {
    try {
      if (
        ignored() ||
        (EXCLUSIONS && name == 'pageview' && ((data.include && !matches(data.include)) || matches(data.exclude)))
      )
        return;
      // Built now so it describes the page when the event happened, even if it
      // is only posted after prerendering ends.
      let body = JSON.stringify({
        n: name,
        u: (MANUAL && (options?.u || options?.url)) || loc.origin + path(),
        d: domain,
        r: doc.referrer || null,
        w: win.innerWidth,
        // 1 in hash mode: the server keeps the fragment (Plausible's h).
        h: +hashMode,
        // The event's own props win over the tag's; undefined is dropped.
        p: PROPS ? { ...tagProps, ...options?.props } : options?.props,
        $: options?.revenue, // {amount, currency}: checked by the server, not here
      });
      // A prerendered page may never be shown; count it only once it is.
      prerendering() ? held.push(body) : post(body);
    } catch {}
  };

  let flush = () => prerendering() || held.splice(0).forEach(post);
  on(doc, 'visibilitychange', flush);
  on(doc, 'prerenderingchange', flush);

  let pageview = () => {
    let p = path();
    if (p != lastPath) {
      lastPath = p;
      send('pageview');
    }
  };

  // Engagement (issue 14): only in the script.engagement.js build, where
  // build.mjs defines ENGAGEMENT as true; in script.js esbuild drops this block
  // whole, as the default build has no bytes to spare for it.
  //
  // Engaged time: every activity (scroll, key, pointer) and every visibility
  // or focus change credits the time since the previous one, at most 10 s, if
  // the visitor was engaged then, i.e. the page was visible and focused. So
  // time counts while the page is visible and focused and the visitor gave
  // input within the last 10 s. Timestamps rather than a timer: nothing runs
  // while nothing happens. Scroll depth is read at the same moments, and only
  // while engaged, so a tab never looked at reports nothing.
  if (ENGAGEMENT) {
    let engaged = 0; // ms
    let depth = 0; // percent of the document seen, 0-100
    let since = 0; // when the visitor was last seen engaged; 0: not engaged
    // The totals last reported as engaged * 101 + depth: one number to
    // compare, and 0 (nothing seen, no time) is never reported.
    let reported = 0;
    // The URL the current pageview was sent with; unset when it was not sent
    // (opted out, localhost...), and then nothing is reported for it.
    let pageUrl;

    let activity = () => {
      let now = Date.now();
      if (since) {
        // Never negative, should the wall clock be set back meanwhile.
        engaged += Math.max(0, Math.min(now - since, 1e4));
        let seen = Math.min(100, Math.round(((win.scrollY + win.innerHeight) / doc.documentElement?.scrollHeight) * 100));
        // Written so that NaN (a frame of zero height, no root element)
        // changes nothing. A page shorter than the viewport is seen whole: 100.
        if (seen > depth) depth = seen;
      }
      since = doc.hidden || !doc.hasFocus() ? 0 : now;
    };

    // One update with the pageview's cumulative totals, when they changed
    // since the last one (the server keeps the largest). Not through send():
    // the payload is its own, and it needs no prerendering hold, since nothing
    // accrues on a hidden page.
    let report = () => {
      activity();
      let totals = engaged * 101 + depth;
      if (pageUrl && totals != reported && !ignored()) {
        reported = totals;
        post(JSON.stringify({ n: 'engagement', u: pageUrl, d: domain, h: +hashMode, e: engaged, s: depth }));
      }
    };

    // A new pageview (on load, or SPA navigation) first reports the page
    // being left, with its own URL, then starts again from zero.
    let sendEvent = send;
    send = (name, options) => {
      if (name == 'pageview') {
        report();
        engaged = depth = reported = 0;
        pageUrl = !ignored() && loc.origin + path();
      }
      sendEvent(name, options);
    };

    ['scroll', 'keydown', 'pointermove', 'pointerdown', 'focus', 'blur'].forEach((type) => on(win, type, activity));
    on(doc, 'visibilitychange', () => (doc.hidden ? report : activity)());
    on(win, 'pagehide', report);
  }

  // SPA navigation. There is no event for pushState/replaceState, so wrap
  // them. Both go through the same dedupe, which yields "replaceState counts
  // only when the path changed" and skips pushes of the current URL. None of
  // it in the manual build, nor with plausible.init({autoCapturePageviews:
  // false}): there the page sends its own pageviews.
  if (MANUAL ? 0 : PA ? config.autoCapturePageviews !== false : 1) {
    let hist = win.history;
    ['pushState', 'replaceState'].forEach((method) => {
      let original = hist[method];
      // pushState/replaceState always return undefined, so nothing to pass on.
      hist[method] = (...args) => {
        original.apply(hist, args);
        pageview();
      };
    });
    on(win, 'popstate', pageview);
    if (hashMode) on(win, 'hashchange', pageview);
    // The landing's pageview; calls queued before we loaded come after it.
    pageview();
  }

  // Tagged events (Plausible's tagged-events): an element whose classes
  // include plausible-event-name=Signup (`+` for spaces, `--` for `=`) sends
  // that event, with plausible-event-<prop>=<value> classes as its props. A
  // click counts on the element or within three levels under it, except
  // inside a form, whose submit counts instead (the form or up to three
  // levels above it tagged). Returns [name, props] for the nearest tagged
  // element.
  let tagged =
    TAGGED &&
    ((el, levels) => {
      for (; el && levels--; el = el.parentNode) {
        let name;
        let props = {};
        el.classList?.forEach((c) =>
          c.replace(/^plausible-event-(.+?)(?:=|--)(.+)/, (_, key, value) => {
            value = value.replace(/\+/g, ' ');
            key == 'name' ? (name = value) : (props[key] = value);
          }),
        );
        if (name) return [name, props];
      }
    });
  // Links, tagged elements: one delegated listener that only observes: no
  // preventDefault, no delayed navigation, so modified clicks, new tabs and
  // target=_blank behave exactly as without us. auxclick covers middle-click
  // (button 1), which does not fire "click".
  let onClick = (event) => {
    // closest?.: the target may be a non-element (e.g. a synthetic event on
    // document). click reports button 0; auxclick must be the middle button
    // (1), not the context-menu button or back/forward.
    let target = !(event.button > 1) && event.target;
    let link = target?.closest?.('a[href]');
    if (TAGGED) {
      // A tagged link sends its own event (with its url), never also as an
      // outbound link or a download. A submit (no button) counts for the
      // form, a click only outside forms.
      let tag = (event.type[0] == 's') ^ !target?.closest?.('form') && tagged(target, 4);
      if (tag) return link && (tag[1].url = link.href), send(tag[0], { props: tag[1] });
    }
    if (OUTBOUND || DOWNLOADS || FILES) {
      // host is '' for mailto:, tel: and javascript: links, never outbound.
      let outbound = OUTBOUND && link?.host && link.host != loc.host;
      let name =
        link &&
        (FILES
          ? // As Plausible's file-downloads: outbound wins when both are on, and
            // the url is sent without its query.
            outbound
            ? 'Outbound Link: Click'
            : fileTypes.includes(link.pathname.split('.').pop()) && 'File Download'
          : // Download wins over outbound: a file on a CDN is still a download.
            // pdf xls(x) doc(x) ppt(x) txt rtf csv exe key pps 7z pkg rar gz zip
            // avi mov mp3 mp4 mpg mpeg wmv mid(i) wav wma dmg iso msi.
            DOWNLOADS &&
              /\.(pdf|(doc|xls|ppt)x?|txt|rtf|csv|exe|key|pps|7z|pkg|rar|gz|zip|avi|mov|mp[34]|mpe?g|wmv|midi?|wav|wma|dmg|iso|msi)$/i.test(link.pathname)
            ? 'File Download'
            : outbound && 'Outbound Link: Click');
      if (name) send(name, { props: { url: FILES && (!OUTBOUND || name[0] == 'F') ? link.href.split('?')[0] : link.href } });
    }
  };
  if (TAGGED || OUTBOUND || DOWNLOADS || FILES) {
    on(doc, 'click', onClick);
    on(doc, 'auxclick', onClick);
  }
  if (TAGGED) on(doc, 'submit', onClick);

  // Public API: footfall(name, {props, revenue, callback}), and the same as
  // plausible(...) in the builds Plausible's snippets load (u too in the
  // manual one). The callback runs even when nothing is sent, so code waiting
  // on it (e.g. to navigate) never hangs.
  let api = (name, options) => {
    send(name, options);
    options?.callback?.();
  };
  if (!PLAUSIBLE_ONLY) win.footfall = api;
  if (COMPAT) win.plausible = api;
  // pa-*.js snippets call plausible.init(); the options were read at load.
  if (PA) api.init = () => {};

  queued.forEach((args) => api(...args));
} catch {}
