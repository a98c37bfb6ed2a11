//! `GET /js/script.js` and `GET /js/script.engagement.js`: the tracker and its variant that also
//! reports engaged time and scroll depth (too big for the default's 1 KiB budget); and every
//! other file a Plausible snippet may name (`/js/script.hash.outbound-links.js`, `pa-….js`,
//! see `plausible_file`), each mapped onto the build with the features its name asks for.
//! `GET /script.js` (Umami's snippet) serves `static/js/umami.js`, which posts to `/api/send`.
//! Embedded in the binary from `static/js/` (built from `tracker-js/` and committed, so
//! building footfall needs no Node). Served precompressed when the client accepts brotli or
//! gzip, with a long cache lifetime and an ETag for revalidation.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use std::collections::HashMap;
use std::sync::LazyLock;

include!(concat!(env!("OUT_DIR"), "/tracker_builds.rs"));

/// One build of the tracker: the plain file and its precompressed siblings.
struct Script {
    plain: &'static [u8],
    gz: &'static [u8],
    br: &'static [u8],
    etag: String,
}

impl Script {
    fn new(plain: &'static [u8], gz: &'static [u8], br: &'static [u8]) -> Self {
        let hash = blake3::hash(plain).to_hex();
        Self {
            plain,
            gz,
            br,
            etag: format!("\"{}\"", &hash[..16]),
        }
    }
}

static DEFAULT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        include_bytes!("../../static/js/script.js"),
        include_bytes!("../../static/js/script.js.gz"),
        include_bytes!("../../static/js/script.js.br"),
    )
});

static ENGAGEMENT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        include_bytes!("../../static/js/script.engagement.js"),
        include_bytes!("../../static/js/script.engagement.js.gz"),
        include_bytes!("../../static/js/script.engagement.js.br"),
    )
});

/// What Umami's snippet loads: footfall's tracker that speaks Umami's `/api/send`.
static UMAMI: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        include_bytes!("../../static/js/umami.js"),
        include_bytes!("../../static/js/umami.js.gz"),
        include_bytes!("../../static/js/umami.js.br"),
    )
});

/// The builds under `static/js/plausible/`, by file name.
static PLAUSIBLE: LazyLock<HashMap<&'static str, Script>> = LazyLock::new(|| {
    PLAUSIBLE_BUILDS
        .iter()
        .map(|&(name, plain, gz, br)| (name, Script::new(plain, gz, br)))
        .collect()
});

/// The extensions a Plausible script name may carry, in the order the build names its files,
/// and whether footfall has a build for it (`tracker-js/build.mjs`, `PLAUSIBLE_EXTENSIONS`).
/// `compat` (another way of finding the script tag), `local` (localhost pages, which the
/// collector refuses anyway) and `revenue` (the revenue option is always sent) are served the
/// build without them.
const EXTENSIONS: [(&str, bool); 10] = [
    ("exclusions", true),
    ("file-downloads", true),
    ("hash", true),
    ("manual", true),
    ("outbound-links", true),
    ("pageview-props", true),
    ("tagged-events", true),
    ("compat", false),
    ("local", false),
    ("revenue", false),
];

/// The file under `static/js/plausible/` that serves `file`, a name under `/js/`: Plausible's
/// `script.<ext>.<ext>….js` (or `plausible.….js`, its older name) with the extensions in any
/// order, or a per-site `pa-<id>.js`. Names footfall's own files do not take (`script.js`).
fn plausible_file(file: &str) -> Result<String, String> {
    let stem = file
        .strip_suffix(".js")
        .ok_or_else(|| format!("no such script {file:?}: scripts end in .js"))?;
    if let Some(id) = stem.strip_prefix("pa-") {
        if !id.is_empty()
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Ok("pa.js".to_owned());
        }
        return Err(format!(
            "no such script {file:?}: a per-site script is pa-<letters, digits, - or _>.js"
        ));
    }
    let mut parts = stem.split('.');
    if !matches!(parts.next(), Some("script" | "plausible")) {
        return Err(format!(
            "no such script {file:?}: footfall serves script.js, script.engagement.js, Plausible's script.<extensions>.js and pa-<id>.js"
        ));
    }
    let mut chosen = [false; EXTENSIONS.len()];
    for part in parts {
        let Some(i) = EXTENSIONS.iter().position(|(name, _)| *name == part) else {
            let known: Vec<&str> = EXTENSIONS.iter().map(|(name, _)| *name).collect();
            return Err(format!(
                "unknown script extension {part:?} in {file:?}: footfall serves Plausible's {}",
                known.join(", ")
            ));
        };
        chosen[i] = EXTENSIONS[i].1;
    }
    let mut name = String::from("script");
    for (i, (extension, _)) in EXTENSIONS.iter().enumerate() {
        if chosen[i] {
            name.push('.');
            name.push_str(extension);
        }
    }
    name.push_str(".js");
    Ok(name)
}

/// Browsers keep the script a day, then revalidate with the ETag (a 304 costs a few bytes).
const CACHE_CONTROL: &str = "public, max-age=86400, stale-while-revalidate=604800";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/js/{file}", web::get().to(script)).route(
        // Umami's snippet: `<script defer src="https://HOST/script.js" data-website-id="…">`.
        "/script.js",
        web::get().to(|req: HttpRequest| async move { serve(&UMAMI, &req) }),
    );
}

async fn script(req: HttpRequest, file: web::Path<String>) -> HttpResponse {
    match file.as_str() {
        // Also Plausible's plain snippet and its older name: footfall's own tracker.
        "script.js" | "plausible.js" => serve(&DEFAULT, &req),
        "script.engagement.js" => serve(&ENGAGEMENT, &req),
        other => match plausible_file(other) {
            Ok(name) => match PLAUSIBLE.get(name.as_str()) {
                Some(script) => serve(script, &req),
                // Every name plausible_file makes is built; a missing one is a stale build.
                None => {
                    tracing::error!(file = %name, "tracker build missing: run npm run build in tracker-js/");
                    not_found(format!("no build {name:?} for {other:?}"))
                }
            },
            Err(message) => not_found(message),
        },
    }
}

fn not_found(message: String) -> HttpResponse {
    HttpResponse::NotFound()
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .json(serde_json::json!({ "error": message }))
}

fn serve(script: &Script, req: &HttpRequest) -> HttpResponse {
    let (mut response, fresh) = super::revalidate(req, &script.etag);
    response
        .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
        .insert_header((header::VARY, "Accept-Encoding"))
        .insert_header(("Access-Control-Allow-Origin", "*"));
    if fresh {
        return response.finish();
    }
    response.content_type("application/javascript; charset=utf-8");
    let accepted = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if accepts(accepted, "br") {
        response
            .insert_header((header::CONTENT_ENCODING, "br"))
            .body(script.br)
    } else if accepts(accepted, "gzip") {
        response
            .insert_header((header::CONTENT_ENCODING, "gzip"))
            .body(script.gz)
    } else {
        response.body(script.plain)
    }
}

/// Whether an `Accept-Encoding` value allows `coding` (present and not `q=0`).
fn accepts(header: &str, coding: &str) -> bool {
    header.split(',').any(|item| {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or_default().trim();
        let refused = parts.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q == 0.0)
        });
        name.eq_ignore_ascii_case(coding) && !refused
    })
}

#[cfg(test)]
mod tests {
    use super::{PLAUSIBLE_BUILDS, accepts, plausible_file};

    #[test]
    fn plausible_names_map_onto_one_build_whatever_the_order() {
        let file = |name: &str| plausible_file(name).unwrap_or_else(|e| e);
        assert_eq!(file("script.hash.js"), "script.hash.js");
        assert_eq!(
            file("script.outbound-links.hash.js"),
            "script.hash.outbound-links.js"
        );
        assert_eq!(
            file("script.hash.outbound-links.js"),
            "script.hash.outbound-links.js"
        );
        assert_eq!(
            file("plausible.tagged-events.file-downloads.manual.js"),
            "script.file-downloads.manual.tagged-events.js"
        );
        assert_eq!(file("script.compat.local.revenue.js"), "script.js");
        assert_eq!(file("script.revenue.hash.revenue.js"), "script.hash.js");
        assert_eq!(file("pa-AbC_12-x.js"), "pa.js");
    }

    #[test]
    fn unknown_names_and_extensions_are_refused_with_what_is_served() {
        let err = plausible_file("script.hash.bogus.js")
            .err()
            .unwrap_or_default();
        assert!(err.contains("unknown script extension \"bogus\""), "{err}");
        assert!(err.contains("outbound-links"), "{err}");
        for bad in [
            "other.js",
            "script.hash",
            "pa-.js",
            "pa-a/b.js",
            "script..js",
        ] {
            assert!(plausible_file(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_name_plausible_file_makes_has_a_build() {
        let extensions = super::EXTENSIONS.iter().filter(|(_, built)| *built).count();
        // All subsets of the built extensions, plus pa.js.
        assert_eq!(PLAUSIBLE_BUILDS.len(), (1 << extensions) + 1);
        let names: Vec<&str> = PLAUSIBLE_BUILDS.iter().map(|b| b.0).collect();
        assert!(names.contains(&"script.exclusions.file-downloads.hash.manual.outbound-links.pageview-props.tagged-events.js"));
        assert!(names.contains(&"pa.js"));
    }

    #[test]
    fn accept_encoding_is_read_with_q_values() {
        assert!(accepts("gzip, deflate, br, zstd", "br"));
        assert!(accepts("gzip;q=0.8", "gzip"));
        assert!(!accepts("gzip;q=0, br", "gzip"));
        assert!(!accepts("identity", "gzip"));
        assert!(!accepts("", "br"));
    }
}
