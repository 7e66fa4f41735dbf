//! Telegram: `sendMessage` on the Bot API as 0.25's telebot client calls it — a JSON object
//! of string parameters POSTed to `{api_url}/bot{token}/sendMessage`, web page previews
//! off — with the message cut to 4096 characters and rendered with HTML escaping when the
//! parse mode is `HTML`. Every failure is retried, as 0.25 retries every telebot error.

use std::collections::BTreeMap;

use model::Alert;

use super::build::{Base, integration};
use super::encode::go_json;
use super::render::{Render, truncate_in_runes};
use super::{NotifyContext, NotifyError};
use crate::config::integrations::TelegramConfig;

const MAX_MESSAGE_RUNES: usize = 4096;

/// Bound on the answer kept for an error message.
const ANSWER_MAX: usize = 1024;

/// A configured Telegram integration.
pub struct Telegram {
    /// What every integration holds.
    pub base: Base,
    /// Its configuration.
    pub config: TelegramConfig,
}

#[derive(serde::Deserialize)]
struct Answer {
    #[serde(default)]
    ok: bool,
    #[serde(default)]
    description: String,
    #[serde(default)]
    result: Option<serde_json::Value>,
}

fn retryable(message: String) -> NotifyError {
    NotifyError { retryable: true, message }
}

impl Telegram {
    async fn send(&self, context: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        let c = &self.config;
        let data = self.base.data(context, alerts);
        let mut t = Render::new(&self.base.templates, &data);
        let text = if c.parse_mode == "HTML" { t.html(&c.message) } else { t.text(&c.message) };
        let (text, _) = truncate_in_runes(&text, MAX_MESSAGE_RUNES);
        let mut params: BTreeMap<&str, String> = BTreeMap::new();
        params.insert("chat_id", c.chat_id.to_string());
        params.insert("text", text);
        if !c.parse_mode.is_empty() {
            params.insert("parse_mode", c.parse_mode.clone());
        }
        params.insert("disable_web_page_preview", "true".into());
        if c.disable_notifications {
            params.insert("disable_notification", "true".into());
        }
        // 0.25 checks the template error only after the send; a failed template is sent
        // empty. Checking first keeps an unusable message from going out.
        t.check("")?;
        let base = c.api_url.as_ref().map(|u| u.as_str()).unwrap_or_default();
        let url = format!("{base}/bot{}/sendMessage", c.bot_token.expose());
        let response = self.base.post_json(&url, go_json(&params)).await?;
        let status = response.status().as_u16();
        let mut body = response.text().await.unwrap_or_default();
        body.truncate(body.floor_char_boundary(ANSWER_MAX));
        let answer: Answer = serde_json::from_str(&body)
            .map_err(|e| retryable(format!("telegram: unexpected answer ({status}): {e}")))?;
        if !answer.ok {
            return Err(retryable(format!("telegram: {} ({status})", answer.description)));
        }
        if answer.result.as_ref().is_none_or(|r| !r.is_object()) {
            return Err(retryable(format!("telegram: answer without a message ({status})")));
        }
        Ok(())
    }
}

integration!(Telegram, "telegram");
