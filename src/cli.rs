//! The `footfall` command line. Every flag also reads a `FOOTFALL_…` environment variable.

use crate::config::redact;
use crate::config::{DEFAULT_DATABASE_URL, DEFAULT_LISTEN, ServeConfig};
use crate::domain::{SiteDomain, TimeZone, UmamiId};
use crate::ingest::writer::WriterConfig;
use crate::seed::{self, SeedOptions};
use crate::startup::Application;
use crate::store::{self, StoreError};
use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use ipnet::IpNet;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "footfall",
    version,
    about = "Self-hosted, privacy-friendly web analytics"
)]
pub struct Cli {
    /// Database: sqlite://PATH (created if missing) or postgres://USER@HOST/DB.
    #[arg(long, env = "FOOTFALL_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the collection endpoint (and everything else) over HTTP.
    Serve(ServeArgs),
    /// Manage sites.
    #[command(subcommand)]
    Site(SiteCommand),
    /// Write realistic synthetic events for a site (benchmarks, demos).
    Seed(SeedArgs),
    /// Manage dashboard users.
    #[command(subcommand)]
    User(crate::auth::cli::UserCommand),
    /// Import history: nginx/Apache access logs, GoatCounter or Umami CSV exports (plain or gzip).
    Import(crate::import::cli::ImportArgs),
    /// Manage API keys for the stats API.
    #[command(subcommand)]
    Apikey(crate::api::cli::ApiKeyCommand),
    /// Manage a site's goals (conversions are counted over stored events, history included).
    #[command(subcommand)]
    Goal(GoalCommand),
}

#[derive(Debug, Subcommand)]
pub enum GoalCommand {
    /// Add a pageview goal (--path) or a custom event goal (--event, optionally --prop).
    Add {
        /// The site's domain.
        #[arg(long)]
        site: String,
        /// The goal's name, as the dashboard shows it.
        #[arg(long)]
        name: String,
        /// A pageview goal: the path, or a pattern with * (one path segment) and ** (any):
        /// /thanks, /blog/**.
        #[arg(long, conflicts_with_all = ["event", "prop"], required_unless_present = "event")]
        path: Option<String>,
        /// A custom event goal: the event's name.
        #[arg(long)]
        event: Option<String>,
        /// With --event: a prop the event must have, KEY=VALUE.
        #[arg(long, requires = "event")]
        prop: Option<String>,
        /// With --event: a revenue goal summing the events' revenue in this currency (ISO 4217,
        /// e.g. EUR); amounts in other currencies are counted but not summed.
        #[arg(long, requires = "event")]
        revenue: Option<String>,
    },
    /// List a site's goals: name, then what converts.
    List {
        #[arg(long)]
        site: String,
    },
    /// Remove a site's goal by name.
    Remove {
        #[arg(long)]
        site: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "FOOTFALL_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: String,
    /// Events held in memory before the endpoint answers 503.
    #[arg(long, env = "FOOTFALL_QUEUE_CAPACITY", default_value_t = 50_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub queue_capacity: u32,
    /// Events per database write.
    #[arg(long, env = "FOOTFALL_BATCH_SIZE", default_value_t = 5000, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: u32,
    /// Longest an event waits in memory before its batch is written.
    #[arg(long, env = "FOOTFALL_FLUSH_INTERVAL_MS", default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..))]
    pub flush_interval_ms: u64,
    /// MaxMind-format database (GeoLite2 / GeoIP2 City or Country, DB-IP) for country, region, city.
    #[arg(long, env = "FOOTFALL_GEOIP_DB")]
    pub geoip_db: Option<PathBuf>,
    /// Proxies whose X-Forwarded-For is believed, as CIDRs (10.0.0.0/8,::1/128).
    #[arg(long, env = "FOOTFALL_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpNet>,
    /// HTTP worker threads (default: one per CPU core).
    #[arg(long, env = "FOOTFALL_WORKERS")]
    pub workers: Option<usize>,
    /// After SIGTERM/SIGINT, how long to keep trying the database before queued events are
    /// written to the spool file instead.
    #[arg(long, env = "FOOTFALL_SHUTDOWN_TIMEOUT_SECS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub shutdown_timeout_secs: u64,
    /// Where events go that the database could not take by the shutdown deadline (default:
    /// beside the SQLite file, or the working directory); the next start stores them.
    #[arg(long, env = "FOOTFALL_SPOOL_DIR")]
    pub spool_dir: Option<PathBuf>,
    /// The address browsers reach footfall at, e.g. https://stats.example.org: used in the
    /// tracking snippet, share links and the login forms' origin check (default: the request's
    /// Host, and forwarded headers only from --trusted-proxies).
    #[arg(long, env = "FOOTFALL_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<url::Url>,
    /// Longest a dashboard or share page, an export page or a stats API answer may take before its
    /// queries are stopped (it then answers 503, saying so).
    #[arg(long, env = "FOOTFALL_QUERY_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub query_timeout_ms: u64,
    /// A read replica of the Postgres --database-url (postgres://USER@REPLICA/DB) for the
    /// dashboard's, the stats API's and exports' queries; writes, logins and settings stay on the
    /// primary (default: everything on the primary).
    #[arg(long, env = "FOOTFALL_DATABASE_READ_URL")]
    pub database_read_url: Option<String>,
    /// Days of raw events and visits to keep (default: forever); older ones are deleted hourly,
    /// while the dashboard keeps its daily figures for those days. A site's settings can
    /// override it.
    #[arg(long, env = "FOOTFALL_RETENTION_DAYS", value_parser = clap::value_parser!(u32).range(1..=36_600))]
    pub retention_days: Option<u32>,
}

fn parse_public_url(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("use http://HOST[:PORT] or https://HOST[:PORT]".into());
    }
    if url.path() != "/" || url.query().is_some() {
        return Err("footfall is served at the root: give the origin only, without a path".into());
    }
    Ok(url)
}

#[derive(Debug, Subcommand)]
pub enum SiteCommand {
    /// Register a site to collect events for.
    Add {
        /// The site's domain, e.g. example.com (its subdomains are included).
        domain: String,
        /// IANA time zone for the dashboard's days and hours.
        #[arg(long, env = "FOOTFALL_SITE_TIMEZONE", default_value = "UTC")]
        timezone: String,
        /// The site's Umami website id (a UUID), so Umami snippets and `/api/send` senders
        /// reach it.
        #[arg(long)]
        umami_id: Option<String>,
    },
    /// Change a site's settings.
    Set {
        /// Domain of an existing site.
        domain: String,
        /// The site's Umami website id (a UUID); `none` removes it.
        #[arg(long)]
        umami_id: String,
    },
    /// List registered sites: id, domain, time zone, Umami website id.
    List,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Domain of an existing site.
    #[arg(long, env = "FOOTFALL_SEED_SITE")]
    pub site: String,
    /// How many events to write.
    #[arg(long, env = "FOOTFALL_SEED_EVENTS")]
    pub events: u64,
    /// Spread over this many days up to now.
    #[arg(long, env = "FOOTFALL_SEED_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub days: u32,
    /// Random seed, for reproducible data sets.
    #[arg(long, env = "FOOTFALL_SEED_RANDOM", default_value_t = 1)]
    pub random_seed: u64,
    /// Events per database write.
    #[arg(long, env = "FOOTFALL_BATCH_SIZE", default_value_t = 5000, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: u32,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(&cli.database_url, args).await,
        Command::Site(cmd) => site(&cli.database_url, cmd).await,
        Command::User(cmd) => crate::auth::cli::run(&cli.database_url, cmd).await,
        Command::Import(args) => crate::import::cli::run(&cli.database_url, args).await,
        Command::Apikey(cmd) => crate::api::cli::run(&cli.database_url, cmd).await,
        Command::Goal(cmd) => goal(&cli.database_url, cmd).await,
        Command::Seed(args) => {
            let store = open(&cli.database_url).await?;
            let report = seed::run(
                store,
                SeedOptions {
                    domain: SiteDomain::parse(&args.site)?,
                    events: args.events,
                    days: args.days,
                    random_seed: args.random_seed,
                    batch_size: args.batch_size as usize,
                },
            )
            .await?;
            println!(
                "seeded {} events in {} sessions over {} days in {:.1}s ({:.0} events/s)",
                report.events,
                report.sessions,
                args.days,
                report.elapsed.as_secs_f64(),
                report.events as f64 / report.elapsed.as_secs_f64().max(1e-9)
            );
            Ok(())
        }
    }
}

async fn open(url: &str) -> anyhow::Result<store::DynStore> {
    store::connect(url)
        .await
        .with_context(|| format!("opening database {}", redact(url)))
}

async fn site(url: &str, cmd: SiteCommand) -> anyhow::Result<()> {
    let store = open(url).await?;
    match cmd {
        SiteCommand::Add {
            domain,
            timezone,
            umami_id,
        } => {
            let domain = SiteDomain::parse(&domain)?;
            let timezone = TimeZone::parse(&timezone)?;
            let umami_id = umami_id.as_deref().map(UmamiId::parse).transpose()?;
            // Checked before the site is added, so that a taken id adds nothing.
            if let Some(id) = &umami_id
                && store
                    .umami_ids()
                    .await?
                    .iter()
                    .any(|(taken, _)| taken == id)
            {
                return Err(StoreError::UmamiIdTaken(id.to_string()).into());
            }
            let site = match store.add_site(&domain, timezone).await {
                Ok(site) => site,
                Err(e @ StoreError::SiteExists(_)) => return Err(e.into()),
                Err(e) => return Err(anyhow::Error::new(e).context("adding the site")),
            };
            let umami = match &umami_id {
                Some(id) => {
                    store.set_umami_id(site.id, Some(id)).await?;
                    format!(", Umami website id {id}")
                }
                None => String::new(),
            };
            println!(
                "added site {} (id {}, time zone {}{umami})",
                site.domain,
                site.id.0,
                site.timezone.name()
            );
            Ok(())
        }
        SiteCommand::Set { domain, umami_id } => {
            let domain = SiteDomain::parse(&domain)?;
            let umami_id = match umami_id.trim() {
                "none" | "" => None,
                id => Some(UmamiId::parse(id)?),
            };
            let site = store
                .list_sites()
                .await?
                .into_iter()
                .find(|s| s.domain == domain)
                .with_context(|| format!("no site {domain}: see `footfall site list`"))?;
            store.set_umami_id(site.id, umami_id.as_ref()).await?;
            match umami_id {
                Some(id) => println!("site {domain}: Umami website id {id}"),
                None => println!("site {domain}: no Umami website id"),
            }
            Ok(())
        }
        SiteCommand::List => {
            let sites = store.list_sites().await?;
            let umami: std::collections::HashMap<_, _> = store
                .umami_ids()
                .await?
                .into_iter()
                .map(|(id, site)| (site, id))
                .collect();
            if sites.is_empty() {
                println!("no sites yet: add one with `footfall site add example.com`");
            }
            for site in sites {
                let id = umami
                    .get(&site.id)
                    .map_or("-".to_owned(), ToString::to_string);
                println!(
                    "{}\t{}\t{}\t{id}",
                    site.id.0,
                    site.domain,
                    site.timezone.name()
                );
            }
            Ok(())
        }
    }
}

async fn goal(url: &str, command: GoalCommand) -> anyhow::Result<()> {
    use crate::stats::goal::Goal;
    let store = open(url).await?;
    let site_of = |domain: &str| {
        let store = store.clone();
        let domain = domain.to_owned();
        async move {
            let domain = SiteDomain::parse(&domain)?;
            store
                .list_sites()
                .await?
                .into_iter()
                .find(|s| s.domain == domain)
                .with_context(|| format!("no site {domain}: see `footfall site list`"))
        }
    };
    match command {
        GoalCommand::Add {
            site,
            name,
            path,
            event,
            prop,
            revenue,
        } => {
            let site = site_of(&site).await?;
            let goal = match (path, event) {
                (Some(path), _) => Goal::page(&name, &path)?,
                (None, Some(event)) => Goal::event(&name, &event, prop.as_deref())?,
                (None, None) => anyhow::bail!("give the goal a --path or an --event"),
            };
            let goal = match revenue {
                Some(currency) => goal.with_revenue(&currency)?,
                None => goal,
            };
            store.add_goal(site.id, &goal).await?;
            println!(
                "added goal \"{}\" to {}: {}",
                goal.name,
                site.domain,
                goal.describe_all()
            );
        }
        GoalCommand::List { site } => {
            let site = site_of(&site).await?;
            let goals = store.goals(site.id).await?;
            if goals.is_empty() {
                println!(
                    "no goals yet: add one with `footfall goal add --site {} --name NAME --path /thanks`",
                    site.domain
                );
            }
            for goal in goals {
                println!("{}\t{}", goal.name, goal.describe_all());
            }
        }
        GoalCommand::Remove { site, name } => {
            let site = site_of(&site).await?;
            if !store.remove_goal(site.id, name.trim()).await? {
                anyhow::bail!(
                    "{} has no goal named {name:?}: see `footfall goal list --site {}`",
                    site.domain,
                    site.domain
                );
            }
            println!("removed goal \"{}\" from {}", name.trim(), site.domain);
        }
    }
    Ok(())
}

async fn serve(url: &str, args: ServeArgs) -> anyhow::Result<()> {
    let config = ServeConfig {
        listen: args.listen,
        database_url: url.to_owned(),
        // Empty (an unset variable in a compose file) or the primary itself: no replica.
        database_read_url: args
            .database_read_url
            .filter(|read| !read.is_empty() && read != url),
        queue_capacity: args.queue_capacity as usize,
        writer: WriterConfig {
            batch_size: args.batch_size as usize,
            flush_interval: Duration::from_millis(args.flush_interval_ms),
        },
        geoip_db: args.geoip_db,
        trusted_proxies: args.trusted_proxies,
        workers: args.workers,
        shutdown_timeout: Duration::from_secs(args.shutdown_timeout_secs),
        spool_dir: args.spool_dir,
        public_url: args.public_url,
        query_timeout: Duration::from_millis(args.query_timeout_ms),
        retention_days: args.retention_days,
        ..ServeConfig::new(url)
    };
    let timeout = config.shutdown_timeout;
    let spool_dir = config.spool_dir();
    let reads = config.database_read_url.as_deref().map(redact);
    let app = Application::build(config).await?;
    tracing::info!(
        port = app.port(),
        database = %redact(url),
        reads = reads.as_deref().unwrap_or("the primary"),
        backend = app.store().backend(),
        "footfall is listening"
    );
    let shutdown = app.shutdown();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!(
            timeout_secs = timeout.as_secs(),
            spool_dir = %spool_dir.display(),
            "shutdown requested: no new events; storing the queue (what the database has not \
             taken by the deadline is spooled; signal again to spool at once)"
        );
        let hurry = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::warn!("second signal: spooling what is unwritten now");
            hurry.hurry();
            wait_for_signal().await;
            tracing::error!("third signal: exiting at once; unwritten events are lost");
            std::process::exit(1);
        });
        shutdown.stop().await;
    });
    let report = app.run_until_stopped().await?;
    tracing::info!(
        stored = report.stored,
        dropped = report.dropped,
        spooled = report.spooled,
        lost = report.lost,
        "shut down"
    );
    if report.lost > 0 {
        anyhow::bail!("{} events were lost at shutdown (see the log)", report.lost);
    }
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; Ctrl-C only");
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
