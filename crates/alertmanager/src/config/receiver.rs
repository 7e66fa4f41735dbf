//! `receivers`: named sets of integrations that routes send notifications to.

use serde::{Deserialize, Serialize};

use super::global::GlobalConfig;
use super::http_config::HttpClientConfig;
use super::integrations::FieldError;
use super::integrations::discord::DiscordConfig;
use super::integrations::email::EmailConfig;
use super::integrations::msteams::MsTeamsConfig;
use super::integrations::opsgenie::OpsGenieConfig;
use super::integrations::pagerduty::PagerdutyConfig;
use super::integrations::pushover::PushoverConfig;
use super::integrations::slack::SlackConfig;
use super::integrations::sns::SnsConfig;
use super::integrations::telegram::TelegramConfig;
use super::integrations::victorops::VictorOpsConfig;
use super::integrations::webex::WebexConfig;
use super::integrations::webhook::WebhookConfig;
use super::integrations::wechat::WechatConfig;

/// A receiver: a name and any number of integrations of each type.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Receiver {
    /// The unique name routes refer to.
    pub name: String,
    /// Discord integrations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub discord_configs: Vec<DiscordConfig>,
    /// Email integrations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub email_configs: Vec<EmailConfig>,
    /// PagerDuty integrations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pagerduty_configs: Vec<PagerdutyConfig>,
    /// Slack integrations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub slack_configs: Vec<SlackConfig>,
    /// Webhook integrations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub webhook_configs: Vec<WebhookConfig>,
    /// OpsGenie integrations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub opsgenie_configs: Vec<OpsGenieConfig>,
    /// WeChat integrations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub wechat_configs: Vec<WechatConfig>,
    /// Pushover integrations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pushover_configs: Vec<PushoverConfig>,
    /// VictorOps integrations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub victorops_configs: Vec<VictorOpsConfig>,
    /// SNS integrations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sns_configs: Vec<SnsConfig>,
    /// Telegram integrations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub telegram_configs: Vec<TelegramConfig>,
    /// Webex integrations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub webex_configs: Vec<WebexConfig>,
    /// Microsoft Teams integrations (not in 0.25; later releases' format).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub msteams_configs: Vec<MsTeamsConfig>,
}

/// Runs `$action` on every integration of a receiver, prefixing errors with the list field and
/// index.
macro_rules! each_integration {
    ($receiver:expr, |$cfg:ident| $action:expr) => {{
        each_integration!(@one $receiver, $cfg, $action, webhook_configs, email_configs,
            pagerduty_configs, opsgenie_configs, wechat_configs, slack_configs, victorops_configs,
            pushover_configs, sns_configs, telegram_configs, discord_configs, webex_configs,
            msteams_configs);
        Ok(())
    }};
    (@one $receiver:expr, $cfg:ident, $action:expr, $($list:ident),*) => {$(
        for (i, $cfg) in $receiver.$list.iter_mut().enumerate() {
            let result: Result<(), FieldError> = $action;
            result.map_err(|(field, message)| {
                let sep = if field.is_empty() || field.starts_with('.') { "" } else { "." };
                (format!("{}[{i}]{sep}{field}", stringify!($list)), message)
            })?;
        }
    )*};
}

impl Receiver {
    /// The receiver's integrations as `(type name, index within that type)`, in the order
    /// Alertmanager builds them; the type names are the ones the notification log records.
    pub fn integrations(&self) -> Vec<(&'static str, usize)> {
        let lists: [(&'static str, usize); 13] = [
            ("webhook", self.webhook_configs.len()),
            ("email", self.email_configs.len()),
            ("pagerduty", self.pagerduty_configs.len()),
            ("opsgenie", self.opsgenie_configs.len()),
            ("wechat", self.wechat_configs.len()),
            ("slack", self.slack_configs.len()),
            ("victorops", self.victorops_configs.len()),
            ("pushover", self.pushover_configs.len()),
            ("sns", self.sns_configs.len()),
            ("telegram", self.telegram_configs.len()),
            ("discord", self.discord_configs.len()),
            ("webex", self.webex_configs.len()),
            ("msteams", self.msteams_configs.len()),
        ];
        lists.iter().flat_map(|&(name, count)| (0..count).map(move |i| (name, i))).collect()
    }

    /// The `http_config` slot of every integration that has one (all but email).
    pub(crate) fn http_configs_mut(&mut self) -> Vec<&mut Option<HttpClientConfig>> {
        let mut all: Vec<&mut Option<HttpClientConfig>> = Vec::new();
        all.extend(self.webhook_configs.iter_mut().map(|c| &mut c.http_config));
        all.extend(self.pagerduty_configs.iter_mut().map(|c| &mut c.http_config));
        all.extend(self.opsgenie_configs.iter_mut().map(|c| &mut c.http_config));
        all.extend(self.wechat_configs.iter_mut().map(|c| &mut c.http_config));
        all.extend(self.slack_configs.iter_mut().map(|c| &mut c.http_config));
        all.extend(self.victorops_configs.iter_mut().map(|c| &mut c.http_config));
        all.extend(self.pushover_configs.iter_mut().map(|c| &mut c.http_config));
        all.extend(self.sns_configs.iter_mut().map(|c| &mut c.http_config));
        all.extend(self.telegram_configs.iter_mut().map(|c| &mut c.http_config));
        all.extend(self.discord_configs.iter_mut().map(|c| &mut c.http_config));
        all.extend(self.webex_configs.iter_mut().map(|c| &mut c.http_config));
        all.extend(self.msteams_configs.iter_mut().map(|c| &mut c.http_config));
        all
    }

    /// The checks each integration makes on itself. Errors name the field relative to the
    /// receiver.
    pub(crate) fn validate(&mut self) -> Result<(), FieldError> {
        if self.name.is_empty() {
            return Err(("name".into(), "missing name in receiver".into()));
        }
        each_integration!(self, |cfg| cfg.validate())
    }

    /// Copies defaults from `global` into the integrations (and, as Alertmanager does, may
    /// normalize the global URLs they share).
    pub(crate) fn inherit(&mut self, global: &mut GlobalConfig) -> Result<(), FieldError> {
        each_integration!(self, |cfg| cfg.inherit(global))
    }
}
