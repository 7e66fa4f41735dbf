//! The notification integrations a receiver can hold, one module each, with their defaults,
//! their checks and what they inherit from `global`.

pub mod discord;
pub mod email;
pub mod msteams;
pub mod opsgenie;
pub mod pagerduty;
pub mod pushover;
pub mod slack;
pub mod sns;
pub mod telegram;
pub mod victorops;
pub mod webex;
pub mod webhook;
pub mod wechat;

pub use discord::DiscordConfig;
pub use email::EmailConfig;
pub use msteams::MsTeamsConfig;
pub use opsgenie::OpsGenieConfig;
pub use pagerduty::PagerdutyConfig;
pub use pushover::PushoverConfig;
pub use slack::SlackConfig;
pub use sns::SnsConfig;
pub use telegram::TelegramConfig;
pub use victorops::VictorOpsConfig;
pub use webex::WebexConfig;
pub use webhook::WebhookConfig;
pub use wechat::WechatConfig;

use super::global::GlobalConfig;
use super::http_config::HttpClientConfig;

/// A problem with one integration: the field (relative to the integration) and the message.
pub(crate) type FieldError = (String, String);

/// Builds a [`FieldError`].
pub(crate) fn field_error(field: &str, message: impl Into<String>) -> FieldError {
    (field.to_owned(), message.into())
}

/// Checks an integration's own `http_config`, if it has one.
pub(crate) fn validate_http(http: &mut Option<HttpClientConfig>) -> Result<(), FieldError> {
    match http {
        Some(h) => h.validate().map_err(|m| field_error("http_config", m)),
        None => Ok(()),
    }
}

/// Gives an integration without `http_config` the global one.
pub(crate) fn inherit_http(http: &mut Option<HttpClientConfig>, global: &GlobalConfig) {
    if http.is_none() {
        http.clone_from(&global.http_config);
    }
}

/// Renders a template default.
pub(crate) fn template(name: &str) -> String {
    format!("{{{{ template \"{name}\" . }}}}")
}
