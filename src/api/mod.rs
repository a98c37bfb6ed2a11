//! The stats API: `GET /api/v1/stats/{aggregate,timeseries,breakdown}` as JSON, behind bearer API
//! keys, over the same query layer as the dashboard (`StatsStore`), so the same question gets the
//! same numbers. `endpoint` lists what each endpoint accepts, `params` turns the query string
//! into a question, `auth` checks the key and its sites, `routes` answers, `error` shapes the
//! refusals, `openapi` describes it all at `/api/v1/openapi.json`; `cli` is `footfall apikey`.
//! `plausible` answers the same questions asked in Plausible's Stats API words (v1 parameters
//! with `site_id`, and `POST /api/v2/query`), so scripts written for Plausible keep working.

mod auth;
pub mod cli;
pub mod endpoint;
mod error;
pub mod openapi;
pub mod params;
pub mod plausible;
mod routes;
mod values;

pub use error::ApiError;
pub use routes::configure;
