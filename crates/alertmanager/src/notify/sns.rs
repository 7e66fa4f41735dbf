//! Amazon SNS: a `Publish` call in the AWS query protocol, signed with SigV4, as 0.25's
//! aws-sdk-go client sends it — form parameters sorted by name, message attributes as
//! `MessageAttributes.entry.N.*` in key order, the message cut to 256 KiB (1600 bytes for an
//! SMS) with a `truncated` attribute, FIFO topics (`.fifo`) deduplicated by the group key's
//! SHA-256. The endpoint is `api_url` (the region's when empty). Errors: 5xx retried, other
//! statuses final, transport errors retried. Credentials come from `sigv4` or, without
//! them, from `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`; profiles and `role_arn` (STS) are
//! not supported.

use std::collections::BTreeMap;

use model::Alert;

use super::build::{Base, integration};
use super::encode::query_escape;
use super::render::{Render, Retrier, key_hash};
use super::sigv4::{SignedRequest, SigningKey, sign};
use super::{NotifyContext, NotifyError};
use crate::config::integrations::SnsConfig;

const MAX_MESSAGE_BYTES: usize = 256 * 1024;
const MAX_SMS_BYTES: usize = 1600;
const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// A configured SNS integration.
pub struct Sns {
    /// What every integration holds.
    pub base: Base,
    /// Its configuration.
    pub config: SnsConfig,
}

fn final_error(message: String) -> NotifyError {
    NotifyError { retryable: false, message }
}

/// Percent-encodes raw bytes as `url.QueryEscape` does (the message may be cut inside a
/// character, as 0.25 cuts it).
fn escape_bytes(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => query_escape(text),
        Err(_) => bytes
            .iter()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (*b as char).to_string()
                }
                b' ' => "+".into(),
                _ => format!("%{b:02X}"),
            })
            .collect(),
    }
}

/// The `<Message>` of an AWS error answer.
fn aws_message(body: &str) -> String {
    let start = body.find("<Message>").map(|i| i + "<Message>".len());
    let end = body.find("</Message>");
    match (start, end) {
        (Some(start), Some(end)) if start <= end => body[start..end].to_owned(),
        _ => body.to_owned(),
    }
}

impl Sns {
    fn params(&self, context: &NotifyContext, t: &mut Render<'_>) -> BTreeMap<String, Vec<u8>> {
        let c = &self.config;
        let mut params: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut attributes: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in &c.attributes {
            attributes.insert(t.text(name), t.text(value));
        }
        let mut limit = MAX_MESSAGE_BYTES;
        if !c.topic_arn.is_empty() {
            let topic = t.text(&c.topic_arn);
            if topic.ends_with(".fifo") {
                let hash = key_hash(&context.group_key);
                params.insert("MessageDeduplicationId".into(), hash.clone().into_bytes());
                params.insert("MessageGroupId".into(), hash.into_bytes());
            }
            params.insert("TopicArn".into(), topic.into_bytes());
        }
        if !c.phone_number.is_empty() {
            params.insert("PhoneNumber".into(), t.text(&c.phone_number).into_bytes());
            limit = MAX_SMS_BYTES;
        }
        if !c.target_arn.is_empty() {
            params.insert("TargetArn".into(), t.text(&c.target_arn).into_bytes());
        }
        let mut message = t.text(&c.message).into_bytes();
        if message.len() > limit {
            message.truncate(limit);
            attributes.insert("truncated".into(), "true".into());
        }
        params.insert("Message".into(), message);
        if attributes.is_empty() {
            params.insert("MessageAttributes".into(), Vec::new());
        }
        for (i, (name, value)) in attributes.into_iter().enumerate() {
            let prefix = format!("MessageAttributes.entry.{}", i + 1);
            params.insert(format!("{prefix}.Name"), name.into_bytes());
            params.insert(format!("{prefix}.Value.DataType"), b"String".to_vec());
            params.insert(format!("{prefix}.Value.StringValue"), value.into_bytes());
        }
        if !c.subject.is_empty() {
            params.insert("Subject".into(), t.text(&c.subject).into_bytes());
        }
        params.insert("Action".into(), b"Publish".to_vec());
        params.insert("Version".into(), b"2010-03-31".to_vec());
        params
    }

    async fn send(&self, context: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        let c = &self.config;
        let data = self.base.data(context, alerts);
        let mut t = Render::new(&self.base.templates, &data);
        let endpoint = t.text(&c.api_url);
        let params = self.params(context, &mut t);
        t.check("")?;
        let region = if c.sigv4.region.is_empty() {
            std::env::var("AWS_REGION")
                .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
                .unwrap_or_default()
        } else {
            c.sigv4.region.clone()
        };
        if region.is_empty() {
            return Err(NotifyError {
                retryable: true,
                message:
                    "region not configured in sns.sigv4.region or in default credentials chain"
                        .into(),
            });
        }
        let (access_key, secret_key) = if c.sigv4.access_key.is_empty() {
            (
                std::env::var("AWS_ACCESS_KEY_ID").unwrap_or_default(),
                std::env::var("AWS_SECRET_ACCESS_KEY").unwrap_or_default(),
            )
        } else {
            (c.sigv4.access_key.clone(), c.sigv4.secret_key.expose().to_owned())
        };
        if access_key.is_empty() || secret_key.is_empty() {
            return Err(NotifyError {
                retryable: true,
                message: "no AWS credentials: set sigv4.access_key and secret_key or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into(),
            });
        }
        let endpoint = if endpoint.is_empty() {
            format!("https://sns.{region}.amazonaws.com")
        } else {
            endpoint
        };
        let url = reqwest::Url::parse(&format!("{endpoint}/"))
            .map_err(|e| final_error(format!("invalid SNS api_url {endpoint:?}: {e}")))?;
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or("")),
            None => url.host_str().unwrap_or("").to_owned(),
        };
        let body: Vec<u8> = params
            .iter()
            .map(|(name, value)| format!("{}={}", query_escape(name), escape_bytes(value)))
            .collect::<Vec<_>>()
            .join("&")
            .into_bytes();
        let key = SigningKey {
            access_key: &access_key,
            secret_key: &secret_key,
            region: &region,
            service: "sns",
        };
        let signed = SignedRequest {
            method: "POST",
            host: &host,
            path: url.path(),
            query: url.query().unwrap_or(""),
            headers: &[("Content-Type", CONTENT_TYPE)],
            body: &body,
        };
        let signature = sign(&key, &signed, context.now);
        let request = self
            .base
            .http
            .post(url.as_str())
            .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
            .header("X-Amz-Date", signature.amz_date)
            .header(reqwest::header::AUTHORIZATION, signature.authorization)
            .body(body);
        let response = self.base.http.send(request).await?;
        let status = response.status().as_u16();
        if status / 100 == 2 {
            return Ok(());
        }
        let text = response.text().await.unwrap_or_default();
        Retrier::default().check(status, &aws_message(&text))
    }
}

integration!(Sns, "sns");
