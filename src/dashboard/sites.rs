//! The sites list (with today's visitors and a sparkline), adding a site, a site's settings
//! (tracking snippet, installation check, share links, retention, goals, deletion; what a goal
//! form means is `goals`'), and the routes of the dashboard, live view and shared view.
//! Every page needs a login except `/share/{token}`.

use super::goals::{self, GoalForm, GoalRow};
use super::{DashboardError, export, live, page, site_by_domain};
use crate::auth::{self, CsrfForm, CurrentUser};
use crate::domain::{Site, SiteDomain, TimeZone};
use crate::ingest::sites::SiteCache;
use crate::stats::{Interval, StatsQuery};
use crate::store::{DynStore, ShareLinkId, StoreError};
use crate::web::layout::{self, Layout};
use crate::web::security::security_headers;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{Days, Utc};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/").wrap(security_headers()).get(home))
        .service(
            web::scope("/sites")
                .wrap(security_headers())
                .route("", web::get().to(list))
                .route("", web::post().to(add))
                .route("/{domain}", web::get().to(dashboard))
                .route("/{domain}/settings", web::get().to(settings))
                .route("/{domain}/share", web::post().to(create_share))
                .route("/{domain}/share/{id}/revoke", web::post().to(revoke_share))
                .route("/{domain}/delete", web::post().to(delete))
                .route("/{domain}/retention", web::post().to(set_retention))
                .route("/{domain}/goals", web::post().to(add_goal))
                .route("/{domain}/goals/remove", web::post().to(remove_goal))
                .route("/{domain}/segments", web::post().to(save_segment))
                .route(
                    "/{domain}/segments/{id}/delete",
                    web::post().to(delete_segment),
                )
                .route("/{domain}/funnel", web::get().to(funnel_page))
                .route("/{domain}/live", web::get().to(live_page))
                .route("/{domain}/live/stream", web::get().to(live_stream))
                .route("/{domain}/export/{file}", web::get().to(export::logged_in)),
        )
        .service(
            web::scope("/share")
                .wrap(security_headers())
                .route("/{token}", web::get().to(shared_dashboard))
                .route("/{token}/export/{file}", web::get().to(export::shared)),
        );
}

/// Time zones offered in the add-site form (any IANA name is accepted).
const COMMON_ZONES: &[&str] = &[
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Madrid",
    "Europe/Amsterdam",
    "Europe/Stockholm",
    "Europe/Warsaw",
    "Europe/Helsinki",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Australia/Sydney",
    "Pacific/Auckland",
];

/// `/`: the sites for a logged-in user, the login page otherwise.
async fn home(user: Option<CurrentUser>) -> HttpResponse {
    let target = if user.is_some() { "/sites" } else { "/login" };
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, target))
        .finish()
}

pub struct SiteCard {
    pub domain: String,
    pub visitors_today: i64,
    pub sparkline: String,
    pub sparkline_title: String,
    /// The figures could not be read (the read replica is down): the card has only its links.
    pub unavailable: bool,
}

#[derive(Template)]
#[template(path = "dashboard/sites.html")]
pub struct SitesPage {
    pub layout: Layout,
    pub sites: Vec<SiteCard>,
    pub zones: &'static [&'static str],
    pub error: String,
    pub domain: String,
    pub timezone: String,
}

/// Polyline points for a 7-day sparkline in a 100×24 box.
fn sparkline(values: &[i64]) -> String {
    let max = values.iter().copied().max().unwrap_or(0).max(1) as f64;
    let step = 100.0 / (values.len().max(2) - 1) as f64;
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                "{:.1},{:.1}",
                i as f64 * step,
                22.0 - (*v as f64 / max) * 20.0
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

async fn card(store: &DynStore, site: &Site) -> Result<SiteCard, StoreError> {
    let today = Utc::now().with_timezone(&site.timezone.0).date_naive();
    let query = StatsQuery {
        site: site.id,
        timezone: site.timezone,
        from: today.checked_sub_days(Days::new(6)).unwrap_or(today),
        to: today,
        filters: Vec::new(),
    };
    let points = match store.timeseries(&query, Interval::Day).await {
        Ok(points) => points,
        // The list (and adding a site) is on the primary: it stays usable, without figures.
        Err(e @ StoreError::Replica(_)) => {
            tracing::warn!(error = %e, cause = ?std::error::Error::source(&e), site = %site.domain, "sites list: figures unavailable");
            return Ok(SiteCard {
                domain: site.domain.to_string(),
                visitors_today: 0,
                sparkline: String::new(),
                sparkline_title: String::new(),
                unavailable: true,
            });
        }
        Err(e) => return Err(e),
    };
    let values: Vec<i64> = points.iter().map(|p| p.visitors).collect();
    Ok(SiteCard {
        domain: site.domain.to_string(),
        visitors_today: values.last().copied().unwrap_or(0),
        sparkline: sparkline(&values),
        sparkline_title: format!("Visitors per day, last 7 days: {values:?}"),
        unavailable: false,
    })
}

async fn sites_page(
    store: &DynStore,
    user: &CurrentUser,
    error: String,
    domain: String,
    timezone: String,
) -> Result<SitesPage, DashboardError> {
    let sites = store.list_sites().await?;
    let cards = futures_util::future::try_join_all(sites.iter().map(|s| card(store, s))).await?;
    Ok(SitesPage {
        layout: user.layout(),
        sites: cards,
        zones: COMMON_ZONES,
        error,
        domain,
        timezone,
    })
}

/// Renders a page, logging (not showing) a template failure.
fn html<T: Template>(status: StatusCode, page: &T) -> Result<HttpResponse, DashboardError> {
    layout::render(status, page).map_err(|e| {
        tracing::error!(error = %e, "template rendering failed");
        DashboardError::Render
    })
}

async fn list(
    user: CurrentUser,
    store: web::Data<DynStore>,
) -> Result<HttpResponse, DashboardError> {
    let page = sites_page(&store, &user, String::new(), String::new(), "UTC".into()).await?;
    html(StatusCode::OK, &page)
}

#[derive(serde::Deserialize)]
pub struct AddForm {
    domain: String,
    timezone: String,
}

async fn add(
    store: web::Data<DynStore>,
    form: CsrfForm<AddForm>,
) -> Result<HttpResponse, DashboardError> {
    let CsrfForm { user, data } = form;
    let parsed = SiteDomain::parse(&data.domain)
        .map_err(|e| e.0)
        .and_then(|d| {
            TimeZone::parse(&data.timezone)
                .map(|tz| (d, tz))
                .map_err(|e| e.0)
        });
    let error = match parsed {
        Ok((domain, tz)) => match store.add_site(&domain, tz).await {
            Ok(site) => {
                let to = format!("/sites/{}/settings", site.domain);
                return Ok(HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, to))
                    .finish());
            }
            Err(StoreError::SiteExists(d)) => format!("{d} is already registered."),
            Err(e) => return Err(e.into()),
        },
        Err(message) => message,
    };
    let page = sites_page(&store, &user, error, data.domain, data.timezone).await?;
    html(StatusCode::BAD_REQUEST, &page)
}

async fn dashboard(
    user: CurrentUser,
    store: web::Data<DynStore>,
    path: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, DashboardError> {
    let site = site_by_domain(&store, &path).await?;
    let base = format!("/sites/{}", site.domain);
    let page = page::render(&store, &site, &query, base, user.layout(), false).await?;
    html(StatusCode::OK, &page)
}

async fn funnel_page(
    user: CurrentUser,
    store: web::Data<DynStore>,
    path: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, DashboardError> {
    let site = site_by_domain(&store, &path).await?;
    let base = format!("/sites/{}", site.domain);
    let page = super::funnel::render(&store, &site, &query, base, user.layout()).await?;
    html(StatusCode::OK, &page)
}

/// The read-only dashboard behind a share link: only its site, no settings, no live view.
async fn shared_dashboard(
    store: web::Data<DynStore>,
    path: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, DashboardError> {
    let site_id = auth::share::site_for_token(store.as_ref().as_ref(), &path)
        .await?
        .ok_or(DashboardError::NotFound)?;
    let site = store
        .list_sites()
        .await?
        .into_iter()
        .find(|s| s.id == site_id)
        .ok_or(DashboardError::NotFound)?;
    let base = format!("/share/{}", path.as_str());
    let page = page::render(&store, &site, &query, base, Layout::anonymous(""), true).await?;
    let mut response = html(StatusCode::OK, &page)?;
    // The token is in the URL: keep it out of shared caches and of other sites' Referer.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

async fn live_page(
    user: CurrentUser,
    store: web::Data<DynStore>,
    path: web::Path<String>,
) -> Result<HttpResponse, DashboardError> {
    let site = site_by_domain(&store, &path).await?;
    let page = live::LivePage {
        layout: user.layout(),
        site: site.domain.to_string(),
        base: format!("/sites/{}", site.domain),
        script: crate::web::assets::live_js_href(),
    };
    html(StatusCode::OK, &page)
}

async fn live_stream(
    user: CurrentUser,
    store: web::Data<DynStore>,
    path: web::Path<String>,
) -> Result<HttpResponse, DashboardError> {
    let site = site_by_domain(&store, &path).await?;
    Ok(live::stream(
        store.get_ref().clone(),
        site.id,
        user.token_hash(),
    ))
}

pub struct ShareRow {
    pub id: i64,
    pub created: String,
    /// The token's first characters, to tell links apart.
    pub hint: String,
}

#[derive(Template)]
#[template(path = "dashboard/settings.html")]
pub struct SettingsPage {
    pub layout: Layout,
    pub site: String,
    pub timezone: String,
    pub snippet: String,
    pub pixel: String,
    pub verify: Option<i64>,
    pub shares: Vec<ShareRow>,
    /// A share link just created: shown once, only its hash is stored.
    pub new_share: String,
    pub error: String,
    /// The site's own retention in days, as the form shows it (empty: the server's).
    pub retention_days: String,
    /// What applies, in words: "30 days (this site)", "90 days (server default)", "forever".
    pub retention: String,
    /// Raw rows before this day have been deleted (empty: none).
    pub kept_from: String,
    pub goals: Vec<GoalRow>,
    /// The add-goal form: blank, or as sent when the goal was refused (`goal_error` says why).
    pub goal_form: GoalForm,
    pub goal_error: String,
}

/// The server's `--retention-days`, for the settings page.
#[derive(Debug, Clone, Copy)]
pub struct RetentionDefault(pub Option<u32>);

/// The origin visitors' browsers reach footfall at (see `Auth::public_origin`).
fn public_origin(req: &HttpRequest) -> Result<String, DashboardError> {
    // `Auth` is registered with every route that renders pages.
    let auth = req
        .app_data::<web::Data<auth::Auth>>()
        .ok_or(DashboardError::Render)?;
    Ok(auth.public_origin(req))
}

async fn settings_page(
    req: &HttpRequest,
    store: &DynStore,
    user: &CurrentUser,
    site: &Site,
    verify: bool,
    new_share: String,
    error: String,
) -> Result<SettingsPage, DashboardError> {
    let origin = public_origin(req)?;
    let shares = store
        .share_links(site.id)
        .await?
        .into_iter()
        .map(|l| ShareRow {
            id: l.id.0,
            created: l.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            hint: l.hint,
        })
        .collect();
    let verify = if verify {
        Some(store.count_events(site.id).await?)
    } else {
        None
    };
    let server_days = req
        .app_data::<web::Data<RetentionDefault>>()
        .and_then(|d| d.0);
    let retention = store.site_retention(site.id).await?;
    let applies = match (retention.days, server_days) {
        (Some(days), _) => format!("{days} days (this site's setting)"),
        (None, Some(days)) => format!("{days} days (the server's --retention-days)"),
        (None, None) => "forever (no retention is set)".to_owned(),
    };
    let goals = goals::rows(site, &store.goals(site.id).await?);
    Ok(SettingsPage {
        layout: user.layout(),
        site: site.domain.to_string(),
        timezone: site.timezone.name().to_owned(),
        snippet: format!(
            "<script defer data-domain=\"{}\" src=\"{origin}/js/script.js\"></script>",
            site.domain
        ),
        pixel: format!(
            "<noscript><img src=\"{origin}/api/event.gif?d={}\" alt=\"\" width=\"1\" height=\"1\"></noscript>",
            site.domain
        ),
        verify,
        shares,
        new_share: if new_share.is_empty() {
            new_share
        } else {
            format!("{origin}/share/{new_share}")
        },
        error,
        retention_days: retention.days.map(|d| d.to_string()).unwrap_or_default(),
        retention: applies,
        kept_from: retention
            .kept_from
            .map(|t| {
                t.with_timezone(&site.timezone.0)
                    .format("%Y-%m-%d")
                    .to_string()
            })
            .unwrap_or_default(),
        goals,
        goal_form: GoalForm::blank(),
        goal_error: String::new(),
    })
}

#[derive(serde::Deserialize)]
pub struct VerifyQuery {
    verify: Option<String>,
}

async fn settings(
    req: HttpRequest,
    user: CurrentUser,
    store: web::Data<DynStore>,
    path: web::Path<String>,
    query: web::Query<VerifyQuery>,
) -> Result<HttpResponse, DashboardError> {
    let site = site_by_domain(&store, &path).await?;
    let page = settings_page(
        &req,
        &store,
        &user,
        &site,
        query.verify.is_some(),
        String::new(),
        String::new(),
    )
    .await?;
    html(StatusCode::OK, &page)
}

#[derive(serde::Deserialize)]
pub struct Empty {}

/// After a settings form: back to the settings page (303, so a reload does not post again).
fn back_to_settings(site: &Site) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/sites/{}/settings", site.domain)))
        .finish()
}

async fn create_share(
    req: HttpRequest,
    store: web::Data<DynStore>,
    path: web::Path<String>,
    form: CsrfForm<Empty>,
) -> Result<HttpResponse, DashboardError> {
    let site = site_by_domain(&store, &path).await?;
    let (_, token) = auth::share::create_link(store.as_ref().as_ref(), site.id).await?;
    let page = settings_page(&req, &store, &form.user, &site, false, token, String::new()).await?;
    html(StatusCode::OK, &page)
}

async fn revoke_share(
    store: web::Data<DynStore>,
    path: web::Path<(String, i64)>,
    _form: CsrfForm<Empty>,
) -> Result<HttpResponse, DashboardError> {
    let (domain, id) = path.into_inner();
    let site = site_by_domain(&store, &domain).await?;
    if !store.revoke_share_link(site.id, ShareLinkId(id)).await? {
        return Err(DashboardError::NotFound);
    }
    Ok(back_to_settings(&site))
}

#[derive(serde::Deserialize)]
pub struct RetentionForm {
    days: String,
}

/// Longest retention a site may set, as `--retention-days` (100 years).
const MAX_RETENTION_DAYS: u32 = 36_600;

async fn set_retention(
    req: HttpRequest,
    store: web::Data<DynStore>,
    path: web::Path<String>,
    form: CsrfForm<RetentionForm>,
) -> Result<HttpResponse, DashboardError> {
    let site = site_by_domain(&store, &path).await?;
    let text = form.data.days.trim();
    let days = match text {
        "" => None,
        _ => match text.parse::<u32>() {
            Ok(days) if (1..=MAX_RETENTION_DAYS).contains(&days) => Some(days),
            _ => {
                let error = format!(
                    "Retention must be a whole number of days from 1 to {MAX_RETENTION_DAYS}, \
                     or empty for the server's setting (got {text:?})."
                );
                let page =
                    settings_page(&req, &store, &form.user, &site, false, String::new(), error)
                        .await?;
                return html(StatusCode::BAD_REQUEST, &page);
            }
        },
    };
    store.set_site_retention(site.id, days).await?;
    Ok(back_to_settings(&site))
}

#[derive(serde::Deserialize)]
pub struct SegmentForm {
    name: String,
    /// The view whose filters are saved, as its query string.
    view: String,
}

/// Longest name of a saved segment, in characters.
const MAX_SEGMENT_NAME: usize = 60;

/// Saves the filters of a view as a segment and shows the dashboard with it applied.
async fn save_segment(
    store: web::Data<DynStore>,
    path: web::Path<String>,
    form: CsrfForm<SegmentForm>,
) -> Result<HttpResponse, DashboardError> {
    let site = site_by_domain(&store, &path).await?;
    let name = form.data.name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_SEGMENT_NAME
        || name.chars().any(crate::domain::decode::is_hidden_char)
    {
        return Err(DashboardError::BadRequest(format!(
            "A segment needs a name of 1 to {MAX_SEGMENT_NAME} characters, without control or \
             invisible characters."
        )));
    }
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(form.data.view.as_bytes())
        .into_owned()
        .collect();
    let view = super::params::parse(&pairs).map_err(DashboardError::BadRequest)?;
    if view.filters.is_empty() || view.segment.is_some() {
        return Err(DashboardError::BadRequest(
            "A segment is a list of filters: add a filter (click a row of any table), then save."
                .into(),
        ));
    }
    let filters: Vec<String> = view
        .filters
        .iter()
        .map(super::params::format_filter)
        .collect();
    let saved = match store.add_saved_segment(site.id, name, &filters).await {
        Err(StoreError::SegmentExists(name)) => {
            return Err(DashboardError::BadRequest(format!(
                "{} has a segment named {name:?} already: pick another name, or delete that one \
                 first.",
                site.domain
            )));
        }
        saved => saved?,
    };
    let to = format!(
        "/sites/{}?{}",
        site.domain,
        view.of_segment(saved.id).query_string()
    );
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish())
}

async fn delete_segment(
    store: web::Data<DynStore>,
    path: web::Path<(String, i64)>,
    _form: CsrfForm<Empty>,
) -> Result<HttpResponse, DashboardError> {
    let (domain, id) = path.into_inner();
    let site = site_by_domain(&store, &domain).await?;
    if !store.delete_saved_segment(site.id, id).await? {
        return Err(DashboardError::NotFound);
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/sites/{}", site.domain)))
        .finish())
}

/// `POST /sites/{domain}/goals`: adds the goal, or shows the settings page again with the form
/// as it was sent and what is wrong with it (400).
async fn add_goal(
    req: HttpRequest,
    store: web::Data<DynStore>,
    path: web::Path<String>,
    form: CsrfForm<GoalForm>,
) -> Result<HttpResponse, DashboardError> {
    let CsrfForm { user, data } = form;
    let site = site_by_domain(&store, &path).await?;
    let error = match data.goal() {
        Ok(goal) => match store.add_goal(site.id, &goal).await {
            Ok(()) => return Ok(back_to_settings(&site)),
            Err(StoreError::GoalExists(name)) => format!(
                "{} already has a goal named {name:?}: pick another name, or remove that one \
                 first.",
                site.domain
            ),
            Err(e) => return Err(e.into()),
        },
        Err(problem) => format!("The goal was not added: {problem}."),
    };
    let mut page = settings_page(
        &req,
        &store,
        &user,
        &site,
        false,
        String::new(),
        String::new(),
    )
    .await?;
    page.goal_form = data;
    page.goal_error = error;
    html(StatusCode::BAD_REQUEST, &page)
}

#[derive(serde::Deserialize)]
pub struct RemoveGoalForm {
    name: String,
}

/// `POST /sites/{domain}/goals/remove` with the goal's `name` (names may hold `/` or spaces, so
/// it is a field, not a path segment); 404 for a name the site has no goal under.
async fn remove_goal(
    store: web::Data<DynStore>,
    path: web::Path<String>,
    form: CsrfForm<RemoveGoalForm>,
) -> Result<HttpResponse, DashboardError> {
    let site = site_by_domain(&store, &path).await?;
    if !store.remove_goal(site.id, form.data.name.trim()).await? {
        return Err(DashboardError::NotFound);
    }
    Ok(back_to_settings(&site))
}

#[derive(serde::Deserialize)]
pub struct DeleteForm {
    confirm: String,
}

async fn delete(
    req: HttpRequest,
    store: web::Data<DynStore>,
    path: web::Path<String>,
    form: CsrfForm<DeleteForm>,
    collecting: web::Data<SiteCache>,
) -> Result<HttpResponse, DashboardError> {
    let site = site_by_domain(&store, &path).await?;
    if form.data.confirm.trim() != site.domain.as_str() {
        let error = format!("Type {} to confirm the deletion.", site.domain);
        let page =
            settings_page(&req, &store, &form.user, &site, false, String::new(), error).await?;
        return html(StatusCode::BAD_REQUEST, &page);
    }
    store.delete_site(site.id).await?;
    // The collector refuses the site's events from now on (other collectors within
    // `sites::REFRESH_EVERY`), and the writer drops those still queued.
    collecting.forget(site.id);
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/sites"))
        .finish())
}

#[cfg(test)]
mod tests {
    use super::sparkline;

    #[test]
    fn sparklines_scale_to_the_box() {
        assert_eq!(sparkline(&[0, 5, 10]), "0.0,22.0 50.0,12.0 100.0,2.0");
        assert_eq!(sparkline(&[]), "");
    }
}
