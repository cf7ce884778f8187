//! The opaque cursor of a calls list: the URL-safe base64 (no padding) of the JSON of the last
//! row's [`CallCursor`]. `GET /api/v1/calls` and the dashboard's calls table page with the same
//! cursors. Clients must not build or read one: it is checked like any other input, and a
//! malformed one is a 400 `invalid_cursor`, never a database error.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use domain::values::CallSid;
use projections::calls::CallCursor;

use super::storable_year;
use crate::api_error::ApiError;

/// The longest cursor accepted: ours are about 110 characters.
const MAX_CURSOR: usize = 512;

fn invalid_cursor() -> ApiError {
    ApiError::bad_request(
        "invalid_cursor",
        "the cursor is malformed; pass the next_cursor of a previous page as it was given",
    )
}

/// The cursor to hand out for the page after the one ending at `cursor`.
///
/// # Errors
/// [`ApiError::Unexpected`] if it cannot be serialised (a bug).
pub(crate) fn encode_cursor(cursor: &CallCursor) -> Result<String, ApiError> {
    let json = serde_json::to_vec(cursor)
        .map_err(|err| ApiError::Unexpected(anyhow::Error::new(err).context("cursor")))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

/// Reads a cursor a client sent back.
///
/// # Errors
/// 400 `invalid_cursor` when it is not one we could have made.
pub(crate) fn decode_cursor(raw: &str) -> Result<CallCursor, ApiError> {
    if raw.len() > MAX_CURSOR {
        return Err(invalid_cursor());
    }
    let json = URL_SAFE_NO_PAD
        .decode(raw.trim_end_matches('='))
        .map_err(|_| invalid_cursor())?;
    let cursor: CallCursor = serde_json::from_slice(&json).map_err(|_| invalid_cursor())?;
    // Only what a real page could end with reaches the database.
    if CallSid::parse(&cursor.call_sid).is_err() || !storable_year(&cursor.started_at) {
        return Err(invalid_cursor());
    }
    Ok(cursor)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;

    fn cursor() -> CallCursor {
        CallCursor {
            started_at: DateTime::parse_from_rfc3339("2026-03-08T12:00:00.123456Z")
                .map(|at| at.with_timezone(&Utc))
                .unwrap_or_default(),
            call_sid: "CA0123456789abcdef0123456789abcdef".into(),
        }
    }

    #[test]
    fn it_should_read_a_cursor_back_as_the_one_it_was_made_from() {
        let encoded = encode_cursor(&cursor()).ok();
        let decoded = encoded.as_deref().map(decode_cursor).and_then(Result::ok);
        assert_eq!(decoded, Some(cursor()));
        assert!(encoded.is_some_and(|raw| raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')));
    }

    #[test]
    fn it_should_refuse_a_malformed_or_forged_cursor() {
        let not_a_sid = URL_SAFE_NO_PAD
            .encode(br#"{"started_at":"2026-03-08T12:00:00Z","call_sid":"x\u0000"}"#);
        let far_future = URL_SAFE_NO_PAD
            .encode(br#"{"started_at":"+200000-01-01T00:00:00Z","call_sid":"CA0123456789abcdef0123456789abcdef"}"#);
        for raw in [
            "",
            "not base64!",
            "e30",
            not_a_sid.as_str(),
            far_future.as_str(),
        ] {
            let code = decode_cursor(raw).err().map(|err| err.code());
            assert_eq!(code, Some("invalid_cursor"), "{raw}");
        }
    }
}
