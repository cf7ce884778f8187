//! Typed settings, read once at start from the environment (a `.env` file is loaded first if
//! present; real environment variables win).
//!
//! Every problem is collected and reported together, naming the variable, so an operator fixes
//! a broken configuration in one go rather than one restart per mistake.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use url::Url;

use crate::openai::realtime::Interface;

/// Default address the HTTP server binds to.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
/// Twilio's REST API.
pub const DEFAULT_TWILIO_API_BASE: &str = "https://api.twilio.com";
/// OpenAI's HTTP API.
pub const DEFAULT_OPENAI_API_BASE: &str = "https://api.openai.com";
/// How long a webhook waits for the event store by default, in milliseconds.
pub const DEFAULT_WEBHOOK_STORE_TIMEOUT_MS: u64 = 2_000;
/// What Redis keys start with unless `REDIS_KEY_PREFIX` says otherwise.
pub const DEFAULT_REDIS_KEY_PREFIX: &str = "callassist";
/// The model that writes post-call summaries.
pub const DEFAULT_OPENAI_SUMMARY_MODEL: &str = "gpt-4o-mini";
/// OpenAI's Realtime WebSocket.
pub const DEFAULT_OPENAI_REALTIME_URL: &str = "wss://api.openai.com/v1/realtime?model=gpt-realtime";
/// How long opening the OpenAI Realtime WebSocket may take by default, in milliseconds.
pub const DEFAULT_OPENAI_CONNECT_TIMEOUT_MS: u64 = 3_000;
/// The longest AI agent session by default, in seconds: the Realtime API's 60 minutes less a
/// minute of margin.
pub const DEFAULT_AI_SESSION_MAX_SECS: u64 = 59 * 60;
/// How long before that limit the agent is told to wrap up, by default, in seconds.
pub const DEFAULT_AI_SESSION_WRAP_UP_SECS: u64 = 60;
/// Failed logins for one account within the window before it is locked, by default.
pub const DEFAULT_LOGIN_MAX_FAILURES_PER_ACCOUNT: u32 = 5;
/// Failed logins from one client address within the window before it is locked, by default.
pub const DEFAULT_LOGIN_MAX_FAILURES_PER_ADDRESS: u32 = 20;
/// The window failed logins are counted in (and a lock lasts at most), in seconds, by default.
pub const DEFAULT_LOGIN_FAILURE_WINDOW_SECS: u64 = 15 * 60;

/// The configuration was missing or malformed; lists every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SettingsError {
    /// One line per problem, each naming its variable.
    pub problems: Vec<String>,
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid configuration:")?;
        for problem in &self.problems {
            writeln!(f, "  - {problem}")?;
        }
        Ok(())
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Where the database is.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// `postgres://…` connection string (may hold a password).
    pub url: SecretString,
}

/// Twilio account and API.
#[derive(Debug, Clone)]
pub struct TwilioSettings {
    /// `AC…`: the account whose numbers we answer.
    pub account_sid: String,
    /// Auth token: Twilio signs its webhooks with it; it authenticates our REST calls.
    pub auth_token: SecretString,
    /// The secret of a Webhooks SharedKey: when a Webhook Rule matches our URL, Twilio signs
    /// with it (and the algorithm its `X-Twilio-Webhooks-Signature-Settings` header names)
    /// instead of the auth token.
    pub webhooks_shared_key: Option<SecretString>,
    /// REST API base URL (tests point it at a fake).
    pub api_base: Url,
}

/// OpenAI endpoints.
#[derive(Debug, Clone)]
pub struct OpenAiSettings {
    /// HTTP API base URL (summaries).
    pub api_base: Url,
    /// The model that writes post-call summaries (`OPENAI_SUMMARY_MODEL`).
    pub summary_model: String,
    /// Realtime WebSocket URL.
    pub realtime_url: Url,
    /// Which Realtime interface to speak (`OPENAI_REALTIME_INTERFACE`: `ga`, the default, or
    /// `beta`).
    pub realtime_interface: Interface,
    /// How long the Realtime handshake may take before the call falls back to voicemail
    /// (`OPENAI_CONNECT_TIMEOUT_MS`).
    pub connect_timeout: Duration,
}

/// Limits of the voice bridge's AI sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoiceSettings {
    /// The longest an AI session may last (`AI_SESSION_MAX_SECS`); at the limit the call goes
    /// to voicemail.
    pub session_max: Duration,
    /// How long before that limit the agent is told to wrap up politely
    /// (`AI_SESSION_WRAP_UP_SECS`); shorter than `session_max`.
    pub wrap_up_lead: Duration,
}

impl Default for VoiceSettings {
    fn default() -> Self {
        Self {
            session_max: Duration::from_secs(DEFAULT_AI_SESSION_MAX_SECS),
            wrap_up_lead: Duration::from_secs(DEFAULT_AI_SESSION_WRAP_UP_SECS),
        }
    }
}

/// How many failed logins are tolerated before further attempts are refused (429).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimitSettings {
    /// Failures for one account (email) within `window` (`LOGIN_MAX_FAILURES_PER_ACCOUNT`).
    pub max_failures_per_account: u32,
    /// Failures from one client address within `window` (`LOGIN_MAX_FAILURES_PER_ADDRESS`).
    pub max_failures_per_address: u32,
    /// The window failures are counted in; a lock ends with it (`LOGIN_FAILURE_WINDOW_SECS`).
    pub window: Duration,
}

impl Default for LoginLimitSettings {
    fn default() -> Self {
        Self {
            max_failures_per_account: DEFAULT_LOGIN_MAX_FAILURES_PER_ACCOUNT,
            max_failures_per_address: DEFAULT_LOGIN_MAX_FAILURES_PER_ADDRESS,
            window: Duration::from_secs(DEFAULT_LOGIN_FAILURE_WINDOW_SECS),
        }
    }
}

/// 32 bytes that encrypt API keys at rest.
pub type EncryptionKey = SecretBox<[u8; 32]>;

/// Everything `callassist serve` needs.
#[derive(Debug)]
pub struct Settings {
    /// The database.
    pub database: DatabaseSettings,
    /// Address the HTTP server binds to.
    pub bind: SocketAddr,
    /// The URL Twilio and browsers reach us at (signatures and stream URLs are built on it);
    /// `None`: the address the server is bound to.
    pub public_base_url: Option<Url>,
    /// How long a webhook waits for the event store before it answers from memory.
    pub webhook_store_timeout: Duration,
    /// RabbitMQ; the relay is off without it.
    pub amqp_url: Option<SecretString>,
    /// Redis (`REDIS_URL`), where every node counts failed logins; `None`: each node counts in
    /// its own memory, which is for one node.
    pub redis_url: Option<SecretString>,
    /// What every key this deployment keeps in Redis starts with (`REDIS_KEY_PREFIX`), so
    /// several deployments (or test runs) can share one Redis.
    pub redis_key_prefix: String,
    /// Twilio.
    pub twilio: TwilioSettings,
    /// OpenAI.
    pub openai: OpenAiSettings,
    /// Signs access tokens; at least 32 bytes.
    pub jwt_secret: SecretString,
    /// Former JWT secrets (`JWT_SECRETS_RETIRED`): access tokens they signed (named by their
    /// key id) are still accepted until they expire; they sign nothing new.
    pub retired_jwt_secrets: Vec<SecretString>,
    /// Encrypts API keys at rest.
    pub encryption_key: EncryptionKey,
    /// Former encryption keys: they still open what they sealed, they seal nothing new.
    pub retired_encryption_keys: Vec<EncryptionKey>,
    /// Log format.
    pub log_format: LogFormat,
    /// bcrypt cost of password hashes.
    pub bcrypt_cost: u32,
    /// Failed-login limits.
    pub login_limits: LoginLimitSettings,
    /// Whether `X-Forwarded-For` names the client (`TRUST_FORWARDED_FOR`): only behind a proxy
    /// that sets it, else any client could claim any address.
    pub trust_forwarded_for: bool,
    /// Whether outbound webhooks may go to `http://` on this machine (`127.0.0.1`, `[::1]`,
    /// `localhost`) (`WEBHOOKS_ALLOW_HTTP_LOOPBACK`, false by default): tests and local
    /// development only; otherwise endpoints must be `https://` on the public internet.
    pub webhooks_allow_http_loopback: bool,
    /// Origins (`scheme://host[:port]`) browsers may call the API from (`CORS_ALLOWED_ORIGINS`);
    /// empty: no CORS headers at all.
    pub cors_allowed_origins: Vec<String>,
    /// The voice bridge's session limits.
    pub voice: VoiceSettings,
    /// Where owner notifications are emailed from (`SMTP_URL`, `SMTP_FROM`); `None`: owners
    /// get text messages only.
    pub smtp: Option<SmtpSettings>,
}

/// The SMTP server owner notifications are emailed through.
#[derive(Debug)]
pub struct SmtpSettings {
    /// `smtp://host:25`, `smtp://user:pass@host:587?tls=required` or `smtps://user:pass@host:465`.
    pub url: SecretString,
    /// The sender, e.g. `Call Assistant <calls@example.com>`.
    pub from: String,
}

/// Reads variables through a lookup function, collecting problems.
struct Reader<F> {
    lookup: F,
    problems: Vec<String>,
}

impl<F: Fn(&str) -> Option<String>> Reader<F> {
    fn optional(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|value| !value.trim().is_empty())
    }

    fn required(&mut self, name: &str, what: &str) -> Option<String> {
        let value = self.optional(name);
        if value.is_none() {
            self.problems.push(format!("{name} is missing: {what}"));
        }
        value
    }

    fn url(&mut self, name: &str, default: &str, schemes: &[&str]) -> Option<Url> {
        let raw = self.optional(name).unwrap_or_else(|| default.to_owned());
        match Url::parse(&raw) {
            Ok(url) if schemes.contains(&url.scheme()) => Some(url),
            Ok(_) => {
                self.problems.push(format!(
                    "{name} must be a {} URL, not '{raw}'",
                    schemes.join(" or ")
                ));
                None
            }
            Err(err) => {
                self.problems
                    .push(format!("{name} is not a valid URL ('{raw}'): {err}"));
                None
            }
        }
    }
}

impl DatabaseSettings {
    /// Reads `DATABASE_URL` from the environment (after `.env`).
    pub fn from_env() -> Result<Self, SettingsError> {
        load_dotenv();
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads `DATABASE_URL` through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let mut reader = Reader {
            lookup,
            problems: Vec::new(),
        };
        let database = read_database(&mut reader);
        match database {
            Some(database) if reader.problems.is_empty() => Ok(database),
            _ => Err(SettingsError {
                problems: reader.problems,
            }),
        }
    }
}

fn read_database<F: Fn(&str) -> Option<String>>(
    reader: &mut Reader<F>,
) -> Option<DatabaseSettings> {
    let url = reader.required(
        "DATABASE_URL",
        "the PostgreSQL connection string, e.g. postgres://user@localhost/callassist",
    )?;
    match Url::parse(&url) {
        Ok(parsed) if matches!(parsed.scheme(), "postgres" | "postgresql") => {
            Some(DatabaseSettings {
                url: SecretString::from(url),
            })
        }
        _ => {
            reader
                .problems
                .push("DATABASE_URL must be a postgres:// URL".to_owned());
            None
        }
    }
}

impl Settings {
    /// Reads every setting from the environment (after `.env`).
    pub fn from_env() -> Result<Self, SettingsError> {
        load_dotenv();
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads every setting through `lookup`, reporting all problems at once.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let mut reader = Reader {
            lookup,
            problems: Vec::new(),
        };
        let database = read_database(&mut reader);

        let bind_raw = reader
            .optional("BIND")
            .unwrap_or_else(|| DEFAULT_BIND.to_owned());
        let bind = bind_raw.parse::<SocketAddr>().map_err(|_| {
            reader.problems.push(format!(
                "BIND must be an address and port like 127.0.0.1:8080, not '{bind_raw}'"
            ));
        });
        let public_base_url = match reader.optional("PUBLIC_BASE_URL") {
            None => Some(None),
            Some(_) => reader
                .url("PUBLIC_BASE_URL", DEFAULT_BIND, &["http", "https"])
                .map(Some),
        };
        let timeout_raw = reader.optional("WEBHOOK_STORE_TIMEOUT_MS");
        let webhook_store_timeout = match timeout_raw.as_deref().map(str::parse::<u64>) {
            None => Duration::from_millis(DEFAULT_WEBHOOK_STORE_TIMEOUT_MS),
            Some(Ok(ms)) if (1..=10_000).contains(&ms) => Duration::from_millis(ms),
            Some(_) => {
                reader.problems.push(format!(
                    "WEBHOOK_STORE_TIMEOUT_MS must be milliseconds from 1 to 10000, not '{}'",
                    timeout_raw.unwrap_or_default()
                ));
                Duration::from_millis(DEFAULT_WEBHOOK_STORE_TIMEOUT_MS)
            }
        };
        let amqp_url = reader.optional("AMQP_URL");
        if let Some(raw) = &amqp_url {
            if !matches!(
                Url::parse(raw).map(|u| u.scheme().to_owned()).as_deref(),
                Ok("amqp" | "amqps")
            ) {
                reader
                    .problems
                    .push("AMQP_URL must be an amqp:// or amqps:// URL".to_owned());
            }
        }
        let redis_key_prefix = reader
            .optional("REDIS_KEY_PREFIX")
            .unwrap_or_else(|| DEFAULT_REDIS_KEY_PREFIX.to_owned());
        let prefix_ok = !redis_key_prefix.is_empty()
            && redis_key_prefix.len() <= 64
            && redis_key_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-' | '.'));
        if !prefix_ok {
            reader
                .problems
                .push("REDIS_KEY_PREFIX must be 1 to 64 letters, digits or : _ - .".to_owned());
        }
        let redis_url = reader.optional("REDIS_URL");
        if let Some(raw) = &redis_url {
            if !matches!(
                Url::parse(raw).map(|u| u.scheme().to_owned()).as_deref(),
                Ok("redis" | "rediss")
            ) {
                reader
                    .problems
                    .push("REDIS_URL must be a redis:// or rediss:// URL".to_owned());
            }
        }

        let smtp = match (reader.optional("SMTP_URL"), reader.optional("SMTP_FROM")) {
            (None, None) => None,
            (Some(url), Some(from)) => {
                if !matches!(
                    Url::parse(&url).map(|u| u.scheme().to_owned()).as_deref(),
                    Ok("smtp" | "smtps")
                ) {
                    reader
                        .problems
                        .push("SMTP_URL must be an smtp:// or smtps:// URL".to_owned());
                }
                if !from.contains('@') {
                    reader.problems.push(
                        "SMTP_FROM must be an email address, e.g. Call Assistant <calls@example.com>"
                            .to_owned(),
                    );
                }
                Some(SmtpSettings {
                    url: SecretString::from(url),
                    from,
                })
            }
            (Some(_), None) => {
                reader.problems.push(
                    "SMTP_FROM is required with SMTP_URL (the sender of owner emails)".to_owned(),
                );
                None
            }
            (None, Some(_)) => {
                reader.problems.push(
                    "SMTP_URL is required with SMTP_FROM (the server owner emails go through)"
                        .to_owned(),
                );
                None
            }
        };

        let account_sid = reader.required(
            "TWILIO_ACCOUNT_SID",
            "the Twilio account (AC…) whose numbers we answer",
        );
        if let Some(sid) = &account_sid {
            let valid = sid.len() == 34
                && sid.starts_with("AC")
                && sid[2..].bytes().all(|b| b.is_ascii_hexdigit());
            if !valid {
                reader
                    .problems
                    .push("TWILIO_ACCOUNT_SID must be AC followed by 32 hex digits".to_owned());
            }
        }
        let webhooks_shared_key = reader
            .optional("TWILIO_WEBHOOKS_SHARED_KEY")
            .map(SecretString::from);
        let auth_token = reader
            .required(
                "TWILIO_AUTH_TOKEN",
                "the Twilio auth token; webhooks are signed with it",
            )
            .map(SecretString::from);
        let twilio_api_base = reader.url(
            "TWILIO_API_BASE",
            DEFAULT_TWILIO_API_BASE,
            &["http", "https"],
        );
        let openai_api_base = reader.url(
            "OPENAI_API_BASE",
            DEFAULT_OPENAI_API_BASE,
            &["http", "https"],
        );
        let summary_model = reader.optional("OPENAI_SUMMARY_MODEL").map_or_else(
            || DEFAULT_OPENAI_SUMMARY_MODEL.to_owned(),
            |raw| raw.trim().to_owned(),
        );
        if summary_model.chars().count() > 200 || summary_model.chars().any(char::is_whitespace) {
            reader.problems.push(format!(
                "OPENAI_SUMMARY_MODEL must be a model name like {DEFAULT_OPENAI_SUMMARY_MODEL}, not '{summary_model}'"
            ));
        }
        let openai_realtime_url = reader.url(
            "OPENAI_REALTIME_URL",
            DEFAULT_OPENAI_REALTIME_URL,
            &["ws", "wss"],
        );
        let realtime_interface = match reader.optional("OPENAI_REALTIME_INTERFACE") {
            None => Interface::Ga,
            Some(raw) => Interface::parse(&raw).unwrap_or_else(|| {
                reader.problems.push(format!(
                    "OPENAI_REALTIME_INTERFACE must be 'ga' or 'beta', not '{raw}'"
                ));
                Interface::Ga
            }),
        };
        let openai_connect_timeout = Duration::from_millis(read_number(
            &mut reader,
            "OPENAI_CONNECT_TIMEOUT_MS",
            1..=60_000,
            DEFAULT_OPENAI_CONNECT_TIMEOUT_MS,
        ));

        let jwt_secret = reader.required(
            "JWT_SECRET",
            "at least 32 random bytes that sign access tokens",
        );
        if let Some(secret) = &jwt_secret {
            if secret.len() < 32 {
                reader.problems.push(format!(
                    "JWT_SECRET must be at least 32 bytes, it has {}",
                    secret.len()
                ));
            }
        }
        let retired_jwt_secrets = read_retired_jwt_secrets(&mut reader);
        let (encryption_key, retired_encryption_keys) = read_encryption_keys(&mut reader);

        let log_format = match reader
            .optional("LOG_FORMAT")
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                reader.problems.push(format!(
                    "LOG_FORMAT must be 'json' or 'text', not '{other}'"
                ));
                LogFormat::Text
            }
        };

        let bcrypt_cost = match bcrypt_cost_from_lookup(|name| reader.optional(name)) {
            Ok(cost) => cost,
            Err(err) => {
                reader.problems.extend(err.problems);
                crate::accounts::DEFAULT_BCRYPT_COST
            }
        };
        let login_limits = read_login_limits(&mut reader);
        let trust_forwarded_for = read_flag(&mut reader, "TRUST_FORWARDED_FOR");
        let webhooks_allow_http_loopback = read_flag(&mut reader, "WEBHOOKS_ALLOW_HTTP_LOOPBACK");
        let voice = read_voice(&mut reader);
        let cors_allowed_origins = match reader.optional("CORS_ALLOWED_ORIGINS") {
            None => Vec::new(),
            Some(raw) => parse_origins(&raw).unwrap_or_else(|problem| {
                reader.problems.push(problem);
                Vec::new()
            }),
        };
        let (
            Some(database),
            Ok(bind),
            Some(public_base_url),
            Some(twilio_api_base),
            Some(openai_api_base),
            Some(openai_realtime_url),
            Some(jwt_secret),
            Some(encryption_key),
            Some(account_sid),
            Some(auth_token),
        ) = (
            database,
            bind,
            public_base_url,
            twilio_api_base,
            openai_api_base,
            openai_realtime_url,
            jwt_secret,
            encryption_key,
            account_sid,
            auth_token,
        )
        else {
            return Err(SettingsError {
                problems: reader.problems,
            });
        };
        if !reader.problems.is_empty() {
            return Err(SettingsError {
                problems: reader.problems,
            });
        }
        Ok(Self {
            database,
            bind,
            public_base_url,
            webhook_store_timeout,
            amqp_url: amqp_url.map(SecretString::from),
            redis_url: redis_url.map(SecretString::from),
            redis_key_prefix,
            twilio: TwilioSettings {
                account_sid,
                auth_token,
                webhooks_shared_key,
                api_base: twilio_api_base,
            },
            openai: OpenAiSettings {
                api_base: openai_api_base,
                summary_model,
                realtime_url: openai_realtime_url,
                realtime_interface,
                connect_timeout: openai_connect_timeout,
            },
            jwt_secret: SecretString::from(jwt_secret),
            retired_jwt_secrets,
            encryption_key,
            retired_encryption_keys,
            log_format,
            bcrypt_cost,
            login_limits,
            trust_forwarded_for,
            webhooks_allow_http_loopback,
            cors_allowed_origins,
            voice,
            smtp,
        })
    }
}

/// `ENCRYPTION_KEY` and `ENCRYPTION_KEYS_RETIRED` alone: what `callassist keys` needs.
#[derive(Debug)]
pub struct EncryptionKeys {
    /// Seals (`ENCRYPTION_KEY`).
    pub current: EncryptionKey,
    /// Only open what they sealed (`ENCRYPTION_KEYS_RETIRED`).
    pub retired: Vec<EncryptionKey>,
}

impl EncryptionKeys {
    /// Reads them from the environment (after `.env`).
    pub fn from_env() -> Result<Self, SettingsError> {
        load_dotenv();
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads them through `lookup`, as [`Settings::from_lookup`] does.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let mut reader = Reader {
            lookup,
            problems: Vec::new(),
        };
        let (current, retired) = read_encryption_keys(&mut reader);
        match current {
            Some(current) if reader.problems.is_empty() => Ok(Self { current, retired }),
            _ => Err(SettingsError {
                problems: reader.problems,
            }),
        }
    }
}

/// `ENCRYPTION_KEY` (required) and `ENCRYPTION_KEYS_RETIRED` (comma-separated, none when unset).
fn read_encryption_keys<F: Fn(&str) -> Option<String>>(
    reader: &mut Reader<F>,
) -> (Option<EncryptionKey>, Vec<EncryptionKey>) {
    let encryption_key = reader
        .required(
            "ENCRYPTION_KEY",
            "32 random bytes, standard base64, that encrypt API keys at rest",
        )
        .and_then(|raw| match decode_key(&raw) {
            Some(key) => Some(key),
            None => {
                reader.problems.push(
                    "ENCRYPTION_KEY must be 32 bytes in standard base64 (openssl rand -base64 32)"
                        .to_owned(),
                );
                None
            }
        });
    let retired_encryption_keys = reader
            .optional("ENCRYPTION_KEYS_RETIRED")
            .map(|raw| {
                raw.split(',')
                    .filter(|key| !key.trim().is_empty())
                    .filter_map(|key| {
                        let decoded = decode_key(key);
                        if decoded.is_none() {
                            reader.problems.push("ENCRYPTION_KEYS_RETIRED must be comma-separated keys of 32 bytes in standard base64".to_owned());
                        }
                        decoded
                    })
                    .collect()
            })
            .unwrap_or_default();
    (encryption_key, retired_encryption_keys)
}

/// `JWT_SECRETS_RETIRED`: comma-separated former `JWT_SECRET`s (surrounding spaces ignored),
/// each at least 32 bytes; none when unset.
fn read_retired_jwt_secrets<F: Fn(&str) -> Option<String>>(
    reader: &mut Reader<F>,
) -> Vec<SecretString> {
    let Some(raw) = reader.optional("JWT_SECRETS_RETIRED") else {
        return Vec::new();
    };
    let secrets: Vec<&str> = raw
        .split(',')
        .map(str::trim)
        .filter(|secret| !secret.is_empty())
        .collect();
    if secrets.iter().any(|secret| secret.len() < 32) {
        reader.problems.push(
            "JWT_SECRETS_RETIRED must be comma-separated secrets of at least 32 bytes each"
                .to_owned(),
        );
        return Vec::new();
    }
    secrets
        .into_iter()
        .map(|secret| SecretString::from(secret.to_owned()))
        .collect()
}

/// A whole number from `range`, or `default` when unset; a problem naming `name` otherwise.
fn read_number<F: Fn(&str) -> Option<String>>(
    reader: &mut Reader<F>,
    name: &str,
    range: std::ops::RangeInclusive<u64>,
    default: u64,
) -> u64 {
    let Some(raw) = reader.optional(name) else {
        return default;
    };
    match raw.trim().parse::<u64>() {
        Ok(value) if range.contains(&value) => value,
        _ => {
            reader.problems.push(format!(
                "{name} must be a whole number from {} to {}, not '{raw}'",
                range.start(),
                range.end()
            ));
            default
        }
    }
}

fn read_login_limits<F: Fn(&str) -> Option<String>>(reader: &mut Reader<F>) -> LoginLimitSettings {
    let defaults = LoginLimitSettings::default();
    let per_account = read_number(
        reader,
        "LOGIN_MAX_FAILURES_PER_ACCOUNT",
        1..=1_000,
        u64::from(defaults.max_failures_per_account),
    );
    let per_address = read_number(
        reader,
        "LOGIN_MAX_FAILURES_PER_ADDRESS",
        1..=1_000_000,
        u64::from(defaults.max_failures_per_address),
    );
    let window = read_number(
        reader,
        "LOGIN_FAILURE_WINDOW_SECS",
        1..=7 * 24 * 3600,
        defaults.window.as_secs(),
    );
    LoginLimitSettings {
        max_failures_per_account: u32::try_from(per_account)
            .unwrap_or(defaults.max_failures_per_account),
        max_failures_per_address: u32::try_from(per_address)
            .unwrap_or(defaults.max_failures_per_address),
        window: Duration::from_secs(window),
    }
}

fn read_voice<F: Fn(&str) -> Option<String>>(reader: &mut Reader<F>) -> VoiceSettings {
    let max = read_number(
        reader,
        "AI_SESSION_MAX_SECS",
        1..=3_600,
        DEFAULT_AI_SESSION_MAX_SECS,
    );
    let lead = read_number(
        reader,
        "AI_SESSION_WRAP_UP_SECS",
        0..=600,
        DEFAULT_AI_SESSION_WRAP_UP_SECS.min(max.saturating_sub(1)),
    );
    if lead >= max {
        reader.problems.push(format!(
            "AI_SESSION_WRAP_UP_SECS ({lead}) must be shorter than AI_SESSION_MAX_SECS ({max})"
        ));
    }
    VoiceSettings {
        session_max: Duration::from_secs(max),
        wrap_up_lead: Duration::from_secs(lead),
    }
}

/// `true`/`false` (also `1`/`0`, `yes`/`no`), false when unset.
fn read_flag<F: Fn(&str) -> Option<String>>(reader: &mut Reader<F>, name: &str) -> bool {
    let Some(raw) = reader.optional(name) else {
        return false;
    };
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => true,
        "false" | "0" | "no" => false,
        _ => {
            reader
                .problems
                .push(format!("{name} must be 'true' or 'false', not '{raw}'"));
            false
        }
    }
}

/// Parses `CORS_ALLOWED_ORIGINS`: comma-separated `http(s)://host[:port]` origins (no path,
/// query or credentials), returned as browsers send them in `Origin` (lower-case host, default
/// port left out), so they compare byte for byte.
///
/// # Errors
/// A message naming `CORS_ALLOWED_ORIGINS` and the first malformed origin.
pub fn parse_origins(raw: &str) -> Result<Vec<String>, String> {
    let mut origins = Vec::new();
    for item in raw
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        let problem = |why: &str| {
            format!("CORS_ALLOWED_ORIGINS: '{item}' is not an origin like https://app.example.com ({why})")
        };
        if item == "*" {
            return Err(problem("list the origins; '*' is not accepted"));
        }
        let url = Url::parse(item).map_err(|err| problem(&err.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(problem("the scheme must be http or https"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(problem("no credentials"));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(problem("no path, query or fragment"));
        }
        let origin = url.origin();
        if !origin.is_tuple() {
            return Err(problem("no host"));
        }
        let origin = origin.ascii_serialization();
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    Ok(origins)
}

fn decode_key(raw: &str) -> Option<EncryptionKey> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(raw.trim())
        .ok()?;
    let key: [u8; 32] = bytes.try_into().ok()?;
    Some(SecretBox::new(Box::new(key)))
}

/// Loads `.env` into the process environment if the file exists; variables already set win.
pub fn load_dotenv() {
    // A missing .env is normal; a malformed one is reported by the settings it fails to set.
    let _ = dotenvy::dotenv();
}

/// The log format from `LOG_FORMAT`, for commands that log before (or without) full settings.
pub fn log_format_from_env() -> LogFormat {
    match std::env::var("LOG_FORMAT")
        .map(|v| v.to_ascii_lowercase())
        .as_deref()
    {
        Ok("json") => LogFormat::Json,
        _ => LogFormat::Text,
    }
}

/// The bcrypt cost from `BCRYPT_COST` (4 to 31, 12 when unset).
pub fn bcrypt_cost_from_env() -> Result<u32, SettingsError> {
    bcrypt_cost_from_lookup(|name| std::env::var(name).ok())
}

/// The bcrypt cost from `BCRYPT_COST` through `lookup`.
pub fn bcrypt_cost_from_lookup(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<u32, SettingsError> {
    match lookup("BCRYPT_COST").filter(|raw| !raw.trim().is_empty()) {
        None => Ok(crate::accounts::DEFAULT_BCRYPT_COST),
        Some(raw) => match raw.trim().parse::<u32>() {
            Ok(cost) if (4..=31).contains(&cost) => Ok(cost),
            _ => Err(SettingsError {
                problems: vec![format!(
                    "BCRYPT_COST must be a whole number from 4 to 31, not '{raw}'"
                )],
            }),
        },
    }
}

/// Exposes the database URL for connecting (kept out of `Debug` output).
pub fn database_url(settings: &DatabaseSettings) -> &str {
    settings.url.expose_secret()
}

#[cfg(test)]
mod tests;
