//! The registry: turns a receiver's configuration into its integrations, in the order 0.25
//! builds them, each with its own HTTP client from its `http_config`.

use std::sync::Arc;
use std::time::Duration;

use model::Alert;

use super::discord::Discord;
use super::email::Email;
use super::http::HttpSender;
use super::msteams::MsTeams;
use super::opsgenie::OpsGenie;
use super::pagerduty::{self, Pagerduty};
use super::pushover::{self, Pushover};
use super::slack::Slack;
use super::sns::Sns;
use super::telegram::Telegram;
use super::victorops::VictorOps;
use super::webex::Webex;
use super::webhook::Webhook;
use super::wechat::Wechat;
use super::{Integration, NotifyContext, NotifyError};
use crate::config::Receiver;
use crate::template::Templates;

/// What every integration of a configuration shares.
#[derive(Clone)]
pub struct BuildOptions {
    /// The external URL notifications carry.
    pub external_url: String,
    /// The configuration's templates.
    pub templates: Arc<Templates>,
    /// Bound on one request when the flush deadline is further away.
    pub request_timeout: Duration,
}

/// What every templated HTTP integration holds besides its own configuration.
#[derive(Clone)]
pub struct Base {
    /// Index among the receiver's integrations of the same type.
    pub index: u32,
    /// The HTTP client of its `http_config`.
    pub http: HttpSender,
    /// The configuration's templates.
    pub templates: Arc<Templates>,
    /// The external URL the template data carries.
    pub external_url: String,
}

impl Base {
    /// The template data of a notification.
    pub fn data(&self, context: &NotifyContext, alerts: &[Alert]) -> crate::template::Data {
        super::render::template_data(context, &self.external_url, alerts)
    }

    /// POSTs a JSON body (0.25's `PostJSON`).
    pub async fn post_json(
        &self,
        url: &str,
        body: Vec<u8>,
    ) -> Result<reqwest::Response, NotifyError> {
        let request = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        self.http.send(request).await
    }
}

/// Implements [`Integration`] for a type with `base: Base`, `config.send_resolved` and an
/// `async fn send(&self, &NotifyContext, &[Alert]) -> Result<(), NotifyError>`.
macro_rules! integration {
    ($type:ty, $name:literal) => {
        impl $crate::notify::Integration for $type {
            fn name(&self) -> &'static str {
                $name
            }

            fn index(&self) -> u32 {
                self.base.index
            }

            fn send_resolved(&self) -> bool {
                self.config.send_resolved
            }

            fn notify<'a>(
                &'a self,
                context: &'a $crate::notify::NotifyContext,
                alerts: &'a [model::Alert],
            ) -> $crate::notify::BoxFuture<'a, Result<(), $crate::notify::NotifyError>> {
                Box::pin(self.send(context, alerts))
            }
        }
    };
}
pub(crate) use integration;

fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// The integrations of `receiver`. Fails, as 0.25's config load does, when an HTTP client
/// cannot be built (unreadable TLS files, a bad proxy URL); the error names the integration.
pub fn receiver_integrations(
    receiver: &Receiver,
    options: &BuildOptions,
) -> Result<Vec<Arc<dyn Integration>>, String> {
    let mut out: Vec<Arc<dyn Integration>> = Vec::new();
    let sender = |kind: &str, i: usize, http: Option<&crate::config::HttpClientConfig>| {
        HttpSender::new(http, options.request_timeout)
            .map_err(|e| format!("receiver {:?}: {kind}_configs[{i}]: {e}", receiver.name))
    };
    for (i, c) in receiver.webhook_configs.iter().enumerate() {
        let Some(url) = &c.url else { continue };
        out.push(Arc::new(Webhook {
            index: index(i),
            url: url.as_str().to_owned(),
            send_resolved: c.send_resolved,
            max_alerts: c.max_alerts,
            external_url: options.external_url.clone(),
            http: sender("webhook", i, c.http_config.as_ref())?,
        }));
    }
    if !receiver.email_configs.is_empty() {
        let hostname = super::email::hostname();
        for (i, c) in receiver.email_configs.iter().enumerate() {
            out.push(Arc::new(Email {
                index: index(i),
                config: c.clone(),
                templates: options.templates.clone(),
                external_url: options.external_url.clone(),
                hostname: hostname.clone(),
            }));
        }
    }
    let base = |kind: &str, i: usize, http: Option<&crate::config::HttpClientConfig>| {
        Ok::<_, String>(Base {
            index: index(i),
            http: sender(kind, i, http)?,
            templates: options.templates.clone(),
            external_url: options.external_url.clone(),
        })
    };
    for (i, c) in receiver.pagerduty_configs.iter().enumerate() {
        out.push(Arc::new(Pagerduty {
            base: base("pagerduty", i, c.http_config.as_ref())?,
            config: c.clone(),
            v1_url: pagerduty::V1_URL.to_owned(),
        }));
    }
    for (i, c) in receiver.opsgenie_configs.iter().enumerate() {
        let base = base("opsgenie", i, c.http_config.as_ref())?;
        out.push(Arc::new(OpsGenie { base, config: c.clone() }));
    }
    for (i, c) in receiver.wechat_configs.iter().enumerate() {
        let base = base("wechat", i, c.http_config.as_ref())?;
        out.push(Arc::new(Wechat { base, config: c.clone(), token: Default::default() }));
    }
    for (i, c) in receiver.slack_configs.iter().enumerate() {
        let base = base("slack", i, c.http_config.as_ref())?;
        out.push(Arc::new(Slack { base, config: c.clone() }));
    }
    for (i, c) in receiver.victorops_configs.iter().enumerate() {
        let base = base("victorops", i, c.http_config.as_ref())?;
        out.push(Arc::new(VictorOps { base, config: c.clone() }));
    }
    for (i, c) in receiver.pushover_configs.iter().enumerate() {
        out.push(Arc::new(Pushover {
            base: base("pushover", i, c.http_config.as_ref())?,
            config: c.clone(),
            api_url: pushover::API_URL.to_owned(),
        }));
    }
    for (i, c) in receiver.sns_configs.iter().enumerate() {
        let base = base("sns", i, c.http_config.as_ref())?;
        out.push(Arc::new(Sns { base, config: c.clone() }));
    }
    for (i, c) in receiver.telegram_configs.iter().enumerate() {
        let base = base("telegram", i, c.http_config.as_ref())?;
        out.push(Arc::new(Telegram { base, config: c.clone() }));
    }
    for (i, c) in receiver.discord_configs.iter().enumerate() {
        let base = base("discord", i, c.http_config.as_ref())?;
        out.push(Arc::new(Discord { base, config: c.clone() }));
    }
    for (i, c) in receiver.webex_configs.iter().enumerate() {
        let base = base("webex", i, c.http_config.as_ref())?;
        out.push(Arc::new(Webex { base, config: c.clone() }));
    }
    for (i, c) in receiver.msteams_configs.iter().enumerate() {
        let base = base("msteams", i, c.http_config.as_ref())?;
        out.push(Arc::new(MsTeams { base, config: c.clone() }));
    }
    Ok(out)
}
