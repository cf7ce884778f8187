//! What `callassist keys` prints: a table of key ids, and after a reseal what it did and what
//! each key id still seals, with what the operator should do about it.

use super::{Inventory, KeyRole, ResealReport};

/// The table `keys status` prints.
pub fn render_inventory(inventory: &Inventory) -> String {
    let mut out = format!(
        "{:<10} {:<16} {:>10} {:>16} {:>19}\n",
        "key id", "role", "agent keys", "webhook secrets", "personal data keys"
    );
    for sealed in &inventory.keys {
        let role = match sealed.role {
            KeyRole::Current => "current",
            KeyRole::Retired => "retired",
            KeyRole::NotConfigured => "not configured",
            KeyRole::DemoPlaceholder => "demo (no key)",
        };
        out.push_str(&format!(
            "{:<10} {:<16} {:>10} {:>16} {:>19}\n",
            sealed.key_id,
            role,
            sealed.agent_keys,
            sealed.webhook_secrets,
            sealed.personal_data_keys
        ));
    }
    out
}

/// What `keys reseal` prints: what it did, then what each key id still seals.
pub fn render_reseal(report: &ResealReport, after: &Inventory) -> String {
    let mut out = format!(
        "resealed under {}: {} agent key(s), {} webhook secret(s), {} personal data key(s); {} \
         agent key(s) were already under it, {} changed meanwhile\n",
        after.current,
        report.agent_keys_resealed,
        report.webhook_secrets_resealed,
        report.personal_data_keys_rewrapped,
        report.agent_keys_current,
        report.agent_keys_changed_meanwhile
    );
    for failure in &report.failures {
        out.push_str(&format!("could not reseal {failure}\n"));
    }
    out.push('\n');
    out.push_str(&render_inventory(after));
    let needed = after.still_needed();
    let ids = |role: KeyRole| -> Vec<&str> {
        needed
            .iter()
            .filter(|sealed| sealed.role == role)
            .map(|sealed| sealed.key_id.as_str())
            .collect()
    };
    let (retired, missing) = (ids(KeyRole::Retired), ids(KeyRole::NotConfigured));
    if needed.is_empty() {
        out.push_str(
            "\nnothing is sealed under another key any more: once every node runs with this \
             ENCRYPTION_KEY, the retired keys can be removed from ENCRYPTION_KEYS_RETIRED\n",
        );
    }
    if !retired.is_empty() {
        out.push_str(&format!(
            "\nstill needed: {} (keep them in ENCRYPTION_KEYS_RETIRED)\n",
            retired.join(", ")
        ));
    }
    if !missing.is_empty() {
        out.push_str(&format!(
            "\nsealed under keys this configuration lacks: {} (add them to \
             ENCRYPTION_KEYS_RETIRED and run again)\n",
            missing.join(", ")
        ));
    }
    let data_keys: u64 = needed.iter().map(|sealed| sealed.personal_data_keys).sum();
    if data_keys > 0 {
        out.push_str(&format!(
            "{data_keys} personal data key(s) are still wrapped under them (see the failures \
             above)\n"
        ));
    }
    out
}
