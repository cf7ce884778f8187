use super::*;

/// 20 ms of μ-law.
const FRAME: u64 = 160;

#[test]
fn it_should_name_every_mark_uniquely_and_forget_marks_as_they_play() {
    let mut playback = Playback::new();

    let first = playback.agent_audio("item_a", 5 * FRAME).unwrap();
    let second = playback.agent_audio("item_a", 5 * FRAME).unwrap();
    let third = playback.agent_audio("item_b", 5 * FRAME).unwrap();

    assert_ne!(first, second);
    assert_ne!(second, third);
    assert!(playback.is_playing());
    assert!(
        playback.mark_played(&second),
        "earlier marks count as played"
    );
    assert!(
        !playback.mark_played(&first),
        "already taken with the second"
    );
    assert!(playback.is_playing());
    assert!(playback.mark_played(&third));
    assert!(!playback.is_playing());
}

#[test]
fn it_should_mark_every_100_ms_of_short_chunks_and_what_is_left_when_the_audio_pauses() {
    let mut playback = Playback::new();

    let marks: Vec<_> = (0..7)
        .map(|_| playback.agent_audio("item_a", FRAME))
        .collect();

    assert_eq!(marks.iter().flatten().count(), 1, "one mark per 100 ms");
    assert!(marks[4].is_some(), "after the fifth 20 ms chunk");
    let tail = playback.audio_paused().expect("40 ms are not marked yet");
    assert_eq!(playback.audio_paused(), None, "everything is marked");
    assert!(playback.mark_played(marks[4].as_deref().unwrap()));
    assert!(playback.is_playing(), "the tail has not played yet");
    assert!(playback.mark_played(&tail));
    assert!(!playback.is_playing());
}

#[test]
fn it_should_count_unmarked_audio_as_playing_and_cut_it_on_barge_in() {
    let mut playback = Playback::new();
    playback.caller_audio(1_000);
    assert_eq!(playback.agent_audio("item_a", FRAME), None);
    assert!(playback.is_playing());
    playback.caller_audio(1_010);

    let cut = playback.barge_in().expect("unmarked audio is playing");

    assert_eq!(cut.audio_end_ms, 10);
    assert!(!playback.is_playing());
    assert_eq!(
        playback.audio_paused(),
        None,
        "the cleared audio needs no mark"
    );
}

#[test]
fn it_should_not_interrupt_when_everything_sent_has_been_heard() {
    let mut playback = Playback::new();
    playback.caller_audio(1_000);
    let mark = playback.agent_audio("item_a", 8 * 500).unwrap();
    playback.caller_audio(1_600);
    playback.mark_played(&mark);

    assert_eq!(playback.barge_in(), None);
    assert!(!playback.was_interrupted("item_a"));
}

#[test]
fn it_should_cut_the_item_at_the_time_played_since_its_first_audio() {
    let mut playback = Playback::new();
    playback.caller_audio(2_000);
    // Two seconds of audio sent at once; Twilio plays it in real time.
    playback.agent_audio("item_a", 8 * 1_000);
    playback.agent_audio("item_a", 8 * 1_000);
    playback.caller_audio(2_740);

    let cut = playback.barge_in();

    assert_eq!(
        cut,
        Some(Truncation {
            item_id: "item_a".into(),
            audio_end_ms: 740,
        })
    );
    assert!(!playback.is_playing(), "pending marks are forgotten");
    assert!(playback.was_interrupted("item_a"));
    assert_eq!(playback.take_interruption("item_a"), Some(740));
    assert_eq!(playback.take_interruption("item_a"), None);
}

#[test]
fn it_should_never_cut_beyond_the_audio_sent() {
    let mut playback = Playback::new();
    playback.caller_audio(0);
    playback.agent_audio("item_a", 8 * 300);
    // Twilio's clock ran on (the caller frames keep coming) but only 300 ms were sent.
    playback.caller_audio(5_000);

    let cut = playback.barge_in().unwrap();

    assert_eq!(cut.audio_end_ms, 300);
}

#[test]
fn it_should_measure_a_new_item_from_when_its_own_audio_started() {
    let mut playback = Playback::new();
    playback.caller_audio(1_000);
    let mark = playback.agent_audio("item_a", 8 * 400).unwrap();
    playback.caller_audio(1_400);
    playback.mark_played(&mark);
    playback.caller_audio(3_000);
    playback.agent_audio("item_b", 8 * 2_000);
    playback.caller_audio(3_260);

    let cut = playback.barge_in().unwrap();

    assert_eq!(cut.item_id, "item_b");
    assert_eq!(cut.audio_end_ms, 260);
}

#[test]
fn it_should_ignore_a_clock_that_goes_backwards_and_marks_after_a_clear() {
    let mut playback = Playback::new();
    playback.caller_audio(1_000);
    playback.caller_audio(900);
    assert_eq!(playback.latest_twilio_ms(), 1_000);
    let mark = playback.agent_audio("item_a", 5 * FRAME).unwrap();
    playback.barge_in();

    assert!(
        !playback.mark_played(&mark),
        "a mark echoed after a clear is stale"
    );
    assert_eq!(
        playback.barge_in(),
        None,
        "a second speech start cuts nothing"
    );
}

#[test]
fn it_should_count_decoded_base64_bytes_without_decoding() {
    assert_eq!(decoded_len(""), 0);
    assert_eq!(decoded_len("AA=="), 1);
    assert_eq!(decoded_len("AAA="), 2);
    assert_eq!(decoded_len("AAAA"), 3);
    assert_eq!(decoded_len("AAAAAA"), 4, "unpadded");
    let frame = "A".repeat(214) + "==";
    assert_eq!(decoded_len(&frame), 160);
}

#[test]
fn it_should_keep_the_heard_part_of_an_interrupted_transcript_at_a_word_boundary() {
    let said = "Thanks for calling Joe's Plumbing, how can I help you today?";

    assert_eq!(heard_part(said, 1_000, 1_000), said);
    assert_eq!(heard_part(said, 0, 1_000), "…");
    assert_eq!(heard_part(said, 500, 1_000), "Thanks for calling Joe's…");
    assert_eq!(heard_part(said, 10, 0), said, "no audio known: kept whole");
}
