//! `callassist simulate call`: plays Twilio's part against a running server — the signed
//! webhooks of one call in Twilio's order, the media stream of a call the AI agent takes
//! (`media`), then its status and recording callbacks and, after a voicemail, its transcription
//! (`transcription`) — and prints every request and answer,
//! so anyone can watch the routing, and an AI call end to end, without a Twilio account. After
//! the call it prints what the server recorded (`summary`).

mod ai_call;
mod media;
mod summary;
mod transcription;
mod twiml;

use std::fmt;
use std::time::Duration;

use anyhow::{bail, Context};
use infrastructure::twilio::signature::{Algorithm, Body, Signer};
use secrecy::SecretString;

use twiml::{gather_action, steps, Step};

/// What the owner does when the phone rings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OwnerBehaviour {
    /// Picks up and presses 1 at the screen.
    Answers,
    /// Lets it ring out.
    NoAnswer,
    /// Is on another call.
    Busy,
}

/// One simulated call.
pub struct Simulation {
    /// Where to send the webhooks.
    pub server: String,
    /// The URL the server believes it is reached at (signatures are computed over it).
    pub public_base: String,
    /// Twilio account.
    pub account_sid: String,
    /// Signs the webhooks.
    pub auth_token: SecretString,
    /// The number called.
    pub to: String,
    /// The caller.
    pub from: String,
    /// What the owner does.
    pub owner: OwnerBehaviour,
    /// The longest the AI agent's media stream runs before the caller hangs up (0: the stream
    /// closes at once, and Twilio goes on with the verbs after `</Connect>`).
    pub ai_seconds: u64,
    /// The event store the server writes (`DATABASE_URL`), read back for the summary.
    pub database_url: Option<SecretString>,
}

impl fmt::Display for OwnerBehaviour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Answers => "answers",
            Self::NoAnswer => "does not answer",
            Self::Busy => "is busy",
        })
    }
}

impl Simulation {
    /// Runs the call to its end, printing each exchange; fails on any non-2xx answer.
    pub async fn run(&self) -> anyhow::Result<()> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()?;
        let call_sid = random_sid("CA");
        let signer = Signer::new(self.auth_token.clone());
        let call = |extra: &[(&str, &str)]| -> Vec<(String, String)> {
            let mut params: Vec<(String, String)> = [
                ("CallSid", call_sid.as_str()),
                ("AccountSid", self.account_sid.as_str()),
                ("From", self.from.as_str()),
                ("To", self.to.as_str()),
                ("Caller", self.from.as_str()),
                ("Called", self.to.as_str()),
                ("Direction", "inbound"),
                ("ApiVersion", "2010-04-01"),
            ]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
            params.extend(
                extra
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
            );
            params
        };
        let post = |url: String, params: Vec<(String, String)>| {
            let (client, signer) = (&client, &signer);
            async move { self.post(client, signer, &url, &params).await }
        };
        println!(
            "Simulating a call from {} to {} (CallSid {call_sid}); the owner {}.\n",
            self.from, self.to, self.owner
        );

        let log = self.event_log().await;
        let mut answer = post(
            self.url("/twilio/voice/incoming"),
            call(&[("CallStatus", "ringing")]),
        )
        .await?;
        let mut talked_secs = 0;
        let mut stream = None;
        // Twilio transcribes a voicemail after the recording is done, usually once the call is
        // over: (where, the recording's sid and URL).
        let mut transcription = None;
        loop {
            let steps = steps(&answer)?;
            if let Some(Step::Stream { url, parameters }) = steps.first() {
                let (report, go_on) = self
                    .stream(url, parameters, &call_sid, &signer, log.as_ref())
                    .await?;
                if let Some(report) = &report {
                    talked_secs += report.lasted.as_secs();
                }
                stream = report;
                if !go_on {
                    break;
                }
            }
            let Some(step) = steps
                .iter()
                .find(|s| !matches!(s, Step::Stream { .. }))
                .cloned()
            else {
                break;
            };
            match step {
                Step::Dial {
                    action,
                    owner,
                    screen,
                } => {
                    let child = random_sid("CA");
                    let leg = |extra: &[(&str, &str)]| -> Vec<(String, String)> {
                        let mut params = vec![
                            ("CallSid".to_owned(), child.clone()),
                            ("ParentCallSid".to_owned(), call_sid.clone()),
                            ("AccountSid".to_owned(), self.account_sid.clone()),
                            ("From".to_owned(), self.to.clone()),
                            ("To".to_owned(), owner.clone()),
                            ("Direction".to_owned(), "outbound-dial".to_owned()),
                            ("CallStatus".to_owned(), "in-progress".to_owned()),
                        ];
                        params.extend(
                            extra
                                .iter()
                                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
                        );
                        params
                    };
                    let dial_status: &[(&str, &str)] = match (self.owner, screen) {
                        (OwnerBehaviour::Answers, Some(screen)) => {
                            let prompt = post(screen, leg(&[])).await?;
                            let gather = gather_action(&prompt)?
                                .context("the screen asked nothing of the owner")?;
                            println!("   (the owner presses 1)\n");
                            post(gather, leg(&[("Digits", "1"), ("FinishedOnKey", "")])).await?;
                            talked_secs = 42;
                            &[
                                ("DialCallStatus", "completed"),
                                ("DialBridged", "true"),
                                ("DialCallDuration", "42"),
                            ]
                        }
                        (OwnerBehaviour::Answers, None) => {
                            talked_secs = 42;
                            &[
                                ("DialCallStatus", "completed"),
                                ("DialBridged", "true"),
                                ("DialCallDuration", "42"),
                            ]
                        }
                        (OwnerBehaviour::NoAnswer, _) => {
                            &[("DialCallStatus", "no-answer"), ("DialBridged", "false")]
                        }
                        (OwnerBehaviour::Busy, _) => {
                            &[("DialCallStatus", "busy"), ("DialBridged", "false")]
                        }
                    };
                    let mut params = call(&[
                        ("CallStatus", "in-progress"),
                        ("DialCallSid", child.as_str()),
                    ]);
                    params.extend(
                        dial_status
                            .iter()
                            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
                    );
                    answer = post(action, params).await?;
                }
                Step::Record {
                    action,
                    status_callback,
                    transcribe_callback,
                } => {
                    let recording_sid = random_sid("RE");
                    let recording_url = format!(
                        "https://api.twilio.com/2010-04-01/Accounts/{}/Recordings/{recording_sid}",
                        self.account_sid
                    );
                    println!("   (the caller leaves an 8-second message and presses #)\n");
                    talked_secs += 20;
                    answer = post(
                        action,
                        call(&[
                            ("CallStatus", "in-progress"),
                            ("RecordingUrl", recording_url.as_str()),
                            ("RecordingDuration", "8"),
                            ("Digits", "#"),
                        ]),
                    )
                    .await?;
                    if let Some(callback) = status_callback {
                        post(
                            callback,
                            call(&[
                                ("RecordingSid", recording_sid.as_str()),
                                ("RecordingUrl", recording_url.as_str()),
                                ("RecordingStatus", "completed"),
                                ("RecordingDuration", "8"),
                                ("RecordingChannels", "1"),
                                ("RecordingSource", "RecordVerb"),
                            ]),
                        )
                        .await?;
                    }
                    transcription = transcribe_callback
                        .map(|callback| (callback, recording_sid, recording_url));
                }
                Step::Stream { .. } | Step::Hangup => break,
            }
        }
        let duration = (talked_secs + 5).to_string();
        post(
            self.url("/twilio/voice/status"),
            call(&[
                ("CallStatus", "completed"),
                ("CallDuration", duration.as_str()),
                ("CallbackSource", "call-progress-events"),
            ]),
        )
        .await?;
        if let Some((callback, recording_sid, recording_url)) = transcription {
            println!("   (Twilio transcribes the voicemail)\n");
            let mut params = call(&[]);
            params.extend(transcription::params(
                &self.account_sid,
                &recording_sid,
                &recording_url,
            ));
            post(callback, params).await?;
        }
        let facts = match &log {
            Some(log) => log.facts(&call_sid).await,
            None => None,
        };
        println!("The call is over.");
        for line in summary::lines(stream.as_ref(), facts.as_ref()) {
            println!("{line}");
        }
        println!("Its history: callassist audit call {call_sid}");
        if let Some(log) = log {
            log.close().await;
        }
        Ok(())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.public_base.trim_end_matches('/'))
    }

    /// Posts a signed form to `url` (a public URL), sending it to the server we talk to.
    async fn post(
        &self,
        client: &reqwest::Client,
        signer: &Signer,
        url: &str,
        params: &[(String, String)],
    ) -> anyhow::Result<String> {
        let signature = signer.sign(Algorithm::HmacSha1, url, &Body::Form(params));
        let target = match url.strip_prefix(self.public_base.trim_end_matches('/')) {
            Some(path) => format!("{}{path}", self.server.trim_end_matches('/')),
            None => url.to_owned(),
        };
        let path = url
            .strip_prefix(self.public_base.trim_end_matches('/'))
            .unwrap_or(url);
        let shown: Vec<String> = params
            .iter()
            .filter(|(k, _)| {
                !matches!(
                    k.as_str(),
                    "AccountSid" | "ApiVersion" | "Caller" | "Called" | "Direction"
                )
            })
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        println!("→ POST {path}\n    {}", shown.join(" "));
        let response = client
            .post(&target)
            .header("X-Twilio-Signature", signature)
            .form(params)
            .send()
            .await
            .with_context(|| {
                format!("cannot reach the server at {target}; is `callassist serve` running?")
            })?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        println!(
            "← {status}\n    {}\n",
            if body.is_empty() {
                "(no body)"
            } else {
                body.as_str()
            }
        );
        if !status.is_success() {
            bail!("the server answered {status} to {path}");
        }
        Ok(body)
    }
}

fn random_sid(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

#[cfg(test)]
mod tests;
