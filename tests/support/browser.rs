//! A minimal browser for the HTML pages: keeps cookies by hand (so tests see every attribute the
//! server set), never follows redirects, and reads CSRF tokens out of pages.
#![allow(dead_code)] // Each test binary uses a different part.

use reqwest::header::{COOKIE, HeaderMap, LOCATION, SET_COOKIE};
use reqwest::{Method, RequestBuilder};
use std::collections::BTreeMap;

pub struct Browser {
    pub base: String,
    pub cookies: BTreeMap<String, String>,
    client: reqwest::Client,
}

/// One response, read whole.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Browser {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            cookies: BTreeMap::new(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_else(|e| panic!("{e}")),
        }
    }

    /// A request carrying this browser's cookies; add headers, then `send` it.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if !self.cookies.is_empty() {
            let jar = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            request = request.header(COOKIE, jar);
        }
        request
    }

    /// Sends `request` and keeps the cookies the response sets (or clears).
    pub async fn send(&mut self, request: RequestBuilder) -> Page {
        let response = request.send().await.unwrap_or_else(|e| panic!("{e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        for set in headers.get_all(SET_COOKIE) {
            let set = set.to_str().unwrap_or_default();
            let (name, value) = set
                .split(';')
                .next()
                .and_then(|pair| pair.split_once('='))
                .unwrap_or_else(|| panic!("odd Set-Cookie {set:?}"));
            if set.to_ascii_lowercase().contains("max-age=0") {
                self.cookies.remove(name.trim());
            } else {
                self.cookies
                    .insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
        let body = response.text().await.unwrap_or_else(|e| panic!("{e}"));
        Page {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.request(Method::GET, path);
        self.send(request).await
    }

    /// POSTs a url-encoded form.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let request = self.request(Method::POST, path).form(fields);
        self.send(request).await
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The full `Set-Cookie` header for cookie `name`, if the response set it.
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
    }

    /// The value of the first `csrf_token` field on the page.
    pub fn csrf_token(&self) -> String {
        let marker = r#"name="csrf_token" value=""#;
        let start = self
            .body
            .find(marker)
            .unwrap_or_else(|| panic!("no csrf_token field in:\n{}", self.body))
            + marker.len();
        let end = self.body[start..]
            .find('"')
            .unwrap_or_else(|| panic!("unterminated csrf_token"));
        self.body[start..start + end].to_owned()
    }
}

/// The account the dashboard tests log in with.
pub use crate::support::{OWNER_EMAIL as EMAIL, OWNER_PASSWORD as PASSWORD};

/// Adds the `EMAIL` / `PASSWORD` account to `app` and returns a browser logged in as it.
pub async fn log_in_owner(app: &crate::support::TestApp) -> Browser {
    app.add_owner().await;
    log_in(app).await
}

/// A browser logged in as the owner, who must exist already (a second browser, say).
pub async fn log_in(app: &crate::support::TestApp) -> Browser {
    let mut browser = Browser::new(&app.address);
    let token = browser.get("/login").await.csrf_token();
    let done = browser
        .post(
            "/login",
            &[
                ("email", EMAIL),
                ("password", PASSWORD),
                ("csrf_token", &token),
                ("next", "/sites"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "login failed: {}", done.body);
    browser
}
