//! After the checks: open the session, run the bridge, then carry out how it ended — hang up,
//! transfer to the owner, or send the caller to voicemail (Twilio REST) when the agent failed —
//! and record it.

use std::fmt::Display;

use chrono::Utc;
use domain::call::CallCommand;
use domain::routing::RouteReason;
use domain::values::CallSid;
use futures::{Sink, SinkExt, Stream};
use infrastructure::openai::realtime::{
    self, Interface, RealtimeError, RealtimeSocket, SessionConfig,
};
use infrastructure::twilio::media::StreamStart;
use tokio::time::Instant;
use tracing::{Instrument, Span};

use super::close;
use super::prepare::Prepared;
use crate::call_flow::Answer;
use crate::voice::bridge::{
    Bridge, Ending, Failure, Frame, Plan, Sides, SESSION_CANCELS_ON_SPEECH,
};
use crate::voice::recorder::{Entry, Journal};
use crate::voice::{demo_agent, instructions, text_frames, tools, VoiceBridge};

/// Opens the session and runs the bridge until it ends, then carries out the ending. All but
/// the relay loop runs in the call's `span` (see `run_call`).
#[expect(
    clippy::too_many_arguments,
    reason = "the call, both sides of it, its journal and its span: all of them differ per call"
)]
pub(super) async fn converse<TI, TE, TO>(
    bridge: &VoiceBridge,
    call_sid: &CallSid,
    start: &StreamStart,
    prepared: Prepared,
    twilio_in: TI,
    twilio_out: &mut TO,
    journal: &Journal,
    span: &Span,
) where
    TI: Stream<Item = Result<Frame, TE>> + Unpin,
    TE: Display,
    TO: Sink<String> + Unpin,
    TO::Error: Display,
{
    let business_name = Some(prepared.business.name.clone());
    let opened = open_session(bridge, &prepared)
        .instrument(span.clone())
        .await;
    let (socket, interface, model) = match opened {
        Ok(opened) => opened,
        Err(failure) => {
            to_voicemail(bridge, call_sid, business_name, failure, false, journal)
                .instrument(span.clone())
                .await;
            return;
        }
    };
    let (mut openai_out, openai_in) = text_frames(socket);
    let configured = configure(&prepared, interface, &model, &mut openai_out, journal)
        .instrument(span.clone())
        .await;
    if let Err(failure) = configured {
        to_voicemail(bridge, call_sid, business_name, failure, false, journal)
            .instrument(span.clone())
            .await;
        return;
    }
    let plan = Plan {
        stream_sid: start.stream_sid.clone(),
        interface,
        limits: bridge.settings.limits,
        can_transfer: prepared.business.owner_phone.is_some(),
        cancel_on_barge_in: !SESSION_CANCELS_ON_SPEECH,
    };
    let sides = Sides {
        twilio_in,
        twilio_out,
        openai_in,
        openai_out,
    };
    let bridged = Bridge::new(sides, plan, journal.clone(), Instant::now()).in_span(span.clone());
    let (ending, mut sides) = bridged.run().await;
    let finish = async {
        tracing::info!(?ending, "AI session over");
        close(&mut sides.openai_out).await;
        carry_out(bridge, call_sid, &prepared, ending, journal).await;
    };
    finish.instrument(span.clone()).await;
}

/// Connects to the business' Realtime model (or the demo agent): the socket, its interface and
/// the model.
async fn open_session(
    bridge: &VoiceBridge,
    prepared: &Prepared,
) -> Result<(RealtimeSocket, Interface, String), Failure> {
    let settings = &bridge.settings;
    // The demo agent speaks GA and reports its own model.
    let (url, interface, model) = match &prepared.demo_agent {
        Some(url) => (url.clone(), Interface::Ga, demo_agent::MODEL.to_owned()),
        None => (
            realtime::realtime_url(&settings.realtime_url, &prepared.agent.model),
            settings.interface,
            prepared.agent.model.clone(),
        ),
    };
    let connected = realtime::connect(&url, &prepared.api_key, interface, settings.connect_timeout);
    match connected.await {
        Ok(socket) => Ok((socket, interface, model)),
        Err(err) => {
            let reason = match &err {
                RealtimeError::Timeout => "openai connect timed out".to_owned(),
                other => format!("openai connect failed: {other}"),
            };
            Err(Failure {
                kind: "connect_failed",
                reason,
            })
        }
    }
}

/// Sends `session.update` (the agent's voice, instructions and tools) and records that the
/// session started.
async fn configure<OO>(
    prepared: &Prepared,
    interface: Interface,
    model: &str,
    openai_out: &mut OO,
    journal: &Journal,
) -> Result<(), Failure>
where
    OO: Sink<String> + Unpin,
    OO::Error: Display,
{
    let config = SessionConfig {
        model: model.to_owned(),
        voice: prepared.agent.voice.clone(),
        instructions: instructions::for_call(
            &prepared.business,
            &prepared.agent.instructions,
            Utc::now(),
        ),
        tools: tools::definitions(prepared.business.owner_phone.is_some()),
    };
    let update = realtime::session_update(&config, interface);
    if let Err(err) = openai_out.send(update).await {
        return Err(Failure {
            kind: "connect_failed",
            reason: format!("openai socket failed: {err}"),
        });
    }
    journal.record(CallCommand::StartAiSession {
        model: model.to_owned(),
        voice: prepared.agent.voice.clone(),
    });
    tracing::info!(%model, voice = %prepared.agent.voice, "AI session started");
    Ok(())
}

/// Carries out how the session ended: the session's end recorded, and a hang-up, a transfer or
/// voicemail where the ending asks for one.
async fn carry_out(
    bridge: &VoiceBridge,
    call_sid: &CallSid,
    prepared: &Prepared,
    ending: Ending,
    journal: &Journal,
) {
    match ending {
        Ending::CallerLeft(reason) => journal.record(CallCommand::EndAiSession { reason }),
        Ending::HangUp => {
            if let Err(err) = bridge.twilio.hang_up(call_sid).await {
                tracing::error!(error = %err, "cannot hang up the call");
            }
            journal.record(CallCommand::EndAiSession {
                reason: "agent ended the call".to_owned(),
            });
        }
        Ending::Transfer => transfer(bridge, call_sid, prepared, journal).await,
        Ending::Voicemail(failure) => {
            let business_name = Some(prepared.business.name.clone());
            to_voicemail(bridge, call_sid, business_name, failure, true, journal).await;
        }
    }
}

/// Rings the owner again, as the agent announced; voicemail if that cannot be done.
async fn transfer(
    bridge: &VoiceBridge,
    call_sid: &CallSid,
    prepared: &Prepared,
    journal: &Journal,
) {
    let business = &prepared.business;
    let business_name = Some(business.name.clone());
    let Some(owner_phone) = business.owner_phone.clone() else {
        let failure = Failure {
            kind: "transfer_failed",
            reason: "the owner has no phone".to_owned(),
        };
        return to_voicemail(bridge, call_sid, business_name, failure, true, journal).await;
    };
    let twiml = Answer::RingOwner {
        owner_phone: owner_phone.clone(),
        ring_timeout: business.ring_timeout,
        caller_id: prepared.dialled.clone(),
    }
    .to_twiml(&bridge.urls);
    match bridge.twilio.update_call_twiml(call_sid, &twiml).await {
        Ok(_) => {
            journal.record(CallCommand::EndAiSession {
                reason: "transferred to the owner".to_owned(),
            });
            journal.record(CallCommand::TransferToOwner {
                owner_phone,
                ring_timeout: business.ring_timeout,
            });
        }
        Err(err) => {
            let failure = Failure {
                kind: "transfer_failed",
                reason: format!("the transfer failed: {err}"),
            };
            to_voicemail(bridge, call_sid, business_name, failure, true, journal).await;
        }
    }
}

/// The agent failed: the live call goes to voicemail (Twilio REST), and the reason is kept —
/// with the session's end when one started, else in the metadata of the voicemail route.
pub(super) async fn to_voicemail(
    bridge: &VoiceBridge,
    call_sid: &CallSid,
    business_name: Option<String>,
    failure: Failure,
    session_started: bool,
    journal: &Journal,
) {
    tracing::warn!(reason = %failure.reason, "the agent cannot go on; sending the caller to voicemail");
    if let Some(fallbacks) = &bridge.fallbacks {
        fallbacks.with_label_values(&[failure.kind]).inc();
    }
    let twiml = Answer::Voicemail { business_name }.to_twiml(&bridge.urls);
    if let Err(err) = bridge.twilio.update_call_twiml(call_sid, &twiml).await {
        // Closing the stream still sends Twilio on to the voicemail after <Connect>.
        tracing::error!(error = %err, "cannot redirect the call to voicemail");
    }
    if session_started {
        journal.record(CallCommand::EndAiSession {
            reason: failure.reason.clone(),
        });
    }
    journal.record(Entry {
        command: CallCommand::RouteToVoicemail {
            why: RouteReason::AgentFailed,
        },
        reason: Some(failure.reason),
    });
}
