//! One media stream from Twilio's `start` to the end of the call's session: find the call and
//! its agent, open the OpenAI session, run the [`Bridge`], then carry out how it ended —
//! hang up, transfer, or voicemail when anything fails, so the caller never hears silence.

mod outcome;
mod prepare;

use std::fmt::Display;
use std::sync::Arc;
use std::time::Duration;

use domain::values::CallSid;
use futures::{Sink, SinkExt, Stream, StreamExt};
use infrastructure::twilio::media::{self, StreamEvent, StreamStart};
use tracing::{Instrument, Span};

use super::bridge::Frame;
use super::recorder::{self, Journal, StoredCall};
use super::VoiceBridge;
use outcome::{converse, to_voicemail};
use prepare::{prepare, Refusal};

/// How long closing a socket may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the stream waits for the recorder to write what is left after the call; a recorder
/// still waiting for the event store then goes on alone, holding the facts.
const RECORDER_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves one media stream until its call's session is over.
pub(super) async fn serve<TI, TE, TO>(
    bridge: Arc<VoiceBridge>,
    mut twilio_in: TI,
    mut twilio_out: TO,
) where
    TI: Stream<Item = Result<Frame, TE>> + Unpin,
    TE: Display,
    TO: Sink<String> + Unpin,
    TO::Error: Display,
{
    let _live = bridge.sessions.enter();
    let Some(start) = wait_for_start(&mut twilio_in, bridge.settings.start_timeout).await else {
        close(&mut twilio_out).await;
        return;
    };
    let span = tracing::info_span!("voice_call", call_sid = %start.call_sid, stream_sid = %start.stream_sid);
    tracing::info!(parent: &span, "media stream started");
    run_call(&bridge, start, &span, twilio_in, twilio_out).await;
}

/// Reads until Twilio's `start` (skipping `connected` and anything unreadable).
async fn wait_for_start<TI, TE>(twilio_in: &mut TI, timeout: Duration) -> Option<StreamStart>
where
    TI: Stream<Item = Result<Frame, TE>> + Unpin,
    TE: Display,
{
    let read = async {
        while let Some(frame) = twilio_in.next().await {
            let text = match frame {
                Ok(text) => text,
                Err(err) => {
                    tracing::info!(error = %err, "the media stream failed before it started");
                    return None;
                }
            };
            match media::parse(&text) {
                Ok(StreamEvent::Start(start)) => return Some(start),
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(error = %err, "skipping an unreadable media stream message")
                }
            }
        }
        None
    };
    tokio::time::timeout(timeout, read)
        .await
        .unwrap_or_else(|_| {
            tracing::warn!(?timeout, "no start message on the media stream; closing it");
            None
        })
}

/// The call's stream after `start`. Everything it does runs in the call's `span` except the
/// relay loop, which would otherwise enter and leave the span on every poll (5–10% of the
/// bridge's CPU); the loop logs into the span explicitly.
async fn run_call<TI, TE, TO>(
    bridge: &VoiceBridge,
    start: StreamStart,
    span: &Span,
    twilio_in: TI,
    mut twilio_out: TO,
) where
    TI: Stream<Item = Result<Frame, TE>> + Unpin,
    TE: Display,
    TO: Sink<String> + Unpin,
    TO::Error: Display,
{
    let call_sid = match identify(&start) {
        Ok(call_sid) => call_sid,
        Err(why) => {
            tracing::warn!(parent: span, %why, "refusing a media stream");
            close(&mut twilio_out).instrument(span.clone()).await;
            return;
        }
    };
    let (journal, queue) = Journal::channel();
    let store = StoredCall {
        stores: bridge.stores.clone(),
        call_sid: call_sid.clone(),
    };
    let recorder = actix_web::rt::spawn(
        recorder::run(store, call_sid.clone(), start.stream_sid.clone(), queue)
            .instrument(span.clone()),
    );
    let prepared = match prepare(bridge, &call_sid, &start)
        .instrument(span.clone())
        .await
    {
        Ok(prepared) => Some(prepared),
        Err(Refusal::NotForAgent(why)) => {
            tracing::warn!(parent: span, %why, "refusing a media stream");
            None
        }
        Err(Refusal::Failed {
            business_name,
            failure,
        }) => {
            to_voicemail(bridge, &call_sid, business_name, failure, false, &journal)
                .instrument(span.clone())
                .await;
            None
        }
    };
    if let Some(prepared) = prepared {
        converse(
            bridge,
            &call_sid,
            &start,
            prepared,
            twilio_in,
            &mut twilio_out,
            &journal,
            span,
        )
        .await;
    }
    close(&mut twilio_out).instrument(span.clone()).await;
    drop(journal);
    match tokio::time::timeout(RECORDER_TIMEOUT, recorder).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::error!(parent: span, error = %err, "the call's recorder failed"),
        Err(_) => tracing::warn!(
            parent: span,
            "the call's recorder is still waiting for the event store; it goes on in the background"
        ),
    }
}

/// The call named by the stream: the `call_sid` parameter we put in the TwiML, which must be
/// the call Twilio says the stream belongs to.
fn identify(start: &StreamStart) -> Result<CallSid, String> {
    let named = match start.custom_parameters.get("call_sid") {
        Some(named) if *named != start.call_sid => {
            return Err(format!(
                "the stream's call_sid parameter {named} is not its call {}",
                start.call_sid
            ))
        }
        Some(named) => named,
        None => &start.call_sid,
    };
    CallSid::parse(named).map_err(|err| format!("bad call sid '{named}': {err}"))
}

/// Closes a socket's sending half (a close frame), not waiting long for it.
async fn close<S>(sink: &mut S)
where
    S: Sink<String> + Unpin,
    S::Error: Display,
{
    match tokio::time::timeout(CLOSE_TIMEOUT, sink.close()).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::debug!(error = %err, "closing a socket failed"),
        Err(_) => tracing::debug!("closing a socket timed out"),
    }
}
