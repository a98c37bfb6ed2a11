//! Wires the pipeline together and runs it: store, caches, queue, writer task, HTTP server.
//! `Application::build` binds the port (0 in tests), `run_until_stopped` serves until stopped and
//! then drains the queue; `Shutdown` is how a signal (or a test) stops it.

use crate::auth::{self, Auth};
use crate::config::{ServeConfig, redact};
use crate::http_error;
use crate::ingest::client_ip::TrustedProxies;
use crate::ingest::enrich::geoip::GeoIp;
use crate::ingest::listener::{self, Collector};
use crate::ingest::queue;
use crate::ingest::sites::{self, SiteCache};
use crate::ingest::visitor::{self, Salts};
use crate::ingest::writer::{Writer, WriterReport};
use crate::metrics::Metrics;
use crate::store::{self, DynStore, Job};
use crate::web::{self, Ops};
use actix_web::dev::{Server, ServerHandle, Service as _};
use actix_web::{App, HttpServer};
use anyhow::Context;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct Application {
    port: u16,
    server: Server,
    store: DynStore,
    metrics: Arc<Metrics>,
    writer: JoinHandle<WriterReport>,
    stop_writer: watch::Sender<bool>,
    shutdown: Shutdown,
    background: Vec<JoinHandle<()>>,
}

/// Stops a running `Application` gracefully: no new connections, in-flight requests finish,
/// queued events are written; the database gets until `timeout` after `stop` to take them, and
/// what it has not taken by then is spooled.
#[derive(Clone)]
pub struct Shutdown {
    server: ServerHandle,
    deadline: Arc<watch::Sender<Option<tokio::time::Instant>>>,
    timeout: Duration,
}

impl Shutdown {
    /// Begins the shutdown (a second call changes nothing) and waits until the HTTP server has
    /// stopped.
    pub async fn stop(&self) {
        self.start_clock();
        self.server.stop(true).await;
    }

    /// Gives up on the database now (a second signal): what is unwritten is spooled at once.
    pub fn hurry(&self) {
        self.deadline
            .send_replace(Some(tokio::time::Instant::now()));
    }

    fn start_clock(&self) {
        let deadline = tokio::time::Instant::now() + self.timeout;
        self.deadline.send_if_modified(|d| {
            let start = d.is_none();
            if start {
                *d = Some(deadline);
            }
            start
        });
    }
}

impl Application {
    pub async fn build(config: ServeConfig) -> anyhow::Result<Self> {
        let store = store::connect_with_reads(
            &config.database_url,
            config.database_read_url.as_deref(),
            true,
        )
        .await
        .with_context(|| format!("opening database {}", redact(&config.database_url)))?;
        Self::build_with_store(config, store).await
    }

    pub async fn build_with_store(config: ServeConfig, store: DynStore) -> anyhow::Result<Self> {
        let metrics = Arc::new(Metrics::default());
        let geoip = match &config.geoip_db {
            Some(path) => {
                let db = GeoIp::open(path)?;
                tracing::info!(path = %path.display(), kind = db.database_type(), "GeoIP database loaded");
                Some(Arc::new(db))
            }
            None => None,
        };
        let sites = Arc::new(
            SiteCache::load(store.as_ref())
                .await
                .context("loading sites")?,
        );
        let salts = Arc::new(Salts::load(store.as_ref()).await.context("loading salts")?);
        let mut background = vec![
            sites::spawn_refresh(
                sites.clone(),
                store.clone(),
                sites::REFRESH_EVERY,
                Duration::from_secs(1),
            ),
            visitor::spawn_rotation(salts.clone(), store.clone(), Duration::from_secs(60)),
            store::engine::spawn(
                store.clone(),
                Duration::from_secs(1),
                Duration::from_secs(10),
            ),
            spawn_upgrades(store.clone()),
            spawn_jobs(store.clone(), config.retention_days, config.jobs_tick),
        ];

        let (queue, rx) = queue::bounded(config.queue_capacity);
        let (stop_writer, stop_rx) = watch::channel(false);
        let (deadline, deadline_rx) = watch::channel(None);
        let spool_dir = config.spool_dir();
        let writer = Writer::new(store.clone(), metrics.clone(), config.writer)
            .await
            .context("resuming open sessions")?
            .with_sites(sites.clone())
            .with_spool(spool_dir, deadline_rx);
        let writer = tokio::spawn(writer.run(rx, stop_rx));
        let site_cache = actix_web::web::Data::from(sites.clone());

        let collector = actix_web::web::Data::new(Collector {
            sites,
            salts,
            geoip,
            queue: queue.clone(),
            metrics: metrics.clone(),
            trusted_proxies: TrustedProxies::new(config.trusted_proxies.clone()),
        });
        let auth = actix_web::web::Data::new(
            Auth::new(
                store.clone(),
                TrustedProxies::new(config.trusted_proxies.clone()),
            )
            .with_public_url(config.public_url.as_ref()),
        );
        background.push(auth::spawn_housekeeping(auth.clone()));
        let ops = actix_web::web::Data::new(Ops {
            store: store.clone(),
            metrics: metrics.clone(),
            queue,
        });

        let store_data = actix_web::web::Data::new(store.clone());
        let retention_default = actix_web::web::Data::new(
            crate::dashboard::sites::RetentionDefault(config.retention_days),
        );
        let (query_timeout, body_timeout) = (config.query_timeout, config.body_timeout);
        let listener = TcpListener::bind(&config.listen)
            .with_context(|| format!("binding {}", config.listen))?;
        let port = listener.local_addr()?.port();
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(web::head::head_as_get))
                .app_data(collector.clone())
                .app_data(site_cache.clone())
                .app_data(ops.clone())
                .app_data(auth.clone())
                .configure(listener::configure)
                .configure(crate::ingest::pixel::configure)
                .configure(crate::ingest::umami::configure)
                .configure(web::configure)
                .configure(auth::configure)
                .app_data(store_data.clone())
                .app_data(retention_default.clone())
                .configure(crate::dashboard::configure)
                .configure(crate::api::configure)
                .app_data(http_error::query_config())
                .default_service(actix_web::web::to(http_error::not_found))
                // Every request's questions run under its deadline, and its body has one too.
                .wrap_fn(move |req, srv| store::deadline::within(query_timeout, srv.call(req)))
                .wrap(actix_web::middleware::from_fn(move |req, next| {
                    web::body_deadline::bound(body_timeout, req, next)
                }))
        })
        // Signals are handled by the caller, which then calls `stop`: one shutdown path for
        // SIGTERM, Ctrl-C and tests.
        .disable_signals()
        // In-flight requests get at most half the shutdown's time; the writer needs the rest.
        .shutdown_timeout((config.shutdown_timeout.as_secs() / 2).clamp(1, 10));
        if let Some(workers) = config.workers {
            server = server.workers(workers);
        }
        let server = server.listen(listener)?.run();
        let shutdown = Shutdown {
            server: server.handle(),
            deadline: Arc::new(deadline),
            timeout: config.shutdown_timeout,
        };
        Ok(Self {
            port,
            server,
            store,
            metrics,
            writer,
            stop_writer,
            shutdown,
            background,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn store(&self) -> DynStore {
        self.store.clone()
    }

    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// What stops the application (signals, tests).
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Serves until stopped, then stops accepting, lets in-flight requests finish, and drains
    /// every queued event to the database.
    pub async fn run_until_stopped(self) -> anyhow::Result<WriterReport> {
        self.server.await.context("HTTP server failed")?;
        // However the server was stopped, the writer's deadline now runs.
        self.shutdown.start_clock();
        tracing::info!("HTTP server stopped; draining the queue");
        // The receiver may already be gone if the writer panicked; the join below reports that.
        let _ = self.stop_writer.send(true);
        let report = self.writer.await.context("writer task failed")?;
        for task in self.background {
            task.abort();
        }
        Ok(report)
    }
}

/// Runs the stored-data upgrades the migrations left pending (`IngestStore::run_upgrades`) while
/// the server collects, once however many collectors start (`Job::Upgrades`); tried again every
/// 30 s until it succeeds (the database may be down, another collector may be running them).
fn spawn_upgrades(store: DynStore) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match store::run_once(
                store.as_ref(),
                Job::Upgrades,
                Duration::ZERO,
                store.run_upgrades(),
            )
            .await
            {
                Ok(Some(_)) => return,
                Ok(None) => {}
                Err(e) => tracing::warn!(
                    error = %e,
                    cause = ?std::error::Error::source(&e),
                    "upgrading stored data failed; trying again in 30 s"
                ),
            }
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
    })
}

/// How often retention runs, in all collectors together.
const RETENTION_EVERY: Duration = Duration::from_secs(60 * 60);
/// How often the event partitions are looked after (they are made months ahead).
const PARTITIONS_EVERY: Duration = Duration::from_secs(10 * 60);

/// The once-only upkeep (`store::once`) beside the segment builder and the salts: event
/// partitions and retention. Every collector looks every `tick` whether one is due; whichever
/// gets a job runs it, and a crashed holder's job goes to the next collector that looks.
fn spawn_jobs(store: DynStore, retention_days: Option<u32>, tick: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let now = chrono::Utc::now();
            let partitions = store.keep_partitions(now);
            match store::run_once(
                store.as_ref(),
                Job::Partitions,
                PARTITIONS_EVERY,
                partitions,
            )
            .await
            {
                Ok(Some(made)) if made > 0 => tracing::info!(made, "event partitions made"),
                Ok(_) => {}
                Err(e) => tracing::warn!(
                    error = %e,
                    cause = ?std::error::Error::source(&e),
                    "making event partitions failed; trying again later"
                ),
            }
            if let Err(e) = retention(store.as_ref(), retention_days, now).await {
                tracing::warn!(
                    error = %e,
                    cause = ?std::error::Error::source(&e),
                    "retention failed; trying again later"
                );
            }
        }
    })
}

/// One retention run, if it is due and free. A run that had to wait (for the segment builder,
/// or for a site's segments to be built) does not count, so it is tried again at the next tick.
async fn retention(
    store: &dyn store::Store,
    retention_days: Option<u32>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), store::StoreError> {
    let Some(held) = store.take_job(Job::Retention, RETENTION_EVERY).await? else {
        return Ok(());
    };
    let result = store.apply_retention(retention_days, now).await;
    let finished = matches!(&result, Ok(Some(report)) if report.waiting == 0);
    store.end_job(held, finished).await?;
    if let Some(report) = result?
        && (report.events > 0 || report.visits > 0 || report.partitions > 0)
    {
        tracing::info!(
            events = report.events,
            visits = report.visits,
            partitions = report.partitions,
            "retention deleted old raw data"
        );
    }
    Ok(())
}
