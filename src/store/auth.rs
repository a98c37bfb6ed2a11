//! Accounts, login sessions and share links.

use async_trait::async_trait;

#[async_trait]
pub trait AuthStore: Send + Sync {}
