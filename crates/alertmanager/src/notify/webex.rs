//! Webex: a Markdown message POSTed to the messages API with the `http_config`
//! authorization, cut to 7439 bytes, as 0.25 sends it. 2xx is success, 5xx is retried,
//! anything else is final.

use model::Alert;
use serde::Serialize;

use super::build::{Base, integration};
use super::encode::go_json;
use super::render::{Render, Retrier, truncate_in_bytes};
use super::{NotifyContext, NotifyError};
use crate::config::integrations::WebexConfig;

const MAX_MESSAGE_BYTES: usize = 7439;

/// A configured Webex integration.
pub struct Webex {
    /// What every integration holds.
    pub base: Base,
    /// Its configuration.
    pub config: WebexConfig,
}

#[derive(Serialize)]
struct Message {
    markdown: String,
    #[serde(rename = "roomId", skip_serializing_if = "String::is_empty")]
    room_id: String,
}

impl Webex {
    async fn send(&self, context: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        let data = self.base.data(context, alerts);
        let mut t = Render::new(&self.base.templates, &data);
        let message = t.text(&self.config.message);
        t.check("")?;
        let (markdown, _) = truncate_in_bytes(&message, MAX_MESSAGE_BYTES);
        let body = go_json(&Message { markdown, room_id: self.config.room_id.clone() });
        let url = self.config.api_url.as_ref().map(|u| u.as_str()).unwrap_or_default();
        let response = self.base.post_json(url, body).await?;
        Retrier::default().check_response(response).await
    }
}

integration!(Webex, "webex");
