//! `callassist keys status|reseal`: finishing a rotation of `ENCRYPTION_KEY`.
//!
//! A rotated encryption key keeps opening what it sealed while it is listed in
//! `ENCRYPTION_KEYS_RETIRED`, and can be removed only once nothing needs it any more. `status`
//! counts, per key id, what each key seals: the businesses' OpenAI keys (the write side), the
//! outbound webhooks' signing secrets and the callers' personal data keys. `reseal` seals the
//! first two again under the current key — a business gets an `AgentKeyResealed` event (its old
//! ciphertext stays in its history: events are immutable), an endpoint's row is updated in place
//! — wraps the personal data keys again (their rows are updated in place), and then counts
//! again, so the operator sees what still needs a retired key.
//!
//! Both connect without migrating or creating the database (as `audit` does), so a mistyped
//! `DATABASE_URL` fails instead of reporting on an empty new database.

use std::collections::BTreeMap;

use anyhow::Context;
use clap::Subcommand;
use infrastructure::config::{self, DatabaseSettings, EncryptionKeys, SettingsError};
use infrastructure::db;
use infrastructure::event_store::{AppendSignal, Stores};
use infrastructure::privacy::PersonalData;
use infrastructure::vault::Vault;
use secrecy::ExposeSecret;
use serde::Serialize;
use sqlx::PgPool;

mod render;
mod reseal;
#[cfg(test)]
mod tests;

pub use render::{render_inventory, render_reseal};
pub use reseal::reseal;

/// `callassist keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// The encryption key ids in use and how many secrets each seals (OpenAI keys, webhook
    /// secrets, personal data keys).
    ///
    /// Needs DATABASE_URL, ENCRYPTION_KEY and ENCRYPTION_KEYS_RETIRED, as the nodes have them.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Seal every OpenAI key and webhook secret sealed under another key again under
    /// ENCRYPTION_KEY, then show what each key id still seals. Safe to run while the nodes
    /// serve, and to run again (it then reseals nothing).
    ///
    /// Needs DATABASE_URL, ENCRYPTION_KEY and ENCRYPTION_KEYS_RETIRED, as the nodes have them.
    Reseal,
}

/// What a key id is to this configuration (in the order they are listed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyRole {
    /// `ENCRYPTION_KEY`: seals and opens.
    Current,
    /// In `ENCRYPTION_KEYS_RETIRED`: opens only.
    Retired,
    /// Neither: what it sealed cannot be opened here.
    #[default]
    NotConfigured,
    /// `callassist demo seed`'s placeholder: no key at all, the demo agent answers.
    DemoPlaceholder,
}

/// How many secrets one key id seals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Sealed {
    /// The key id.
    pub key_id: String,
    /// What it is here.
    pub role: KeyRole,
    /// Businesses whose agent's OpenAI key it seals.
    pub agent_keys: u64,
    /// Outbound webhook endpoints whose signing secret it seals.
    pub webhook_secrets: u64,
    /// Personal data keys it wraps.
    pub personal_data_keys: u64,
}

/// Every key id in use, current and retired ones first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inventory {
    /// `ENCRYPTION_KEY`'s id.
    pub current: String,
    /// `ENCRYPTION_KEYS_RETIRED`'s ids.
    pub retired: Vec<String>,
    /// What each key id seals (configured ones even when they seal nothing).
    pub keys: Vec<Sealed>,
}

impl Inventory {
    /// The key ids other than the current one that still seal something.
    pub fn still_needed(&self) -> Vec<&Sealed> {
        self.keys
            .iter()
            .filter(|sealed| matches!(sealed.role, KeyRole::Retired | KeyRole::NotConfigured))
            .filter(|sealed| {
                sealed.agent_keys + sealed.webhook_secrets + sealed.personal_data_keys > 0
            })
            .collect()
    }
}

/// What `reseal` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ResealReport {
    /// OpenAI keys sealed again (one `AgentKeyResealed` each).
    pub agent_keys_resealed: u64,
    /// OpenAI keys already under the current key (or the demo placeholder).
    pub agent_keys_current: u64,
    /// OpenAI keys replaced by their owner while this ran: nothing to reseal.
    pub agent_keys_changed_meanwhile: u64,
    /// Webhook signing secrets sealed again.
    pub webhook_secrets_resealed: u64,
    /// Callers' personal data keys wrapped again.
    pub personal_data_keys_rewrapped: u64,
    /// Secrets that could not be opened, with why (an unknown key id, a damaged ciphertext).
    pub failures: Vec<String>,
}

/// Runs a `keys` subcommand with the settings from the environment.
///
/// # Errors
/// Missing settings, an unreachable database, or (for `reseal`) a secret that could not be
/// opened: the report is printed first.
pub async fn run(command: KeysCommand) -> anyhow::Result<()> {
    let (database, keys) = settings()?;
    let vault = Vault::new(
        keys.current.expose_secret(),
        keys.retired.iter().map(ExposeSecret::expose_secret),
    );
    let retired: Vec<String> = keys
        .retired
        .iter()
        .map(|key| infrastructure::vault::key_id(key.expose_secret()))
        .collect();
    let pool = db::connect(config::database_url(&database)).await?;
    let privacy = PersonalData::new(
        pool.clone(),
        keys.current.expose_secret(),
        keys.retired.iter().map(ExposeSecret::expose_secret),
    );
    let stores = Stores::new(&pool, AppendSignal::new()).with_privacy(privacy);
    let outcome =
        match command {
            KeysCommand::Status { json } => inventory(&pool, &stores, &vault, &retired)
                .await
                .and_then(|inventory| {
                    if json {
                        println!("{}", serde_json::to_string_pretty(&inventory)?);
                    } else {
                        print!("{}", render_inventory(&inventory));
                    }
                    Ok(())
                }),
            KeysCommand::Reseal => reseal_and_report(&pool, &stores, &vault, &retired).await,
        };
    pool.close().await;
    outcome
}

async fn reseal_and_report(
    pool: &PgPool,
    stores: &Stores,
    vault: &Vault,
    retired: &[String],
) -> anyhow::Result<()> {
    let report = reseal(pool, stores, vault).await?;
    let after = inventory(pool, stores, vault, retired).await?;
    print!("{}", render_reseal(&report, &after));
    if report.failures.is_empty() {
        Ok(())
    } else {
        anyhow::bail!(
            "{} secret(s) could not be resealed (listed above)",
            report.failures.len()
        )
    }
}

/// `DATABASE_URL` and the encryption keys, every problem named at once.
fn settings() -> anyhow::Result<(DatabaseSettings, EncryptionKeys)> {
    match (DatabaseSettings::from_env(), EncryptionKeys::from_env()) {
        (Ok(database), Ok(keys)) => Ok((database, keys)),
        (database, keys) => {
            let problems = [database.err(), keys.err()]
                .into_iter()
                .flatten()
                .flat_map(|err| err.problems)
                .collect();
            Err(SettingsError { problems }.into())
        }
    }
}

/// Every business with events, as stored.
async fn business_ids(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT aggregate_id FROM events WHERE aggregate_type = 'Business' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
}

/// Whether table `name` exists (an older database may lack the webhook or privacy tables).
async fn has_table(pool: &PgPool, name: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(name)
        .fetch_one(pool)
        .await
}

/// Counts what each key id seals.
///
/// # Errors
/// The database failed, or a business' events could not be read.
#[tracing::instrument(skip_all, err)]
pub async fn inventory(
    pool: &PgPool,
    stores: &Stores,
    vault: &Vault,
    retired: &[String],
) -> anyhow::Result<Inventory> {
    let current = vault.current_key_id().to_owned();
    let mut keys: BTreeMap<String, Sealed> = BTreeMap::new();
    let roles = |key_id: &str| role_of(key_id, &current, retired);
    for key_id in std::iter::once(&current).chain(retired) {
        entry(&mut keys, key_id, &roles);
    }
    for id in business_ids(pool).await? {
        let business = stores
            .businesses
            .load(&id)
            .await
            .with_context(|| format!("cannot load business {id}"))?
            .aggregate;
        if let Some(agent) = business.agent {
            entry(&mut keys, &agent.api_key.key_id, &roles).agent_keys += 1;
        }
    }
    if has_table(pool, "webhook_endpoints").await? {
        let counts: Vec<(String, i64)> = sqlx::query_as(
            "SELECT secret_key_id, count(*) FROM webhook_endpoints GROUP BY 1 ORDER BY 1",
        )
        .fetch_all(pool)
        .await?;
        for (key_id, count) in counts {
            entry(&mut keys, &key_id, &roles).webhook_secrets += u64::try_from(count).unwrap_or(0);
        }
    }
    if has_table(pool, "personal_data_keys").await? {
        // `wrapped_key` is `<encryption key id>:<base64>`.
        let counts: Vec<(String, i64)> = sqlx::query_as(
            "SELECT split_part(wrapped_key, ':', 1), count(*) FROM personal_data_keys \
             WHERE wrapped_key IS NOT NULL GROUP BY 1 ORDER BY 1",
        )
        .fetch_all(pool)
        .await?;
        for (key_id, count) in counts {
            entry(&mut keys, &key_id, &roles).personal_data_keys +=
                u64::try_from(count).unwrap_or(0);
        }
    }
    let mut keys: Vec<Sealed> = keys.into_values().collect();
    keys.sort_by(|a, b| (a.role, &a.key_id).cmp(&(b.role, &b.key_id)));
    Ok(Inventory {
        current,
        retired: retired.to_vec(),
        keys,
    })
}

/// The counts of `key_id`, created at zero.
fn entry<'k>(
    keys: &'k mut BTreeMap<String, Sealed>,
    key_id: &str,
    roles: &impl Fn(&str) -> KeyRole,
) -> &'k mut Sealed {
    keys.entry(key_id.to_owned()).or_insert_with(|| Sealed {
        key_id: key_id.to_owned(),
        role: roles(key_id),
        ..Sealed::default()
    })
}

fn role_of(key_id: &str, current: &str, retired: &[String]) -> KeyRole {
    if key_id == current {
        KeyRole::Current
    } else if retired.iter().any(|id| id == key_id) {
        KeyRole::Retired
    } else if key_id == infrastructure::vault::PLACEHOLDER_KEY_ID {
        KeyRole::DemoPlaceholder
    } else {
        KeyRole::NotConfigured
    }
}
