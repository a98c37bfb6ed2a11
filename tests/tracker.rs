//! The tracker as the server ships it (`/js/script.js`) and the `<noscript>` pixel.

mod support;

use std::io::Read;
use support::{Backend, CHROME_UA, Options, TestApp};

both_backends!(
    the_script_is_served_compressed_cached_and_revalidated,
    the_pixel_records_a_pageview,
    the_pixel_rejects_bad_input_with_json,
);

/// Every committed build under static/js/ with its gzip budget (tracker-js/build.mjs, VARIANTS):
/// 1 KiB for the default, for every Plausible file with at most one extension, for pa-*.js
/// and Umami's; 1.25 KiB for the opt-in engagement build; 1,400 B for Plausible combinations
/// of two extensions or more, which do not all fit in 1 KiB (the README lists their sizes).
fn builds() -> Vec<(String, usize)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("static/js/plausible");
    let mut builds = vec![
        ("script.js".to_owned(), 1024),
        ("script.engagement.js".to_owned(), 1280),
        ("umami.js".to_owned(), 1024),
    ];
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let name = entry
            .unwrap_or_else(|e| panic!("{e}"))
            .file_name()
            .to_string_lossy()
            .into_owned();
        if let Some(stem) = name.strip_suffix(".js") {
            let extensions = stem.split('.').count() - 1;
            let budget = if extensions > 1 { 1400 } else { 1024 };
            builds.push((format!("plausible/{name}"), budget));
        }
    }
    builds
}

#[test]
fn the_built_trackers_fit_their_budgets_and_the_precompressed_files_match_them() {
    let builds = builds();
    // script.js, engagement, umami.js, pa.js and one Plausible file per set of 7 extensions.
    assert_eq!(builds.len(), 3 + 1 + 128);
    for (name, budget) in builds {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("static/js");
        let read =
            |file: String| std::fs::read(dir.join(&file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let script = read(name.clone());
        let gz = read(format!("{name}.gz"));
        assert!(
            gz.len() <= budget,
            "{name}.gz is {} bytes, budget {budget}",
            gz.len()
        );
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut unzipped)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            unzipped, script,
            "{name}.gz is stale: run npm run build in tracker-js/"
        );
        let mut unbrotli = Vec::new();
        brotli_decompressor::Decompressor::new(&read(format!("{name}.br"))[..], 4096)
            .read_to_end(&mut unbrotli)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            unbrotli, script,
            "{name}.br is stale: run npm run build in tracker-js/"
        );
    }
}

async fn the_script_is_served_compressed_cached_and_revalidated(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    let url = format!("{}/js/script.js", app.address);
    let get = |encoding: &'static str| {
        // reqwest is built without decompression here: we see the bytes on the wire.
        app.client
            .get(&url)
            .header("Accept-Encoding", encoding)
            .send()
    };
    let plain = get("identity").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plain.status(), 200);
    let etag = plain.headers()["etag"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert!(etag.starts_with('"') && etag.len() > 10, "etag {etag}");
    assert!(
        plain.headers()["cache-control"]
            .to_str()
            .unwrap_or_default()
            .contains("max-age=86400")
    );
    assert!(
        plain.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("application/javascript")
    );
    assert!(plain.headers().get("content-encoding").is_none());
    let body = plain.bytes().await.unwrap_or_default();
    assert!(
        std::str::from_utf8(&body)
            .unwrap_or_default()
            .contains("/api/event")
    );

    let br = get("gzip, deflate, br")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(br.headers()["content-encoding"], "br");
    assert_eq!(br.headers()["vary"], "Accept-Encoding");
    let gz = get("gzip").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let gz_len = gz.bytes().await.unwrap_or_default().len();
    assert!(gz_len <= 1024, "{gz_len} bytes gzipped on the wire");

    let revalidated = app
        .client
        .get(&url)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(revalidated.status(), 304);
    assert!(revalidated.bytes().await.unwrap_or_default().is_empty());

    // The engagement variant is served the same way, as its own file with its own ETag.
    let variant = app
        .client
        .get(format!("{}/js/script.engagement.js", app.address))
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(variant.status(), 200);
    assert_eq!(variant.headers()["content-encoding"], "gzip");
    assert_ne!(variant.headers()["etag"].to_str().unwrap_or_default(), etag);
    let variant_len = variant.bytes().await.unwrap_or_default().len();
    assert!(
        variant_len > gz_len && variant_len <= 1280,
        "{variant_len} bytes gzipped on the wire"
    );
    let plain = app
        .client
        .get(format!("{}/js/script.engagement.js", app.address))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        std::str::from_utf8(&plain.bytes().await.unwrap_or_default())
            .unwrap_or_default()
            .contains("\"engagement\"")
    );
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

async fn the_pixel_records_a_pageview(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    // Without `u`, the page is the image request's Referer.
    let response = app
        .client
        .get(format!("{}/api/event.gif?d=example.com", app.address))
        .header("User-Agent", CHROME_UA)
        .header(
            "Referer",
            "https://example.com/noscript/page?utm_source=pixel",
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/gif");
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap_or_default()
            .contains("no-store")
    );
    assert!(
        response
            .bytes()
            .await
            .unwrap_or_default()
            .starts_with(b"GIF89a")
    );
    let response = app
        .client
        .get(format!(
            "{}/api/event.gif?d=example.com&u=https%3A%2F%2Fexample.com%2Fexplicit&r=https%3A%2F%2Fwww.google.com%2F",
            app.address
        ))
        .header("User-Agent", CHROME_UA)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), 200);
    let events = app.wait_for_events("example.com", 2).await;
    let mut paths: Vec<_> = events
        .iter()
        .map(|e| {
            (
                e.name.as_str(),
                e.path.as_str(),
                e.referrer_source.as_deref(),
                e.utm_source.as_deref(),
            )
        })
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        vec![
            ("pageview", "/explicit", Some("Google"), None),
            ("pageview", "/noscript/page", None, Some("pixel")),
        ]
    );
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

async fn the_pixel_rejects_bad_input_with_json(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    for (query, status, message) in [
        ("d=example.com", 400, "missing u"),
        ("u=https%3A%2F%2Fexample.com%2F", 400, "missing field `d`"),
        (
            "d=nope.org&u=https%3A%2F%2Fnope.org%2F",
            404,
            "unknown site",
        ),
    ] {
        let response = app
            .client
            .get(format!("{}/api/event.gif?{query}", app.address))
            .header("User-Agent", CHROME_UA)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(response.status().as_u16(), status, "{query}");
        let json: serde_json::Value = response.json().await.unwrap_or_default();
        assert!(
            json["error"].as_str().unwrap_or_default().contains(message),
            "{query}: {json}"
        );
    }
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}
