// footfall's tracker for pages that carry Umami's snippet (issue 15):
//   <script defer src="https://stats.example.com/script.js" data-website-id="UUID"></script>
// It posts Umami's /api/send payload, which footfall maps to the site with that Umami id
// (`footfall site set example.com --umami-id UUID`), and offers umami.track(...) as far as
// footfall has the concepts: an event name and flat data (its props).
//
// Same constraints as tracker.js: nothing here may throw into the page, no cookies, no storage
// writes (Umami's own tracker keeps a visitor id in localStorage; this one does not), and the
// only global is window.umami. Umami's attributes honoured: data-website-id, data-host-url,
// data-auto-track="false", data-domains, data-exclude-search, data-exclude-hash, and
// data-umami-event(-<key>) on clicked elements. As footfall's own tracker it sends nothing on
// localhost or file:, with Do Not Track or Global Privacy Control on, from automated browsers
// (unless data-webdriver="allow"), while prerendering, or with localStorage umami.disabled (or
// footfall_ignore) set.

let win = window;
let doc = document;
let loc = location;
let nav = navigator;

try {
  let script = doc.currentScript;
  let attr = (name) => script.getAttribute('data-' + name);
  let website = attr('website-id');
  let endpoint = (attr('host-url') || new URL(script.src).origin).replace(/\/$/, '') + '/api/send';
  let domains = attr('domains');
  let held = [];
  let last;

  let url = () => {
    let u = new URL(loc.href);
    if (attr('exclude-search') == 'true') u.search = '';
    if (attr('exclude-hash') == 'true') u.hash = '';
    return '' + u;
  };

  let ignored = () => {
    try {
      return (
        !website ||
        /^(localhost|127\.0\.0\.1|\[::1])$/.test(loc.hostname) ||
        loc.protocol == 'file:' ||
        (domains && !domains.split(',').some((d) => d.trim() == loc.hostname)) ||
        nav.doNotTrack == 1 ||
        nav.globalPrivacyControl ||
        (nav.webdriver && attr('webdriver') != 'allow') ||
        localStorage.getItem('umami.disabled') ||
        localStorage.footfall_ignore == 'true'
      );
    } catch {}
  };

  // The page as Umami describes it; a referrer from the same site is none.
  let base = () => ({
    website,
    hostname: loc.hostname,
    screen: screen.width + 'x' + screen.height,
    language: nav.language,
    title: doc.title,
    url: url(),
    referrer: doc.referrer.startsWith(loc.origin) ? '' : doc.referrer,
  });

  // sendBeacon's text body needs no CORS preflight; fetch with keepalive when it refuses.
  let post = (body) => {
    try {
      nav.sendBeacon?.(endpoint, body) ||
        fetch(endpoint, { method: 'POST', body, keepalive: true }).catch(() => {});
    } catch {}
  };
  let prerendering = () => doc.prerendering || doc.visibilityState == 'prerender';
  let send = (payload) => {
    try {
      if (ignored() || !payload) return;
      let body = JSON.stringify({ type: 'event', payload });
      prerendering() ? held.push(body) : post(body);
    } catch {}
  };
  let flush = () => prerendering() || held.splice(0).forEach(post);
  doc.addEventListener('visibilitychange', flush);
  doc.addEventListener('prerenderingchange', flush);

  // umami.track(): a pageview; (name, data): an event; (object): that payload, over the page's;
  // (function): what it returns for the page's payload.
  let track = (name, data) =>
    send(
      typeof name == 'string'
        ? { ...base(), name, data }
        : typeof name == 'function'
          ? name(base())
          : { ...base(), ...name },
    );

  let pageview = () => {
    let u = url();
    if (u != last) {
      last = u;
      track();
    }
  };

  win.umami = { track, identify: () => {} };

  if (attr('auto-track') != 'false') {
    let hist = win.history;
    ['pushState', 'replaceState'].forEach((method) => {
      let original = hist[method];
      hist[method] = (...args) => {
        original.apply(hist, args);
        pageview();
      };
    });
    addEventListener('popstate', pageview);
    pageview();
    // data-umami-event="Signup" data-umami-event-plan="pro" on the element clicked, or on the
    // link or button it is in. Only observes: navigation is neither cancelled nor delayed.
    doc.addEventListener(
      'click',
      (event) => {
        let el = event.target.closest?.('[data-umami-event]');
        if (el) {
          let data = {};
          for (let name of el.getAttributeNames()) {
            if (name.startsWith('data-umami-event-')) data[name.slice(17)] = el.getAttribute(name);
          }
          track(el.getAttribute('data-umami-event'), data);
        }
      },
      true,
    );
  }
} catch {}
