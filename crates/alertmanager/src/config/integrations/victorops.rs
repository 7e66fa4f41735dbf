//! `victorops_configs`: sends to the VictorOps (Splunk On-Call) REST endpoint.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    FieldError, GlobalConfig, HttpClientConfig, field_error, inherit_http, template, validate_http,
};
use crate::config::types::{Secret, Url};

/// A VictorOps integration.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct VictorOpsConfig {
    /// Whether resolved notifications are sent (default true).
    #[serde(deserialize_with = "crate::config::types::go_bool")]
    pub send_resolved: bool,
    /// HTTP client settings (the global ones when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// API key (the global one when neither it nor the file is given).
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub api_key: Secret,
    /// A file holding the API key.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub api_key_file: String,
    /// API URL (the global one when absent), always ending in `/`.
    pub api_url: Option<Url>,
    /// Routing key.
    pub routing_key: String,
    /// Message type template (default `CRITICAL`).
    pub message_type: String,
    /// State message template.
    pub state_message: String,
    /// Entity display name template.
    pub entity_display_name: String,
    /// Monitoring tool template.
    pub monitoring_tool: String,
    /// Extra fields.
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::config::types::unique_map",
        serialize_with = "crate::config::gomap::serialize"
    )]
    pub custom_fields: BTreeMap<String, String>,
}

impl Default for VictorOpsConfig {
    fn default() -> Self {
        VictorOpsConfig {
            send_resolved: true,
            http_config: None,
            api_key: Secret::default(),
            api_key_file: String::new(),
            api_url: None,
            routing_key: String::new(),
            message_type: "CRITICAL".to_owned(),
            state_message: template("victorops.default.state_message"),
            entity_display_name: template("victorops.default.entity_display_name"),
            monitoring_tool: template("victorops.default.monitoring_tool"),
            custom_fields: BTreeMap::new(),
        }
    }
}

const RESERVED: [&str; 7] = [
    "routing_key",
    "message_type",
    "state_message",
    "entity_display_name",
    "monitoring_tool",
    "entity_id",
    "entity_state",
];

impl VictorOpsConfig {
    pub(crate) fn validate(&mut self) -> Result<(), FieldError> {
        validate_http(&mut self.http_config)?;
        if self.routing_key.is_empty() {
            return Err(field_error("routing_key", "missing Routing key in VictorOps config"));
        }
        if !self.api_key.is_empty() && !self.api_key_file.is_empty() {
            return Err(field_error(
                "api_key",
                "at most one of api_key & api_key_file must be configured",
            ));
        }
        if let Some(bad) = RESERVED.iter().find(|r| self.custom_fields.contains_key(**r)) {
            return Err(field_error(
                &format!("custom_fields.{bad}"),
                format!(
                    "victorOps config contains custom field {bad} which cannot be used as it conflicts with the fixed/static fields"
                ),
            ));
        }
        Ok(())
    }

    pub(crate) fn inherit(&mut self, global: &mut GlobalConfig) -> Result<(), FieldError> {
        inherit_http(&mut self.http_config, global);
        let url = match self.api_url.take() {
            Some(own) => own.with_trailing_slash(),
            None => {
                // Alertmanager shares the global URL and appends the slash to it in place.
                let global_url = global
                    .victorops_api_url
                    .as_mut()
                    .ok_or_else(|| field_error("api_url", "no global VictorOps URL set"))?;
                *global_url = global_url.with_trailing_slash();
                global_url.clone()
            }
        };
        self.api_url = Some(url);
        if self.api_key.is_empty() && self.api_key_file.is_empty() {
            if global.victorops_api_key.is_empty() && global.victorops_api_key_file.is_empty() {
                return Err(field_error("api_key", "no global VictorOps API Key set"));
            }
            self.api_key = global.victorops_api_key.clone();
            self.api_key_file.clone_from(&global.victorops_api_key_file);
        }
        Ok(())
    }
}
