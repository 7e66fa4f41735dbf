//! `opsgenie_configs`: creates OpsGenie alerts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    FieldError, GlobalConfig, HttpClientConfig, field_error, inherit_http, template, validate_http,
};
use crate::config::types::{Secret, Url};

/// An OpsGenie integration.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpsGenieConfig {
    /// Whether resolved notifications are sent (default true).
    #[serde(deserialize_with = "crate::config::types::go_bool")]
    pub send_resolved: bool,
    /// HTTP client settings (the global ones when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// The API key (the global one when neither it nor the file is given).
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub api_key: Secret,
    /// A file holding the API key.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub api_key_file: String,
    /// The API URL (the global one when absent), always ending in `/`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_url: Option<Url>,
    /// Alert message template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Description template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Source template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// Extra details.
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::config::types::unique_map",
        serialize_with = "crate::config::gomap::serialize"
    )]
    pub details: BTreeMap<String, String>,
    /// Entity template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub entity: String,
    /// Responders.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub responders: Vec<OpsGenieResponder>,
    /// Comma-separated actions.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub actions: String,
    /// Comma-separated tags.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tags: String,
    /// Note template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// Priority template (P1..P5).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub priority: String,
    /// Whether to update message and priority of existing alerts.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[serde(deserialize_with = "crate::config::types::go_bool")]
    pub update_alerts: bool,
}

/// An OpsGenie responder.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpsGenieResponder {
    /// Responder id.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Responder name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Responder user name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// `team`, `teams`, `user`, `escalation`, `schedule`, or a template.
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    pub kind: String,
}

impl Default for OpsGenieConfig {
    fn default() -> Self {
        OpsGenieConfig {
            send_resolved: true,
            http_config: None,
            api_key: Secret::default(),
            api_key_file: String::new(),
            api_url: None,
            message: template("opsgenie.default.message"),
            description: template("opsgenie.default.description"),
            source: template("opsgenie.default.source"),
            details: BTreeMap::new(),
            entity: String::new(),
            responders: Vec::new(),
            actions: String::new(),
            tags: String::new(),
            note: String::new(),
            priority: String::new(),
            update_alerts: false,
        }
    }
}

const RESPONDER_TYPES: [&str; 5] = ["team", "teams", "user", "escalation", "schedule"];

impl OpsGenieConfig {
    pub(crate) fn validate(&mut self) -> Result<(), FieldError> {
        validate_http(&mut self.http_config)?;
        if !self.api_key.is_empty() && !self.api_key_file.is_empty() {
            return Err(field_error(
                "api_key",
                "at most one of api_key & api_key_file must be configured",
            ));
        }
        for (i, r) in self.responders.iter().enumerate() {
            let field = format!("responders[{i}]");
            if r.id.is_empty() && r.username.is_empty() && r.name.is_empty() {
                return Err((field, "opsGenieConfig responder has to have at least one of id, username or name specified".into()));
            }
            // Templated types are checked when rendered. Alertmanager lowercases a copy only, so
            // the type keeps its case in the loaded config.
            if !r.kind.contains("{{") && !RESPONDER_TYPES.contains(&r.kind.to_lowercase().as_str())
            {
                return Err((
                    format!("{field}.type"),
                    "opsGenieConfig responder type does not match valid options ^(team|teams|user|escalation|schedule)$".into(),
                ));
            }
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
                    .opsgenie_api_url
                    .as_mut()
                    .ok_or_else(|| field_error("api_url", "no global OpsGenie URL set"))?;
                *global_url = global_url.with_trailing_slash();
                global_url.clone()
            }
        };
        self.api_url = Some(url);
        if self.api_key.is_empty() && self.api_key_file.is_empty() {
            if global.opsgenie_api_key.is_empty() && global.opsgenie_api_key_file.is_empty() {
                return Err(field_error(
                    "api_key",
                    "no global OpsGenie API Key set either inline or in a file",
                ));
            }
            self.api_key = global.opsgenie_api_key.clone();
            self.api_key_file.clone_from(&global.opsgenie_api_key_file);
        }
        Ok(())
    }
}
