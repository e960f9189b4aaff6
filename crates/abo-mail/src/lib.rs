//! `abo-mail`: the customer e-mails of spec §1.12.
//!
//! * [`EmailType`]: every type, the id it is about, the link it carries, whether the invoice
//!   PDF is attached. The outbox payload of each is read by [`EmailJob::parse`].
//! * [`render`]: subject, HTML and plain-text alternative from minijinja templates per
//!   language (en, fr; embedded defaults in `templates/`), overridable per segment in the
//!   database; amounts and dates formatted in the e-mail's language.
//! * [`deliver`]: what the engine runs for an `Email` job: checks the segment's switch,
//!   signs the link (rewritten through crylk when the segment integrates the portal), attaches
//!   the PDF, sends over SMTP ([`Mailer`], lettre with rustls) and records the e-mail once
//!   per job natural key; see the module for the exactly-once argument and its one window.
//! * [`send_link`]: the merchant's "send link" action (`HostedLinkSent`); [`settings`]: the
//!   per-segment switches and template overrides, checked before they are stored;
//!   [`catalog`]: the catalogue import with its `[segment.emails]` part.
//! * [`SmtpSink`]: a loopback SMTP server keeping messages in memory (the demo mailbox).

pub mod attachment;
pub mod catalog;
pub mod deliver;
mod error;
mod payload;
pub mod prepare;
pub mod render;
pub mod send_link;
pub mod settings;
pub mod sink;
pub mod smtp;
mod types;

pub use deliver::{Delivery, deliver};
pub use error::MailError;
pub use payload::EmailJob;
pub use sink::{ReceivedMail, SmtpSink};
pub use smtp::{Mailer, Secret, SmtpSettings, TlsMode};
pub use types::{EmailType, Subject};

/// The outbox job kind of customer e-mails (same as `abo_service::billing::JOB_EMAIL`).
pub const JOB_KIND: &str = abo_service::billing::JOB_EMAIL;
