//! After the checks: open the session, run the bridge, then carry out how it ended — hang up,
//! transfer to the owner, or send the caller to voicemail (Twilio REST) when the agent failed —
//! and record it.

use std::fmt::Display;

use chrono::Utc;
use domain::call::CallCommand;
use domain::routing::RouteReason;
use domain::values::CallSid;
use futures::{Sink, SinkExt, Stream};
use infrastructure::openai::realtime::{self, Interface, RealtimeError, SessionConfig};
use infrastructure::twilio::media::StreamStart;
use tokio::time::Instant;

use super::close;
use super::prepare::Prepared;
use crate::call_flow::Answer;
use crate::voice::bridge::{Bridge, Ending, Failure, Plan, Sides, SESSION_CANCELS_ON_SPEECH};
use crate::voice::recorder::{Entry, Journal};
use crate::voice::{demo_agent, instructions, openai_socket, tools, VoiceBridge};

/// Opens the session and runs the bridge until it ends, then carries out the ending.
pub(super) async fn converse<TI, TE, TO>(
    bridge: &VoiceBridge,
    call_sid: &CallSid,
    start: &StreamStart,
    prepared: Prepared,
    twilio_in: TI,
    twilio_out: &mut TO,
    journal: &Journal,
) where
    TI: Stream<Item = Result<String, TE>> + Unpin,
    TE: Display,
    TO: Sink<String> + Unpin,
    TO::Error: Display,
{
    let settings = &bridge.settings;
    let business_name = Some(prepared.business.name.clone());
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
    let socket = match connected.await {
        Ok(socket) => socket,
        Err(err) => {
            let reason = match &err {
                RealtimeError::Timeout => "openai connect timed out".to_owned(),
                other => format!("openai connect failed: {other}"),
            };
            let failure = Failure {
                kind: "connect_failed",
                reason,
            };
            to_voicemail(bridge, call_sid, business_name, failure, false, journal).await;
            return;
        }
    };
    let (mut openai_out, openai_in) = openai_socket(socket);
    let config = SessionConfig {
        model: model.clone(),
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
        let failure = Failure {
            kind: "connect_failed",
            reason: format!("openai socket failed: {err}"),
        };
        to_voicemail(bridge, call_sid, business_name, failure, false, journal).await;
        return;
    }
    journal.record(CallCommand::StartAiSession {
        model: model.clone(),
        voice: prepared.agent.voice.clone(),
    });
    tracing::info!(%model, voice = %prepared.agent.voice, "AI session started");
    let plan = Plan {
        stream_sid: start.stream_sid.clone(),
        interface,
        limits: settings.limits,
        can_transfer: prepared.business.owner_phone.is_some(),
        cancel_on_barge_in: !SESSION_CANCELS_ON_SPEECH,
    };
    let sides = Sides {
        twilio_in,
        twilio_out,
        openai_in,
        openai_out,
    };
    let bridged = Bridge::new(sides, plan, journal.clone(), Instant::now());
    let (ending, mut sides) = bridged.run().await;
    tracing::info!(?ending, "AI session over");
    close(&mut sides.openai_out).await;
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
        Ending::Transfer => transfer(bridge, call_sid, &prepared, journal).await,
        Ending::Voicemail(failure) => {
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
