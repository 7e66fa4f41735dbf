//! `pushover_configs`: sends Pushover notifications.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{
    FieldError, GlobalConfig, HttpClientConfig, field_error, inherit_http, template, validate_http,
};
use crate::config::types::{Secret, go_duration};

/// A Pushover integration.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PushoverConfig {
    /// Whether resolved notifications are sent (default true).
    #[serde(deserialize_with = "crate::config::types::go_bool")]
    pub send_resolved: bool,
    /// HTTP client settings (the global ones when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// Recipient user key.
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub user_key: Secret,
    /// Application token.
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub token: Secret,
    /// Title template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// Message template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Supplementary URL template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// Supplementary URL title.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub url_title: String,
    /// Sound name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sound: String,
    /// Priority template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub priority: String,
    /// Retry interval for emergency priority (Go duration syntax).
    #[serde(with = "go_duration", skip_serializing_if = "Duration::is_zero")]
    pub retry: Duration,
    /// Expiry for emergency priority (Go duration syntax).
    #[serde(with = "go_duration", skip_serializing_if = "Duration::is_zero")]
    pub expire: Duration,
    /// Whether the message is HTML.
    #[serde(deserialize_with = "crate::config::types::go_bool")]
    pub html: bool,
}

impl Default for PushoverConfig {
    fn default() -> Self {
        PushoverConfig {
            send_resolved: true,
            http_config: None,
            user_key: Secret::default(),
            token: Secret::default(),
            title: template("pushover.default.title"),
            message: template("pushover.default.message"),
            url: template("pushover.default.url"),
            url_title: String::new(),
            sound: String::new(),
            priority: "{{ if eq .Status \"firing\" }}2{{ else }}0{{ end }}".to_owned(),
            retry: Duration::from_secs(60),
            expire: Duration::from_secs(3600),
            html: false,
        }
    }
}

impl PushoverConfig {
    pub(crate) fn validate(&mut self) -> Result<(), FieldError> {
        validate_http(&mut self.http_config)?;
        if self.user_key.is_empty() {
            return Err(field_error("user_key", "missing user key in Pushover config"));
        }
        if self.token.is_empty() {
            return Err(field_error("token", "missing token in Pushover config"));
        }
        Ok(())
    }

    pub(crate) fn inherit(&mut self, global: &mut GlobalConfig) -> Result<(), FieldError> {
        inherit_http(&mut self.http_config, global);
        Ok(())
    }
}
