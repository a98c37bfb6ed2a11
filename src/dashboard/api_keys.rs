//! `/account/api-keys`: the stats API's keys — list them (name, hint, sites, created, last
//! used), make one (its token is shown on the answer to the POST and never again: only its hash
//! is stored), revoke one. Keys are not per user: like sites, every dashboard user sees them all.

use super::DashboardError;
use crate::auth::api_key::{self, describe_scope};
use crate::auth::{CsrfForm, CurrentUser};
use crate::domain::{Site, SiteId};
use crate::store::{ApiKeyId, ApiKeyScope, DynStore};
use crate::web::layout;
use crate::web::security::security_headers;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use askama::Template;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/account/api-keys")
            .wrap(security_headers())
            .route("", web::get().to(show))
            .route("", web::post().to(create))
            .route("/{id}/revoke", web::post().to(revoke)),
    );
}

pub struct KeyRow {
    pub id: i64,
    pub name: String,
    pub hint: String,
    pub scope: String,
    pub created: String,
    pub last_used: String,
}

pub struct SiteChoice {
    pub id: i64,
    pub domain: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "dashboard/api_keys.html")]
pub struct ApiKeysPage {
    pub layout: layout::Layout,
    pub keys: Vec<KeyRow>,
    pub sites: Vec<SiteChoice>,
    /// The form's values after a refused submission.
    pub name: String,
    pub all_sites: bool,
    /// A key just made: its token, shown once.
    pub new_token: String,
    pub new_name: String,
    pub error: String,
}

/// What the create form sent back, to show it again after an error.
#[derive(Default)]
struct Submitted {
    name: String,
    all_sites: bool,
    sites: Vec<i64>,
}

async fn page(
    store: &DynStore,
    user: &CurrentUser,
    form: Submitted,
    new: Option<(String, String)>,
    error: String,
) -> Result<ApiKeysPage, DashboardError> {
    let sites = store.list_sites().await?;
    let format = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    let keys = store
        .api_keys()
        .await?
        .into_iter()
        .map(|k| KeyRow {
            id: k.id.0,
            scope: describe_scope(&k.scope, &sites),
            created: format(k.created_at),
            last_used: k.last_used_at.map_or_else(|| "never".to_owned(), format),
            name: k.name,
            hint: k.hint,
        })
        .collect();
    let (new_name, new_token) = new.unwrap_or_default();
    Ok(ApiKeysPage {
        layout: user.layout(),
        keys,
        sites: sites
            .iter()
            .map(|s| SiteChoice {
                id: s.id.0,
                domain: s.domain.to_string(),
                checked: form.sites.contains(&s.id.0),
            })
            .collect(),
        name: form.name,
        all_sites: form.all_sites || error.is_empty(),
        new_token,
        new_name,
        error,
    })
}

fn html(status: StatusCode, page: &ApiKeysPage) -> Result<HttpResponse, DashboardError> {
    let mut response = layout::render(status, page).map_err(|e| {
        tracing::error!(error = %e, "template rendering failed");
        DashboardError::Render
    })?;
    // The answer to a create holds a secret: keep it out of every cache.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

async fn show(
    user: CurrentUser,
    store: web::Data<DynStore>,
) -> Result<HttpResponse, DashboardError> {
    let page = page(&store, &user, Submitted::default(), None, String::new()).await?;
    html(StatusCode::OK, &page)
}

/// The form: `name`, `scope` (`all` or `sites`) and one `site` field per ticked site id.
async fn create(
    store: web::Data<DynStore>,
    form: CsrfForm<Vec<(String, String)>>,
) -> Result<HttpResponse, DashboardError> {
    let CsrfForm { user, data } = form;
    let field = |name: &str| {
        data.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let mut submitted = Submitted {
        name: field("name").to_owned(),
        all_sites: field("scope") != "sites",
        sites: Vec::new(),
    };
    let known: Vec<Site> = store.list_sites().await?;
    let mut error = String::new();
    for (_, raw) in data.iter().filter(|(k, _)| k == "site") {
        match raw.parse::<i64>() {
            Ok(id) if known.iter().any(|s| s.id.0 == id) => submitted.sites.push(id),
            _ => error = "One of the chosen sites does not exist (any more).".into(),
        }
    }
    let name = api_key::parse_name(&submitted.name);
    let scope = if submitted.all_sites {
        ApiKeyScope::AllSites
    } else {
        ApiKeyScope::Sites(submitted.sites.iter().map(|id| SiteId(*id)).collect())
    };
    if scope == ApiKeyScope::Sites(Vec::new()) && error.is_empty() {
        error = "Choose at least one site, or all sites.".into();
    }
    let name = match name {
        Ok(name) if error.is_empty() => name,
        Ok(_) => String::new(),
        Err(e) => {
            let mut chars = e.chars();
            error = chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect::<String>() + ".")
                .unwrap_or_default();
            String::new()
        }
    };
    if !error.is_empty() {
        let page = page(&store, &user, submitted, None, error).await?;
        return html(StatusCode::BAD_REQUEST, &page);
    }
    let (key, token) = api_key::create_key(store.as_ref().as_ref(), &name, &scope).await?;
    tracing::info!(key = key.id.0, user = user.user.id.0, "API key created");
    let page = page(
        &store,
        &user,
        Submitted::default(),
        Some((key.name, token)),
        String::new(),
    )
    .await?;
    html(StatusCode::OK, &page)
}

async fn revoke(
    store: web::Data<DynStore>,
    path: web::Path<i64>,
    form: CsrfForm<Vec<(String, String)>>,
) -> Result<HttpResponse, DashboardError> {
    if !store.revoke_api_key(ApiKeyId(*path)).await? {
        return Err(DashboardError::NotFound);
    }
    tracing::info!(key = *path, user = form.user.user.id.0, "API key revoked");
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/account/api-keys"))
        .finish())
}
