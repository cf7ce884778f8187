use base64::Engine;
use serde_json::{json, Value};

use super::cipher::{split_sealed, CipherError, DataKey, KeyWrapper};
use super::fields::{caller_of, erase_event, key_ids, open_event, seal_event, seal_metadata};
use super::ERASED;

const CALL: &str = "CA00000000000000000000000000000001";
const OTHER_CALL: &str = "CA00000000000000000000000000000002";

fn key(id: &str) -> DataKey {
    DataKey::new(id.to_owned(), &[9; 32])
}

fn segment(text: &str) -> Value {
    json!({"TranscriptSegmentRecorded": {"speaker": "caller", "text": text, "offset_ms": 1200}})
}

fn received() -> Value {
    json!({"CallReceived": {
        "call_sid": CALL,
        "from": {"kind": "number", "value": "+14155550100"},
        "to": "+14155550000",
        "business_id": null
    }})
}

fn open_with(
    key: Option<&DataKey>,
    call: &str,
    sequence: i64,
    event_type: &str,
    payload: &mut Value,
    metadata: &mut Value,
) -> Result<(), CipherError> {
    open_event(&|_| key, call, sequence, event_type, payload, metadata)
}

#[test]
fn it_should_open_what_it_sealed() {
    let key = key("k1");
    let mut payload = segment("my address is 12 Elm Street");
    seal_event(&key, CALL, 3, "TranscriptSegmentRecorded", &mut payload).unwrap();
    let stored = payload.to_string();
    assert!(!stored.contains("Elm Street"), "{stored}");
    assert!(stored.contains("\"pd1:k1:"), "{stored}");
    let mut metadata = json!({});
    open_with(
        Some(&key),
        CALL,
        3,
        "TranscriptSegmentRecorded",
        &mut payload,
        &mut metadata,
    )
    .unwrap();
    assert_eq!(payload, segment("my address is 12 Elm Street"));
}

#[test]
fn it_should_seal_the_caller_id_as_a_whole_and_open_it_as_it_was() {
    let key = key("k1");
    let mut payload = received();
    seal_event(&key, CALL, 1, "CallReceived", &mut payload).unwrap();
    assert!(!payload.to_string().contains("4155550100"));
    assert!(payload["CallReceived"]["from"].is_string());
    assert_eq!(payload["CallReceived"]["to"], "+14155550000");
    open_with(
        Some(&key),
        CALL,
        1,
        "CallReceived",
        &mut payload,
        &mut json!({}),
    )
    .unwrap();
    assert_eq!(payload, received());
}

#[test]
fn it_should_open_an_erased_key_as_erased_in_a_shape_the_events_still_read() {
    let key = key("k1");
    let mut payload = received();
    seal_event(&key, CALL, 1, "CallReceived", &mut payload).unwrap();
    open_with(None, CALL, 1, "CallReceived", &mut payload, &mut json!({})).unwrap();
    assert_eq!(
        payload["CallReceived"]["from"],
        json!({"kind": "other", "value": ERASED})
    );
    let event: domain::call::CallEvent = serde_json::from_value(payload).unwrap();
    assert!(matches!(
        event,
        domain::call::CallEvent::CallReceived { .. }
    ));

    let mut message = json!({"MessageTaken": {
        "caller_name": "Ada", "callback_number": null, "message": "call me", "urgency": "high"
    }});
    seal_event(&key, CALL, 4, "MessageTaken", &mut message).unwrap();
    assert!(message["MessageTaken"]["callback_number"].is_null());
    open_with(None, CALL, 4, "MessageTaken", &mut message, &mut json!({})).unwrap();
    assert_eq!(message["MessageTaken"]["caller_name"], ERASED);
    assert_eq!(message["MessageTaken"]["message"], ERASED);
    assert!(message["MessageTaken"]["callback_number"].is_null());
    assert_eq!(message["MessageTaken"]["urgency"], "high");
    let event: domain::call::CallEvent = serde_json::from_value(message).unwrap();
    assert!(matches!(
        event,
        domain::call::CallEvent::MessageTaken { .. }
    ));
}

#[test]
fn it_should_not_open_a_tampered_field() {
    let key = key("k1");
    let mut payload = segment("secret");
    seal_event(&key, CALL, 3, "TranscriptSegmentRecorded", &mut payload).unwrap();
    let sealed = payload["TranscriptSegmentRecorded"]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, body) = split_sealed(&sealed).unwrap();
    let mut bytes = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    payload["TranscriptSegmentRecorded"]["text"] = Value::String(format!(
        "pd1:k1:{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ));
    let opened = open_with(
        Some(&key),
        CALL,
        3,
        "TranscriptSegmentRecorded",
        &mut payload,
        &mut json!({}),
    );
    assert_eq!(opened, Err(CipherError::Tampered));
}

#[test]
fn it_should_not_open_a_field_moved_to_another_call_event_or_field() {
    let key = key("k1");
    let mut payload = segment("secret");
    seal_event(&key, CALL, 3, "TranscriptSegmentRecorded", &mut payload).unwrap();
    for (call, sequence) in [(OTHER_CALL, 3), (CALL, 4)] {
        let mut moved = payload.clone();
        let opened = open_with(
            Some(&key),
            call,
            sequence,
            "TranscriptSegmentRecorded",
            &mut moved,
            &mut json!({}),
        );
        assert_eq!(opened, Err(CipherError::Tampered), "{call} #{sequence}");
    }
    let mut as_voicemail = json!({"VoicemailTranscribed": {
        "transcription_sid": "TR1", "recording_sid": "RE1",
        "text": payload["TranscriptSegmentRecorded"]["text"].clone()
    }});
    let opened = open_with(
        Some(&key),
        CALL,
        3,
        "VoicemailTranscribed",
        &mut as_voicemail,
        &mut json!({}),
    );
    assert_eq!(opened, Err(CipherError::Tampered));
}

#[test]
fn it_should_pass_plain_values_stored_before_encryption_through() {
    let mut payload = segment("said before encryption existed");
    let mut metadata = json!({"From": "+14155550100", "actor": "twilio"});
    open_with(
        None,
        CALL,
        3,
        "TranscriptSegmentRecorded",
        &mut payload,
        &mut metadata,
    )
    .unwrap();
    assert_eq!(payload, segment("said before encryption existed"));
    assert_eq!(metadata["From"], "+14155550100");
}

#[test]
fn it_should_seal_metadata_but_the_keys_that_say_nothing_of_the_caller() {
    let key = key("k1");
    let original = json!({
        "correlation_id": CALL, "actor": "twilio", "CallSid": CALL, "To": "+14155550000",
        "From": "+14155550100", "CallerName": "Ada Lovelace", "TranscriptionText": "hello"
    });
    let mut metadata = original.clone();
    seal_metadata(&key, CALL, &mut metadata).unwrap();
    let stored = metadata.to_string();
    for secret in ["4155550100", "Ada", "hello"] {
        assert!(!stored.contains(secret), "{secret} in {stored}");
    }
    assert_eq!(metadata["To"], "+14155550000");
    assert_eq!(metadata["actor"], "twilio");
    assert_eq!(key_ids("CallEnded", &json!({}), &metadata), vec!["k1"; 3]);
    let mut opened = metadata.clone();
    open_with(
        Some(&key),
        CALL,
        7,
        "CallEnded",
        &mut json!({}),
        &mut opened,
    )
    .unwrap();
    assert_eq!(opened, original);
    open_with(None, CALL, 7, "CallEnded", &mut json!({}), &mut metadata).unwrap();
    assert_eq!(metadata["From"], ERASED);
    assert_eq!(metadata["CallerName"], ERASED);
}

#[test]
fn it_should_blank_what_a_call_whose_key_is_gone_would_store() {
    let mut payload = json!({"CallSummarized": {"summary": "Ada wants a plumber"}});
    let mut metadata = json!({"actor": "system", "From": "+14155550100"});
    erase_event("CallSummarized", &mut payload, &mut metadata);
    assert_eq!(payload["CallSummarized"]["summary"], ERASED);
    assert_eq!(metadata["From"], ERASED);
    assert_eq!(metadata["actor"], "system");
}

#[test]
fn it_should_name_the_caller_of_a_received_call() {
    assert_eq!(caller_of(&received()), "+14155550100");
    let withheld = json!({"CallReceived": {"from": {"kind": "withheld"}}});
    assert_eq!(caller_of(&withheld), "withheld");
}

#[test]
fn it_should_unwrap_data_keys_with_the_current_or_a_retired_encryption_key() {
    let old = KeyWrapper::new(&[1; 32], []);
    let wrapped = old.wrap("k1", &[9; 32]).unwrap();
    assert!(!wrapped.contains("CQkJ"), "the key's bytes show: {wrapped}");
    let rotated = KeyWrapper::new(&[2; 32], [&[1; 32]]);
    let key = rotated.unwrap("k1", &wrapped).unwrap();
    let mut payload = segment("hi");
    seal_event(&key, CALL, 3, "TranscriptSegmentRecorded", &mut payload).unwrap();
    let reference = DataKey::new("k1".into(), &[9; 32]);
    open_with(
        Some(&reference),
        CALL,
        3,
        "TranscriptSegmentRecorded",
        &mut payload,
        &mut json!({}),
    )
    .unwrap();
    assert_eq!(payload, segment("hi"));
    assert!(matches!(
        KeyWrapper::new(&[2; 32], []).unwrap("k1", &wrapped),
        Err(CipherError::UnknownKey(_))
    ));
    assert_eq!(
        rotated.unwrap("k2", &wrapped).map(|_| ()),
        Err(CipherError::Tampered),
        "a wrapped key moved to another key id must not open"
    );
}

#[test]
fn it_should_rewrap_a_data_key_under_the_current_encryption_key_without_changing_it() {
    let old = KeyWrapper::new(&[1; 32], []);
    let wrapped = old.wrap("k1", &[9; 32]).unwrap();
    let rotated = KeyWrapper::new(&[2; 32], [&[1; 32]]);
    let bytes = rotated.unwrap_bytes("k1", &wrapped).unwrap();
    let rewrapped = rotated.wrap("k1", &bytes).unwrap();
    assert!(rewrapped.starts_with(&format!("{}:", rotated.current_id())));
    assert_ne!(rotated.current_id(), old.current_id());
    let alone = KeyWrapper::new(&[2; 32], []);
    assert_eq!(alone.unwrap_bytes("k1", &rewrapped).unwrap(), [9; 32]);
}
