//! Email through the deployment's SMTP server (lettre). `SMTP_URL` says where and how:
//! `smtp://host:25` (plain, for a relay on the same network), `smtp://user:pass@host:587?tls=required`
//! (STARTTLS), `smtps://user:pass@host:465` (TLS from the start); `SMTP_FROM` is the sender.

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

/// How long one email may take (connect, TLS, dialogue).
const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// Why an email was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The SMTP settings are unusable.
    #[error("bad SMTP settings: {0}")]
    BadConfig(String),
    /// The address or the message cannot be an email; sending again will not help.
    #[error("cannot write this email: {0}")]
    BadMessage(String),
    /// The server refused for good (a 5xx reply: unknown mailbox, rejected sender).
    #[error("the SMTP server refused the email: {0}")]
    Refused(String),
    /// The server could not be reached or answered with a temporary failure.
    #[error("the SMTP server is unavailable: {0}")]
    Unavailable(String),
}

impl MailError {
    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// Sends plain-text emails from one sender.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// A mailer for `smtp_url` sending as `from` (`Name <address>` or an address).
    ///
    /// # Errors
    /// [`MailError::BadConfig`] when the URL or the sender does not parse.
    pub fn new(smtp_url: &SecretString, from: &str) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url.expose_secret())
            .map_err(|err| MailError::BadConfig(format!("SMTP_URL: {err}")))?
            .timeout(Some(SEND_TIMEOUT))
            .build();
        let from = from
            .parse()
            .map_err(|err| MailError::BadConfig(format!("SMTP_FROM '{from}': {err}")))?;
        Ok(Self { transport, from })
    }

    /// Sends `body` with `subject` to `to`.
    ///
    /// # Errors
    /// See [`MailError`]; only [`MailError::Unavailable`] is worth retrying.
    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), MailError> {
        let to: Mailbox = to
            .parse()
            .map_err(|err| MailError::BadMessage(format!("'{to}' is not an address: {err}")))?;
        let email = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|err| MailError::BadMessage(err.to_string()))?;
        match self.transport.send(email).await {
            Ok(_) => Ok(()),
            Err(err) if err.is_permanent() => Err(MailError::Refused(err.to_string())),
            Err(err) => Err(MailError::Unavailable(err.to_string())),
        }
    }
}
