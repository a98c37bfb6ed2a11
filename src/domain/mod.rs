//! Validated domain types. Untrusted input becomes one of these through a `parse` constructor that
//! returns `Result`; holding the type is the proof that the check ran.

mod batch;
pub mod decode;
mod engagement;
mod event;
mod revenue;
mod site;
mod umami;
mod user;
pub mod visits;

pub use batch::{Batch, EngagementUpdate, Event, Hit, ReplayMark, SessionUpdate, Utm};
pub use decode::is_hidden_char;
pub use engagement::{ENGAGEMENT, Engagement, Figures};
pub use event::{
    EventName, PagePath, Props, PropsError, SessionId, VisitorId, strip_hidden_chars,
    truncate_chars,
};
pub use revenue::{Revenue, currency_code};
pub use site::{Site, SiteDomain, SiteId, TimeZone};
pub use umami::UmamiId;
pub use user::{Email, User, UserId};

/// Why an input could not become a domain value; the message names the problem for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);
