//! The auth pages: `/login` and `/logout` (`login`), first-run `/setup` (`setup`), and the
//! `/account` page (`account`). All are HTML, all carry the security headers.

mod account;
mod login;
mod setup;

use crate::web::security::security_headers;
use actix_web::web;

/// Where a login lands when it was not sent from a protected page.
const DEFAULT_LANDING: &str = "/sites";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/login")
            .wrap(security_headers())
            .route(web::get().to(login::show))
            .route(web::post().to(login::submit)),
    )
    .service(
        web::resource("/logout")
            .wrap(security_headers())
            .route(web::post().to(login::logout)),
    )
    .service(
        web::resource("/setup")
            .wrap(security_headers())
            .route(web::get().to(setup::show))
            .route(web::post().to(setup::submit)),
    )
    .service(
        web::resource("/account")
            .wrap(security_headers())
            .route(web::get().to(account::show)),
    )
    .service(
        web::resource("/account/password")
            .wrap(security_headers())
            .route(web::post().to(account::change_password)),
    );
}

/// `next` if it is a path on this site, else the default landing page. Refuses what a browser
/// would take to another host: `//evil.com`, `/\evil.com` (read as `//`), absolute URLs, and
/// anything with control characters.
fn local_path(next: &str) -> &str {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control());
    if local { next } else { DEFAULT_LANDING }
}

/// A 303 to `location` (after a form post, the browser follows with a GET).
fn see_other(location: &str) -> actix_web::HttpResponseBuilder {
    let mut response = actix_web::HttpResponse::SeeOther();
    response.insert_header((actix_web::http::header::LOCATION, location.to_owned()));
    response
}

/// What a form says when the rate limiter refused it (password and setup forms).
const TOO_MANY_ATTEMPTS: &str = "Too many attempts. Wait a minute, then try again.";

/// A 429 page, with the limiter's `Retry-After`.
fn with_retry_after(
    mut response: actix_web::HttpResponse,
    wait: crate::auth::rate_limit::RetryAfter,
) -> actix_web::HttpResponse {
    response
        .headers_mut()
        .insert(actix_web::http::header::RETRY_AFTER, wait.seconds().into());
    response
}

/// An HTML page, with a cookie to set when there is one.
fn html_with_cookie<T: askama::Template>(
    status: actix_web::http::StatusCode,
    page: &T,
    cookie: Option<actix_web::cookie::Cookie<'static>>,
) -> Result<actix_web::HttpResponse, crate::auth::AuthError> {
    let body = page.render()?;
    let mut response = actix_web::HttpResponse::build(status);
    response.content_type("text/html; charset=utf-8");
    if let Some(cookie) = cookie {
        response.cookie(cookie);
    }
    Ok(response.body(body))
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(local_path("/account"), "/account");
        assert_eq!(local_path("/sites/2?period=7d"), "/sites/2?period=7d");
        for bad in [
            "",
            "//evil.com",
            "/\\evil.com",
            "https://evil.com/",
            "evil.com",
            "/\tevil",
            "javascript:alert(1)",
        ] {
            assert_eq!(local_path(bad), "/sites", "{bad:?}");
        }
    }
}
