//! Writing small JSON messages by hand, for the voice bridge's hot path.
//!
//! Every 20 ms frame of a call becomes one outgoing JSON message on each side (a Twilio `media`,
//! an OpenAI `input_audio_buffer.append`). Writing them into one pre-sized `String` costs a
//! single allocation and cannot fail, where serializing through serde costs a growing buffer and
//! a `Result` no caller could act on. Only the string values need care: they are escaped here.

/// Appends `value` to `out` as a JSON string literal (quotes included).
pub(crate) fn push_string(out: &mut String, value: &str) {
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

/// How many bytes [`push_string`] writes for a value without escapes, plus room for a few.
pub(crate) fn literal_len(value: &str) -> usize {
    value.len() + 8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_should_write_what_serde_json_reads_back() {
        for value in [
            "",
            "MZ123",
            "a\"b\\c",
            "line\nbreak\ttab\r",
            "\u{1}\u{1f}",
            "μ-law ☎ \u{7f}",
            "/+=",
        ] {
            let mut out = String::new();
            push_string(&mut out, value);
            let back: String = serde_json::from_str(&out).unwrap();
            assert_eq!(back, value, "{out}");
        }
    }
}
