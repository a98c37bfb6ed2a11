//! Which logged requests are page views a person's browser asked for. A line that is not is
//! skipped under the first reason that applies, in the order of `SkipReason` (bots are told
//! apart later, by the collection parser itself).

use super::report::SkipReason;

/// Paths that are never pages although their names carry no asset extension: the tracker's
/// endpoint and well-known URIs (`/.well-known/security.txt`, ACME challenges, …).
/// `/robots.txt`, `/favicon.ico`, `/sitemap.xml` and `/js/script.js` go by extension.
const NON_PAGE_PATHS: &[&str] = &["/api/event"];
const NON_PAGE_PREFIXES: &[&str] = &["/.well-known/"];

/// Extensions of files that are not pages. Downloads (pdf, zip, …) are included: live collection
/// records them as `File Download` events on the page that links them, not as pageviews, and
/// browsers' PDF viewers fetch one document in several range requests, so counting log lines
/// would both disagree with live data and overcount.
#[rustfmt::skip]
const ASSET_EXTENSIONS: &[&str] = &[
    // code and data
    "css", "js", "mjs", "cjs", "map", "json", "webmanifest", "wasm", "xml", "txt", "rss", "atom",
    // images
    "png", "jpg", "jpeg", "gif", "svg", "webp", "avif", "ico", "bmp", "tif", "tiff", "apng",
    // fonts
    "woff", "woff2", "ttf", "eot", "otf",
    // audio and video
    "mp4", "webm", "mp3", "ogg", "oga", "ogv", "wav", "flac", "m4a", "m4v", "mov", "avi",
    // downloads
    "pdf", "zip", "gz", "tgz", "tar", "bz2", "xz", "7z", "rar", "dmg", "exe", "msi", "deb",
    "rpm", "apk", "iso", "csv",
];

/// The request target when the request may be a page view: a GET answered with 2xx or 304 for
/// something other than an asset. HEAD is skipped: browsers never navigate with it, while uptime
/// monitors and link checkers do.
pub fn page_target<'a>(
    method_and_target: Option<(&str, &'a str)>,
    status: u16,
) -> Result<&'a str, SkipReason> {
    let Some(("GET", target)) = method_and_target else {
        return Err(SkipReason::Method);
    };
    match status {
        // 304: the browser showed its cached copy of the page, which is still a view.
        200..=299 | 304 => {}
        // The browser follows a redirect with a request of its own, which is logged and counted;
        // counting the redirect too would count the view twice.
        300..=399 => return Err(SkipReason::Redirect),
        _ => return Err(SkipReason::Status),
    }
    if is_asset(path_of(target)) {
        return Err(SkipReason::StaticAsset);
    }
    Ok(target)
}

/// The path of an origin-form (`/a?b`) or absolute-form (`http://host/a?b`) request target,
/// without query or fragment.
fn path_of(target: &str) -> &str {
    let path = match target.split_once("://") {
        Some((_, after_scheme)) => after_scheme.find('/').map_or("/", |i| &after_scheme[i..]),
        None => target,
    };
    path.split(['?', '#']).next().unwrap_or(path)
}

fn is_asset(path: &str) -> bool {
    if NON_PAGE_PATHS.contains(&path) || NON_PAGE_PREFIXES.iter().any(|p| path.starts_with(p)) {
        return true;
    }
    let file = path.rsplit('/').next().unwrap_or(path);
    match file.rsplit_once('.') {
        Some((_, ext)) if ext.len() <= 11 => ASSET_EXTENSIONS
            .iter()
            .any(|asset| asset.eq_ignore_ascii_case(ext)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(target: &str, status: u16) -> Option<SkipReason> {
        page_target(Some(("GET", target)), status).err()
    }

    #[test]
    fn pages_answered_with_success_or_not_modified_are_kept() {
        for target in [
            "/",
            "/blog/post",
            "/about.html",
            "/index.php?p=1",
            "/v1.2/docs",
            "/a.b/",
        ] {
            assert_eq!(get(target, 200), None, "{target}");
        }
        assert_eq!(get("/", 304), None);
        assert_eq!(
            page_target(Some(("GET", "https://example.com/pricing?x=1")), 200),
            Ok("https://example.com/pricing?x=1")
        );
    }

    #[test]
    fn only_get_counts() {
        for method in ["POST", "HEAD", "PUT", "OPTIONS", "get"] {
            assert_eq!(
                page_target(Some((method, "/")), 200),
                Err(SkipReason::Method),
                "{method}"
            );
        }
        assert_eq!(page_target(None, 400), Err(SkipReason::Method));
    }

    #[test]
    fn errors_and_redirects_are_skipped() {
        assert_eq!(get("/", 404), Some(SkipReason::Status));
        assert_eq!(get("/", 500), Some(SkipReason::Status));
        assert_eq!(get("/", 101), Some(SkipReason::Status));
        assert_eq!(get("/old", 301), Some(SkipReason::Redirect));
        assert_eq!(get("/old", 302), Some(SkipReason::Redirect));
    }

    #[test]
    fn assets_downloads_and_well_known_paths_are_not_pages() {
        for target in [
            "/app.css",
            "/js/script.js",
            "/static/app.4f3a.JS?v=2",
            "/img/logo.svg",
            "/favicon.ico",
            "/robots.txt",
            "/sitemap.xml",
            "/fonts/inter.woff2",
            "/files/report.pdf",
            "/.well-known/acme-challenge/abc",
            "/api/event",
            "http://example.com/x.png",
        ] {
            assert_eq!(get(target, 200), Some(SkipReason::StaticAsset), "{target}");
        }
    }
}
