use std::sync::Mutex;

use domain::call::Speaker;
use domain::routing::RouteReason;

use super::*;

/// Remembers what was appended; refuses and fails on demand.
#[derive(Default)]
struct FakeStore {
    appended: Mutex<Vec<(CallCommand, std::collections::HashMap<String, String>)>>,
    /// Batches are refused (one of their commands is stale).
    refuse_batches: bool,
    /// Commands refused on their own.
    refuse: Vec<CallCommand>,
    /// Appends that fail before one works.
    failures: Mutex<u32>,
}

impl CallStore for Arc<FakeStore> {
    async fn append(
        &self,
        command: CallCommand,
        metadata: CommandMetadata,
    ) -> Result<(), AppendError> {
        {
            let mut failures = self.failures.lock().unwrap();
            if *failures > 0 {
                *failures -= 1;
                return Err(AppendError::Unavailable("database down".into()));
            }
        }
        if (self.refuse_batches && matches!(command, CallCommand::Batch(_)))
            || self.refuse.contains(&command)
        {
            return Err(AppendError::Rejected(CallError::AiSessionAlreadyStarted));
        }
        self.appended
            .lock()
            .unwrap()
            .push((command, metadata.to_map()));
        Ok(())
    }
}

fn sid() -> CallSid {
    CallSid::parse("CA0123456789abcdef0123456789abcdef").unwrap()
}

fn said(text: &str, offset_ms: u64) -> CallCommand {
    CallCommand::RecordTranscriptSegment {
        speaker: Speaker::Caller,
        text: text.into(),
        offset_ms,
    }
}

fn start() -> CallCommand {
    CallCommand::StartAiSession {
        model: "gpt-realtime".into(),
        voice: "marin".into(),
    }
}

async fn record_all(store: Arc<FakeStore>, entries: Vec<Entry>) -> Arc<FakeStore> {
    let (journal, queue) = Journal::channel();
    for entry in entries {
        journal.record(entry);
    }
    drop(journal);
    run(store.clone(), sid(), "MZ1".into(), queue).await;
    store
}

#[tokio::test]
async fn it_should_append_what_queued_up_as_one_batch_in_order() {
    let store = record_all(
        Arc::default(),
        vec![
            start().into(),
            said("Hello", 10).into(),
            said("Bye", 20).into(),
        ],
    )
    .await;

    let appended = store.appended.lock().unwrap();
    assert_eq!(appended.len(), 1);
    assert_eq!(
        appended[0].0,
        CallCommand::Batch(vec![start(), said("Hello", 10), said("Bye", 20)])
    );
    let metadata = &appended[0].1;
    assert_eq!(metadata["actor"], "voice-bridge");
    assert_eq!(metadata["correlation_id"], sid().as_ref());
    assert_eq!(metadata["causation"], "voice-bridge:media-stream");
    assert_eq!(metadata["stream_sid"], "MZ1");
}

#[tokio::test]
async fn it_should_record_one_by_one_when_a_batch_is_refused_and_skip_the_refused_fact() {
    let store = Arc::new(FakeStore {
        refuse_batches: true,
        refuse: vec![start()],
        ..FakeStore::default()
    });

    let store = record_all(store, vec![start().into(), said("Hello", 10).into()]).await;

    let appended: Vec<_> = store
        .appended
        .lock()
        .unwrap()
        .iter()
        .map(|(command, _)| command.clone())
        .collect();
    assert_eq!(appended, vec![said("Hello", 10)]);
}

#[tokio::test]
async fn it_should_keep_a_reason_with_its_own_fact_in_the_metadata() {
    let voicemail = Entry {
        command: CallCommand::RouteToVoicemail {
            why: RouteReason::AgentFailed,
        },
        reason: Some("openai connect timed out".into()),
    };

    let store = record_all(Arc::default(), vec![said("Hi", 1).into(), voicemail]).await;

    let appended = store.appended.lock().unwrap();
    assert_eq!(appended.len(), 2);
    assert_eq!(appended[0].0, said("Hi", 1));
    assert!(!appended[0].1.contains_key("reason"));
    assert_eq!(appended[1].1["reason"], "openai connect timed out");
}

#[tokio::test(start_paused = true)]
async fn it_should_retry_while_the_store_is_unavailable() {
    let store = Arc::new(FakeStore {
        failures: Mutex::new(2),
        ..FakeStore::default()
    });

    let store = record_all(store, vec![said("Hello", 10).into()]).await;

    assert_eq!(store.appended.lock().unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn it_should_hold_every_fact_until_a_store_that_was_down_for_minutes_is_back() {
    // Ten minutes of failures at most one try per MAX_PAUSE: more than a hundred failed tries.
    let store = Arc::new(FakeStore {
        failures: Mutex::new(150),
        ..FakeStore::default()
    });
    let (journal, queue) = Journal::channel();
    let recorder = tokio::spawn(run(store.clone(), sid(), "MZ1".into(), queue));
    journal.record(start());
    tokio::time::sleep(Duration::from_secs(60)).await;
    journal.record(said("Hello", 10));
    journal.record(said("Bye", 20));
    drop(journal);

    tokio::time::timeout(Duration::from_secs(3_600), recorder)
        .await
        .expect("the recorder finishes once the store is back")
        .unwrap();

    assert_eq!(*store.failures.lock().unwrap(), 0);
    let appended: Vec<_> = store
        .appended
        .lock()
        .unwrap()
        .iter()
        .map(|(command, _)| command.clone())
        .collect();
    assert_eq!(
        appended,
        vec![
            start(),
            CallCommand::Batch(vec![said("Hello", 10), said("Bye", 20)])
        ],
        "nothing lost, in order"
    );
}
