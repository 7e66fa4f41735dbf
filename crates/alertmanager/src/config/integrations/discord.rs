//! `discord_configs`: posts to a Discord webhook.

use serde::{Deserialize, Serialize};

use super::{
    FieldError, GlobalConfig, HttpClientConfig, field_error, inherit_http, template, validate_http,
};
use crate::config::types::SecretUrl;

/// A Discord integration.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscordConfig {
    /// Whether resolved notifications are sent (default true).
    #[serde(deserialize_with = "crate::config::types::go_bool")]
    pub send_resolved: bool,
    /// HTTP client settings (the global ones when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// The webhook URL (a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<SecretUrl>,
    /// Message title template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// Message body template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
}

impl Default for DiscordConfig {
    fn default() -> Self {
        DiscordConfig {
            send_resolved: true,
            http_config: None,
            webhook_url: None,
            title: template("discord.default.title"),
            message: template("discord.default.message"),
        }
    }
}

impl DiscordConfig {
    pub(crate) fn validate(&mut self) -> Result<(), FieldError> {
        validate_http(&mut self.http_config)
    }

    pub(crate) fn inherit(&mut self, global: &mut GlobalConfig) -> Result<(), FieldError> {
        inherit_http(&mut self.http_config, global);
        if self.webhook_url.is_none() {
            return Err(field_error("webhook_url", "no discord webhook URL provided"));
        }
        Ok(())
    }
}
