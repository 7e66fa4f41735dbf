//! `webhook_configs`: POSTs the notification as JSON to a URL.

use serde::{Deserialize, Serialize};

use super::{FieldError, GlobalConfig, HttpClientConfig, field_error, inherit_http, validate_http};
use crate::config::types::Url;

/// A webhook integration.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookConfig {
    /// Whether resolved notifications are sent (default true).
    #[serde(deserialize_with = "crate::config::types::go_bool")]
    pub send_resolved: bool,
    /// HTTP client settings (the global ones when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// The endpoint.
    pub url: Option<Url>,
    /// Maximum number of alerts per message (0: all).
    pub max_alerts: u64,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig { send_resolved: true, http_config: None, url: None, max_alerts: 0 }
    }
}

impl WebhookConfig {
    pub(crate) fn validate(&mut self) -> Result<(), FieldError> {
        validate_http(&mut self.http_config)?;
        if self.url.is_none() {
            return Err(field_error("url", "missing URL in webhook config"));
        }
        Ok(())
    }

    pub(crate) fn inherit(&mut self, global: &mut GlobalConfig) -> Result<(), FieldError> {
        inherit_http(&mut self.http_config, global);
        Ok(())
    }
}
