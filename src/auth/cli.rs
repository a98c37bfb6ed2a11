//! `footfall user add EMAIL [--password-stdin]` and `footfall user list`.

use super::password::{self, NewPassword};
use crate::config::redact;
use crate::domain::Email;
use crate::store::{self, StoreError};
use anyhow::Context;
use clap::Subcommand;
use std::io::{BufRead, IsTerminal};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a dashboard user. The password is asked for twice on the terminal.
    Add {
        /// The login email, e.g. ann@example.com.
        email: String,
        /// Read the password from the first line of standard input (scripts, containers).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List dashboard users.
    List,
}

pub async fn run(database_url: &str, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            email,
            password_stdin,
        } => {
            let email = Email::parse(&email)?;
            let password = if password_stdin {
                read_stdin_line()?
            } else {
                prompt_twice()?
            };
            let password = NewPassword::parse(&password)?;
            let store = open(database_url).await?;
            let hash = password::hash(password).await?;
            match store.add_user(&email, &hash).await {
                Ok(user) => {
                    println!("added user {} (id {})", user.email, user.id.0);
                    Ok(())
                }
                Err(e @ StoreError::UserExists(_)) => Err(e.into()),
                Err(e) => Err(anyhow::Error::new(e).context("adding the user")),
            }
        }
        UserCommand::List => {
            let users = open(database_url).await?.list_users().await?;
            if users.is_empty() {
                println!("no users yet: add one with `footfall user add EMAIL`");
            }
            for user in users {
                println!(
                    "{}\t{}\t{}",
                    user.id.0,
                    user.email,
                    user.created_at.format("%Y-%m-%d %H:%M UTC")
                );
            }
            Ok(())
        }
    }
}

async fn open(url: &str) -> anyhow::Result<store::DynStore> {
    store::connect(url)
        .await
        .with_context(|| format!("opening database {}", redact(url)))
}

fn read_stdin_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

fn prompt_twice() -> anyhow::Result<String> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "standard input is not a terminal: pipe the password in with --password-stdin"
        );
    }
    let first = rpassword::prompt_password("Password (at least 10 characters): ")
        .context("reading the password")?;
    let second = rpassword::prompt_password("Password again: ").context("reading the password")?;
    if first != second {
        anyhow::bail!("the two passwords differ");
    }
    Ok(first)
}
