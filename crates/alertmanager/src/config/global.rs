//! The `global` section: the resolve timeout and the defaults integrations inherit.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::http_config::HttpClientConfig;
use super::types::{HostPort, Secret, SecretUrl, Url, prom_duration_required};

/// The `global` section, with Alertmanager's defaults for everything not given.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct GlobalConfig {
    /// How long after its last update an alert without `endsAt` is considered resolved.
    #[serde(with = "prom_duration_required")]
    pub resolve_timeout: Duration,
    /// The HTTP client settings integrations without their own inherit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// Default email sender.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub smtp_from: String,
    /// Default SMTP HELO host name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub smtp_hello: String,
    /// Default SMTP server.
    #[serde(skip_serializing_if = "HostPort::is_empty")]
    pub smtp_smarthost: HostPort,
    /// Default SMTP user.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub smtp_auth_username: String,
    /// Default SMTP password.
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub smtp_auth_password: Secret,
    /// Default SMTP password file.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub smtp_auth_password_file: String,
    /// Default SMTP CRAM-MD5 secret.
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub smtp_auth_secret: Secret,
    /// Default SMTP PLAIN identity.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub smtp_auth_identity: String,
    /// Default for requiring STARTTLS.
    #[serde(deserialize_with = "crate::config::types::go_bool")]
    pub smtp_require_tls: bool,
    /// Default Slack webhook URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slack_api_url: Option<SecretUrl>,
    /// Default file holding the Slack webhook URL.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub slack_api_url_file: String,
    /// Default PagerDuty events URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pagerduty_url: Option<Url>,
    /// Default OpsGenie API URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opsgenie_api_url: Option<Url>,
    /// Default OpsGenie API key.
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub opsgenie_api_key: Secret,
    /// Default file holding the OpsGenie API key.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub opsgenie_api_key_file: String,
    /// Default WeChat API URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wechat_api_url: Option<Url>,
    /// Default WeChat API secret.
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub wechat_api_secret: Secret,
    /// Default WeChat corporation id.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub wechat_api_corp_id: String,
    /// Default VictorOps API URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub victorops_api_url: Option<Url>,
    /// Default VictorOps API key.
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub victorops_api_key: Secret,
    /// Default file holding the VictorOps API key.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub victorops_api_key_file: String,
    /// Default Telegram API URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telegram_api_url: Option<Url>,
    /// Default Webex API URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webex_api_url: Option<Url>,
}

fn url(text: &str) -> Option<Url> {
    Some(Url::parse(text).expect("built-in URLs are valid"))
}

impl Default for GlobalConfig {
    fn default() -> Self {
        GlobalConfig {
            resolve_timeout: Duration::from_secs(300),
            http_config: Some(HttpClientConfig::default()),
            smtp_from: String::new(),
            smtp_hello: "localhost".to_owned(),
            smtp_smarthost: HostPort::default(),
            smtp_auth_username: String::new(),
            smtp_auth_password: Secret::default(),
            smtp_auth_password_file: String::new(),
            smtp_auth_secret: Secret::default(),
            smtp_auth_identity: String::new(),
            smtp_require_tls: true,
            slack_api_url: None,
            slack_api_url_file: String::new(),
            pagerduty_url: url("https://events.pagerduty.com/v2/enqueue"),
            opsgenie_api_url: url("https://api.opsgenie.com/"),
            opsgenie_api_key: Secret::default(),
            opsgenie_api_key_file: String::new(),
            wechat_api_url: url("https://qyapi.weixin.qq.com/cgi-bin/"),
            wechat_api_secret: Secret::default(),
            wechat_api_corp_id: String::new(),
            victorops_api_url: url(
                "https://alert.victorops.com/integrations/generic/20131114/alert/",
            ),
            victorops_api_key: Secret::default(),
            victorops_api_key_file: String::new(),
            telegram_api_url: url("https://api.telegram.org"),
            webex_api_url: url("https://webexapis.com/v1/messages"),
        }
    }
}

impl GlobalConfig {
    /// The checks Alertmanager makes on the section alone: each `x` / `x_file` pair is
    /// exclusive. Returns the offending field and the message.
    pub(crate) fn validate(&mut self) -> Result<(), (&'static str, String)> {
        let pairs = [
            ("slack_api_url", self.slack_api_url.is_some(), !self.slack_api_url_file.is_empty()),
            (
                "opsgenie_api_key",
                !self.opsgenie_api_key.is_empty(),
                !self.opsgenie_api_key_file.is_empty(),
            ),
            (
                "victorops_api_key",
                !self.victorops_api_key.is_empty(),
                !self.victorops_api_key_file.is_empty(),
            ),
            (
                "smtp_auth_password",
                !self.smtp_auth_password.is_empty(),
                !self.smtp_auth_password_file.is_empty(),
            ),
        ];
        for (name, inline, file) in pairs {
            if inline && file {
                return Err((
                    name,
                    format!("at most one of {name} & {name}_file must be configured"),
                ));
            }
        }
        if let Some(http) = &mut self.http_config {
            http.validate().map_err(|m| ("http_config", m))?;
        }
        Ok(())
    }
}
