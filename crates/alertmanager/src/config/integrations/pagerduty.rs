//! `pagerduty_configs`: PagerDuty Events API v1 (service key) or v2 (routing key).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{FieldError, GlobalConfig, HttpClientConfig, field_error, inherit_http, validate_http};
use crate::config::types::{Secret, Url};

/// A PagerDuty integration.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PagerdutyConfig {
    /// Whether resolved notifications are sent (default true).
    #[serde(deserialize_with = "crate::config::types::go_bool")]
    pub send_resolved: bool,
    /// HTTP client settings (the global ones when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// Events API v1 integration key.
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub service_key: Secret,
    /// File holding the v1 key.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub service_key_file: String,
    /// Events API v2 integration key.
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub routing_key: Secret,
    /// File holding the v2 key.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub routing_key_file: String,
    /// The events URL (the global one when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<Url>,
    /// Client name template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client: String,
    /// Client link template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_url: String,
    /// Incident description template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Incident details.
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::config::types::unique_map",
        serialize_with = "crate::config::gomap::serialize"
    )]
    pub details: BTreeMap<String, String>,
    /// Images to attach.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<PagerdutyImage>,
    /// Links to attach.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<PagerdutyLink>,
    /// Source (the client when absent).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// Severity template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub severity: String,
    /// Class template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub class: String,
    /// Component template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub component: String,
    /// Group template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub group: String,
}

/// An image attached to a PagerDuty event.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PagerdutyImage {
    /// Image source.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub src: String,
    /// Alternative text.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub alt: String,
    /// Link target.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub href: String,
}

/// A link attached to a PagerDuty event.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PagerdutyLink {
    /// Link target.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub href: String,
    /// Link text.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub text: String,
}

impl Default for PagerdutyConfig {
    fn default() -> Self {
        PagerdutyConfig {
            send_resolved: true,
            http_config: None,
            service_key: Secret::default(),
            service_key_file: String::new(),
            routing_key: Secret::default(),
            routing_key_file: String::new(),
            url: None,
            client: "{{ template \"pagerduty.default.client\" . }}".to_owned(),
            client_url: "{{ template \"pagerduty.default.clientURL\" . }}".to_owned(),
            description: "{{ template \"pagerduty.default.description\" .}}".to_owned(),
            details: BTreeMap::new(),
            images: Vec::new(),
            links: Vec::new(),
            source: String::new(),
            severity: String::new(),
            class: String::new(),
            component: String::new(),
            group: String::new(),
        }
    }
}

const DEFAULT_DETAILS: [(&str, &str); 4] = [
    ("firing", "{{ template \"pagerduty.default.instances\" .Alerts.Firing }}"),
    ("resolved", "{{ template \"pagerduty.default.instances\" .Alerts.Resolved }}"),
    ("num_firing", "{{ .Alerts.Firing | len }}"),
    ("num_resolved", "{{ .Alerts.Resolved | len }}"),
];

impl PagerdutyConfig {
    pub(crate) fn validate(&mut self) -> Result<(), FieldError> {
        validate_http(&mut self.http_config)?;
        if self.routing_key.is_empty()
            && self.service_key.is_empty()
            && self.routing_key_file.is_empty()
            && self.service_key_file.is_empty()
        {
            return Err(field_error(
                "routing_key",
                "missing service or routing key in PagerDuty config",
            ));
        }
        if !self.routing_key.is_empty() && !self.routing_key_file.is_empty() {
            return Err(field_error(
                "routing_key",
                "at most one of routing_key & routing_key_file must be configured",
            ));
        }
        if !self.service_key.is_empty() && !self.service_key_file.is_empty() {
            return Err(field_error(
                "service_key",
                "at most one of service_key & service_key_file must be configured",
            ));
        }
        if self.source.is_empty() {
            self.source.clone_from(&self.client);
        }
        for (key, value) in DEFAULT_DETAILS {
            self.details.entry(key.to_owned()).or_insert_with(|| value.to_owned());
        }
        Ok(())
    }

    pub(crate) fn inherit(&mut self, global: &mut GlobalConfig) -> Result<(), FieldError> {
        inherit_http(&mut self.http_config, global);
        if self.url.is_none() {
            self.url = Some(
                global
                    .pagerduty_url
                    .clone()
                    .ok_or_else(|| field_error("url", "no global PagerDuty URL set"))?,
            );
        }
        Ok(())
    }
}
