//! User-agent classification: bot or human, and for humans the browser, OS and device class.
//! Hand-written single-pass byte scanning (no regex), since it runs on every distinct UA seen.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceClass {
    Desktop,
    Mobile,
    Tablet,
}

impl DeviceClass {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceClass::Desktop => "desktop",
            DeviceClass::Mobile => "mobile",
            DeviceClass::Tablet => "tablet",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAgent {
    pub browser: &'static str,
    /// Major version only; "" when unknown.
    pub browser_version: String,
    pub os: &'static str,
    /// At most two components as the UA states them ("17.4", "10.15", "14"); "" when unknown.
    pub os_version: String,
    pub device: DeviceClass,
}

pub use crate::metrics::BotReason;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classified {
    Human(UserAgent),
    Bot(BotReason),
}

/// The public list of crawler and tool patterns (`bot-patterns/patterns.txt`, from the npm
/// package isbot, refreshed by `scripts/update-bot-patterns.sh`), matched case-insensitively.
/// The patterns without lookaround are one `regex` (one pass over the user agent); the few
/// with lookaround, which `regex` does not do, are `fancy_regex`es of their own. A pattern
/// neither engine can compile is left out (a unit test makes sure none is).
struct BotPatterns {
    plain: Option<regex::Regex>,
    /// The lookaround patterns without their lookarounds: a cheap test that must pass before
    /// the backtracking one runs (lookarounds only narrow a match), which is what keeps a user
    /// agent's check under a microsecond.
    cores: Option<regex::RegexSet>,
    lookaround: Vec<fancy_regex::Regex>,
}

const BOT_PATTERNS: &str = include_str!("bot-patterns/patterns.txt");

/// A JavaScript pattern in Rust's syntax. The one difference the list meets: in a character
/// class, JavaScript reads a `-` next to a class escape (`[\w\d-.]`) as a literal, Rust refuses it.
fn from_javascript(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let is_class_escape = |i: usize| {
        chars.get(i) == Some(&'\\')
            && chars
                .get(i + 1)
                .is_some_and(|c| matches!(c, 'w' | 'W' | 'd' | 'D' | 's' | 'S'))
    };
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut in_class = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            out.push(c);
            if let Some(&next) = chars.get(i + 1) {
                out.push(next);
            }
            i += 2;
            continue;
        }
        match c {
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '-' if in_class && ((i >= 2 && is_class_escape(i - 2)) || is_class_escape(i + 1)) => {
                out.push_str("\\-");
                i += 1;
                continue;
            }
            _ => {}
        }
        out.push(c);
        i += 1;
    }
    out
}

/// The user agent without its Android device model (`Android 11; KidsRobot K7 Build/…)`):
/// manufacturers name models freely ("KidsRobot", "CUBOT"), and the public list, written for
/// crawler names, takes some of them for bots. Everything else is matched as sent.
fn without_android_model(ua: &str) -> std::borrow::Cow<'_, str> {
    let Some(android) = ua.find("Android ") else {
        return ua.into();
    };
    let rest = &ua[android..];
    let Some(model_start) = rest.find("; ").map(|i| android + i + 2) else {
        return ua.into();
    };
    let model_len = ua[model_start..]
        .find([';', ')'])
        .unwrap_or(ua.len() - model_start);
    let mut out = String::with_capacity(ua.len());
    out.push_str(&ua[..model_start]);
    out.push_str(&ua[model_start + model_len..]);
    out.into()
}

/// `pattern` with its lookaround groups cut out (`(?<!cam)scan` → `scan`), which matches
/// wherever `pattern` does. Lookarounds in the list do not nest.
fn without_lookarounds(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(start) = ["(?=", "(?!", "(?<=", "(?<!"]
        .iter()
        .filter_map(|look| rest.find(look))
        .min()
    {
        out.push_str(&rest[..start]);
        // Skip to the group's closing parenthesis, minding nested groups and escapes.
        let mut depth = 0usize;
        let mut escaped = false;
        let mut end = rest.len();
        for (i, c) in rest[start..].char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = start + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn has_lookaround(pattern: &str) -> bool {
    ["(?=", "(?!", "(?<=", "(?<!"]
        .iter()
        .any(|look| pattern.contains(look))
}

impl BotPatterns {
    fn load() -> Self {
        let patterns = || {
            BOT_PATTERNS
                .lines()
                .filter(|p| !p.is_empty())
                .map(from_javascript)
        };
        let plain: Vec<String> = patterns().filter(|p| !has_lookaround(p)).collect();
        let plain = regex::RegexBuilder::new(&format!("(?:{})", plain.join(")|(?:")))
            .case_insensitive(true)
            // The list is a few hundred alternatives; the default size limit is for one
            // pattern a person writes.
            .size_limit(64 << 20)
            .build()
            .ok();
        let (cores, lookaround): (Vec<String>, Vec<fancy_regex::Regex>) = patterns()
            .filter(|p| has_lookaround(p))
            .filter_map(|p| {
                let full = fancy_regex::Regex::new(&format!("(?i){p}")).ok()?;
                Some((without_lookarounds(&p), full))
            })
            .unzip();
        let cores = regex::RegexSetBuilder::new(cores)
            .case_insensitive(true)
            .build()
            .ok();
        Self {
            plain,
            cores,
            lookaround,
        }
    }

    fn matches(&self, ua: &str) -> bool {
        let ua = &*without_android_model(ua);
        if self.plain.as_ref().is_some_and(|r| r.is_match(ua)) {
            return true;
        }
        let Some(cores) = &self.cores else {
            return false;
        };
        cores
            .matches(ua)
            .iter()
            .any(|i| self.lookaround[i].is_match(ua).unwrap_or(false))
    }
}

static PATTERNS: std::sync::LazyLock<BotPatterns> = std::sync::LazyLock::new(BotPatterns::load);

/// Measured at 0.2–0.5 µs per UA (release build, 85–270 byte UAs, one AMD EPYC core); the only
/// allocations are the two version strings.
pub fn classify(ua: &str) -> Classified {
    let ua = ua.trim();
    if ua.is_empty() {
        return Classified::Bot(BotReason::Empty);
    }
    let Some(hits) = Hits::scan(ua.as_bytes()) else {
        return Classified::Bot(BotReason::Token);
    };
    // The public list after our own single-pass scan, which already turns most bots away; the
    // result is cached per user agent (`enrich::classify_user_agent`).
    if PATTERNS.matches(ua) {
        return Classified::Bot(BotReason::Pattern);
    }
    // HTTP libraries and link-preview fetchers rarely bother to look like a browser, so an
    // unfamiliar prefix with no engine token is far more likely a tool than an exotic browser.
    let browser_like = ua.starts_with("Mozilla/")
        || ua.starts_with("Opera/")
        || [
            Mark::AppleWebKit,
            Mark::Gecko,
            Mark::Chrome,
            Mark::Firefox,
            Mark::Safari,
        ]
        .iter()
        .any(|&m| hits.has(m));
    if !browser_like {
        return Classified::Bot(BotReason::NotABrowser);
    }
    let (os, os_version, device) = platform(ua, &hits);
    let (browser, browser_version) = browser(ua, &hits, os);
    Classified::Human(UserAgent {
        browser,
        browser_version,
        os: os.as_str(),
        os_version,
        device,
    })
}

/// Substrings that only automated clients send, matched case-insensitively anywhere.
/// Specific crawler names ending in "bot" (Googlebot, GPTBot, AhrefsBot, ...) are covered by the
/// "bot" word rule below rather than listed one by one.
const BOT_TOKENS: &[&[u8]] = &[
    b"+http", // crawler contact URLs such as "+http://www.google.com/bot.html"
    b"ahrefs",
    b"aiohttp",
    b"anthropic-ai",
    b"apache-httpclient",
    b"apis-google",
    b"axios/",
    b"chatgpt-user",
    b"cohere-ai",
    b"crawl",
    b"curl/",
    b"cypress",
    b"facebookcatalog",
    b"facebookexternalhit",
    b"fetch", // also node-fetch, FeedFetcher, meta-externalfetcher
    b"go-http-client",
    b"gtmetrix",
    b"guzzlehttp",
    b"headlesschrome",
    b"httpx",
    b"ia_archiver",
    b"insomnia",
    b"inspectiontool",
    b"java/",
    b"libwww-perl",
    b"lighthouse", // also Chrome-Lighthouse
    b"mediapartners-google",
    b"meta-externalagent",
    b"monitor",
    b"okhttp",
    b"pagespeed",
    b"perplexity-user",
    b"phantomjs",
    b"php/",
    b"pingdom",
    b"playwright",
    b"postman",
    b"prerender",
    b"preview",
    b"puppeteer",
    b"python-requests",
    b"python-urllib",
    b"scraper",
    b"scrapy",
    b"selenium",
    b"semrush",
    b"slurp",
    b"spider",
    b"statuscake",
    b"undici",
    b"uptimerobot",
    b"webdriver",
    b"wget/",
    b"whatsapp/",
    b"yandeximages",
    b"yandexmetrika",
];

/// Tokens the browser/OS decision needs, matched case-sensitively because casing is what
/// separates e.g. "CrOS" from the "cros" inside "Microsoft".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Wv,
    Android,
    AppleWebKit,
    BytedanceWebview,
    Chrome,
    CriOs,
    CrOs,
    CpuOs,
    DuckDuckGo,
    Edg,
    EdgA,
    EdgiOs,
    EdgeLegacy,
    FbAn,
    FbAv,
    FbIab,
    Firefox,
    FreeBsd,
    FxiOs,
    Gecko,
    Gsa,
    Instagram,
    KaiOs,
    LinkedInApp,
    Linux,
    Msie,
    MacOsX,
    MicroMessenger,
    Mobile,
    Opr,
    Opt,
    OpiOs,
    OpenBsd,
    OperaMini,
    OperaLegacy,
    SamsungBrowser,
    Safari,
    Snapchat,
    Tablet,
    Trident,
    UcBrowser,
    Version,
    Vivaldi,
    WindowsNt,
    YaBrowser,
    IPad,
    IPhone,
    IPhoneOs,
    IPod,
    MusicalLy,
}

const MARKS: &[(&[u8], Mark)] = &[
    (b"; wv)", Mark::Wv),
    (b"Android", Mark::Android),
    (b"AppleWebKit", Mark::AppleWebKit),
    (b"BytedanceWebview", Mark::BytedanceWebview),
    (b"Chrome/", Mark::Chrome),
    (b"CriOS/", Mark::CriOs),
    (b"CrOS ", Mark::CrOs),
    (b"CPU OS ", Mark::CpuOs),
    (b"DuckDuckGo/", Mark::DuckDuckGo),
    (b"Edg/", Mark::Edg),
    (b"EdgA/", Mark::EdgA),
    (b"EdgiOS/", Mark::EdgiOs),
    (b"Edge/", Mark::EdgeLegacy),
    (b"FBAN/", Mark::FbAn),
    (b"FBAV/", Mark::FbAv),
    (b"FB_IAB/", Mark::FbIab),
    (b"Firefox/", Mark::Firefox),
    (b"FreeBSD", Mark::FreeBsd),
    (b"FxiOS/", Mark::FxiOs),
    (b"Gecko/", Mark::Gecko),
    (b"GSA/", Mark::Gsa),
    (b"Instagram ", Mark::Instagram),
    (b"KAIOS", Mark::KaiOs),
    (b"LinkedInApp/", Mark::LinkedInApp),
    (b"Linux", Mark::Linux),
    (b"MSIE ", Mark::Msie),
    (b"Mac OS X", Mark::MacOsX),
    (b"MicroMessenger/", Mark::MicroMessenger),
    (b"Mobile", Mark::Mobile),
    (b"OPR/", Mark::Opr),
    (b"OPT/", Mark::Opt),
    (b"OPiOS/", Mark::OpiOs),
    (b"OpenBSD", Mark::OpenBsd),
    (b"Opera Mini/", Mark::OperaMini),
    (b"Opera/", Mark::OperaLegacy),
    (b"SamsungBrowser/", Mark::SamsungBrowser),
    (b"Safari/", Mark::Safari),
    (b"Snapchat/", Mark::Snapchat),
    (b"Tablet", Mark::Tablet),
    (b"Trident/", Mark::Trident),
    (b"UCBrowser/", Mark::UcBrowser),
    (b"Version/", Mark::Version),
    (b"Vivaldi/", Mark::Vivaldi),
    (b"Windows NT ", Mark::WindowsNt),
    (b"YaBrowser/", Mark::YaBrowser),
    (b"iPad", Mark::IPad),
    (b"iPhone", Mark::IPhone),
    (b"iPhone OS ", Mark::IPhoneOs),
    (b"iPod", Mark::IPod),
    (b"musical_ly", Mark::MusicalLy),
];

const MARK_COUNT: usize = MARKS.len();

#[derive(Clone, Copy)]
enum Kind {
    Bot,
    /// "bot" as the end of a word; see `is_bot_word`.
    BotWord,
    Mark(Mark),
}

#[derive(Clone, Copy)]
struct Needle {
    text: &'static [u8],
    kind: Kind,
}

const NEEDLE_COUNT: usize = BOT_TOKENS.len() + MARKS.len() + 1;

/// All needles, sorted by `bucket` of their first two bytes so that `BUCKETS` can point each
/// position of the UA at the few needles that could start there. Built at compile time so the
/// two source lists above stay readable and the scan stays a single pass.
static NEEDLES: [Needle; NEEDLE_COUNT] = NEEDLES_SORTED;
static BUCKETS: [(u8, u8); 1024] = bucket_ranges(&NEEDLES_SORTED);

/// Keeps the low five bits of each byte: ASCII letters then map case-insensitively onto 1..=26,
/// and the few collisions with punctuation are sorted out by the full comparison afterwards.
const fn bucket(first: u8, second: u8) -> usize {
    ((first as usize & 0x1f) << 5) | (second as usize & 0x1f)
}

const fn needle_bucket(n: &Needle) -> usize {
    bucket(n.text[0], n.text[1])
}

const NEEDLES_SORTED: [Needle; NEEDLE_COUNT] = {
    let mut out = [Needle {
        text: b"bot",
        kind: Kind::BotWord,
    }; NEEDLE_COUNT];
    let mut seen = [false; MARK_COUNT];
    let mut i = 0;
    while i < BOT_TOKENS.len() {
        out[i + 1] = Needle {
            text: BOT_TOKENS[i],
            kind: Kind::Bot,
        };
        i += 1;
    }
    let mut j = 0;
    while j < MARKS.len() {
        let (text, mark) = MARKS[j];
        // Every Mark must appear exactly once so `Hits` can be indexed by discriminant.
        assert!(
            (mark as usize) < MARK_COUNT && !seen[mark as usize],
            "Mark missing or listed twice in MARKS"
        );
        seen[mark as usize] = true;
        out[i + 1 + j] = Needle {
            text,
            kind: Kind::Mark(mark),
        };
        j += 1;
    }
    let mut k = 0;
    while k < NEEDLE_COUNT {
        assert!(
            out[k].text.len() >= 2,
            "needles need two bytes to be bucketed"
        );
        k += 1;
    }
    // Insertion sort; stable, so list order is kept within a bucket.
    let mut a = 1;
    while a < NEEDLE_COUNT {
        let mut b = a;
        while b > 0 && needle_bucket(&out[b - 1]) > needle_bucket(&out[b]) {
            let tmp = out[b - 1];
            out[b - 1] = out[b];
            out[b] = tmp;
            b -= 1;
        }
        a += 1;
    }
    out
};

const fn bucket_ranges(sorted: &[Needle; NEEDLE_COUNT]) -> [(u8, u8); 1024] {
    assert!(
        NEEDLE_COUNT < u8::MAX as usize,
        "widen the bucket range type"
    );
    let mut ranges = [(0u8, 0u8); 1024];
    let mut i = 0;
    while i < NEEDLE_COUNT {
        let key = needle_bucket(&sorted[i]);
        if ranges[key].0 == ranges[key].1 {
            ranges[key].0 = i as u8;
        }
        ranges[key].1 = i as u8 + 1;
        i += 1;
    }
    ranges
}

/// Where the first occurrence of each `Mark` ends in the UA.
struct Hits {
    end: [Option<usize>; MARK_COUNT],
}

impl Hits {
    /// Returns `None` as soon as a bot token is found.
    fn scan(b: &[u8]) -> Option<Hits> {
        let mut hits = Hits {
            end: [None; MARK_COUNT],
        };
        // Every needle is at least two bytes long, so the last byte cannot start one.
        for (i, pair) in b.windows(2).enumerate() {
            let (lo, hi) = BUCKETS[bucket(pair[0], pair[1])];
            if lo == hi {
                continue;
            }
            let Some(candidates) = NEEDLES.get(usize::from(lo)..usize::from(hi)) else {
                continue;
            };
            for needle in candidates {
                let Some(window) = b.get(i..i + needle.text.len()) else {
                    continue;
                };
                match needle.kind {
                    Kind::Mark(m) => {
                        let slot = &mut hits.end[m as usize];
                        if slot.is_none() && window == needle.text {
                            *slot = Some(i + needle.text.len());
                        }
                    }
                    Kind::Bot => {
                        if window.eq_ignore_ascii_case(needle.text) {
                            return None;
                        }
                    }
                    Kind::BotWord => {
                        if window.eq_ignore_ascii_case(needle.text) && is_bot_word(b, i) {
                            return None;
                        }
                    }
                }
            }
        }
        Some(hits)
    }

    fn has(&self, m: Mark) -> bool {
        self.after(m).is_some()
    }

    /// Index just past the mark's first occurrence, where a version number usually starts.
    fn after(&self, m: Mark) -> Option<usize> {
        self.end[m as usize]
    }
}

/// "bot" counts when it ends a word ("Googlebot/2.1", "AhrefsBot;", "DuckDuckBot-Https").
/// Phone models such as "CUBOT P50" or "...Robot X" also end in "bot", so those two spellings
/// only count when followed by a version slash, as real crawlers do ("UptimeRobot/2.0").
fn is_bot_word(b: &[u8], at: usize) -> bool {
    let after = b.get(at + 3).copied();
    if after.is_some_and(|c| c.is_ascii_alphabetic()) {
        return false;
    }
    let device_like = at
        .checked_sub(2)
        .and_then(|s| b.get(s..at))
        .is_some_and(|p| p.eq_ignore_ascii_case(b"cu") || p.eq_ignore_ascii_case(b"ro"));
    !device_like || after == Some(b'/')
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Platform {
    Windows,
    MacOs,
    Linux,
    Android,
    Ios,
    IpadOs,
    ChromeOs,
    FreeBsd,
    OpenBsd,
    KaiOs,
    Other,
}

impl Platform {
    const ALL: [Platform; 11] = [
        Platform::Windows,
        Platform::MacOs,
        Platform::Linux,
        Platform::Android,
        Platform::Ios,
        Platform::IpadOs,
        Platform::ChromeOs,
        Platform::FreeBsd,
        Platform::OpenBsd,
        Platform::KaiOs,
        Platform::Other,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Platform::Windows => "Windows",
            Platform::MacOs => "macOS",
            Platform::Linux => "Linux",
            Platform::Android => "Android",
            Platform::Ios => "iOS",
            Platform::IpadOs => "iPadOS",
            Platform::ChromeOs => "ChromeOS",
            Platform::FreeBsd => "FreeBSD",
            Platform::OpenBsd => "OpenBSD",
            Platform::KaiOs => "KaiOS",
            Platform::Other => "Other",
        }
    }

    fn is_apple(self) -> bool {
        matches!(self, Platform::MacOs | Platform::Ios | Platform::IpadOs)
    }
}

fn platform(ua: &str, h: &Hits) -> (Platform, String, DeviceClass) {
    use DeviceClass::{Desktop, Mobile, Tablet};
    // Apple mobile UAs also say "like Mac OS X" and Android ones "Linux", so those go first.
    if h.has(Mark::IPad) {
        (Platform::IpadOs, dotted(ua, h.after(Mark::CpuOs)), Tablet)
    } else if h.has(Mark::IPhone) || h.has(Mark::IPod) {
        (Platform::Ios, dotted(ua, h.after(Mark::IPhoneOs)), Mobile)
    } else if h.has(Mark::KaiOs) {
        // KaiOS phones also mention "Android" in their UA.
        (Platform::KaiOs, String::new(), Mobile)
    } else if let Some(p) = h.after(Mark::Android) {
        let version = dotted(ua, after_space(ua, p));
        // Android phones say "Mobile"; tablets omit it (Firefox says "Tablet").
        let device = if h.has(Mark::Mobile) { Mobile } else { Tablet };
        (Platform::Android, version, device)
    } else if h.has(Mark::CrOs) {
        (Platform::ChromeOs, String::new(), Desktop)
    } else if let Some(p) = h.after(Mark::WindowsNt) {
        (Platform::Windows, windows_version(ua, p), Desktop)
    } else if let Some(p) = h.after(Mark::MacOsX) {
        (Platform::MacOs, mac_version(ua, p), Desktop)
    } else if h.has(Mark::FreeBsd) {
        (Platform::FreeBsd, String::new(), Desktop)
    } else if h.has(Mark::OpenBsd) {
        (Platform::OpenBsd, String::new(), Desktop)
    } else if h.has(Mark::Linux) {
        (Platform::Linux, String::new(), Desktop)
    } else {
        let device = if h.has(Mark::Tablet) {
            Tablet
        } else if h.has(Mark::Mobile) {
            Mobile
        } else {
            Desktop
        };
        (Platform::Other, String::new(), device)
    }
}

/// The classifier's own `&'static` spelling of a browser, OS or device-class name, for events
/// read back as text (the shutdown spool); `None` for a name `classify` never gives.
pub fn known_name(name: &str) -> Option<&'static str> {
    const FALLBACKS: [&str; 6] = [
        "Chrome",
        "Chrome WebView",
        "Safari",
        "Android Browser",
        "Safari (in-app)",
        "Other",
    ];
    let devices = [
        DeviceClass::Desktop,
        DeviceClass::Mobile,
        DeviceClass::Tablet,
    ];
    BROWSERS
        .iter()
        .map(|&(_, browser, _)| browser)
        .chain(FALLBACKS)
        .chain(Platform::ALL.map(Platform::as_str))
        .chain(devices.map(DeviceClass::as_str))
        .find(|&known| known == name)
}

/// Where a browser's version number comes from.
#[derive(Clone, Copy)]
enum Ver {
    /// Digits right after the browser's own token.
    Own,
    From(Mark),
    Unknown,
}

/// Checked in order: in-app browsers and Chromium forks embed a complete Chrome or Safari UA,
/// so they must be recognised before the generic Chrome/Safari fallbacks in `browser`.
const BROWSERS: &[(Mark, &str, Ver)] = &[
    (Mark::Instagram, "Instagram", Ver::Own),
    (Mark::FbAv, "Facebook", Ver::Own),
    (Mark::FbIab, "Facebook", Ver::From(Mark::FbAv)),
    (Mark::FbAn, "Facebook", Ver::From(Mark::FbAv)),
    (Mark::BytedanceWebview, "TikTok", Ver::Unknown),
    (Mark::MusicalLy, "TikTok", Ver::Unknown),
    (Mark::Snapchat, "Snapchat", Ver::Own),
    (Mark::LinkedInApp, "LinkedIn", Ver::Own),
    (Mark::MicroMessenger, "WeChat", Ver::Own),
    (Mark::Gsa, "Google App", Ver::Own),
    (Mark::Edg, "Edge", Ver::Own),
    (Mark::EdgA, "Edge", Ver::Own),
    (Mark::EdgiOs, "Edge", Ver::Own),
    (Mark::EdgeLegacy, "Edge", Ver::Own),
    (Mark::OperaMini, "Opera Mini", Ver::Own),
    (Mark::Opr, "Opera", Ver::Own),
    (Mark::Opt, "Opera", Ver::Own),
    (Mark::OpiOs, "Opera", Ver::Own),
    (Mark::OperaLegacy, "Opera", Ver::From(Mark::Version)),
    (Mark::SamsungBrowser, "Samsung Internet", Ver::Own),
    (Mark::YaBrowser, "Yandex Browser", Ver::Own),
    (Mark::UcBrowser, "UC Browser", Ver::Own),
    (Mark::Vivaldi, "Vivaldi", Ver::Own),
    (Mark::DuckDuckGo, "DuckDuckGo", Ver::Own),
    (Mark::CriOs, "Chrome", Ver::Own),
    (Mark::FxiOs, "Firefox", Ver::Own),
    (Mark::Firefox, "Firefox", Ver::Own),
    (Mark::Msie, "Internet Explorer", Ver::Own),
    (Mark::Trident, "Internet Explorer", Ver::Unknown),
];

fn browser(ua: &str, h: &Hits, os: Platform) -> (&'static str, String) {
    for &(mark, name, ver) in BROWSERS {
        if let Some(end) = h.after(mark) {
            let version = match ver {
                Ver::Own => major(ua, Some(end)),
                Ver::From(other) => major(ua, h.after(other)),
                Ver::Unknown => String::new(),
            };
            return (name, version);
        }
    }
    if let Some(end) = h.after(Mark::Chrome) {
        // Android WebView marks itself with "; wv)"; pre-Lollipop WebViews only with the
        // "Version/4.0" that real Chrome never sends.
        let webview = h.has(Mark::Wv) || (os == Platform::Android && h.has(Mark::Version));
        let name = if webview { "Chrome WebView" } else { "Chrome" };
        return (name, major(ua, Some(end)));
    }
    if h.has(Mark::Safari) && h.has(Mark::Version) {
        let name = if os.is_apple() {
            "Safari"
        } else {
            "Android Browser"
        };
        return (name, major(ua, h.after(Mark::Version)));
    }
    // WKWebView inside an app sends Safari's UA minus the "Version/" and "Safari/" tokens.
    if os.is_apple() && h.has(Mark::AppleWebKit) {
        return ("Safari (in-app)", String::new());
    }
    ("Other", String::new())
}

/// "Android 14" and "Mac OS X 10_15_7" put a space between token and version; without it
/// ("Android;", "Mac OS X)") there is no version to read.
fn after_space(ua: &str, at: usize) -> Option<usize> {
    (ua.as_bytes().get(at) == Some(&b' ')).then_some(at + 1)
}

/// The run of ASCII digits starting at `from`.
fn digits(ua: &str, from: usize) -> &str {
    let rest = ua.get(from..).unwrap_or("");
    let len = rest.bytes().take_while(u8::is_ascii_digit).count();
    rest.get(..len).unwrap_or("")
}

fn major(ua: &str, from: Option<usize>) -> String {
    from.map_or_else(String::new, |p| digits(ua, p).to_owned())
}

/// Up to two numeric components separated by '.' or '_' ("17_4_1" → "17.4").
fn dotted(ua: &str, from: Option<usize>) -> String {
    let Some(p) = from else {
        return String::new();
    };
    let first = digits(ua, p);
    if first.is_empty() {
        return String::new();
    }
    let mut out = String::with_capacity(first.len() + 4);
    out.push_str(first);
    let sep = p + first.len();
    if matches!(ua.as_bytes().get(sep), Some(b'.' | b'_')) {
        let second = digits(ua, sep + 1);
        if !second.is_empty() {
            out.push('.');
            out.push_str(second);
        }
    }
    out
}

/// Windows reports its NT kernel version; Windows 11 still says "NT 10.0", so it reads as "10".
fn windows_version(ua: &str, from: usize) -> String {
    let major = digits(ua, from);
    let minor_at = from + major.len();
    let minor = if ua.as_bytes().get(minor_at) == Some(&b'.') {
        digits(ua, minor_at + 1)
    } else {
        ""
    };
    let name = match (major, minor) {
        ("10", "0") => "10",
        ("6", "3") => "8.1",
        ("6", "2") => "8",
        ("6", "1") => "7",
        ("6", "0") => "Vista",
        ("5", "1" | "2") => "XP",
        _ => "",
    };
    name.to_owned()
}

/// "10_15_7" / "10.15" → "10.15"; from macOS 11 on only the major number is meaningful.
fn mac_version(ua: &str, from: usize) -> String {
    let Some(start) = after_space(ua, from) else {
        return String::new();
    };
    if digits(ua, start) == "10" {
        dotted(ua, Some(start))
    } else {
        digits(ua, start).to_owned()
    }
}

#[cfg(test)]
#[path = "useragent_tests.rs"]
mod tests;

#[cfg(test)]
mod pattern_tests {
    use super::*;

    #[test]
    fn every_public_bot_pattern_compiles() {
        let broken: Vec<String> = BOT_PATTERNS
            .lines()
            .filter(|p| !p.is_empty())
            .filter_map(|p| {
                let rust = from_javascript(p);
                let compiled = if has_lookaround(p) {
                    fancy_regex::Regex::new(&rust).err().map(|e| e.to_string())
                } else {
                    regex::Regex::new(&rust).err().map(|e| e.to_string())
                };
                compiled.map(|e| format!("{p:?}: {e}"))
            })
            .collect();
        assert!(broken.is_empty(), "{broken:#?}");
        let loaded = BotPatterns::load();
        assert!(
            loaded.plain.is_some(),
            "the combined pattern does not compile"
        );
    }

    #[test]
    fn the_android_model_is_not_matched_against_the_list() {
        let ua = "Mozilla/5.0 (Linux; Android 11; KidsRobot K7 Build/RP1A; wv) AppleWebKit/537.36";
        assert_eq!(
            without_android_model(ua),
            "Mozilla/5.0 (Linux; Android 11; ; wv) AppleWebKit/537.36"
        );
        let plain = "Mozilla/5.0 (Windows NT 10.0; Win64; x64)";
        assert_eq!(without_android_model(plain), plain);
    }

    #[test]
    fn lookarounds_come_off_for_the_quick_test() {
        assert_eq!(without_lookarounds("(?<!cam)scan"), "scan");
        assert_eq!(
            without_lookarounds("(?<! channel/|google/)google(?!(?:wv|app|/google| pixel))"),
            "google"
        );
        assert_eq!(
            without_lookarounds(r"(?<! cu)bots?(?:\b|_)"),
            r"bots?(?:\b|_)"
        );
        assert_eq!(without_lookarounds("java(?!;)"), "java");
    }

    #[test]
    fn a_dash_beside_a_class_escape_is_a_literal_as_in_javascript() {
        assert_eq!(from_javascript(r"[\w\d-.]+"), r"[\w\d\-.]+");
        assert_eq!(from_javascript(r"[-\w]"), r"[\-\w]");
        assert_eq!(from_javascript(r"[a-z]-\d"), r"[a-z]-\d");
    }
}
