//! SMTP: settings, the MIME message, and the [`Mailer`] the engine sends with.

use std::time::{Duration, SystemTime};

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment as MimeAttachment, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};

use crate::attachment::Attachment;
use crate::error::MailError;
use crate::render::Rendered;

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain text: only for a relay on the same host (e.g. the demo mailbox on loopback).
    None,
    /// Plain text upgraded with STARTTLS, required (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte ("implicit TLS", port 465).
    Tls,
}

/// A secret (the SMTP password): never printed by `Debug`, serialised as the plain string.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"***\"")
    }
}

/// Where and how to send customer e-mails (the `smtp_*` and `mail_from` keys of abo.toml).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username: Option<String>,
    /// Never logged nor printed.
    pub password: Option<Secret>,
    /// The `From` of every e-mail, e.g. `Acme Billing <billing@acme.example>`.
    pub from: String,
    /// Per SMTP command; a stuck server fails the job, which is retried later.
    pub timeout: Duration,
}

impl SmtpSettings {
    /// Checks the settings without connecting (nor needing a runtime): the `from` address,
    /// the TLS parameters, and no credentials in clear text to another host.
    /// Errors: [`MailError::Config`].
    pub fn validate(&self) -> Result<(), MailError> {
        self.sender_mailbox()?;
        self.tls_setting()?;
        if self.username.is_some() && self.tls == TlsMode::None && !is_loopback(&self.host) {
            return Err(MailError::Config(
                "SMTP credentials need smtp_tls = \"starttls\" or \"tls\"".into(),
            ));
        }
        Ok(())
    }

    fn sender_mailbox(&self) -> Result<Mailbox, MailError> {
        self.from
            .parse()
            .map_err(|e| MailError::Config(format!("mail_from {:?}: {e}", self.from)))
    }

    fn tls_setting(&self) -> Result<Tls, MailError> {
        Ok(match self.tls {
            TlsMode::None => Tls::None,
            TlsMode::Starttls => Tls::Required(tls_parameters(&self.host)?),
            TlsMode::Tls => Tls::Wrapper(tls_parameters(&self.host)?),
        })
    }

    /// Plain SMTP to a server on this host (demo mailbox, tests).
    pub fn loopback(port: u16, from: &str) -> SmtpSettings {
        SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            tls: TlsMode::None,
            username: None,
            password: None,
            from: from.into(),
            timeout: Duration::from_secs(30),
        }
    }
}

/// Sends rendered e-mails; cheap to clone (the connection pool is shared).
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// Where the hosted pages are served (the links' base).
    base_url: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// Errors: see [`SmtpSettings::validate`]. Must run inside a Tokio runtime (the
    /// connection pool starts a task).
    pub fn new(settings: &SmtpSettings, base_url: &str) -> Result<Mailer, MailError> {
        settings.validate()?;
        let from = settings.sender_mailbox()?;
        let tls = settings.tls_setting()?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            .port(settings.port)
            .tls(tls)
            .timeout(Some(settings.timeout));
        if let Some(user) = &settings.username {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                settings
                    .password
                    .as_ref()
                    .map(|p| p.0.clone())
                    .unwrap_or_default(),
            ));
        }
        Ok(Mailer {
            transport: builder.build(),
            from,
            base_url: base_url.trim_end_matches('/').to_owned(),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    /// Hands one message to the SMTP server. Errors: [`MailError::Smtp`], `permanent` when
    /// the server answered 5xx (retrying would not help).
    pub async fn send(&self, message: Message) -> Result<(), MailError> {
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| MailError::Smtp {
                permanent: e.is_permanent(),
                message: e.to_string(),
            })
    }
}

fn tls_parameters(host: &str) -> Result<TlsParameters, MailError> {
    TlsParameters::new(host.to_owned()).map_err(|e| MailError::Config(format!("SMTP TLS: {e}")))
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The MIME message: `multipart/mixed` of (`multipart/alternative` text + HTML) and the
/// attachments. `message_id` is derived from the outbox job, so a copy sent again in the
/// crash window (see `deliver`) carries the same id and mail clients can fold the two.
#[allow(clippy::too_many_arguments)]
pub fn build_message(
    from: &Mailbox,
    to: &str,
    language: &str,
    rendered: &Rendered,
    attachments: &[Attachment],
    message_id: &str,
    date: SystemTime,
) -> Result<Message, MailError> {
    let to: Mailbox = to
        .parse()
        .map_err(|e| MailError::Data(format!("recipient {to:?}: {e}")))?;
    let alternative =
        MultiPart::alternative_plain_html(rendered.text.clone(), rendered.html.clone());
    let builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(rendered.subject.clone())
        .message_id(Some(message_id.to_owned()))
        .date(date);
    let mut message = if attachments.is_empty() {
        builder.multipart(alternative)
    } else {
        let mut mixed = MultiPart::mixed().multipart(alternative);
        for a in attachments {
            let content_type = ContentType::parse(&a.content_type)
                .map_err(|e| MailError::Data(format!("attachment type: {e}")))?;
            mixed = mixed.singlepart(
                MimeAttachment::new(a.filename.clone()).body(a.bytes.clone(), content_type),
            );
        }
        builder.multipart(mixed)
    }
    .map_err(|e| MailError::Data(format!("message: {e}")))?;
    message.headers_mut().insert_raw(HeaderValue::new(
        HeaderName::new_from_ascii_str("Content-Language"),
        language.to_owned(),
    ));
    Ok(message)
}
