//! A deadline for a request's body. actix closes idle connections and those whose head comes too
//! slowly (`client_request_timeout`), but a client that trickles its body a byte at a time would
//! hold its connection, and its worker's attention, for as long as it liked. Every request with a
//! body must deliver it within `timeout` of its head; past that, reading it fails, the request is
//! answered `408` in its endpoint's error shape (`{"error": …}` under `/api/`, a page elsewhere)
//! and the connection is closed. Wrapped once around the whole app (`startup`).

use crate::web::layout::{self, Layout};
use crate::web::security;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::{StatusCode, header};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{Error, HttpMessage, HttpResponse};
use futures_util::{Stream, StreamExt};
use std::cell::Cell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

/// How long a body may take to arrive, from its request's head.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The middleware (`actix_web::middleware::from_fn`): bounds the body read of `req` by `timeout`.
pub async fn bound<B: MessageBody>(
    timeout: Duration,
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    if !has_body(&req) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    let expired = Rc::new(Cell::new(false));
    let payload = Timed {
        inner: req.take_payload(),
        deadline: Box::pin(tokio::time::sleep(timeout)),
        expired: expired.clone(),
        done: false,
    };
    req.set_payload(Payload::Stream {
        payload: Box::pin(payload),
    });
    let api = req.path().starts_with("/api/");
    let answered = next.call(req).await?;
    if !expired.get() {
        return Ok(answered.map_into_left_body());
    }
    let message = format!(
        "the request body did not arrive within {} seconds",
        timeout.as_secs_f64()
    );
    let mut response = if api {
        HttpResponse::RequestTimeout().json(serde_json::json!({ "error": message }))
    } else {
        let mut page = layout::error_page(
            StatusCode::REQUEST_TIMEOUT,
            Layout::anonymous(""),
            "Request timed out",
            &format!("The request took too long to arrive: {message}. Please try again."),
        );
        let headers = page.headers_mut();
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            header::HeaderValue::from_static(security::CONTENT_SECURITY_POLICY),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            header::HeaderValue::from_static("nosniff"),
        );
        page
    };
    // The rest of the body may still be on its way: the connection cannot be reused.
    response
        .head_mut()
        .set_connection_type(actix_web::http::ConnectionType::Close);
    let (request, _) = answered.into_parts();
    Ok(ServiceResponse::new(request, response).map_into_right_body())
}

/// Whether the request says it has a body (a length above zero, or chunks).
fn has_body(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    headers.contains_key(header::TRANSFER_ENCODING) || length.is_some_and(|n| n > 0)
}

/// The body, which fails (once) when the deadline passes before it has all arrived.
struct Timed {
    inner: Payload,
    deadline: Pin<Box<tokio::time::Sleep>>,
    expired: Rc<Cell<bool>>,
    done: bool,
}

impl Stream for Timed {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = self.inner.poll_next_unpin(cx) {
            self.done = item.is_none();
            return Poll::Ready(item);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.expired.set(true);
            self.done = true;
            return Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the request body took too long to arrive",
            )))));
        }
        Poll::Pending
    }
}
