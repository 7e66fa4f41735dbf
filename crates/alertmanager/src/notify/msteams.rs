//! Microsoft Teams: a MessageCard POSTed to an incoming webhook. Alertmanager 0.25 has no
//! such integration, so there is no 0.25 oracle; the request follows later releases (0.27+):
//! `@context`, `type: MessageCard`, title, summary, text and a theme colour by status. 2xx is
//! success, 5xx is retried, anything else is final.

use model::Alert;
use serde::Serialize;

use super::build::{Base, integration};
use super::encode::go_json;
use super::http::read_secret;
use super::render::{Render, Retrier, group_status};
use super::{NotifyContext, NotifyError};
use crate::config::integrations::MsTeamsConfig;

const COLOR_RED: &str = "8C1A1A";
const COLOR_GREEN: &str = "2DC72D";

/// A configured Microsoft Teams integration.
pub struct MsTeams {
    /// What every integration holds.
    pub base: Base,
    /// Its configuration.
    pub config: MsTeamsConfig,
}

#[derive(Serialize)]
struct Card {
    #[serde(rename = "@context")]
    context: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    title: String,
    summary: String,
    text: String,
    #[serde(rename = "themeColor")]
    theme_color: &'static str,
}

impl MsTeams {
    async fn send(&self, context: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        let c = &self.config;
        let data = self.base.data(context, alerts);
        let mut t = Render::new(&self.base.templates, &data);
        let title = t.text(&c.title);
        let text = t.text(&c.text);
        let summary = t.text(&c.summary);
        t.check("")?;
        let theme_color =
            if group_status(context, alerts) == "firing" { COLOR_RED } else { COLOR_GREEN };
        let url = match &c.webhook_url {
            Some(url) => url.expose().to_owned(),
            None => read_secret(&Default::default(), &c.webhook_url_file, "webhook_url_file")
                .map_err(|e| NotifyError { retryable: false, ..e })?,
        };
        let card = Card {
            context: "http://schema.org/extensions",
            kind: "MessageCard",
            title,
            summary,
            text,
            theme_color,
        };
        let response = self.base.post_json(&url, go_json(&card)).await?;
        Retrier::default().check_response(response).await
    }
}

integration!(MsTeams, "msteams");
