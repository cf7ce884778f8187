//! `CallerDataErased`: the listed calls lose their personal data in the read model at once.
//!
//! Their keys are gone, so a rebuild reads those fields as `[erased]` from the event store; the
//! live tables were filled before, in clear, and are blanked here to the same result: the
//! caller, summary, message, voicemail and recording URLs and voicemail transcript of `calls`,
//! every line of `transcript_segments`, and the personal fields of the timeline's
//! `call_events.data` (the same fields the event store seals, see `infrastructure::privacy`).

use infrastructure::privacy::{erase_fields, is_personal, ERASED};
use serde_json::Value;
use sqlx::PgConnection;

/// Blanks what the read model holds of `calls`' personal data; a call it does not hold (or
/// holds blank already) is left as it is.
pub(super) async fn erase_calls(
    tx: &mut PgConnection,
    calls: &[String],
) -> Result<(), sqlx::Error> {
    if calls.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE calls SET \
           caller = CASE WHEN caller IS NULL THEN NULL ELSE $2 END, \
           summary = CASE WHEN summary IS NULL THEN NULL ELSE $2 END, \
           voicemail_url = CASE WHEN voicemail_url IS NULL THEN NULL ELSE $2 END, \
           recording_url = CASE WHEN recording_url IS NULL THEN NULL ELSE $2 END, \
           voicemail_transcript = CASE WHEN voicemail_transcript IS NULL THEN NULL ELSE $2 END, \
           message = CASE WHEN message IS NULL THEN NULL ELSE message || jsonb_build_object( \
             'caller_name', CASE WHEN message->>'caller_name' IS NULL THEN NULL ELSE $2 END, \
             'callback_number', CASE WHEN message->>'callback_number' IS NULL THEN NULL ELSE $2 END, \
             'message', $2) END \
         WHERE call_sid = ANY($1)",
    )
    .bind(calls)
    .bind(ERASED)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE transcript_segments SET text = $2 WHERE call_sid = ANY($1)")
        .bind(calls)
        .bind(ERASED)
        .execute(&mut *tx)
        .await?;
    let rows: Vec<(String, i64, String, String)> = sqlx::query_as(
        "SELECT call_sid, sequence, event_type, data::text FROM call_events WHERE call_sid = ANY($1)",
    )
    .bind(calls)
    .fetch_all(&mut *tx)
    .await?;
    let (mut sids, mut sequences, mut data) = (Vec::new(), Vec::new(), Vec::new());
    for (sid, sequence, event_type, text) in rows {
        if !is_personal(&event_type) {
            continue;
        }
        let Ok(mut value) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if let Some(fields) = value.as_object_mut() {
            erase_fields(&event_type, fields);
        }
        sids.push(sid);
        sequences.push(sequence);
        data.push(value.to_string());
    }
    if sids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE call_events SET data = blank.data::json \
           FROM UNNEST($1::text[], $2::int8[], $3::text[]) AS blank(call_sid, sequence, data) \
          WHERE call_events.call_sid = blank.call_sid AND call_events.sequence = blank.sequence",
    )
    .bind(sids)
    .bind(sequences)
    .bind(data)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
