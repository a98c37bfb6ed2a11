//! Public read-only links to one site's dashboard. The token is shown once, when the link is
//! made; the database keeps its hash, so a leaked backup opens no dashboards.
//!
//! The routes that create, list and revoke links and the public `/share/{token}` page belong to
//! the dashboard; they call these functions and `AuthStore::{share_links, revoke_share_link}`.

use super::{looks_like_token, random_token};
use crate::domain::SiteId;
use crate::store::{AuthStore, ShareLink, StoreError, TokenHash};

/// Characters of the token kept as its hint (36 of its 256 bits; the other 220 stay secret).
const HINT_CHARS: usize = 6;

/// Makes a link to `site`; returns it with its token (256 random bits, base64url, 43
/// characters), the only time the token is available. The public URL is `/share/{token}`.
pub async fn create_link<S: AuthStore + ?Sized>(
    store: &S,
    site: SiteId,
) -> Result<(ShareLink, String), StoreError> {
    let token = random_token();
    let link = store
        .create_share_link(site, &TokenHash::of(&token), &token[..HINT_CHARS])
        .await?;
    Ok((link, token))
}

/// The site a share token opens, or `None` for a revoked, unknown or malformed token.
pub async fn site_for_token<S: AuthStore + ?Sized>(
    store: &S,
    token: &str,
) -> Result<Option<SiteId>, StoreError> {
    if !looks_like_token(token) {
        return Ok(None);
    }
    store.share_link_site(&TokenHash::of(token)).await
}
