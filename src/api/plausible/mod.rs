//! Plausible's Stats API in front of footfall's query layer, for scripts written against
//! Plausible: `v1` reads the v1 parameters (a request naming its site with `site_id`) on
//! `/api/v1/stats/*`, `v2` the `POST /api/v2/query` body. `names` maps properties and metrics,
//! `filters` and `period` translate filters and periods (exactly, or with a 400 that names what
//! footfall cannot answer), `answer` asks `StatsStore` what the footfall-style endpoints ask.

pub mod answer;
pub mod filters;
pub mod names;
pub mod period;
pub mod v1;
pub mod v2;
