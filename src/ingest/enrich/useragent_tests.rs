//! Table-driven tests for the user-agent classifier, using real 2024–2026 era UA strings.
//! Kept apart from `useragent.rs` so the classifier itself stays short.

use super::{Classified, DeviceClass, UserAgent, classify};
use DeviceClass::{Desktop, Mobile, Tablet};

enum Want {
    Human(
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        DeviceClass,
    ),
    Bot,
}

use Want::{Bot, Human};

#[rustfmt::skip]
const TABLE: &[(&str, Want)] = &[
    // Chrome
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        Human("Chrome", "131", "Windows", "10", Desktop)),
    ("Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36",
        Human("Chrome", "109", "Windows", "7", Desktop)),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        Human("Chrome", "131", "macOS", "10.15", Desktop)),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
        Human("Chrome", "130", "Linux", "", Desktop)),
    ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
        Human("Chrome", "131", "Android", "10", Mobile)),
    ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        Human("Chrome", "131", "Android", "10", Tablet)),
    ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        Human("Chrome", "131", "ChromeOS", "", Desktop)),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
        Human("Chrome", "131", "iOS", "17.7", Mobile)),
    ("Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
        Human("Chrome", "131", "iPadOS", "17.7", Tablet)),
    // Firefox
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
        Human("Firefox", "133", "Windows", "10", Desktop)),
    ("Mozilla/5.0 (Windows NT 6.3; Win64; x64; rv:115.0) Gecko/20100101 Firefox/115.0",
        Human("Firefox", "115", "Windows", "8.1", Desktop)),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
        Human("Firefox", "133", "macOS", "10.15", Desktop)),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        Human("Firefox", "133", "Linux", "", Desktop)),
    ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
        Human("Firefox", "132", "Linux", "", Desktop)),
    ("Mozilla/5.0 (X11; FreeBSD amd64; rv:132.0) Gecko/20100101 Firefox/132.0",
        Human("Firefox", "132", "FreeBSD", "", Desktop)),
    ("Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
        Human("Firefox", "133", "Android", "14", Mobile)),
    ("Mozilla/5.0 (Android 13; Tablet; rv:133.0) Gecko/133.0 Firefox/133.0",
        Human("Firefox", "133", "Android", "13", Tablet)),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15",
        Human("Firefox", "133", "iOS", "17.7", Mobile)),
    // Safari
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
        Human("Safari", "18", "macOS", "10.15", Desktop)),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        Human("Safari", "18", "iOS", "18.1", Mobile)),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
        Human("Safari", "17", "iOS", "17.4", Mobile)),
    ("Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        Human("Safari", "17", "iPadOS", "17.4", Tablet)),
    // iPadOS asks for desktop sites by default and is then indistinguishable from a Mac.
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
        Human("Safari", "17", "macOS", "10.15", Desktop)),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
        Human("Safari (in-app)", "", "iOS", "17.5", Mobile)),
    // Edge
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
        Human("Edge", "131", "Windows", "10", Desktop)),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
        Human("Edge", "131", "macOS", "10.15", Desktop)),
    ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 EdgA/131.0.0.0",
        Human("Edge", "131", "Android", "10", Mobile)),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 EdgiOS/131.2903.68 Mobile/15E148 Safari/605.1.15",
        Human("Edge", "131", "iOS", "18.1", Mobile)),
    // Samsung Internet
    ("Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S928B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
        Human("Samsung Internet", "26", "Android", "14", Mobile)),
    ("Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Safari/537.36",
        Human("Samsung Internet", "26", "Android", "14", Tablet)),
    // Opera
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0",
        Human("Opera", "115", "Windows", "10", Desktop)),
    ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36 OPR/86.0.0.0",
        Human("Opera", "86", "Android", "10", Mobile)),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1 OPT/5.0.2",
        Human("Opera", "5", "iOS", "17.6", Mobile)),
    // Other Chromium-based browsers and Android WebView
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 YaBrowser/24.10.0.0 Safari/537.36",
        Human("Yandex Browser", "24", "Windows", "10", Desktop)),
    ("Mozilla/5.0 (Linux; U; Android 11; en-US; RMX2193 Build/RP1A.201005.001) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/100.0.4896.58 UCBrowser/13.6.2.1316 Mobile Safari/537.36",
        Human("UC Browser", "13", "Android", "11", Mobile)),
    ("Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/130.0.0.0 Mobile DuckDuckGo/5 Safari/537.36",
        Human("DuckDuckGo", "5", "Android", "14", Mobile)),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240905.003; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/130.0.6723.107 Mobile Safari/537.36",
        Human("Chrome WebView", "130", "Android", "14", Mobile)),
    // Electron apps are people using a desktop app, not automation.
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Obsidian/1.7.7 Chrome/128.0.6613.186 Electron/32.2.5 Safari/537.36",
        Human("Chrome", "128", "Windows", "10", Desktop)),
    // In-app browsers
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 346.0.3.28.90 (iPhone14,5; iOS 17_6_1; en_US; en; scale=3.00; 1170x2532; 636163399)",
        Human("Instagram", "346", "iOS", "17.6", Mobile)),
    ("Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/130.0.6723.102 Mobile Safari/537.36 Instagram 357.0.0.25.101 Android (34/14; 450dpi; 1080x2340; samsung; SM-S918B; dm1q; qcom; en_GB; 656336128)",
        Human("Instagram", "357", "Android", "14", Mobile)),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/471.0.0.38.108;FBBV/636164823;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.5.1;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5;FBRV/638167473]",
        Human("Facebook", "471", "iOS", "17.5", Mobile)),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 7 Build/AP2A.240805.005; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/127.0.6533.103 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/477.0.0.49.79;]",
        Human("Facebook", "477", "Android", "14", Mobile)),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) GSA/343.0.695551749 Mobile/15E148 Safari/604.1",
        Human("Google App", "343", "iOS", "18.1", Mobile)),
    // "bot" inside phone model names must not make a visitor a bot.
    ("Mozilla/5.0 (Linux; Android 11; CUBOT_X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/108.0.0.0 Mobile Safari/537.36",
        Human("Chrome", "108", "Android", "11", Mobile)),
    ("Mozilla/5.0 (Linux; Android 12; Cubot KINGKONG 7 Build/SP1A.210812.016; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.134 Mobile Safari/537.36",
        Human("Chrome WebView", "126", "Android", "12", Mobile)),
    ("Mozilla/5.0 (Linux; Android 11; KidsRobot K7 Build/RP1A.201005.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.230 Safari/537.36",
        Human("Chrome WebView", "120", "Android", "11", Tablet)),
    // Search and AI crawlers
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", Bot),
    ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; +http://www.google.com/bot.html) Chrome/131.0.6778.85 Safari/537.36", Bot),
    ("Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.85 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", Bot),
    ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36", Bot),
    ("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", Bot),
    ("Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)", Bot),
    ("DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)", Bot),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)", Bot),
    ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)", Bot),
    ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot", Bot),
    ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)", Bot),
    ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; PerplexityBot/1.0; +https://perplexity.ai/perplexitybot)", Bot),
    ("Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)", Bot),
    ("CCBot/2.0 (https://commoncrawl.org/faq/)", Bot),
    ("Mozilla/5.0 (Linux; Android 7.0;) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; PetalBot;+https://webmaster.petalsearch.com/site/petalbot)", Bot),
    // SEO tools
    ("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", Bot),
    ("Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)", Bot),
    ("Mozilla/5.0 (compatible; MJ12bot/v1.4.8; http://mj12bot.com/)", Bot),
    // Link previews
    ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", Bot),
    ("Twitterbot/1.0", Bot),
    ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", Bot),
    ("Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", Bot),
    ("TelegramBot (like TwitterBot)", Bot),
    ("WhatsApp/2.23.20.0 A", Bot),
    ("LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)", Bot),
    // Monitoring and performance tools
    ("Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)", Bot),
    ("Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)", Bot),
    ("Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse", Bot),
    // Headless browsers and HTTP libraries
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36", Bot),
    ("Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1", Bot),
    ("curl/8.5.0", Bot),
    ("Wget/1.21.4", Bot),
    ("python-requests/2.32.3", Bot),
    ("Go-http-client/2.0", Bot),
    ("okhttp/4.12.0", Bot),
    ("axios/1.7.7", Bot),
    ("node", Bot),
    ("PostmanRuntime/7.42.0", Bot),
    ("Scrapy/2.11.2 (+https://scrapy.org)", Bot),
    ("Ruby", Bot),
    ("", Bot),
    ("   ", Bot),
];

fn describe(got: &Classified) -> String {
    match got {
        Classified::Bot(_) => "Bot".to_owned(),
        Classified::Human(u) => format!(
            "Human({:?}, {:?}, {:?}, {:?}, {})",
            u.browser,
            u.browser_version,
            u.os,
            u.os_version,
            u.device.as_str()
        ),
    }
}

fn matches(got: &Classified, want: &Want) -> bool {
    match (got, want) {
        (Classified::Bot(_), Want::Bot) => true,
        (Classified::Human(u), &Want::Human(browser, version, os, os_version, device)) => {
            *u == UserAgent {
                browser,
                browser_version: version.to_owned(),
                os,
                os_version: os_version.to_owned(),
                device,
            }
        }
        _ => false,
    }
}

#[test]
fn every_ua_in_the_table_is_classified_as_expected() {
    let mismatches: Vec<String> = TABLE
        .iter()
        .filter_map(|(ua, want)| {
            let got = classify(ua);
            (!matches(&got, want)).then(|| {
                let want = match want {
                    Want::Bot => Classified::Bot(super::BotReason::Token),
                    &Want::Human(b, bv, os, osv, device) => Classified::Human(UserAgent {
                        browser: b,
                        browser_version: bv.to_owned(),
                        os,
                        os_version: osv.to_owned(),
                        device,
                    }),
                };
                format!(
                    "  {ua:?}\n    want {}\n    got  {}",
                    describe(&want),
                    describe(&got)
                )
            })
        })
        .collect();
    assert!(
        mismatches.is_empty(),
        "{} of {} user agents misclassified:\n{}",
        mismatches.len(),
        TABLE.len(),
        mismatches.join("\n")
    );
}

#[test]
fn the_table_covers_enough_browsers_and_bots() {
    let bots = TABLE.iter().filter(|(_, w)| matches!(w, Want::Bot)).count();
    assert!(TABLE.len() >= 45, "only {} rows", TABLE.len());
    assert!(bots >= 12, "only {bots} bot rows");
}

#[test]
fn truncated_and_odd_inputs_never_panic() {
    for (ua, _) in TABLE {
        for end in (0..=ua.len()).filter(|&i| ua.is_char_boundary(i)) {
            let _ = classify(&ua[..end]);
            let _ = classify(&ua[end..]);
        }
    }
    let long = "Mozilla/5.0 (Windows NT 10.0) ".repeat(1000);
    for odd in [
        "Mozilla/5.0 (Windows NT ",
        "Mozilla/5.0 (iPad; CPU OS ",
        "Mozilla/5.0 (Linux; Android",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X",
        "Chrome/",
        "Mozilla/5.0 (Linux; Android 99999999999999999999999) Chrome/99999999999999999999999",
        "Mozilla/5.0 (ünïcödé; Android １４) Chrome/１３１ Safari/537.36",
        "\u{0}\u{7f}\u{feff}Mozilla/5.0",
        long.as_str(),
    ] {
        let _ = classify(odd);
    }
}

#[test]
fn leading_and_trailing_whitespace_is_ignored() {
    let ua = "  Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0\n";
    assert!(matches(
        &classify(ua),
        &Want::Human("Firefox", "133", "Linux", "", Desktop)
    ));
}

#[test]
fn device_class_names_are_lowercase_words() {
    assert_eq!(Desktop.as_str(), "desktop");
    assert_eq!(Mobile.as_str(), "mobile");
    assert_eq!(Tablet.as_str(), "tablet");
}
