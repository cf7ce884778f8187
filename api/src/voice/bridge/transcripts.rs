//! The agent's transcripts, recorded once the caller has heard them: the Realtime API sends an
//! item's text when it is generated, seconds before Twilio has played its audio, so a text is
//! held until its audio has played — or cut to the part heard when the caller interrupts.

use std::fmt::Display;

use domain::call::{CallCommand, Speaker};
use futures::{Sink, Stream};

use super::{Bridge, Frame};
use crate::voice::playback::heard_part;

impl<TI, TE, TO, OI, OE, OO> Bridge<TI, TO, OI, OO>
where
    TI: Stream<Item = Result<Frame, TE>> + Unpin,
    TE: Display,
    TO: Sink<String> + Unpin,
    TO::Error: Display,
    OI: Stream<Item = Result<Frame, OE>> + Unpin,
    OE: Display,
    OO: Sink<String> + Unpin,
    OO::Error: Display,
{
    /// Records the held agent transcripts: all of them at the end (`all`), else those whose
    /// audio has been heard (nothing is playing) or cut by a barge-in.
    pub(super) fn release_transcripts(&mut self, all: bool) {
        let playing = self.state.playback.is_playing();
        let held = std::mem::take(&mut self.state.held_transcripts);
        for (item_id, transcript) in held {
            if all || !playing || self.state.playback.was_interrupted(&item_id) {
                self.record_agent_transcript(&item_id, &transcript);
            } else {
                self.state.held_transcripts.push((item_id, transcript));
            }
        }
    }

    fn record_agent_transcript(&mut self, item_id: &str, transcript: &str) {
        let item = self.state.agent_items.remove(item_id);
        let text = match self.state.playback.take_interruption(item_id) {
            Some(heard_ms) => {
                let total_ms = item.as_ref().map_or(0, |item| item.bytes / 8);
                heard_part(transcript, heard_ms, total_ms)
            }
            None => transcript.trim().to_owned(),
        };
        if text.is_empty() {
            return;
        }
        let offset_ms = item.map_or_else(|| self.elapsed_ms(), |item| item.offset_ms);
        self.journal.record(CallCommand::RecordTranscriptSegment {
            speaker: Speaker::Agent,
            text,
            offset_ms,
        });
    }
}
