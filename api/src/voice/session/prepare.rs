//! Before a session opens: the stream's call must be one routed to the agent and not served
//! yet, its business must have an enabled agent, and the agent's key must open.

use domain::business::{AgentConfig, Business};
use domain::call::{AiSession, CallLeg};
use domain::values::CallSid;
use infrastructure::twilio::media::StreamStart;
use secrecy::SecretString;
use url::Url;

use crate::voice::bridge::Failure;
use crate::voice::{demo_agent, VoiceBridge};

/// The call, its business and agent, ready for a session.
pub(super) struct Prepared {
    pub(super) business: Business,
    pub(super) agent: AgentConfig,
    pub(super) api_key: SecretString,
    /// The built-in demo agent's URL when it answers instead of OpenAI (the demo placeholder key).
    pub(super) demo_agent: Option<Url>,
    /// The number the caller dialled (the caller id a transfer shows the owner).
    pub(super) dialled: String,
}

/// Why no session is opened.
pub(super) enum Refusal {
    /// Not a call for the agent (unknown, elsewhere, already served): just close the stream;
    /// Twilio goes on with the TwiML after `<Connect>`, which is the voicemail.
    NotForAgent(String),
    /// The agent cannot take this call: voicemail.
    Failed {
        business_name: Option<String>,
        failure: Failure,
    },
}

fn failed(business_name: Option<String>, reason: &str) -> Refusal {
    Refusal::Failed {
        business_name,
        failure: Failure {
            kind: "setup_failed",
            reason: reason.to_owned(),
        },
    }
}

/// Checks the stream's call and gathers what its session needs.
pub(super) async fn prepare(
    bridge: &VoiceBridge,
    call_sid: &CallSid,
    start: &StreamStart,
) -> Result<Prepared, Refusal> {
    let timeout = bridge.settings.store_timeout;
    let call =
        match tokio::time::timeout(timeout, bridge.stores.calls.load(call_sid.as_ref())).await {
            Ok(Ok(loaded)) => loaded.aggregate,
            Ok(Err(err)) => return Err(failed(None, &format!("the call cannot be loaded: {err}"))),
            Err(_) => return Err(failed(None, "the event store did not answer")),
        };
    let Some(received) = call.received else {
        return Err(Refusal::NotForAgent("no such call".to_owned()));
    };
    if call.leg != CallLeg::WithAiAgent || call.end.is_some() {
        return Err(Refusal::NotForAgent(format!(
            "the call is not with the agent ({:?})",
            call.leg
        )));
    }
    if call.ai_session != AiSession::NotStarted {
        return Err(Refusal::NotForAgent(
            "the call already had its AI session".to_owned(),
        ));
    }
    let business_id = received
        .business_id
        .ok_or_else(|| failed(None, "the call has no business"))?;
    if let Some(named) = start.custom_parameters.get("business_id") {
        if *named != business_id.to_string() {
            return Err(Refusal::NotForAgent(format!(
                "the stream names business {named}, the call another"
            )));
        }
    }
    let id = business_id.to_string();
    let business = match tokio::time::timeout(timeout, bridge.stores.businesses.load(&id)).await {
        Ok(Ok(loaded)) if loaded.aggregate.id.is_some() => loaded.aggregate,
        Ok(Ok(_)) => return Err(failed(None, "the call's business does not exist")),
        Ok(Err(err)) => {
            return Err(failed(
                None,
                &format!("the business cannot be loaded: {err}"),
            ))
        }
        Err(_) => return Err(failed(None, "the event store did not answer")),
    };
    let name = Some(business.name.clone());
    let Some(agent) = business.agent.clone().filter(|agent| agent.enabled) else {
        return Err(failed(name, "the business has no enabled agent"));
    };
    if infrastructure::vault::is_placeholder(&agent.api_key) {
        let url = demo_agent::url().map_err(|err| failed(name.clone(), &err.to_string()))?;
        tracing::info!(%url, "no OpenAI key is configured (the demo placeholder): the built-in demo agent answers this call");
        return Ok(Prepared {
            business,
            agent,
            api_key: SecretString::from(infrastructure::vault::PLACEHOLDER_KEY_ID),
            demo_agent: Some(url),
            dialled: received.to,
        });
    }
    let api_key = bridge
        .vault
        .open(business_id, &agent.api_key)
        .map_err(|err| {
            failed(
                name.clone(),
                &format!("the agent's key cannot be opened: {err}"),
            )
        })?;
    Ok(Prepared {
        business,
        agent,
        api_key,
        demo_agent: None,
        dialled: received.to,
    })
}
