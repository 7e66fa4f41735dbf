//! `email_configs`: sends mail over SMTP; most settings default to the global `smtp_*`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{FieldError, GlobalConfig, field_error, template};
use crate::config::http_config::TlsConfig;
use crate::config::types::{HostPort, Secret};

/// An email integration.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    /// Whether resolved notifications are sent (default false).
    #[serde(deserialize_with = "crate::config::types::go_bool")]
    pub send_resolved: bool,
    /// Recipients.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub to: String,
    /// Sender (the global `smtp_from` when absent).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub from: String,
    /// HELO host name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub hello: String,
    /// SMTP server.
    #[serde(skip_serializing_if = "HostPort::is_empty")]
    pub smarthost: HostPort,
    /// SMTP user.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub auth_username: String,
    /// SMTP password.
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub auth_password: Secret,
    /// File holding the SMTP password.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub auth_password_file: String,
    /// CRAM-MD5 secret.
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub auth_secret: Secret,
    /// PLAIN identity.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub auth_identity: String,
    /// Extra headers, keys in canonical MIME form.
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::config::types::unique_map",
        serialize_with = "crate::config::gomap::serialize"
    )]
    pub headers: BTreeMap<String, String>,
    /// HTML body template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub html: String,
    /// Text body template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// Whether STARTTLS is required (the global default when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "crate::config::types::go_bool_opt")]
    pub require_tls: Option<bool>,
    /// TLS settings.
    #[serde(skip_serializing_if = "TlsConfig::is_zero")]
    pub tls_config: TlsConfig,
}

impl Default for EmailConfig {
    fn default() -> Self {
        EmailConfig {
            send_resolved: false,
            to: String::new(),
            from: String::new(),
            hello: String::new(),
            smarthost: HostPort::default(),
            auth_username: String::new(),
            auth_password: Secret::default(),
            auth_password_file: String::new(),
            auth_secret: Secret::default(),
            auth_identity: String::new(),
            headers: BTreeMap::new(),
            html: template("email.default.html"),
            text: String::new(),
            require_tls: None,
            tls_config: TlsConfig::default(),
        }
    }
}

/// Go's `textproto.CanonicalMIMEHeaderKey`.
fn canonical_header(key: &str) -> String {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if !key.bytes().all(token) {
        return key.to_owned();
    }
    let mut upper = true;
    key.chars()
        .map(|c| {
            let out = if upper { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() };
            upper = c == '-';
            out
        })
        .collect()
}

impl EmailConfig {
    pub(crate) fn validate(&mut self) -> Result<(), FieldError> {
        if self.to.is_empty() {
            return Err(field_error("to", "missing to address in email config"));
        }
        let mut normalized = BTreeMap::new();
        for (key, value) in std::mem::take(&mut self.headers) {
            let canonical = canonical_header(&key);
            if normalized.insert(canonical.clone(), value).is_some() {
                return Err(field_error(
                    "headers",
                    format!("duplicate header {canonical:?} in email config"),
                ));
            }
        }
        self.headers = normalized;
        Ok(())
    }

    pub(crate) fn inherit(&mut self, global: &mut GlobalConfig) -> Result<(), FieldError> {
        if self.smarthost.is_empty() {
            if global.smtp_smarthost.is_empty() {
                return Err(field_error("smarthost", "no global SMTP smarthost set"));
            }
            self.smarthost = global.smtp_smarthost.clone();
        }
        if self.from.is_empty() {
            if global.smtp_from.is_empty() {
                return Err(field_error("from", "no global SMTP from set"));
            }
            self.from.clone_from(&global.smtp_from);
        }
        if self.hello.is_empty() {
            self.hello.clone_from(&global.smtp_hello);
        }
        if self.auth_username.is_empty() {
            self.auth_username.clone_from(&global.smtp_auth_username);
        }
        if self.auth_password.is_empty() && self.auth_password_file.is_empty() {
            self.auth_password = global.smtp_auth_password.clone();
            self.auth_password_file.clone_from(&global.smtp_auth_password_file);
        }
        if self.auth_secret.is_empty() {
            self.auth_secret = global.smtp_auth_secret.clone();
        }
        if self.auth_identity.is_empty() {
            self.auth_identity.clone_from(&global.smtp_auth_identity);
        }
        self.require_tls.get_or_insert(global.smtp_require_tls);
        // Alertmanager's email notifier fills these into the loaded config when it starts, and
        // the served configuration shows them.
        let defaults = [
            ("Subject", template("email.default.subject")),
            ("To", self.to.clone()),
            ("From", self.from.clone()),
        ];
        for (key, value) in defaults {
            self.headers.entry(key.to_owned()).or_insert(value);
        }
        Ok(())
    }
}
