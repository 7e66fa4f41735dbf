//! `msteams_configs`: posts a MessageCard to a Microsoft Teams incoming webhook. Alertmanager
//! 0.25 does not know this integration (it rejects the field); the fields and defaults follow
//! later releases (0.26 added it, 0.27 `summary` and `webhook_url_file`).

use serde::{Deserialize, Serialize};

use super::{
    FieldError, GlobalConfig, HttpClientConfig, field_error, inherit_http, template, validate_http,
};
use crate::config::types::SecretUrl;

/// A Microsoft Teams integration.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MsTeamsConfig {
    /// Whether resolved notifications are sent (default true).
    #[serde(deserialize_with = "crate::config::types::go_bool")]
    pub send_resolved: bool,
    /// HTTP client settings (the global ones when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// The webhook URL (a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<SecretUrl>,
    /// A file holding the webhook URL.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub webhook_url_file: String,
    /// Card title template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// Card summary template (the notification preview).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub summary: String,
    /// Card text template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub text: String,
}

impl Default for MsTeamsConfig {
    fn default() -> Self {
        MsTeamsConfig {
            send_resolved: true,
            http_config: None,
            webhook_url: None,
            webhook_url_file: String::new(),
            title: template("msteams.default.title"),
            summary: template("msteams.default.summary"),
            text: template("msteams.default.text"),
        }
    }
}

impl MsTeamsConfig {
    pub(crate) fn validate(&mut self) -> Result<(), FieldError> {
        validate_http(&mut self.http_config)?;
        match (&self.webhook_url, self.webhook_url_file.is_empty()) {
            (None, true) => Err(field_error(
                "webhook_url",
                "one of webhook_url or webhook_url_file must be configured",
            )),
            (Some(_), false) => Err(field_error(
                "webhook_url",
                "at most one of webhook_url & webhook_url_file must be configured",
            )),
            _ => Ok(()),
        }
    }

    pub(crate) fn inherit(&mut self, global: &mut GlobalConfig) -> Result<(), FieldError> {
        inherit_http(&mut self.http_config, global);
        Ok(())
    }
}
