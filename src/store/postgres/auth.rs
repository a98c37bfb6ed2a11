//! Accounts, login sessions and share links, postgres flavour.

use super::PostgresStore;
use crate::store::AuthStore;
use async_trait::async_trait;

#[async_trait]
impl AuthStore for PostgresStore {}
