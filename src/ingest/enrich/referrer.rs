//! Referrer URL → traffic source: a friendly name for well-known sites, else the bare host.
//! Self-referrals and unusable referrers yield `None` so they never show up as sources.

use url::{Host, Url};

/// Longer referrer URLs are cut here; anything past it is tracking noise, not a page address.
const MAX_URL_LEN: usize = 2048;
/// The DNS limit; a longer "host" cannot be a real site.
const MAX_HOST_LEN: usize = 253;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referrer {
    /// Friendly name ("Google", "Hacker News") or the bare host without "www.".
    pub source: String,
    /// scheme://host[:port]/path — query, fragment and credentials dropped, at most 2048 bytes.
    pub url: String,
}

/// `referrer` is the raw referrer URL the tracker sent; `site_domain` the site's registered
/// domain (e.g. "example.com"). Returns `None` when there is no usable referrer or when it is a
/// self-referral (host == site_domain or a subdomain of it, "www." ignored).
pub fn source(referrer: &str, site_domain: &str) -> Option<Referrer> {
    let referrer = referrer.trim();
    if referrer.is_empty() {
        return None;
    }
    let url = Url::parse(referrer).ok()?;
    match url.scheme() {
        "http" | "https" => web_source(&url, site_domain),
        "android-app" => android_app_source(&url),
        _ => None,
    }
}

fn web_source(url: &Url, site_domain: &str) -> Option<Referrer> {
    let raw_host = url.host_str()?;
    let host = raw_host.trim_end_matches('.');
    if host.is_empty() || host.len() > MAX_HOST_LEN {
        return None;
    }
    let bare = strip_www(host);
    if is_same_site(bare, site_domain) {
        return None;
    }
    let source = known_name(bare).map_or_else(|| bare.to_owned(), str::to_owned);
    let mut normalised =
        String::with_capacity(url.scheme().len() + 3 + host.len() + url.path().len() + 6);
    normalised.push_str(url.scheme());
    normalised.push_str("://");
    normalised.push_str(host);
    if let Some(port) = url.port() {
        normalised.push(':');
        normalised.push_str(&port.to_string());
    }
    normalised.push_str(&crate::domain::decode::for_display(url.path()));
    truncate_at_char_boundary(&mut normalised, MAX_URL_LEN);
    Some(Referrer {
        source,
        url: normalised,
    })
}

/// Android sends `android-app://PACKAGE[/...]` when an app (not a browser) opened the link.
fn android_app_source(url: &Url) -> Option<Referrer> {
    let package = url.host_str()?.to_ascii_lowercase();
    let valid = !package.is_empty()
        && package.len() <= MAX_HOST_LEN
        && package
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'_');
    if !valid {
        return None;
    }
    let source = ANDROID_APPS
        .iter()
        .find(|(p, _)| *p == package)
        .map_or_else(|| package.clone(), |(_, name)| (*name).to_owned());
    Some(Referrer {
        source,
        url: format!("android-app://{package}"),
    })
}

const ANDROID_APPS: &[(&str, &str)] = &[
    ("com.google.android.gm", "Gmail"),
    ("com.google.android.googlequicksearchbox", "Google"),
    ("com.google.android.apps.searchlite", "Google"),
    ("com.facebook.katana", "Facebook"),
    ("com.instagram.android", "Instagram"),
    ("com.twitter.android", "X"),
    ("com.linkedin.android", "LinkedIn"),
    ("com.reddit.frontpage", "Reddit"),
    ("org.telegram.messenger", "Telegram"),
    ("com.whatsapp", "WhatsApp"),
    ("com.slack", "Slack"),
    ("com.discord", "Discord"),
    ("com.microsoft.office.outlook", "Outlook"),
];

fn strip_www(host: &str) -> &str {
    host.strip_prefix("www.").unwrap_or(host)
}

fn is_same_site(bare_host: &str, site_domain: &str) -> bool {
    let site = site_domain.trim().trim_end_matches('.');
    // Compare in the same (ASCII, punycode) form the url crate gives the referrer's host.
    let site = match Host::parse(site) {
        Ok(Host::Domain(d)) => d,
        _ => site.to_ascii_lowercase(),
    };
    let site = strip_www(&site);
    if site.is_empty() {
        return false;
    }
    bare_host == site
        || bare_host
            .strip_suffix(site)
            .is_some_and(|rest| rest.ends_with('.'))
}

/// Known referrer hosts. Each entry also covers its subdomains ("l.facebook.com",
/// "en.m.wikipedia.org"), and the most specific entry wins ("gemini.google.com" over Google).
static KNOWN_HOSTS: &[(&str, &str)] = &[
    // Search engines (Google's many country domains are handled by `is_google_domain`).
    ("google.com", "Google"),
    ("bing.com", "Bing"),
    ("duckduckgo.com", "DuckDuckGo"),
    ("yahoo.com", "Yahoo"),
    ("yahoo.co.jp", "Yahoo"),
    ("yandex.ru", "Yandex"),
    ("yandex.com", "Yandex"),
    ("yandex.com.tr", "Yandex"),
    ("yandex.kz", "Yandex"),
    ("yandex.by", "Yandex"),
    ("ya.ru", "Yandex"),
    ("baidu.com", "Baidu"),
    ("ecosia.org", "Ecosia"),
    ("search.brave.com", "Brave Search"),
    ("qwant.com", "Qwant"),
    ("startpage.com", "Startpage"),
    ("kagi.com", "Kagi"),
    ("naver.com", "Naver"),
    // Google properties that are not search.
    ("mail.google.com", "Gmail"),
    ("news.google.com", "Google News"),
    // AI assistants
    ("chatgpt.com", "ChatGPT"),
    ("chat.openai.com", "ChatGPT"),
    ("perplexity.ai", "Perplexity"),
    ("claude.ai", "Claude"),
    ("gemini.google.com", "Gemini"),
    ("bard.google.com", "Gemini"),
    ("copilot.microsoft.com", "Copilot"),
    ("phind.com", "Phind"),
    // Social networks and communities
    ("facebook.com", "Facebook"),
    ("fb.me", "Facebook"),
    ("instagram.com", "Instagram"),
    ("t.co", "X"),
    ("twitter.com", "X"),
    ("x.com", "X"),
    ("linkedin.com", "LinkedIn"),
    ("lnkd.in", "LinkedIn"),
    ("reddit.com", "Reddit"),
    ("redd.it", "Reddit"),
    ("news.ycombinator.com", "Hacker News"),
    ("youtube.com", "YouTube"),
    ("youtu.be", "YouTube"),
    ("pinterest.com", "Pinterest"),
    ("pin.it", "Pinterest"),
    ("tiktok.com", "TikTok"),
    ("threads.net", "Threads"),
    ("threads.com", "Threads"),
    ("bsky.app", "Bluesky"),
    ("mastodon.social", "Mastodon"),
    ("mastodon.online", "Mastodon"),
    ("fosstodon.org", "Mastodon"),
    ("hachyderm.io", "Mastodon"),
    ("mstdn.social", "Mastodon"),
    ("lobste.rs", "Lobsters"),
    ("producthunt.com", "Product Hunt"),
    ("github.com", "GitHub"),
    ("stackoverflow.com", "Stack Overflow"),
    ("wikipedia.org", "Wikipedia"),
    ("medium.com", "Medium"),
    ("substack.com", "Substack"),
    // Messengers
    ("t.me", "Telegram"),
    ("telegram.org", "Telegram"),
    ("whatsapp.com", "WhatsApp"),
    ("wa.me", "WhatsApp"),
    ("slack.com", "Slack"),
    ("discord.com", "Discord"),
    ("discordapp.com", "Discord"),
];

/// Tries the host and then each parent domain, so the longest listed suffix wins.
fn known_name(bare_host: &str) -> Option<&'static str> {
    let mut candidate = bare_host;
    loop {
        if let Some(&(_, name)) = KNOWN_HOSTS.iter().find(|(h, _)| *h == candidate) {
            return Some(name);
        }
        if is_google_domain(candidate) {
            return Some("Google");
        }
        candidate = candidate.split_once('.')?.1;
    }
}

/// "google.com", "google.de", "google.co.uk", "google.com.au": Google search lives on
/// google.com and on a domain per country, always under a two-letter country code (with "co."
/// or "com." before it in some countries) — and google.cat. Any other `google.<label>`
/// (google.evil, google.xyz) is not Google.
fn is_google_domain(domain: &str) -> bool {
    let Some(suffix) = domain.strip_prefix("google.") else {
        return false;
    };
    if suffix == "com" || suffix == "cat" {
        return true;
    }
    let country = suffix
        .strip_prefix("co.")
        .or_else(|| suffix.strip_prefix("com."))
        .unwrap_or(suffix);
    country.len() == 2 && country.bytes().all(|b| b.is_ascii_lowercase())
}

fn truncate_at_char_boundary(s: &mut String, max: usize) {
    if s.len() <= max {
        return;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_real_google_domains_are_google() {
        for google in [
            "google.com",
            "google.de",
            "google.co.uk",
            "google.com.au",
            "google.cat",
        ] {
            assert!(super::is_google_domain(google), "{google}");
        }
        for other in [
            "google.evil",
            "google.xyz",
            "google.co.evil",
            "google.",
            "google.com.a1",
            "googlex.com",
        ] {
            assert!(!super::is_google_domain(other), "{other}");
        }
    }

    use super::{Referrer, source};

    fn name(referrer: &str) -> Option<String> {
        source(referrer, "example.com").map(|r| r.source)
    }

    #[test]
    fn a_link_from_the_site_itself_is_not_a_source() {
        assert_eq!(source("https://example.com/pricing", "example.com"), None);
        assert_eq!(source("https://www.example.com/", "example.com"), None);
        assert_eq!(
            source("http://blog.example.com/post?a=1", "example.com"),
            None
        );
        assert_eq!(source("https://example.com/", "www.example.com"), None);
        assert_eq!(source("https://EXAMPLE.com./", "Example.COM"), None);
    }

    #[test]
    fn a_domain_that_merely_ends_like_the_site_is_not_a_self_referral() {
        assert_eq!(
            name("https://notexample.com/"),
            Some("notexample.com".into())
        );
        assert_eq!(
            name("https://example.com.evil.io/"),
            Some("example.com.evil.io".into())
        );
    }

    #[test]
    fn google_country_domains_are_all_google() {
        for r in [
            "https://www.google.com/",
            "https://www.google.de/",
            "https://www.google.co.uk/",
            "https://www.google.com.au/search?q=x",
            "https://google.fr",
        ] {
            assert_eq!(name(r), Some("Google".into()), "{r}");
        }
    }

    #[test]
    fn domains_that_only_contain_google_are_not_google() {
        assert_eq!(
            name("https://googleblog.com/"),
            Some("googleblog.com".into())
        );
        assert_eq!(
            name("https://google.co.evil.io/"),
            Some("google.co.evil.io".into())
        );
    }

    #[test]
    fn gemini_wins_over_google() {
        assert_eq!(
            name("https://gemini.google.com/app/abc"),
            Some("Gemini".into())
        );
    }

    #[test]
    fn t_co_and_twitter_are_reported_as_x() {
        assert_eq!(name("https://t.co/AbC123"), Some("X".into()));
        assert_eq!(name("https://mobile.twitter.com/"), Some("X".into()));
        assert_eq!(name("https://x.com/someone/status/1"), Some("X".into()));
    }

    #[test]
    fn link_shim_and_mobile_prefixes_map_to_the_network() {
        assert_eq!(
            name("https://l.facebook.com/l.php?u=x"),
            Some("Facebook".into())
        );
        assert_eq!(name("https://lm.facebook.com/"), Some("Facebook".into()));
        assert_eq!(name("https://m.facebook.com/"), Some("Facebook".into()));
        assert_eq!(
            name("https://old.reddit.com/r/rust/"),
            Some("Reddit".into())
        );
        assert_eq!(
            name("https://en.m.wikipedia.org/wiki/Rust"),
            Some("Wikipedia".into())
        );
        assert_eq!(
            name("https://someone.substack.com/p/x"),
            Some("Substack".into())
        );
        assert_eq!(
            name("https://news.ycombinator.com/item?id=1"),
            Some("Hacker News".into())
        );
    }

    #[test]
    fn ai_assistants_are_named() {
        assert_eq!(name("https://chatgpt.com/"), Some("ChatGPT".into()));
        assert_eq!(
            name("https://www.perplexity.ai/search"),
            Some("Perplexity".into())
        );
        assert_eq!(name("https://claude.ai/"), Some("Claude".into()));
        assert_eq!(
            name("https://copilot.microsoft.com/"),
            Some("Copilot".into())
        );
    }

    #[test]
    fn an_unknown_host_is_reported_bare_without_www() {
        assert_eq!(
            source("https://www.Some-Blog.net/posts/1", "example.com"),
            Some(Referrer {
                source: "some-blog.net".into(),
                url: "https://www.some-blog.net/posts/1".into(),
            })
        );
    }

    #[test]
    fn query_fragment_and_credentials_are_dropped_from_the_url() {
        let r = source(
            "https://user:pw@www.google.com:8443/search?q=secret#frag",
            "example.com",
        );
        assert_eq!(
            r.map(|r| r.url),
            Some("https://www.google.com:8443/search".to_owned())
        );
    }

    #[test]
    fn the_normalised_url_is_capped_at_2048_bytes() {
        let long = format!("https://blog.test/{}", "a".repeat(5000));
        let url = source(&long, "example.com")
            .map(|r| r.url)
            .unwrap_or_default();
        assert_eq!(url.len(), 2048);
    }

    #[test]
    fn android_apps_are_named_by_package() {
        assert_eq!(
            name("android-app://com.google.android.gm"),
            Some("Gmail".into())
        );
        assert_eq!(
            name("android-app://com.google.android.googlequicksearchbox/https/www.google.com"),
            Some("Google".into())
        );
        assert_eq!(
            name("android-app://org.example.reader/"),
            Some("org.example.reader".into())
        );
    }

    #[test]
    fn other_schemes_and_garbage_are_not_sources() {
        for r in [
            "",
            "   ",
            "http://",
            "https://",
            "://x",
            "example.com/page",
            "about:blank",
            "file:///home/me/page.html",
            "chrome-extension://abcdef/popup.html",
            "android-app://",
            "javascript:alert(1)",
        ] {
            assert_eq!(name(r), None, "{r:?}");
        }
    }

    #[test]
    fn odd_inputs_never_panic() {
        let long_path = format!("https://a.test/{}", "é".repeat(3000));
        let long_host = format!("https://{}.test/", "a".repeat(10_000));
        let long_garbage = "\u{0}%%%::://".repeat(10_000);
        for r in [
            long_path.as_str(),
            long_host.as_str(),
            long_garbage.as_str(),
            "https://bücher.de/",
            "https://例え.テスト/パス",
            "https://[::1]:8080/x",
            "http://192.168.0.1/",
            "https://%zz/",
            "https://.../",
            "https://www./",
            "android-app://ÄÖÜ/x",
        ] {
            let _ = source(r, "example.com");
            let _ = source(r, "bücher.de");
            let _ = source(r, "");
        }
    }

    #[test]
    fn unicode_hosts_are_compared_and_reported_in_punycode() {
        assert_eq!(source("https://bücher.de/", "bücher.de"), None);
        assert_eq!(
            name("https://www.bücher.de/"),
            Some("xn--bcher-kva.de".into())
        );
    }
}
