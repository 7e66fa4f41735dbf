//! VictorOps: a flat JSON object POSTed to `{api_url}{api_key}/{routing_key}`, as 0.25 sends
//! it: `message_type` from the template while firing (`CRITICAL` unless it renders `INFO`,
//! `WARNING` or `CRITICAL`), `RECOVERY` once resolved; `entity_id` the group key's SHA-256;
//! `state_message` cut to 20480 characters; custom fields added. 5xx is retried.

use std::collections::BTreeMap;

use model::Alert;

use super::build::{Base, integration};
use super::encode::go_json;
use super::render::{Render, Retrier, group_status, key_hash, truncate_in_runes};
use super::{NotifyContext, NotifyError};
use crate::config::integrations::VictorOpsConfig;

const MAX_MESSAGE_RUNES: usize = 20480;

/// A configured VictorOps integration.
pub struct VictorOps {
    /// What every integration holds.
    pub base: Base,
    /// Its configuration.
    pub config: VictorOpsConfig,
}

impl VictorOps {
    async fn send(&self, context: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        let c = &self.config;
        let data = self.base.data(context, alerts);
        let mut t = Render::new(&self.base.templates, &data);
        let api_key = if c.api_key.is_empty() {
            std::fs::read_to_string(&c.api_key_file).map(|s| s.trim().to_owned()).map_err(|e| {
                NotifyError {
                    retryable: false,
                    message: format!("failed to read API key from file: {e}"),
                }
            })?
        } else {
            c.api_key.expose().to_owned()
        };
        let base = c.api_url.as_ref().map(|u| u.as_str()).unwrap_or_default();
        let url = format!("{base}{api_key}/{}", t.text(&c.routing_key));
        t.check("templating error")?;
        let mut message_type = t.text(&c.message_type);
        let state_message = t.text(&c.state_message);
        if group_status(context, alerts) == "resolved" {
            message_type = "RECOVERY".into();
        } else if !["INFO", "WARNING", "CRITICAL"].contains(&message_type.as_str()) {
            message_type = "CRITICAL".into();
        }
        let (state_message, _) = truncate_in_runes(&state_message, MAX_MESSAGE_RUNES);
        let mut fields = BTreeMap::from([
            ("message_type".to_owned(), message_type),
            ("entity_id".to_owned(), key_hash(&context.group_key)),
            ("entity_display_name".to_owned(), t.text(&c.entity_display_name)),
            ("state_message".to_owned(), state_message),
            ("monitoring_tool".to_owned(), t.text(&c.monitoring_tool)),
        ]);
        for (name, text) in &c.custom_fields {
            fields.insert(name.clone(), t.text(text));
        }
        // 0.25 reports a payload error as retryable.
        t.check("templating error").map_err(|e| NotifyError { retryable: true, ..e })?;
        let response = self.base.post_json(&url, go_json(&fields)).await?;
        Retrier::default().check_response(response).await
    }
}

integration!(VictorOps, "victorops");
