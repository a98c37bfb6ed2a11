//! Accounts, login sessions and share links, sqlite flavour.

use super::SqliteStore;
use crate::store::AuthStore;
use async_trait::async_trait;

#[async_trait]
impl AuthStore for SqliteStore {}
