//! The bridge loop of one call: Twilio's media stream on one side, the OpenAI Realtime session
//! on the other, from the session's start until one side ends it.
//!
//! Both sides are plain text-frame [`Stream`]s and [`Sink`]s, so the loop is the same over real
//! WebSockets and over the channels its unit tests drive. Caller frames are appended to the
//! session as they arrive, agent audio goes to Twilio as it arrives, each chunk followed by a
//! mark ([`Playback`] tracks what was heard, for barge-in). Facts go to the call's
//! [`Journal`] without waiting on the database. The loop never awaits anything but the two
//! sockets and its timers; it returns how the session ended ([`Ending`]) and the caller of it
//! carries that out (hang-up, redirect, records).

mod agent;
mod plan;
mod transcripts;

pub use plan::{Ending, Failure, Limits, Plan, Sides, SESSION_CANCELS_ON_SPEECH};

use std::collections::HashMap;
use std::fmt::Display;

use futures::{Sink, SinkExt, Stream, StreamExt};
use infrastructure::openai::realtime;
use infrastructure::twilio::media::{self, StreamEvent};
use tokio::time::Instant;

use super::playback::Playback;
use super::recorder::Journal;

/// A pending hang-up or transfer: waits for the goodbye to be spoken and heard.
#[derive(Debug, Clone)]
struct Closing {
    ending: Ending,
    deadline: Instant,
    /// The response created after the tool call: the goodbye.
    goodbye: Option<String>,
    spoken: bool,
}

/// What the agent's responses are doing.
#[derive(Debug, Default)]
struct Responses {
    active: Option<String>,
    /// We sent `response.create` and it was not created yet.
    requested: bool,
    /// Another response is wanted once the current one is done.
    deferred: bool,
}

/// The agent's audio of one item.
#[derive(Debug)]
struct AgentItem {
    offset_ms: u64,
    bytes: u64,
}

/// The loop's state beyond the sockets.
#[derive(Debug, Default)]
struct State {
    playback: Playback,
    greeted: bool,
    wrapped_up: bool,
    responses: Responses,
    closing: Option<Closing>,
    /// Beta interface: function names by call id, from `response.output_item.added`.
    function_names: HashMap<String, String>,
    /// When each caller item's speech started, in ms since the session started.
    caller_speech: HashMap<String, u64>,
    agent_items: HashMap<String, AgentItem>,
    /// Agent transcripts whose audio is still playing: recorded once heard (or cut).
    held_transcripts: Vec<(String, String)>,
    bad_frames: u64,
    bad_events: u64,
}

type Step = Result<(), Ending>;

/// A text frame as a socket hands it over: tungstenite's shared UTF-8 bytes, read without a copy.
pub type Frame = tokio_tungstenite::tungstenite::Utf8Bytes;

/// The session's fixed deadlines, worked out once from its start and [`Limits`] (the loop asks
/// for the next one on every turn).
#[derive(Debug, Clone, Copy)]
struct Deadlines {
    /// The session's maximum length is reached.
    session_end: Instant,
    /// OpenAI must have confirmed the session by then.
    greeting: Instant,
    /// The agent is told to wrap up.
    wrap_up: Instant,
}

impl Deadlines {
    fn new(started: Instant, limits: &Limits) -> Self {
        Self {
            session_end: started + limits.session_max,
            greeting: started + limits.greeting_timeout,
            wrap_up: started + limits.session_max.saturating_sub(limits.wrap_up_lead),
        }
    }
}

/// One call's bridge; see the module documentation.
pub struct Bridge<TI, TO, OI, OO> {
    io: Sides<TI, TO, OI, OO>,
    plan: Plan,
    journal: Journal,
    started: Instant,
    deadlines: Deadlines,
    state: State,
    /// The call's span: the loop logs into it without entering it (see `in_span`).
    span: tracing::Span,
}

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
    /// A bridge whose session started at `started` (transcript offsets count from it), after
    /// `session.update` was sent.
    pub fn new(io: Sides<TI, TO, OI, OO>, plan: Plan, journal: Journal, started: Instant) -> Self {
        Self {
            deadlines: Deadlines::new(started, &plan.limits),
            io,
            plan,
            journal,
            started,
            state: State::default(),
            span: tracing::Span::current(),
        }
    }

    /// Logs into `span` (the call's), which the loop never enters: entering a span on every
    /// poll of a loop that wakes 150 times a second per call was 5–10% of its CPU.
    pub fn in_span(mut self, span: tracing::Span) -> Self {
        self.span = span;
        self
    }

    /// Relays until the session ends; returns how, and the sockets (for closing).
    pub async fn run(mut self) -> (Ending, Sides<TI, TO, OI, OO>) {
        // One timer for the whole loop, moved when the next deadline moves (a new timer per
        // message would register one 150 times a second per call).
        let timer = tokio::time::sleep_until(self.next_deadline());
        tokio::pin!(timer);
        let mut fired = false;
        let ending = loop {
            let deadline = self.next_deadline();
            if fired || timer.deadline() != deadline {
                timer.as_mut().reset(deadline);
                fired = false;
            }
            let step = tokio::select! {
                biased;
                frame = self.io.twilio_in.next() => self.on_twilio(frame).await,
                event = self.io.openai_in.next() => self.on_openai(event).await,
                () = &mut timer => {
                    fired = true;
                    self.on_timer().await
                }
            };
            if let Err(ending) = step {
                break ending;
            }
        };
        self.release_transcripts(true);
        if self.state.bad_frames + self.state.bad_events > 1 {
            tracing::info!(parent: &self.span,
                twilio = self.state.bad_frames,
                openai = self.state.bad_events,
                "skipped unreadable messages during the call"
            );
        }
        (ending, self.io)
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn next_deadline(&self) -> Instant {
        let deadlines = &self.deadlines;
        let mut at = deadlines.session_end;
        if !self.state.greeted {
            at = at.min(deadlines.greeting);
        }
        if !self.state.wrapped_up {
            at = at.min(deadlines.wrap_up);
        }
        if let Some(closing) = &self.state.closing {
            at = at.min(closing.deadline);
        }
        at
    }

    async fn on_timer(&mut self) -> Step {
        let now = Instant::now();
        if let Some(closing) = &self.state.closing {
            if now >= closing.deadline {
                tracing::info!(parent: &self.span, "the goodbye did not finish playing in time; going on");
                return Err(closing.ending.clone());
            }
        }
        if now >= self.deadlines.session_end {
            return Err(Ending::voicemail(
                "session_limit",
                "the session reached its time limit",
            ));
        }
        if !self.state.greeted && now >= self.deadlines.greeting {
            return Err(Ending::voicemail(
                "no_session",
                "openai did not confirm the session in time",
            ));
        }
        if !self.state.wrapped_up && now >= self.deadlines.wrap_up {
            self.state.wrapped_up = true;
            let lead = self.plan.limits.wrap_up_lead.as_secs();
            tracing::info!(parent: &self.span, seconds_left = lead, "telling the agent to wrap up");
            self.send_openai(agent::wrap_up_item(lead)).await?;
            self.request_response().await?;
        }
        Ok(())
    }

    async fn on_twilio(&mut self, frame: Option<Result<Frame, TE>>) -> Step {
        let text = match frame {
            None => return Err(Ending::CallerLeft("twilio stream closed".to_owned())),
            Some(Err(err)) => {
                return Err(Ending::CallerLeft(agent::short(&format!(
                    "twilio socket failed: {err}"
                ))))
            }
            Some(Ok(text)) => text,
        };
        match media::parse(&text) {
            Ok(StreamEvent::Media(frame)) => {
                self.state.playback.caller_audio(frame.timestamp_ms);
                self.send_openai(realtime::append_audio(&frame.payload))
                    .await
            }
            Ok(StreamEvent::Mark { name, .. }) => {
                if self.state.playback.mark_played(&name) && !self.state.playback.is_playing() {
                    self.release_transcripts(false);
                }
                self.check_goodbye()
            }
            Ok(StreamEvent::Stop { .. }) => Err(Ending::CallerLeft("caller hung up".to_owned())),
            Ok(StreamEvent::Dtmf { digit, .. }) => {
                tracing::debug!(parent: &self.span, %digit, "caller pressed a key");
                Ok(())
            }
            Ok(StreamEvent::Connected { .. } | StreamEvent::Start(_)) => {
                tracing::debug!(parent: &self.span, "ignoring a repeated connected/start message");
                Ok(())
            }
            Err(err) => {
                self.state.bad_frames += 1;
                if self.state.bad_frames == 1 {
                    tracing::warn!(parent: &self.span, error = %err, "skipping an unreadable media stream message");
                } else {
                    tracing::debug!(parent: &self.span, error = %err, "skipping an unreadable media stream message");
                }
                Ok(())
            }
        }
    }

    async fn send_twilio(&mut self, text: String) -> Step {
        self.io.twilio_out.send(text).await.map_err(|err| {
            Ending::CallerLeft(agent::short(&format!("twilio socket failed: {err}")))
        })
    }

    async fn send_openai(&mut self, text: String) -> Step {
        self.io.openai_out.send(text).await.map_err(|err| {
            Ending::voicemail(
                "openai_closed",
                agent::short(&format!("openai socket failed: {err}")),
            )
        })
    }

    /// Agent audio: to Twilio untouched, followed by a mark every so often so we learn when it
    /// has played.
    async fn play(&mut self, item_id: &str, delta: &str) -> Step {
        if self.state.playback.was_interrupted(item_id) {
            return Ok(());
        }
        let bytes = super::playback::decoded_len(delta);
        // Looked up before inserting: `entry` would take an owned key for every delta.
        match self.state.agent_items.get_mut(item_id) {
            Some(item) => item.bytes += bytes,
            None => {
                let offset_ms = self.elapsed_ms();
                self.state
                    .agent_items
                    .insert(item_id.to_owned(), AgentItem { offset_ms, bytes });
            }
        }
        let mark = self.state.playback.agent_audio(item_id, bytes);
        let audio = media::media(&self.plan.stream_sid, delta);
        let Some(mark) = mark else {
            return self.send_twilio(audio).await;
        };
        let mark = media::mark(&self.plan.stream_sid, &mark);
        let sent = async {
            self.io.twilio_out.feed(audio).await?;
            self.io.twilio_out.send(mark).await
        };
        sent.await.map_err(|err| {
            Ending::CallerLeft(agent::short(&format!("twilio socket failed: {err}")))
        })
    }

    /// The agent's audio paused: a mark after what is not marked yet, so we learn when the
    /// caller has heard all of it.
    async fn mark_pause(&mut self) -> Step {
        match self.state.playback.audio_paused() {
            Some(mark) => {
                self.send_twilio(media::mark(&self.plan.stream_sid, &mark))
                    .await
            }
            None => Ok(()),
        }
    }

    /// Asks for a response now, or once the one in progress is done.
    async fn request_response(&mut self) -> Step {
        let responses = &mut self.state.responses;
        if responses.active.is_some() || responses.requested {
            responses.deferred = true;
            return Ok(());
        }
        responses.requested = true;
        self.send_openai(realtime::response_create()).await
    }

    /// Ends the session once the goodbye has been spoken and heard.
    fn check_goodbye(&self) -> Step {
        match &self.state.closing {
            Some(closing) if closing.spoken && !self.state.playback.is_playing() => {
                Err(closing.ending.clone())
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
