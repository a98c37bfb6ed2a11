//! `footfall apikey create --name NAME [--site DOMAIN …]`, `footfall apikey list` and
//! `footfall apikey revoke ID`. `create` prints the token alone on stdout (so scripts can capture
//! it) and what it made on stderr.

use crate::auth::api_key::{self, describe_scope};
use crate::config::redact;
use crate::domain::SiteDomain;
use crate::store::{self, ApiKeyId, ApiKeyScope};
use anyhow::Context;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Make a key for the stats API. The token is printed once; only its hash is stored.
    Create {
        /// What the key is for, e.g. "weekly report".
        #[arg(long)]
        name: String,
        /// A site the key opens (repeat for several). Without --site the key opens every site,
        /// including sites added later.
        #[arg(long = "site", value_name = "DOMAIN")]
        sites: Vec<String>,
    },
    /// List keys: id, name, token hint, sites, created, last used.
    List,
    /// Revoke a key by its id (see `list`); requests with it get 401 from then on.
    Revoke {
        /// The key's id.
        id: i64,
    },
}

pub async fn run(database_url: &str, command: ApiKeyCommand) -> anyhow::Result<()> {
    let store = store::connect(database_url)
        .await
        .with_context(|| format!("opening database {}", redact(database_url)))?;
    match command {
        ApiKeyCommand::Create { name, sites } => {
            let name = api_key::parse_name(&name).map_err(anyhow::Error::msg)?;
            let scope = if sites.is_empty() {
                ApiKeyScope::AllSites
            } else {
                let known = store.list_sites().await?;
                let mut ids = Vec::new();
                for raw in &sites {
                    let domain = SiteDomain::parse(raw)?;
                    let site = known
                        .iter()
                        .find(|s| s.domain == domain)
                        .with_context(|| format!("no site {domain}: see `footfall site list`"))?;
                    ids.push(site.id);
                }
                ApiKeyScope::Sites(ids)
            };
            let (key, token) = api_key::create_key(store.as_ref(), &name, &scope)
                .await
                .context("creating the API key")?;
            eprintln!(
                "created API key {} \"{}\" for {}; copy the token now, it is not shown again:",
                key.id.0,
                key.name,
                describe_scope(&key.scope, &store.list_sites().await?)
            );
            println!("{token}");
            Ok(())
        }
        ApiKeyCommand::List => {
            let keys = store.api_keys().await?;
            if keys.is_empty() {
                println!("no API keys yet: make one with `footfall apikey create --name NAME`");
            }
            let sites = store.list_sites().await?;
            for key in keys {
                println!(
                    "{}\t{}\t{}…\t{}\t{}\t{}",
                    key.id.0,
                    key.name,
                    key.hint,
                    describe_scope(&key.scope, &sites),
                    key.created_at.format("%Y-%m-%d %H:%M UTC"),
                    key.last_used_at.map_or_else(
                        || "never used".to_owned(),
                        |t| t.format("%Y-%m-%d %H:%M UTC").to_string()
                    ),
                );
            }
            Ok(())
        }
        ApiKeyCommand::Revoke { id } => {
            if store.revoke_api_key(ApiKeyId(id)).await? {
                println!("revoked API key {id}");
                Ok(())
            } else {
                anyhow::bail!("no API key {id}: see `footfall apikey list`")
            }
        }
    }
}
