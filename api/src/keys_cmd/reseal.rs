//! Sealing again under the current key: each business' agent key through an
//! `AgentKeyResealed` event (the write side decides, so an owner setting a new key at the same
//! moment wins), each webhook endpoint's secret in place (only if the row still holds what was
//! opened).

use anyhow::Context;
use chrono::Utc;
use domain::business::{BusinessCommand, SealedSecret};
use domain::values::BusinessId;
use domain::{Actor, CommandMetadata};
use infrastructure::event_store::Stores;
use infrastructure::vault::{Vault, VaultError};
use infrastructure::webhooks::endpoints::secret_context;
use secrecy::ExposeSecret;
use sqlx::PgPool;
use uuid::Uuid;

use super::{business_ids, has_table, ResealReport};

/// Seals every OpenAI key and webhook secret that is not under the current key again under
/// it. A secret that does not open is listed in [`ResealReport::failures`] and the rest go on.
///
/// # Errors
/// The database failed.
#[tracing::instrument(skip_all, err)]
pub async fn reseal(pool: &PgPool, stores: &Stores, vault: &Vault) -> anyhow::Result<ResealReport> {
    let mut report = ResealReport::default();
    reseal_agent_keys(pool, stores, vault, &mut report).await?;
    if has_table(pool, "webhook_endpoints").await? {
        reseal_webhook_secrets(pool, vault, &mut report).await?;
    }
    if let (true, Some(privacy)) = (
        has_table(pool, "personal_data_keys").await?,
        stores.privacy.as_ref(),
    ) {
        match privacy.rewrap_retired().await {
            Ok(rewrapped) => report.personal_data_keys_rewrapped = rewrapped,
            Err(err) => report.failures.push(format!("personal data keys: {err}")),
        }
    }
    Ok(report)
}

async fn reseal_agent_keys(
    pool: &PgPool,
    stores: &Stores,
    vault: &Vault,
    report: &mut ResealReport,
) -> anyhow::Result<()> {
    let metadata = CommandMetadata::new("keys-reseal", "cli:keys reseal", Actor::Cli, Utc::now());
    for id in business_ids(pool).await? {
        let business = stores
            .businesses
            .load(&id)
            .await
            .with_context(|| format!("cannot load business {id}"))?
            .aggregate;
        let (Some(business_id), Some(agent)) = (business.id, business.agent) else {
            continue;
        };
        let replaces = agent.api_key;
        if replaces.key_id == vault.current_key_id()
            || infrastructure::vault::is_placeholder(&replaces)
        {
            report.agent_keys_current += 1;
            continue;
        }
        let api_key = match resealed_agent_key(vault, business_id, &replaces) {
            Ok(api_key) => api_key,
            Err(err) => {
                report.failures.push(format!("business {id}: {err}"));
                continue;
            }
        };
        let committed = stores
            .businesses
            .execute(
                &id,
                BusinessCommand::ResealAgentKey { replaces, api_key },
                &metadata,
            )
            .await
            .with_context(|| format!("cannot reseal the key of business {id}"))?;
        if committed.events.is_empty() {
            report.agent_keys_changed_meanwhile += 1;
        } else {
            tracing::info!(business = %id, key_id = vault.current_key_id(), "agent key resealed");
            report.agent_keys_resealed += 1;
        }
    }
    Ok(())
}

fn resealed_agent_key(
    vault: &Vault,
    business: BusinessId,
    sealed: &SealedSecret,
) -> Result<SealedSecret, VaultError> {
    let plain = vault.open(business, sealed)?;
    vault.seal(business, plain.expose_secret())
}

async fn reseal_webhook_secrets(
    pool: &PgPool,
    vault: &Vault,
    report: &mut ResealReport,
) -> anyhow::Result<()> {
    let rows: Vec<(Uuid, String, String)> = sqlx::query_as(
        "SELECT id, secret_key_id, secret_ciphertext FROM webhook_endpoints \
         WHERE secret_key_id <> $1 ORDER BY id",
    )
    .bind(vault.current_key_id())
    .fetch_all(pool)
    .await?;
    for (id, key_id, ciphertext) in rows {
        let context = secret_context(id);
        let sealed = SealedSecret {
            key_id,
            ciphertext,
            last_four: String::new(),
        };
        let resealed = match vault
            .open_for(&context, &sealed)
            .and_then(|plain| vault.seal_for(&context, plain.expose_secret()))
        {
            Ok(resealed) => resealed,
            Err(err) => {
                report
                    .failures
                    .push(format!("webhook endpoint {id}: {err}"));
                continue;
            }
        };
        // Only if the row still holds what was opened.
        let updated = sqlx::query(
            "UPDATE webhook_endpoints SET secret_key_id = $1, secret_ciphertext = $2 \
             WHERE id = $3 AND secret_ciphertext = $4",
        )
        .bind(&resealed.key_id)
        .bind(&resealed.ciphertext)
        .bind(id)
        .bind(&sealed.ciphertext)
        .execute(pool)
        .await?;
        report.webhook_secrets_resealed += updated.rows_affected();
    }
    Ok(())
}
