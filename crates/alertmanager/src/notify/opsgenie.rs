//! OpsGenie: as 0.25 drives the Alert API — create (`POST v2/alerts`) while firing, with
//! `update_alerts` also the message and description updates (`PUT
//! v2/alerts/{alias}/message|description?identifierType=alias`), close (`POST
//! v2/alerts/{alias}/close?identifierType=alias`) once resolved; the alias is the group key's
//! SHA-256, the message cut to 130 characters, the details the common labels overlaid with
//! the configured ones, `teams` responders split into one team each, and `Authorization:
//! GenieKey {key}` (the key itself a template). 429 and 5xx are retried.

use std::collections::BTreeMap;

use model::Alert;
use serde::Serialize;

use super::build::{Base, integration};
use super::encode::{encode_values, go_json};
use super::render::{Render, Retrier, group_status, key_hash, truncate_in_runes};
use super::{NotifyContext, NotifyError};
use crate::config::integrations::OpsGenieConfig;

const MAX_MESSAGE_RUNES: usize = 130;

/// A configured OpsGenie integration.
pub struct OpsGenie {
    /// What every integration holds.
    pub base: Base,
    /// Its configuration.
    pub config: OpsGenieConfig,
}

#[derive(Serialize)]
struct CreateMessage {
    alias: String,
    message: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    description: String,
    details: BTreeMap<String, String>,
    source: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    responders: Vec<Responder>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    note: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    priority: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    entity: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    actions: Vec<String>,
}

#[derive(Serialize, PartialEq, Eq, Default)]
struct Responder {
    #[serde(skip_serializing_if = "String::is_empty")]
    id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    username: String,
    #[serde(rename = "type")]
    kind: String,
}

/// Splits on `sep` after trimming, dropping empty parts (0.25's `safeSplit`).
fn safe_split(text: &str, sep: char) -> Vec<String> {
    text.trim().split(sep).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

impl OpsGenie {
    async fn send(&self, context: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        let c = &self.config;
        let data = self.base.data(context, alerts);
        let mut t = Render::new(&self.base.templates, &data);
        let mut details: BTreeMap<String, String> =
            data.common_labels.0.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        for (name, text) in &c.details {
            details.insert(name.clone(), t.text(text));
        }
        let alias = key_hash(&context.group_key);
        let base = c.api_url.as_ref().map(|u| u.as_str()).unwrap_or_default();
        let by_alias = encode_values(&[("identifierType", "alias")]);
        let mut requests: Vec<(reqwest::Method, String, Vec<u8>)> = Vec::new();
        if group_status(context, alerts) == "resolved" {
            #[derive(Serialize)]
            struct Close {
                source: String,
            }
            let body = go_json(&Close { source: t.text(&c.source) });
            requests.push((
                reqwest::Method::POST,
                format!("{base}v2/alerts/{alias}/close?{by_alias}"),
                body,
            ));
        } else {
            let (message, _) = truncate_in_runes(&t.text(&c.message), MAX_MESSAGE_RUNES);
            let mut responders = Vec::new();
            for r in &c.responders {
                let responder = Responder {
                    id: t.text(&r.id),
                    name: t.text(&r.name),
                    username: t.text(&r.username),
                    kind: t.text(&r.kind),
                };
                if responder == Responder::default() {
                    continue;
                }
                if responder.kind == "teams" {
                    for team in safe_split(&responder.name, ',') {
                        responders.push(Responder {
                            name: t.text(&team),
                            kind: t.text("team"),
                            ..Responder::default()
                        });
                    }
                    continue;
                }
                responders.push(responder);
            }
            let create = CreateMessage {
                alias: alias.clone(),
                message,
                description: t.text(&c.description),
                details,
                source: t.text(&c.source),
                responders,
                tags: safe_split(&t.text(&c.tags), ','),
                note: t.text(&c.note),
                priority: t.text(&c.priority),
                entity: t.text(&c.entity),
                actions: safe_split(&t.text(&c.actions), ','),
            };
            requests.push((reqwest::Method::POST, format!("{base}v2/alerts"), go_json(&create)));
            if c.update_alerts {
                #[derive(Serialize)]
                struct UpdateMessage {
                    #[serde(skip_serializing_if = "String::is_empty")]
                    message: String,
                }
                #[derive(Serialize)]
                struct UpdateDescription {
                    #[serde(skip_serializing_if = "String::is_empty")]
                    description: String,
                }
                requests.push((
                    reqwest::Method::PUT,
                    format!("{base}v2/alerts/{alias}/message?{by_alias}"),
                    go_json(&UpdateMessage { message: create.message.clone() }),
                ));
                requests.push((
                    reqwest::Method::PUT,
                    format!("{base}v2/alerts/{alias}/description?{by_alias}"),
                    go_json(&UpdateDescription { description: create.description.clone() }),
                ));
            }
        }
        let key = if c.api_key.is_empty() {
            // 0.25 uses the file's content as it is, untrimmed.
            let content = std::fs::read_to_string(&c.api_key_file).map_err(|e| NotifyError {
                retryable: false,
                message: format!("read key_file error: {e}"),
            })?;
            t.text(&content)
        } else {
            t.text(c.api_key.expose())
        };
        t.check("templating error")?;
        let retrier = Retrier { retry_codes: vec![429], details: None };
        for (method, url, body) in requests {
            let request = self
                .base
                .http
                .request(method, &url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(reqwest::header::AUTHORIZATION, format!("GenieKey {key}"))
                .body(body);
            let response = self.base.http.send(request).await?;
            retrier.check_response(response).await?;
        }
        Ok(())
    }
}

integration!(OpsGenie, "opsgenie");
