//! The real server: the release `callassist serve --no-projectors` binary as a process of its
//! own, over a scratch database holding one business whose agent answers every call (owner
//! unavailable, agent key sealed with the server's key), and the incoming-call webhook that
//! routes a call to the agent.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, Context};
use domain::business::{AgentSettings, BusinessCommand};
use domain::{Actor, CommandMetadata};
use infrastructure::event_store::{AppendSignal, Stores};
use infrastructure::twilio::signature::{Algorithm, Body, Signer};
use infrastructure::vault::Vault;
use support::{seed, SeedBusiness};

use crate::process::Child;
use crate::{ACCOUNT_SID, AUTH_TOKEN};

/// The server's `ENCRYPTION_KEY`, and decoded.
const ENCRYPTION_KEY_B64: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const ENCRYPTION_KEY: &[u8; 32] = b"0123456789abcdef0123456789abcdef";
/// The key the agent holds (the fake agent does not check it).
const AGENT_KEY: &str = "sk-bench-fake-openai-key";
const CALLER: &str = "+14155550111";
/// Nothing listens here: Twilio's REST API and OpenAI's summaries are not part of the bench
/// (a caller hanging up needs neither).
const NOWHERE: &str = "http://127.0.0.1:9";
const READY: &str = "callassist is serving at ";

/// The number every call dials.
pub struct Fixture {
    pub number: String,
}

/// One business, owner unavailable, agent with a sealed key, and a number for it.
pub async fn seed_business(pool: &sqlx::PgPool) -> anyhow::Result<Fixture> {
    let stores = Stores::new(pool, AppendSignal::new());
    let seeded = seed(
        &stores,
        SeedBusiness {
            name: "Bench Plumbing",
            owner_available: false,
            agent: true,
        },
    )
    .await;
    let sealed = Vault::new(ENCRYPTION_KEY, [])
        .seal(seeded.business_id, AGENT_KEY)
        .map_err(|err| anyhow!("sealing the agent key: {err}"))?;
    let agent = AgentSettings {
        model: "gpt-realtime".into(),
        voice: "marin".into(),
        instructions: "You are the receptionist of Bench Plumbing. Take a message.".into(),
        api_key: Some(sealed),
    };
    let meta = CommandMetadata::new("bench", "bench:voice", Actor::Cli, chrono::Utc::now());
    stores
        .businesses
        .execute(
            &seeded.business_id.to_string(),
            BusinessCommand::ConfigureAgent(agent),
            &meta,
        )
        .await?;
    Ok(Fixture {
        number: seeded.number,
    })
}

/// The `callassist` binary: `CALLASSIST_BIN`, or `release/callassist` next to this bench in
/// the target folder (`cargo build --release -p callassist-api --bin callassist`;
/// `./scripts/bench` builds it first).
pub fn binary() -> anyhow::Result<PathBuf> {
    if let Ok(path) = std::env::var("CALLASSIST_BIN") {
        return Ok(PathBuf::from(path));
    }
    // target/release/deps/voice_bridge-… → target/release/callassist
    let exe = std::env::current_exe()?;
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|release| release.join("callassist"))
        .context("cannot find the target folder")?;
    anyhow::ensure!(
        path.exists(),
        "{} is missing: build it with `cargo build --release -p callassist-api --bin callassist` \
         (./scripts/bench does), or set CALLASSIST_BIN",
        path.display()
    );
    Ok(path)
}

/// Warns when the binary is older than the sources it is built from.
pub fn warn_if_stale(binary: &std::path::Path) {
    let Ok(built) = binary.metadata().and_then(|meta| meta.modified()) else {
        return;
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let newest = [
        "api/src",
        "infrastructure/src",
        "domain/src",
        "projections/src",
    ]
    .iter()
    .filter_map(|dir| newest_file(&root.join(dir)))
    .max();
    if newest.is_some_and(|newest| newest > built) {
        eprintln!(
            "warning: {} is older than the sources; rebuild it (cargo build --release -p callassist-api --bin callassist) to measure the current code",
            binary.display()
        );
    }
}

fn newest_file(dir: &std::path::Path) -> Option<SystemTime> {
    let mut newest = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let time = if path.is_dir() {
            newest_file(&path)
        } else {
            entry.metadata().and_then(|meta| meta.modified()).ok()
        };
        newest = newest.max(time);
    }
    newest
}

/// A running `callassist serve`.
pub struct Server {
    pub process: Child,
    /// Its (empty) working folder, removed when it is stopped.
    dir: PathBuf,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    http: reqwest::Client,
    signer: Signer,
}

impl Server {
    /// Starts the binary over `database_url`, its agent sessions going to `realtime_url`.
    pub fn start(
        binary: &std::path::Path,
        database_url: &str,
        realtime_url: &str,
    ) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!(
            "callassist-voice-bench-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir)?;
        // An empty environment (but PATH) in an empty folder: no `.env` is read.
        let mut command = Command::new(binary);
        command
            .args(["serve", "--no-projectors"])
            .current_dir(&dir)
            .env_clear()
            .stdin(Stdio::null());
        if let Ok(path) = std::env::var("PATH") {
            command.env("PATH", path);
        }
        let summaries = format!("{NOWHERE}/v1");
        for (name, value) in [
            ("DATABASE_URL", database_url),
            ("BIND", "127.0.0.1:0"),
            ("JWT_SECRET", "bench-secret-bench-secret-bench-secret-01"),
            ("ENCRYPTION_KEY", ENCRYPTION_KEY_B64),
            ("TWILIO_ACCOUNT_SID", ACCOUNT_SID),
            ("TWILIO_AUTH_TOKEN", AUTH_TOKEN),
            ("TWILIO_API_BASE", NOWHERE),
            ("OPENAI_API_BASE", &summaries),
            ("OPENAI_REALTIME_URL", realtime_url),
        ] {
            command.env(name, value);
        }
        let (process, base) = Child::spawn(command, READY)?;
        Ok(Self {
            process,
            dir,
            base,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
            signer: Signer::new(AUTH_TOKEN.to_owned().into()),
        })
    }

    /// Stops the process and removes its folder.
    pub fn stop(self) -> anyhow::Result<()> {
        let stopped = self.process.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
        stopped
    }

    /// A call to `number` comes in and is routed to the agent: returns the `<Stream>` URL and
    /// its parameters from the TwiML.
    pub async fn incoming_call(
        &self,
        call_sid: &str,
        number: &str,
    ) -> anyhow::Result<(String, Vec<(String, String)>)> {
        let url = format!("{}/twilio/voice/incoming", self.base);
        let params: Vec<(String, String)> = [
            ("CallSid", call_sid),
            ("AccountSid", ACCOUNT_SID),
            ("From", CALLER),
            ("To", number),
            ("CallStatus", "ringing"),
            ("Direction", "inbound"),
            ("ApiVersion", "2010-04-01"),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
        let signature = self
            .signer
            .sign(Algorithm::HmacSha1, &url, &Body::Form(&params));
        let response = self
            .http
            .post(&url)
            .header("X-Twilio-Signature", signature)
            .form(&params)
            .send()
            .await?;
        let status = response.status();
        let twiml = response.text().await?;
        anyhow::ensure!(status == 200, "incoming webhook: {status}: {twiml}");
        let stream_url = between(&twiml, r#"<Stream url=""#, r#"""#)
            .with_context(|| format!("the call was not routed to the agent: {twiml}"))?;
        let mut parameters = Vec::new();
        let mut rest = twiml.as_str();
        while let Some(at) = rest.find("<Parameter ") {
            rest = &rest[at..];
            let name = between(rest, r#"name=""#, r#"""#).context("parameter name")?;
            let value = between(rest, r#"value=""#, r#"""#).context("parameter value")?;
            parameters.push((name, value));
            rest = &rest[1..];
        }
        Ok((stream_url, parameters))
    }
}

/// The text between `start` and the next `end`.
fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(text[from..to].to_owned())
}
