//! `webex_configs`: posts to a Webex room.

use serde::{Deserialize, Serialize};

use super::{
    FieldError, GlobalConfig, HttpClientConfig, field_error, inherit_http, template, validate_http,
};
use crate::config::types::Url;

/// A Webex integration.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebexConfig {
    /// Whether resolved notifications are sent (default true).
    #[serde(deserialize_with = "crate::config::types::go_bool")]
    pub send_resolved: bool,
    /// HTTP client settings; must carry `authorization`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// The messages API URL (the global one when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_url: Option<Url>,
    /// Message template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The room to post to.
    pub room_id: String,
}

impl Default for WebexConfig {
    fn default() -> Self {
        WebexConfig {
            send_resolved: true,
            http_config: None,
            api_url: None,
            message: template("webex.default.message"),
            room_id: String::new(),
        }
    }
}

impl WebexConfig {
    pub(crate) fn validate(&mut self) -> Result<(), FieldError> {
        validate_http(&mut self.http_config)?;
        if self.room_id.is_empty() {
            return Err(field_error("room_id", "missing room_id on webex_config"));
        }
        if self.http_config.as_ref().is_none_or(|h| h.authorization.is_none()) {
            return Err(field_error(
                "http_config",
                "missing webex_configs.http_config.authorization",
            ));
        }
        Ok(())
    }

    pub(crate) fn inherit(&mut self, global: &mut GlobalConfig) -> Result<(), FieldError> {
        inherit_http(&mut self.http_config, global);
        if self.api_url.is_none() {
            self.api_url = Some(
                global
                    .webex_api_url
                    .clone()
                    .ok_or_else(|| field_error("api_url", "no global Webex URL set"))?,
            );
        }
        Ok(())
    }
}
