//! What every HTML page shares: the `Layout` that `templates/base.html` reads (who is logged in,
//! the CSRF token for the logout form, the stylesheet URL), and rendering with a status code.
//!
//! A page struct carries a `layout: Layout` field and extends `base.html`:
//! ```ignore
//! #[derive(askama::Template)]
//! #[template(path = "sites.html")] // {% extends "base.html" %} … {% block content %}
//! struct SitesPage { layout: Layout, sites: Vec<Site> }
//! // in the handler, with `user: auth::CurrentUser` extracted:
//! layout::render(StatusCode::OK, &SitesPage { layout: user.layout(), sites })
//! ```
//! Forms inside the page add `{% include "_csrf.html" %}` for their CSRF token.

use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use askama::Template;

/// The part of every page that `base.html` renders.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The logged-in user's email; `None` hides the navigation and the logout form.
    pub email: Option<String>,
    /// The value of the hidden `csrf_token` field that every form on the page carries.
    pub csrf_token: String,
    /// The stylesheet, with a version so browsers may cache it for long.
    pub css_href: &'static str,
}

impl Layout {
    /// A page for someone not logged in (login, setup, a public share link). `csrf_token` is the
    /// pre-login token when the page has a form, else empty.
    pub fn anonymous(csrf_token: impl Into<String>) -> Self {
        Self {
            email: None,
            csrf_token: csrf_token.into(),
            css_href: super::assets::app_css_href(),
        }
    }

    /// A page for a logged-in user; see `auth::CurrentUser::layout`.
    pub fn signed_in(email: impl Into<String>, csrf_token: impl Into<String>) -> Self {
        Self {
            email: Some(email.into()),
            csrf_token: csrf_token.into(),
            css_href: super::assets::app_css_href(),
        }
    }
}

/// Renders `page` as an HTML response with `status`.
pub fn render<T: Template>(status: StatusCode, page: &T) -> Result<HttpResponse, askama::Error> {
    let body = page.render()?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body))
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    title: &'a str,
    message: &'a str,
}

/// A plain page saying what went wrong. Falls back to text if even that cannot be rendered.
pub fn error_page(status: StatusCode, layout: Layout, title: &str, message: &str) -> HttpResponse {
    let page = ErrorPage {
        layout,
        title,
        message,
    };
    render(status, &page).unwrap_or_else(|e| {
        tracing::error!(error = %e, "rendering the error page failed");
        HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, "text/plain; charset=utf-8"))
            .body(message.to_owned())
    })
}
