//! Pushover: the message as URL query parameters on a body-less `text/plain` POST to
//! Pushover's fixed endpoint, as 0.25 sends it — title cut to 250 characters, message to
//! 1024 (trimmed; `(no details)` when empty; HTML-escaped and flagged `html=1` when `html`
//! is set), URL to 512; retry and expire in whole seconds. 5xx is retried.

use model::Alert;

use super::build::{Base, integration};
use super::encode::encode_values;
use super::render::{Render, Retrier, truncate_in_runes};
use super::{NotifyContext, NotifyError};
use crate::config::integrations::PushoverConfig;

const MAX_TITLE_RUNES: usize = 250;
const MAX_MESSAGE_RUNES: usize = 1024;
const MAX_URL_RUNES: usize = 512;

/// 0.25's fixed endpoint.
pub const API_URL: &str = "https://api.pushover.net/1/messages.json";

/// A configured Pushover integration.
pub struct Pushover {
    /// What every integration holds.
    pub base: Base,
    /// Its configuration.
    pub config: PushoverConfig,
    /// Where messages go ([`API_URL`]).
    pub api_url: String,
}

impl Pushover {
    async fn send(&self, context: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        let c = &self.config;
        let data = self.base.data(context, alerts);
        let mut t = Render::new(&self.base.templates, &data);
        let token = t.text(c.token.expose());
        let user = t.text(c.user_key.expose());
        let (title, _) = truncate_in_runes(&t.text(&c.title), MAX_TITLE_RUNES);
        let message = if c.html { t.html(&c.message) } else { t.text(&c.message) };
        let (message, _) = truncate_in_runes(&message, MAX_MESSAGE_RUNES);
        let message = match message.trim() {
            "" => "(no details)".to_owned(),
            trimmed => trimmed.to_owned(),
        };
        let (url, _) = truncate_in_runes(&t.text(&c.url), MAX_URL_RUNES);
        let url_title = t.text(&c.url_title);
        let priority = t.text(&c.priority);
        let retry = c.retry.as_secs().to_string();
        let expire = c.expire.as_secs().to_string();
        let sound = t.text(&c.sound);
        t.check("")?;
        let mut params =
            vec![("token", token.as_str()), ("user", user.as_str()), ("title", &title)];
        if c.html {
            params.push(("html", "1"));
        }
        params.extend([
            ("message", message.as_str()),
            ("url", &url),
            ("url_title", &url_title),
            ("priority", &priority),
            ("retry", &retry),
            ("expire", &expire),
            ("sound", &sound),
        ]);
        let target = format!("{}?{}", self.api_url, encode_values(&params));
        let request =
            self.base.http.post(&target).header(reqwest::header::CONTENT_TYPE, "text/plain");
        let response = self.base.http.send(request).await?;
        Retrier::default().check_response(response).await
    }
}

integration!(Pushover, "pushover");
