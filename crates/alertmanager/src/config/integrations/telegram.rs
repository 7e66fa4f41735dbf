//! `telegram_configs`: sends through a Telegram bot.

use serde::{Deserialize, Serialize};

use super::{
    FieldError, GlobalConfig, HttpClientConfig, field_error, inherit_http, template, validate_http,
};
use crate::config::types::{Secret, Url};

/// A Telegram integration.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelegramConfig {
    /// Whether resolved notifications are sent (default true).
    #[serde(deserialize_with = "crate::config::types::go_bool")]
    pub send_resolved: bool,
    /// HTTP client settings (the global ones when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// The Bot API URL (the global one when absent).
    pub api_url: Option<Url>,
    /// The bot token.
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub bot_token: Secret,
    /// The chat to post to.
    #[serde(skip_serializing_if = "is_zero")]
    pub chat_id: i64,
    /// Message template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Send silently.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[serde(deserialize_with = "crate::config::types::go_bool")]
    pub disable_notifications: bool,
    /// `Markdown`, `MarkdownV2`, `HTML` or empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub parse_mode: String,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

impl Default for TelegramConfig {
    fn default() -> Self {
        TelegramConfig {
            send_resolved: true,
            http_config: None,
            api_url: None,
            bot_token: Secret::default(),
            chat_id: 0,
            message: template("telegram.default.message"),
            disable_notifications: false,
            parse_mode: "HTML".to_owned(),
        }
    }
}

impl TelegramConfig {
    pub(crate) fn validate(&mut self) -> Result<(), FieldError> {
        validate_http(&mut self.http_config)?;
        if self.bot_token.is_empty() {
            return Err(field_error("bot_token", "missing bot_token on telegram_config"));
        }
        if self.chat_id == 0 {
            return Err(field_error("chat_id", "missing chat_id on telegram_config"));
        }
        if !["", "Markdown", "MarkdownV2", "HTML"].contains(&self.parse_mode.as_str()) {
            return Err(field_error(
                "parse_mode",
                "unknown parse_mode on telegram_config, must be Markdown, MarkdownV2, HTML or empty string",
            ));
        }
        Ok(())
    }

    pub(crate) fn inherit(&mut self, global: &mut GlobalConfig) -> Result<(), FieldError> {
        inherit_http(&mut self.http_config, global);
        if self.api_url.is_none() {
            self.api_url.clone_from(&global.telegram_api_url);
        }
        Ok(())
    }
}
