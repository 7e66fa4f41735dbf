//! Slack: one attachment POSTed to an incoming webhook, as 0.25 builds it. The title is cut
//! to 1024 characters; 2xx is success, 5xx is retried, anything else is final.

use model::Alert;
use serde::Serialize;

use super::build::{Base, integration};
use super::encode::go_json;
use super::http::read_secret;
use super::render::{Render, Retrier, truncate_in_runes};
use super::{NotifyContext, NotifyError};
use crate::config::integrations::SlackConfig;
use crate::config::integrations::slack::{SlackAction, SlackConfirmationField, SlackField};

const MAX_TITLE_RUNES: usize = 1024;

/// A configured Slack integration.
pub struct Slack {
    /// What every integration holds.
    pub base: Base,
    /// Its configuration.
    pub config: SlackConfig,
}

#[derive(Serialize)]
struct Request {
    #[serde(skip_serializing_if = "String::is_empty")]
    channel: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    username: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    icon_emoji: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    icon_url: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    link_names: bool,
    attachments: Vec<Attachment>,
}

#[derive(Serialize)]
struct Attachment {
    #[serde(skip_serializing_if = "String::is_empty")]
    title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    title_link: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pretext: String,
    text: String,
    fallback: String,
    callback_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fields: Vec<SlackField>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    actions: Vec<SlackAction>,
    #[serde(skip_serializing_if = "String::is_empty")]
    image_url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    thumb_url: String,
    footer: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    color: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    mrkdwn_in: Vec<String>,
}

impl Slack {
    async fn send(&self, context: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        let c = &self.config;
        let data = self.base.data(context, alerts);
        let mut t = Render::new(&self.base.templates, &data);
        let mrkdwn_in = if c.mrkdwn_in.is_empty() {
            vec!["fallback".into(), "pretext".into(), "text".into()]
        } else {
            c.mrkdwn_in.clone()
        };
        let (title, _) = truncate_in_runes(&t.text(&c.title), MAX_TITLE_RUNES);
        let mut attachment = Attachment {
            title,
            title_link: t.text(&c.title_link),
            pretext: t.text(&c.pretext),
            text: t.text(&c.text),
            fallback: t.text(&c.fallback),
            callback_id: t.text(&c.callback_id),
            fields: Vec::new(),
            actions: Vec::new(),
            image_url: t.text(&c.image_url),
            thumb_url: t.text(&c.thumb_url),
            footer: t.text(&c.footer),
            color: t.text(&c.color),
            mrkdwn_in,
        };
        for field in &c.fields {
            attachment.fields.push(SlackField {
                title: t.text(&field.title),
                value: t.text(&field.value),
                short: Some(field.short.unwrap_or(c.short_fields)),
            });
        }
        for action in &c.actions {
            attachment.actions.push(SlackAction {
                kind: t.text(&action.kind),
                text: t.text(&action.text),
                url: t.text(&action.url),
                style: t.text(&action.style),
                name: t.text(&action.name),
                value: t.text(&action.value),
                confirm: action.confirm.as_ref().map(|confirm| SlackConfirmationField {
                    title: t.text(&confirm.title),
                    text: t.text(&confirm.text),
                    ok_text: t.text(&confirm.ok_text),
                    dismiss_text: t.text(&confirm.dismiss_text),
                }),
            });
        }
        let request = Request {
            channel: t.text(&c.channel),
            username: t.text(&c.username),
            icon_emoji: t.text(&c.icon_emoji),
            icon_url: t.text(&c.icon_url),
            link_names: c.link_names,
            attachments: vec![attachment],
        };
        t.check("")?;
        let url = match &c.api_url {
            Some(url) => url.expose().to_owned(),
            None => read_secret(&Default::default(), &c.api_url_file, "Slack API URL")
                .map_err(|e| NotifyError { retryable: false, ..e })?,
        };
        let response = self.base.post_json(&url, go_json(&request)).await?;
        Retrier::default().check_response(response).await.map_err(|e| NotifyError {
            message: format!("channel {:?}: {}", request.channel, e.message),
            ..e
        })
    }
}

integration!(Slack, "slack");
