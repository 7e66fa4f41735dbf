//! WeChat Work: as 0.25 talks to it — `GET {api_url}gettoken?corpid=…&corpsecret=…` for an
//! access token (kept for two hours), then `POST {api_url}message/send?access_token=…` with
//! a text or Markdown message. A non-200 answer or unreadable reply is retried; the reply's
//! `code` 0 is success, 42001 (token expired) drops the token and is retried, any other code
//! is final.

use model::Alert;
use serde::Serialize;
use tokio::sync::Mutex;
use tokio::time::{Duration, Instant};

use super::build::{Base, integration};
use super::encode::{encode_values, go_json};
use super::render::Render;
use super::{NotifyContext, NotifyError};
use crate::config::integrations::WechatConfig;

const TOKEN_LIFETIME: Duration = Duration::from_secs(2 * 3600);

/// Bound on a reply read.
const REPLY_MAX: usize = 64 * 1024;

/// A configured WeChat integration.
pub struct Wechat {
    /// What every integration holds.
    pub base: Base,
    /// Its configuration.
    pub config: WechatConfig,
    /// The access token and when it was fetched.
    pub token: Mutex<Option<(String, Instant)>>,
}

#[derive(Serialize, Default)]
struct Content {
    content: String,
}

// Go's `omitempty` never omits a struct, so both contents are always present.
#[derive(Serialize)]
struct Message {
    text: Content,
    #[serde(skip_serializing_if = "String::is_empty")]
    touser: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    toparty: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    totag: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    agentid: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    safe: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    msgtype: String,
    markdown: Content,
}

fn final_error(message: String) -> NotifyError {
    NotifyError { retryable: false, message }
}

fn retryable(message: String) -> NotifyError {
    NotifyError { retryable: true, message }
}

async fn bounded_text(response: reqwest::Response) -> String {
    let mut text = response.text().await.unwrap_or_default();
    text.truncate(text.floor_char_boundary(REPLY_MAX));
    text
}

impl Wechat {
    async fn access_token(&self, t: &mut Render<'_>) -> Result<String, NotifyError> {
        let mut token = self.token.lock().await;
        if let Some((value, at)) = token.as_ref()
            && at.elapsed() <= TOKEN_LIFETIME
        {
            return Ok(value.clone());
        }
        let secret = t.text(self.config.api_secret.expose());
        let corp_id = t.text(&self.config.corp_id);
        t.check("templating error")?;
        let base = self.config.api_url.as_ref().map(|u| u.as_str()).unwrap_or_default();
        let query = encode_values(&[("corpsecret", &secret), ("corpid", &corp_id)]);
        let request =
            self.base.http.request(reqwest::Method::GET, &format!("{base}gettoken?{query}"));
        let response = self.base.http.send(request).await?;
        #[derive(serde::Deserialize)]
        struct Token {
            #[serde(default)]
            access_token: String,
        }
        let text = bounded_text(response).await;
        let answer: Token = serde_json::from_str(&text)
            .map_err(|e| final_error(format!("decoding the WeChat token: {e}")))?;
        if answer.access_token.is_empty() {
            return Err(final_error(format!(
                "invalid APISecret for CorpID: {}",
                self.config.corp_id
            )));
        }
        *token = Some((answer.access_token.clone(), Instant::now()));
        Ok(answer.access_token)
    }

    async fn send(&self, context: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        let c = &self.config;
        let data = self.base.data(context, alerts);
        let mut t = Render::new(&self.base.templates, &data);
        let token = self.access_token(&mut t).await?;
        let mut message = Message {
            text: Content::default(),
            touser: t.text(&c.to_user),
            toparty: t.text(&c.to_party),
            totag: t.text(&c.to_tag),
            agentid: t.text(&c.agent_id),
            safe: "0".into(),
            msgtype: c.message_type.clone(),
            markdown: Content::default(),
        };
        let content = Content { content: t.text(&c.message) };
        if message.msgtype == "markdown" {
            message.markdown = content;
        } else {
            message.text = content;
        }
        t.check("templating error")?;
        let base = c.api_url.as_ref().map(|u| u.as_str()).unwrap_or_default();
        let url = format!("{base}message/send?{}", encode_values(&[("access_token", &token)]));
        let response = self.base.post_json(&url, go_json(&message)).await?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(retryable(format!("unexpected status code {status}")));
        }
        #[derive(serde::Deserialize)]
        struct Reply {
            #[serde(default)]
            code: i64,
            #[serde(default)]
            error: String,
        }
        let text = bounded_text(response).await;
        let reply: Reply = serde_json::from_str(&text).map_err(|e| retryable(e.to_string()))?;
        match reply.code {
            0 => Ok(()),
            42001 => {
                *self.token.lock().await = None;
                Err(retryable(reply.error))
            }
            _ => Err(final_error(reply.error)),
        }
    }
}

integration!(Wechat, "wechat");
