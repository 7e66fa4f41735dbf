//! PagerDuty: Events API v2 (routing key, to the configured URL) or v1 (service key, to
//! PagerDuty's fixed v1 endpoint), as 0.25 builds the events: the group key's SHA-256 as the
//! dedup/incident key, `trigger` or `resolve` by the group's status, the summary or
//! description cut to 1024 characters, details dropped (replaced by an error note) when the
//! event exceeds 512 kB. v2 retries 429 and 5xx, v1 retries 403 and 5xx; a 400's details
//! come from PagerDuty's error JSON.

use std::collections::BTreeMap;

use model::Alert;
use serde::Serialize;

use super::build::{Base, integration};
use super::encode::go_json;
use super::render::{Render, Retrier, key_hash, truncate_in_runes};
use super::{NotifyContext, NotifyError};
use crate::config::integrations::PagerdutyConfig;
use crate::config::types::Secret;

const MAX_EVENT_BYTES: usize = 512_000;
const MAX_DESCRIPTION_RUNES: usize = 1024;

/// 0.25's fixed Events API v1 endpoint.
pub const V1_URL: &str = "https://events.pagerduty.com/generic/2010-04-15/create_event.json";

/// A configured PagerDuty integration.
pub struct Pagerduty {
    /// What every integration holds.
    pub base: Base,
    /// Its configuration.
    pub config: PagerdutyConfig,
    /// Where v1 events go ([`V1_URL`]).
    pub v1_url: String,
}

#[derive(Serialize)]
struct Message {
    #[serde(skip_serializing_if = "String::is_empty")]
    routing_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    service_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    dedup_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    incident_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    event_type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    description: String,
    event_action: String,
    payload: Option<Payload>,
    #[serde(skip_serializing_if = "String::is_empty")]
    client: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    client_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    images: Vec<Image>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    links: Vec<Link>,
}

#[derive(Serialize)]
struct Link {
    href: String,
    text: String,
}

#[derive(Serialize)]
struct Image {
    src: String,
    alt: String,
    href: String,
}

#[derive(Serialize)]
struct Payload {
    summary: String,
    source: String,
    severity: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    timestamp: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    class: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    component: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    group: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_details: Option<BTreeMap<String, String>>,
}

/// Go omits an empty map (`omitempty`).
fn non_empty(map: BTreeMap<String, String>) -> Option<BTreeMap<String, String>> {
    if map.is_empty() { None } else { Some(map) }
}

/// PagerDuty's error JSON on a 400, as 0.25 words it.
fn error_details(status: u16, body: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(default)]
        message: String,
        #[serde(default)]
        errors: Vec<String>,
    }
    if status != 400 {
        return String::new();
    }
    match serde_json::from_str::<Answer>(body) {
        Ok(answer) => format!("{}: {}", answer.message, answer.errors.join(",")),
        Err(_) => String::new(),
    }
}

fn key(secret: &Secret, file: &str, what: &str) -> Result<String, NotifyError> {
    if !secret.is_empty() {
        return Ok(secret.expose().to_owned());
    }
    std::fs::read_to_string(file).map(|s| s.trim().to_owned()).map_err(|e| NotifyError {
        retryable: false,
        message: format!("failed to read {what} from file: {e}"),
    })
}

impl Pagerduty {
    fn is_v1(&self) -> bool {
        !self.config.service_key.is_empty() || !self.config.service_key_file.is_empty()
    }

    fn encode(&self, message: &mut Message) -> Vec<u8> {
        let body = go_json(message);
        if body.len() <= MAX_EVENT_BYTES {
            return body;
        }
        let note = BTreeMap::from([(
            "error".to_owned(),
            "Custom details have been removed because the original event exceeds the maximum size of 512KB".to_owned(),
        )]);
        match &mut message.payload {
            Some(payload) if !self.is_v1() => payload.custom_details = Some(note),
            _ => message.details = Some(note),
        }
        go_json(message)
    }

    async fn send(&self, context: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        let c = &self.config;
        let data = self.base.data(context, alerts);
        let resolved = super::render::group_status(context, alerts) == "resolved";
        let mut details = BTreeMap::new();
        for (name, text) in &c.details {
            let value =
                self.base.templates.execute_text_string(text, &data.to_value()).map_err(|e| {
                    NotifyError {
                        retryable: false,
                        message: format!("{name:?}: failed to template {text:?}: {e}"),
                    }
                })?;
            details.insert(name.clone(), value);
        }
        let mut t = Render::new(&self.base.templates, &data);
        let hash = key_hash(&context.group_key);
        let (description, _) = truncate_in_runes(&t.text(&c.description), MAX_DESCRIPTION_RUNES);
        let (mut message, url, retrier) = if self.is_v1() {
            let service_key = key(&c.service_key, &c.service_key_file, "service key")?;
            let event_type = if resolved { "resolve" } else { "trigger" };
            let mut message = Message {
                routing_key: String::new(),
                service_key: t.text(&service_key),
                dedup_key: String::new(),
                incident_key: hash,
                event_type: event_type.into(),
                description,
                event_action: String::new(),
                payload: None,
                client: String::new(),
                client_url: String::new(),
                details: Some(details),
                images: Vec::new(),
                links: Vec::new(),
            };
            if !resolved {
                message.client = t.text(&c.client);
                message.client_url = t.text(&c.client_url);
            }
            t.check("failed to template PagerDuty v1 message")?;
            if message.service_key.is_empty() {
                return Err(NotifyError {
                    retryable: false,
                    message: "service key cannot be empty".into(),
                });
            }
            (
                message,
                self.v1_url.clone(),
                Retrier { retry_codes: vec![403], details: Some(error_details) },
            )
        } else {
            let routing_key = key(&c.routing_key, &c.routing_key_file, "routing key")?;
            let severity = if c.severity.is_empty() { "error" } else { c.severity.as_str() };
            let mut message = Message {
                client: t.text(&c.client),
                client_url: t.text(&c.client_url),
                routing_key: t.text(&routing_key),
                event_action: if resolved { "resolve" } else { "trigger" }.into(),
                dedup_key: hash,
                images: Vec::new(),
                links: Vec::new(),
                payload: Some(Payload {
                    summary: description,
                    source: t.text(&c.source),
                    severity: t.text(severity),
                    timestamp: String::new(),
                    custom_details: non_empty(details),
                    class: t.text(&c.class),
                    component: t.text(&c.component),
                    group: t.text(&c.group),
                }),
                service_key: String::new(),
                incident_key: String::new(),
                event_type: String::new(),
                description: String::new(),
                details: None,
            };
            for image in &c.images {
                let image = Image {
                    src: t.text(&image.src),
                    alt: t.text(&image.alt),
                    href: t.text(&image.href),
                };
                if !image.src.is_empty() {
                    message.images.push(image);
                }
            }
            for link in &c.links {
                let link = Link { href: t.text(&link.href), text: t.text(&link.text) };
                if !link.href.is_empty() {
                    message.links.push(link);
                }
            }
            t.check("failed to template PagerDuty v2 message")?;
            if message.routing_key.is_empty() {
                return Err(NotifyError {
                    retryable: false,
                    message: "routing key cannot be empty".into(),
                });
            }
            let url = c.url.as_ref().map(|u| u.as_str().to_owned()).unwrap_or_default();
            (message, url, Retrier { retry_codes: vec![429], details: Some(error_details) })
        };
        if let Some(details) = message.details.take() {
            message.details = non_empty(details);
        }
        let body = self.encode(&mut message);
        let response = self.base.post_json(&url, body).await?;
        retrier.check_response(response).await
    }
}

integration!(Pagerduty, "pagerduty");
