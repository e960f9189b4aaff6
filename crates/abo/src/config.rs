//! Configuration: built-in defaults, then `abo.toml` (or the file given with
//! `--config`), then `ABO_*` environment variables, then command-line flags.
//! Every setting has a safe default so `abo demo` runs with none.

use anyhow::{Context, bail};
use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Keys accepted in `abo.toml` and as `ABO_<KEY>` variables.
const KEYS: &[&str] = &[
    "data_dir",
    "database_url",
    "bind",
    "port",
    "public_url",
    "log",
    "log_format",
    "smtp_host",
    "smtp_port",
    "smtp_tls",
    "smtp_username",
    "smtp_password",
    "mail_from",
    "webhooks_allow_private",
    "webhooks_allow_http",
];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the embedded SQLite database and demo files live.
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...`; defaults to `<data_dir>/abo.db`.
    pub database_url: Option<String>,
    /// Address to listen on.
    pub bind: String,
    /// Port to listen on; 0 picks a free one.
    pub port: u16,
    /// Absolute URL under which customers reach this node (links in e-mails
    /// and API responses); defaults to `http://<bind>:<port>`.
    pub public_url: Option<String>,
    /// Log filter, `tracing` env-filter syntax.
    pub log: String,
    /// `text` or `json`.
    pub log_format: String,
    /// SMTP server for customer e-mails; unset, no e-mail is sent (jobs wait).
    pub smtp_host: Option<String>,
    /// Default 587 (STARTTLS), 465 with `smtp_tls = "tls"`.
    pub smtp_port: Option<u16>,
    /// `starttls` (default), `tls` (implicit TLS) or `none` (a relay on this host only).
    pub smtp_tls: abo_mail::TlsMode,
    pub smtp_username: Option<String>,
    /// Never logged (prints as `***`).
    pub smtp_password: Option<abo_mail::Secret>,
    /// `From` of customer e-mails, e.g. `Acme Billing <billing@acme.example>`.
    pub mail_from: Option<String>,
    /// Webhooks may target loopback and private addresses (development and
    /// tests with a local receiver). Off: only public addresses (SSRF guard).
    pub webhooks_allow_private: bool,
    /// Webhook URLs may be plain `http://`. Off: https only.
    pub webhooks_allow_http: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("data"),
            database_url: None,
            bind: "127.0.0.1".into(),
            port: 8080,
            public_url: None,
            log: "info".into(),
            log_format: "text".into(),
            smtp_host: None,
            smtp_port: None,
            smtp_tls: abo_mail::TlsMode::default(),
            smtp_username: None,
            smtp_password: None,
            mail_from: None,
            webhooks_allow_private: false,
            webhooks_allow_http: false,
        }
    }
}

/// Values given on the command line; they win over everything else.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

impl Config {
    /// Loads the layered configuration. `file` is the explicit `--config`
    /// path (which must exist); otherwise `abo.toml` in the working directory
    /// is read when present.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                if !path.is_file() {
                    bail!("configuration file {} does not exist", path.display());
                }
                figment = figment.merge(Toml::file_exact(path));
            }
            None => figment = figment.merge(Toml::file("abo.toml")),
        }
        figment = figment
            .merge(Env::prefixed("ABO_").only(KEYS))
            .merge(Serialized::defaults(overrides));
        let config: Config = figment
            .extract()
            .map_err(|e| anyhow::anyhow!("configuration error: {}", one_line(&e)))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if let Some(url) = &self.database_url
            && !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
        {
            bail!(
                "configuration error: database_url must start with sqlite:// or postgres:// (got {:?})",
                redact(url)
            );
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            bail!("configuration error: public_url must be an absolute http(s) URL (got {url:?})");
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            bail!(
                "configuration error: log_format must be \"text\" or \"json\" (got {:?})",
                self.log_format
            );
        }
        if self.smtp_host.is_some() {
            match &self.mail_from {
                None => bail!("configuration error: smtp_host is set but mail_from is not"),
                Some(_) => {
                    if let Some(smtp) = self.smtp() {
                        smtp.validate()
                            .map_err(|e| anyhow::anyhow!("configuration error: {e}"))?;
                    }
                }
            }
        }
        tracing_subscriber::EnvFilter::try_new(&self.log)
            .with_context(|| format!("configuration error: invalid log filter {:?}", self.log))?;
        Ok(())
    }

    /// Where webhooks may be sent (`webhooks_allow_private`, `webhooks_allow_http`).
    pub fn webhook_policy(&self) -> abo_webhooks::TargetPolicy {
        abo_webhooks::TargetPolicy {
            allow_private: self.webhooks_allow_private,
            allow_http: self.webhooks_allow_http,
        }
    }

    /// The SMTP settings of customer e-mails, when `smtp_host` is set.
    pub fn smtp(&self) -> Option<abo_mail::SmtpSettings> {
        let host = self.smtp_host.clone()?;
        let port = self.smtp_port.unwrap_or(match self.smtp_tls {
            abo_mail::TlsMode::Tls => 465,
            abo_mail::TlsMode::Starttls => 587,
            abo_mail::TlsMode::None => 25,
        });
        Some(abo_mail::SmtpSettings {
            host,
            port,
            tls: self.smtp_tls,
            username: self.smtp_username.clone(),
            password: self.smtp_password.clone(),
            from: self.mail_from.clone().unwrap_or_default(),
            timeout: std::time::Duration::from_secs(30),
        })
    }

    /// The database to open: the configured URL, or the embedded SQLite file.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("abo.db").display()
            ),
        }
    }
}

/// Figment errors can span lines; the CLI promises one line.
fn one_line(err: &figment::Error) -> String {
    err.to_string().replace('\n', " ")
}

/// A database URL may carry a password: never echo it.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://***@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_credentials() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://***@h/db");
        assert_eq!(redact("sqlite://data/abo.db"), "sqlite://data/abo.db");
    }

    #[test]
    fn webhook_targets_are_public_https_unless_the_operator_allows_more() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("abo.toml");
        std::fs::write(&file, "port = 80\n").unwrap();
        let strict = Config::load(Some(&file), &Overrides::default()).unwrap();
        assert_eq!(
            strict.webhook_policy(),
            abo_webhooks::TargetPolicy::default()
        );
        assert!(!strict.webhook_policy().allow_private);

        std::fs::write(
            &file,
            "webhooks_allow_private = true\nwebhooks_allow_http = true\n",
        )
        .unwrap();
        let dev = Config::load(Some(&file), &Overrides::default()).unwrap();
        assert_eq!(
            dev.webhook_policy(),
            abo_webhooks::TargetPolicy::permissive()
        );

        std::fs::write(&file, "webhooks_allow_private = \"yes please\"\n").unwrap();
        let err = Config::load(Some(&file), &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("webhooks_allow_private"), "{err}");
    }

    #[test]
    fn rejects_unknown_keys_and_bad_values() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("abo.toml");
        std::fs::write(&file, "prot = 80\n").unwrap();
        let err = Config::load(Some(&file), &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("prot"), "{err}");
        assert!(!err.contains('\n'));

        std::fs::write(&file, "port = \"eighty\"\n").unwrap();
        let err = Config::load(Some(&file), &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("port"), "{err}");

        std::fs::write(&file, "database_url = \"mysql://x\"\n").unwrap();
        let err = Config::load(Some(&file), &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("database_url"), "{err}");
    }

    #[test]
    fn smtp_settings_and_a_secret_password() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("abo.toml");
        std::fs::write(
            &file,
            "smtp_host = \"smtp.example.com\"\nsmtp_tls = \"tls\"\nsmtp_username = \"u\"\n\
             smtp_password = \"hunter2\"\nmail_from = \"Acme <billing@acme.example>\"\n",
        )
        .unwrap();
        let config = Config::load(Some(&file), &Overrides::default()).unwrap();
        let smtp = config.smtp().unwrap();
        assert_eq!(smtp.port, 465);
        assert_eq!(smtp.tls, abo_mail::TlsMode::Tls);
        assert_eq!(smtp.password.as_ref().unwrap().0, "hunter2");
        assert!(!format!("{config:?}").contains("hunter2"));
        assert!(!format!("{smtp:?}").contains("hunter2"));

        std::fs::write(&file, "smtp_host = \"smtp.example.com\"\n").unwrap();
        let err = Config::load(Some(&file), &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("mail_from"), "{err}");

        std::fs::write(&file, "smtp_tls = \"ssl\"\n").unwrap();
        let err = Config::load(Some(&file), &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("smtp_tls"), "{err}");
    }

    #[test]
    fn flags_win_over_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("abo.toml");
        std::fs::write(&file, "port = 9000\nbind = \"0.0.0.0\"\n").unwrap();
        let over = Overrides {
            port: Some(9100),
            ..Default::default()
        };
        let config = Config::load(Some(&file), &over).unwrap();
        assert_eq!(config.port, 9100);
        assert_eq!(config.bind, "0.0.0.0");
        assert!(config.database_url().starts_with("sqlite://"));
    }
}
