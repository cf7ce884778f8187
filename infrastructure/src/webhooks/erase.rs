//! Erasing callers from the delivery log. A delivery keeps its body as sent (for retries, "send
//! again" and the log), and that body holds the caller's personal data opened; when a caller's
//! data is erased from the event store (see `privacy`), it must go from here too.

use sqlx::PgPool;

use crate::privacy::ERASED;

/// The fields of a payload's `data` that tell of the caller.
pub const PERSONAL_FIELDS: [&str; 5] = [
    "from",
    "caller_name",
    "callback_number",
    "message",
    "summary",
];

// Each personal field present (and not null) becomes the erased marker; the rest is kept.
const ERASE: &str = "\
UPDATE webhook_deliveries d \
   SET payload = jsonb_set(d.payload, '{data}', (d.payload -> 'data') || erased.fields) \
  FROM (SELECT w.id, jsonb_object_agg(k.key, to_jsonb($3::text)) AS fields \
          FROM webhook_deliveries w, jsonb_each(w.payload -> 'data') AS k \
         WHERE w.payload -> 'data' ->> 'call_sid' = ANY($1) AND k.key = ANY($2) \
           AND k.value <> 'null'::jsonb \
         GROUP BY w.id) AS erased \
 WHERE d.id = erased.id";

/// Replaces the caller's personal data in every delivery of the calls `call_sids` with the
/// erased marker (pending ones then go out erased, with the same `webhook-id`). Returns how
/// many deliveries changed.
///
/// # Errors
/// The database's.
pub async fn erase_calls(pool: &PgPool, call_sids: &[String]) -> Result<u64, sqlx::Error> {
    let fields: Vec<String> = PERSONAL_FIELDS.iter().map(|f| (*f).to_owned()).collect();
    Ok(sqlx::query(ERASE)
        .bind(call_sids)
        .bind(fields)
        .bind(ERASED)
        .execute(pool)
        .await?
        .rows_affected())
}
