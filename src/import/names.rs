//! Browser, OS and device as other tools' exports name them (GoatCounter's "Chrome 86" and
//! "macOS 10.15"; Umami's `crios`, `Mac OS`, `laptop`), in footfall's names: those the user-agent
//! classifier gives, so imported and live visitors group together. Names footfall does not know
//! become "Other"; the names both tools give crawlers make the row a bot's. Countries are ISO
//! codes in both.

use crate::ingest::enrich::useragent::{BotReason, Classified, DeviceClass, UserAgent};

/// Browsers by their name with everything but letters and digits dropped, lower-cased.
const BROWSERS: &[(&str, &str)] = &[
    ("chrome", "Chrome"),
    ("crios", "Chrome"),
    ("chromium", "Chrome"),
    ("googlechrome", "Chrome"),
    ("chromewebview", "Chrome WebView"),
    ("chromiumwebview", "Chrome WebView"),
    ("androidwebview", "Chrome WebView"),
    ("edge", "Edge"),
    ("edgechromium", "Edge"),
    ("edgeios", "Edge"),
    ("microsoftedge", "Edge"),
    ("firefox", "Firefox"),
    ("fxios", "Firefox"),
    ("safari", "Safari"),
    ("mobilesafari", "Safari"),
    // detect-browser's (Umami's) name for Safari on iOS.
    ("ios", "Safari"),
    ("ioswebview", "Safari (in-app)"),
    ("safariinapp", "Safari (in-app)"),
    ("samsung", "Samsung Internet"),
    ("samsunginternet", "Samsung Internet"),
    ("samsungbrowser", "Samsung Internet"),
    ("opera", "Opera"),
    ("operamini", "Opera Mini"),
    ("yandex", "Yandex Browser"),
    ("yandexbrowser", "Yandex Browser"),
    ("ucbrowser", "UC Browser"),
    ("vivaldi", "Vivaldi"),
    ("duckduckgo", "DuckDuckGo"),
    ("facebook", "Facebook"),
    ("instagram", "Instagram"),
    ("ie", "Internet Explorer"),
    ("msie", "Internet Explorer"),
    ("internetexplorer", "Internet Explorer"),
    ("android", "Android Browser"),
    ("androidbrowser", "Android Browser"),
];

/// Names exports give to crawlers and tools, not people.
const BOT_NAMES: &[&str] = &["searchbot", "curl", "phantomjs", "headlesschrome", "bot"];

/// Operating systems by the start of their squeezed name ("windows10" → Windows).
const SYSTEMS: &[(&str, &str)] = &[
    ("windows", "Windows"),
    ("macos", "macOS"),
    ("osx", "macOS"),
    ("ipados", "iPadOS"),
    ("ios", "iOS"),
    ("iphoneos", "iOS"),
    ("android", "Android"),
    ("chromeos", "ChromeOS"),
    ("chromiumos", "ChromeOS"),
    ("linux", "Linux"),
    ("ubuntu", "Linux"),
    ("debian", "Linux"),
    ("fedora", "Linux"),
    ("freebsd", "FreeBSD"),
    ("openbsd", "OpenBSD"),
    ("kaios", "KaiOS"),
];

/// Narrower screens (CSS pixels) on Android are phones, wider ones tablets.
const TABLET_MIN_WIDTH: u32 = 600;

/// The export's names, each with an optional version after the last space ("Chrome 86",
/// "Windows 10", "macOS 10.15"). `device` is the export's device class when it has one;
/// otherwise it is told from the OS (and, on Android, the screen width).
pub fn classify(
    browser: &str,
    os: &str,
    device: Option<&str>,
    screen_width: Option<u32>,
) -> Classified {
    let (browser_name, browser_version) = name_and_version(browser);
    let (os_name, os_version) = name_and_version(os);
    let (browser_key, os_key) = (squeeze(browser_name), squeeze(os_name));
    if BOT_NAMES.contains(&browser_key.as_str()) || os_key == "searchbot" {
        return Classified::Bot(BotReason::Token);
    }
    let browser = BROWSERS
        .iter()
        .find(|(key, _)| *key == browser_key)
        .map_or("Other", |&(_, name)| name);
    let (os, os_version) = match SYSTEMS.iter().find(|(key, _)| os_key.starts_with(key)) {
        // "Windows 10" and "Windows XP" alike: whatever follows the name is its version.
        Some((_, "Windows")) => ("Windows", os.trim().get(7..).unwrap_or_default().trim()),
        Some(&(_, name)) => (name, os_version),
        None => ("Other", ""),
    };
    let device = match device.map(squeeze).as_deref() {
        Some("desktop" | "laptop") => DeviceClass::Desktop,
        Some("mobile" | "wearable") => DeviceClass::Mobile,
        Some("tablet") => DeviceClass::Tablet,
        _ => device_of(os, screen_width),
    };
    Classified::Human(UserAgent {
        browser,
        browser_version: dotted(browser_version, 1),
        os,
        os_version: if os == "Windows" {
            os_version.chars().take(10).collect()
        } else {
            dotted(os_version, 2)
        },
        device,
    })
}

/// The country of an ISO 3166 code: `US` or `US-TX` → `US`.
pub fn country(location: &str) -> Option<String> {
    let code = location.trim().split('-').next().unwrap_or_default();
    (code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic()))
        .then(|| code.to_ascii_uppercase())
}

fn device_of(os: &str, screen_width: Option<u32>) -> DeviceClass {
    match os {
        "iOS" | "KaiOS" => DeviceClass::Mobile,
        "iPadOS" => DeviceClass::Tablet,
        "Android" if screen_width.is_some_and(|w| w >= TABLET_MIN_WIDTH) => DeviceClass::Tablet,
        "Android" => DeviceClass::Mobile,
        _ => DeviceClass::Desktop,
    }
}

/// "Chrome 86" → ("Chrome", "86"); "Mac OS" → ("Mac OS", ""): a last word that starts with a
/// digit is the version.
fn name_and_version(s: &str) -> (&str, &str) {
    let s = s.trim();
    match s.rsplit_once(' ') {
        Some((name, version)) if version.starts_with(|c: char| c.is_ascii_digit()) => {
            (name.trim(), version)
        }
        _ => (s, ""),
    }
}

/// Lower-case letters and digits only: "Edge (Chromium)", "edge-chromium" → "edgechromium".
fn squeeze(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The first `parts` dot-separated numbers of `version` ("14.0.2" → "14" or "14.0").
fn dotted(version: &str, parts: usize) -> String {
    let numbers: Vec<&str> = version
        .split('.')
        .take(parts)
        .take_while(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        .collect();
    numbers.join(".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::enrich::useragent::known_name;

    fn human(browser: &str, os: &str, device: Option<&str>, width: Option<u32>) -> UserAgent {
        match classify(browser, os, device, width) {
            Classified::Human(ua) => ua,
            Classified::Bot(why) => panic!("{browser} on {os}: a bot ({why:?})"),
        }
    }

    fn summary(ua: &UserAgent) -> (&str, &str, &str, &str, &str) {
        (
            ua.browser,
            &ua.browser_version,
            ua.os,
            &ua.os_version,
            ua.device.as_str(),
        )
    }

    #[test]
    fn every_name_given_is_one_the_classifier_gives() {
        for &(_, name) in BROWSERS.iter().chain(SYSTEMS) {
            assert_eq!(known_name(name), Some(name));
        }
        assert_eq!(known_name("Other"), Some("Other"));
    }

    #[test]
    fn goatcounter_names_carry_their_versions() {
        let ua = human("Chrome 86", "Windows 7", None, Some(1280));
        assert_eq!(summary(&ua), ("Chrome", "86", "Windows", "7", "desktop"));
        let ua = human("Safari 14.0", "macOS 10.15", None, None);
        assert_eq!(summary(&ua), ("Safari", "14", "macOS", "10.15", "desktop"));
        let ua = human("Safari 17.4", "iOS 17.4.1", None, Some(390));
        assert_eq!(summary(&ua), ("Safari", "17", "iOS", "17.4", "mobile"));
        let ua = human("Chrome 120", "Android 14", None, Some(800));
        assert_eq!(summary(&ua), ("Chrome", "120", "Android", "14", "tablet"));
        let ua = human("", "", None, None);
        assert_eq!(summary(&ua), ("Other", "", "Other", "", "desktop"));
    }

    #[test]
    fn umami_names_map_to_footfalls() {
        let ua = human("crios", "iOS", Some("mobile"), None);
        assert_eq!(summary(&ua), ("Chrome", "", "iOS", "", "mobile"));
        let ua = human("edge-chromium", "Windows 10", Some("laptop"), None);
        assert_eq!(summary(&ua), ("Edge", "", "Windows", "10", "desktop"));
        let ua = human("ios", "iOS", Some("tablet"), None);
        assert_eq!(summary(&ua), ("Safari", "", "iOS", "", "tablet"));
        let ua = human("samsung", "Android OS", Some("mobile"), None);
        assert_eq!(
            summary(&ua),
            ("Samsung Internet", "", "Android", "", "mobile")
        );
        let ua = human("kakaotalk", "Mac OS", Some("desktop"), None);
        assert_eq!(summary(&ua), ("Other", "", "macOS", "", "desktop"));
        let ua = human("firefox", "Chrome OS", Some("smarttv"), None);
        assert_eq!(summary(&ua), ("Firefox", "", "ChromeOS", "", "desktop"));
    }

    #[test]
    fn locations_give_their_country() {
        assert_eq!(country("US-TX").as_deref(), Some("US"));
        assert_eq!(country("nl").as_deref(), Some("NL"));
        assert_eq!(country(""), None);
        assert_eq!(country("USA"), None);
    }

    #[test]
    fn crawler_names_are_bots() {
        for (browser, os) in [
            ("searchbot", "Linux"),
            ("curl", ""),
            ("chrome", "Search Bot"),
        ] {
            assert!(
                matches!(classify(browser, os, None, None), Classified::Bot(_)),
                "{browser} {os}"
            );
        }
    }
}
