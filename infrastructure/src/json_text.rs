//! Writing small JSON messages by hand, for the voice bridge's hot path.
//!
//! Every 20 ms frame of a call becomes one outgoing JSON message on each side (a Twilio `media`,
//! an OpenAI `input_audio_buffer.append`). Writing them into one `String` of exactly their length
//! costs a single allocation and cannot fail, where serializing through serde costs a growing
//! buffer and a `Result` no caller could act on. The exact length matters too: the socket turns
//! the string into `bytes::Bytes`, which takes a full string as it is but allocates a header for
//! one with spare capacity. Only the string values need care: they are escaped here.

/// A part of a message: JSON written as it is, or a string value written as a JSON literal.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Piece<'a> {
    /// JSON syntax, keys included, copied unchanged.
    Raw(&'a str),
    /// A string value: quoted and escaped.
    Text(&'a str),
}

/// The message made of `pieces`, in a string whose capacity is its length.
pub(crate) fn message(pieces: &[Piece<'_>]) -> String {
    let len = pieces
        .iter()
        .map(|piece| match piece {
            Piece::Raw(raw) => raw.len(),
            Piece::Text(text) => literal_len(text),
        })
        .sum();
    let mut out = String::with_capacity(len);
    for piece in pieces {
        match piece {
            Piece::Raw(raw) => out.push_str(raw),
            Piece::Text(text) => push_string(&mut out, text),
        }
    }
    debug_assert_eq!(out.len(), len, "a message's length was counted wrong");
    out
}

/// Appends `value` to `out` as a JSON string literal (quotes included).
fn push_string(out: &mut String, value: &str) {
    out.push('"');
    if !needs_escape(value) {
        // Audio (base64) always takes this way: one copy.
        out.push_str(value);
        out.push('"');
        return;
    }
    let mut clean_from = 0;
    for (at, byte) in value.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&value[clean_from..at]);
        if escape.is_empty() {
            out.push_str(&format!("\\u{byte:04x}"));
        } else {
            out.push_str(escape);
        }
        clean_from = at + 1;
    }
    out.push_str(&value[clean_from..]);
    out.push('"');
}

/// Whether any byte of `value` must be escaped. It reads every byte, without stopping at the
/// first hit, so the compiler checks many bytes at once: a 20 ms frame of base64 audio is
/// checked in a few dozen instructions instead of one loop turn per byte.
fn needs_escape(value: &str) -> bool {
    value.bytes().fold(false, |found, byte| {
        found | (byte == b'"') | (byte == b'\\') | (byte < 0x20)
    })
}

/// How many bytes [`push_string`] writes for `value`.
fn literal_len(value: &str) -> usize {
    if !needs_escape(value) {
        return value.len() + 2;
    }
    let escaped: usize = value
        .bytes()
        .map(|byte| match byte {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' => 2,
            0x00..=0x1f => 6,
            _ => 1,
        })
        .sum();
    escaped + 2
}

/// Deserializes an optional string field that borrows from the message when it can (no escapes
/// in it), as a plain `Cow` field with `#[serde(borrow)]` does. Serde borrows only for a field
/// that *is* a `Cow`: an `Option<Cow<str>>` would be copied into a new `String` every time, which
/// for the audio in every OpenAI delta is an allocation and a copy per 20 ms frame.
///
/// Use with `#[serde(borrow, default, deserialize_with = "json_text::optional_borrowed")]`.
pub(crate) fn optional_borrowed<'de, D>(
    deserializer: D,
) -> Result<Option<std::borrow::Cow<'de, str>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    /// A `Cow` field is what serde borrows for.
    #[derive(serde::Deserialize)]
    struct Borrowed<'a>(#[serde(borrow)] std::borrow::Cow<'a, str>);

    let value: Option<Borrowed<'de>> = serde::Deserialize::deserialize(deserializer)?;
    Ok(value.map(|Borrowed(text)| text))
}

#[cfg(test)]
mod tests {
    use super::Piece::{Raw, Text};
    use super::*;

    const VALUES: [&str; 8] = [
        "",
        "MZ123",
        "a\"b\\c",
        "line\nbreak\ttab\r",
        "\u{1}\u{1f}",
        "μ-law ☎ \u{7f}",
        "/+=",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==",
    ];

    #[test]
    fn it_should_write_what_serde_json_reads_back() {
        for value in VALUES {
            let out = message(&[Text(value)]);
            let back: String = serde_json::from_str(&out).unwrap();
            assert_eq!(back, value, "{out}");
        }
    }

    #[test]
    fn it_should_size_a_message_exactly_so_bytes_takes_it_without_a_header() {
        for value in VALUES {
            let out = message(&[
                Raw(r#"{"k":"#),
                Text(value),
                Raw(r#","n":"#),
                Text(value),
                Raw("}"),
            ]);
            assert_eq!(out.capacity(), out.len(), "{out}");
            let back: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(back["k"], value);
            assert_eq!(back["n"], value);
        }
    }

    #[derive(serde::Deserialize)]
    struct Fields<'a> {
        #[serde(borrow, default, deserialize_with = "optional_borrowed")]
        text: Option<std::borrow::Cow<'a, str>>,
    }

    #[test]
    fn it_should_borrow_an_optional_string_without_escapes() {
        let fields: Fields<'_> = serde_json::from_str(r#"{"text":"AAEC/+=="}"#).unwrap();
        assert!(
            matches!(fields.text, Some(std::borrow::Cow::Borrowed("AAEC/+=="))),
            "{:?}",
            fields.text
        );
    }

    #[test]
    fn it_should_unescape_an_optional_string_and_accept_it_missing_or_null() {
        let fields: Fields<'_> = serde_json::from_str(r#"{"text":"a\"b"}"#).unwrap();
        assert_eq!(fields.text.as_deref(), Some("a\"b"));
        let fields: Fields<'_> = serde_json::from_str("{}").unwrap();
        assert_eq!(fields.text, None);
        let fields: Fields<'_> = serde_json::from_str(r#"{"text":null}"#).unwrap();
        assert_eq!(fields.text, None);
        assert!(serde_json::from_str::<Fields<'_>>(r#"{"text":5}"#).is_err());
    }
}
