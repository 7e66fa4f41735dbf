//! `wechat_configs`: sends WeChat Work messages.

use serde::{Deserialize, Serialize};

use super::{
    FieldError, GlobalConfig, HttpClientConfig, field_error, inherit_http, template, validate_http,
};
use crate::config::types::{Secret, Url};

/// A WeChat integration.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WechatConfig {
    /// Whether resolved notifications are sent (default false).
    #[serde(deserialize_with = "crate::config::types::go_bool")]
    pub send_resolved: bool,
    /// HTTP client settings (the global ones when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// API secret (the global one when absent).
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub api_secret: Secret,
    /// Corporation id (the global one when absent).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub corp_id: String,
    /// Message template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// API URL (the global one when absent), always ending in `/`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_url: Option<Url>,
    /// User template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub to_user: String,
    /// Party template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub to_party: String,
    /// Tag template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub to_tag: String,
    /// Agent id template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub agent_id: String,
    /// `text` (default) or `markdown`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message_type: String,
}

impl Default for WechatConfig {
    fn default() -> Self {
        WechatConfig {
            send_resolved: false,
            http_config: None,
            api_secret: Secret::default(),
            corp_id: String::new(),
            message: template("wechat.default.message"),
            api_url: None,
            to_user: template("wechat.default.to_user"),
            to_party: template("wechat.default.to_party"),
            to_tag: template("wechat.default.to_tag"),
            agent_id: template("wechat.default.agent_id"),
            message_type: String::new(),
        }
    }
}

impl WechatConfig {
    pub(crate) fn validate(&mut self) -> Result<(), FieldError> {
        validate_http(&mut self.http_config)?;
        if self.message_type.is_empty() {
            self.message_type = "text".to_owned();
        }
        if self.message_type != "text" && self.message_type != "markdown" {
            return Err(field_error(
                "message_type",
                format!(
                    "weChat message type {:?} does not match valid options ^(text|markdown)$",
                    self.message_type
                ),
            ));
        }
        Ok(())
    }

    pub(crate) fn inherit(&mut self, global: &mut GlobalConfig) -> Result<(), FieldError> {
        inherit_http(&mut self.http_config, global);
        let shared_global_url = self.api_url.is_none();
        if shared_global_url {
            self.api_url = Some(
                global
                    .wechat_api_url
                    .clone()
                    .ok_or_else(|| field_error("api_url", "no global Wechat URL set"))?,
            );
        }
        if self.api_secret.is_empty() {
            if global.wechat_api_secret.is_empty() {
                return Err(field_error("api_secret", "no global Wechat ApiSecret set"));
            }
            self.api_secret = global.wechat_api_secret.clone();
        }
        if self.corp_id.is_empty() {
            if global.wechat_api_corp_id.is_empty() {
                return Err(field_error("corp_id", "no global Wechat CorpID set"));
            }
            self.corp_id.clone_from(&global.wechat_api_corp_id);
        }
        let url = self.api_url.as_ref().map(|u| u.with_trailing_slash());
        // Alertmanager shares the global URL and appends the slash to it in place.
        if shared_global_url {
            global.wechat_api_url.clone_from(&url);
        }
        self.api_url = url;
        Ok(())
    }
}
