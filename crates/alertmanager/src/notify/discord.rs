//! Discord: one embed (title, description, colour by status) POSTed to a webhook, as 0.25
//! sends it (0.25 cuts nothing). 2xx is success, 5xx is retried, anything else is final.

use model::Alert;
use serde::Serialize;

use super::build::{Base, integration};
use super::encode::go_json;
use super::render::{Render, Retrier, group_status};
use super::{NotifyContext, NotifyError};
use crate::config::integrations::DiscordConfig;

const COLOR_RED: u32 = 0x992D22;
const COLOR_GREEN: u32 = 0x2ECC71;

/// A configured Discord integration.
pub struct Discord {
    /// What every integration holds.
    pub base: Base,
    /// Its configuration.
    pub config: DiscordConfig,
}

#[derive(Serialize)]
struct Message {
    content: String,
    embeds: Vec<Embed>,
}

#[derive(Serialize)]
struct Embed {
    title: String,
    description: String,
    color: u32,
}

impl Discord {
    async fn send(&self, context: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        let data = self.base.data(context, alerts);
        let mut t = Render::new(&self.base.templates, &data);
        let title = t.text(&self.config.title);
        let description = t.text(&self.config.message);
        t.check("")?;
        let color = if group_status(context, alerts) == "firing" { COLOR_RED } else { COLOR_GREEN };
        let message =
            Message { content: String::new(), embeds: vec![Embed { title, description, color }] };
        let url = self.config.webhook_url.as_ref().map(|u| u.expose()).unwrap_or_default();
        let response = self.base.post_json(url, go_json(&message)).await?;
        Retrier::default().check_response(response).await
    }
}

integration!(Discord, "discord");
