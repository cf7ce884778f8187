//! `callassist audit call CALL_SID [--json]`: a call's full history, replayed from the event
//! store, with the state after each event — for an auditor, or for anyone asking "why did this
//! call go to voicemail?".
//!
//! It reads only: it connects without migrating or creating the database, so a mistyped
//! `DATABASE_URL` fails instead of auditing an empty new database.

use anyhow::Context;
use domain::values::CallSid;
use infrastructure::audit::{self, History};
use infrastructure::config::{self, DatabaseSettings};
use infrastructure::db;

/// Prints the history of call `call_sid`: text blocks, or with `json` one pretty JSON document
/// (the [`History`]). Needs only `DATABASE_URL` and `ENCRYPTION_KEY` (personal data opens with
/// it; an erased caller's shows as `[erased]`).
///
/// # Errors
/// A malformed CallSid, missing settings, an unreachable database, an unreadable stored event, or
/// a call with no events ("no call with CallSid …").
pub async fn run(call_sid: &str, json: bool) -> anyhow::Result<()> {
    let call_sid = CallSid::parse(call_sid.trim())?;
    let settings = DatabaseSettings::from_env()?;
    let pool = db::connect(config::database_url(&settings)).await?;
    let privacy = crate::privacy_cmd::personal_data(&pool)?;
    let history = audit::call_history(&pool, Some(&privacy), &call_sid).await;
    pool.close().await;
    let history = history?.with_context(|| {
        format!("no call with CallSid {call_sid}: the event store holds no events for it")
    })?;
    print!("{}", output(&history, json)?);
    Ok(())
}

fn output(history: &History, json: bool) -> anyhow::Result<String> {
    if json {
        let mut document = serde_json::to_string_pretty(history)?;
        document.push('\n');
        Ok(document)
    } else {
        Ok(audit::render_text(history))
    }
}
