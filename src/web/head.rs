//! `HEAD` is answered as `GET` without a body (RFC 9110 §9.3.2), for every route: link checkers,
//! uptime monitors and `curl -I` get the status and headers a `GET` would, not a 404.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;

/// Routes a `HEAD` request as a `GET`, then drops the body of its response.
pub async fn head_as_get<B: MessageBody + 'static>(
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B, ()>>, actix_web::Error> {
    let head = req.method() == Method::HEAD;
    if head {
        req.head_mut().method = Method::GET;
    }
    let response = next.call(req).await?;
    if !head {
        return Ok(response.map_into_left_body());
    }
    Ok(response.map_body(|_, _| ()).map_into_right_body())
}
