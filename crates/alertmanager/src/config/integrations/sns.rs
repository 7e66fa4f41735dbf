//! `sns_configs`: publishes to Amazon SNS, signing with AWS SigV4.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    FieldError, GlobalConfig, HttpClientConfig, field_error, inherit_http, template, validate_http,
};
use crate::config::types::Secret;

/// An SNS integration.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SnsConfig {
    /// Whether resolved notifications are sent (default true).
    #[serde(deserialize_with = "crate::config::types::go_bool")]
    pub send_resolved: bool,
    /// HTTP client settings (the global ones when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// SNS API URL (the region's when empty).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub api_url: String,
    /// SigV4 signing settings.
    pub sigv4: SigV4Config,
    /// Topic to publish to.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub topic_arn: String,
    /// Phone number to send an SMS to.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub phone_number: String,
    /// Mobile platform endpoint.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub target_arn: String,
    /// Subject template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subject: String,
    /// Message template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Message attributes.
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::config::types::unique_map",
        serialize_with = "crate::config::gomap::serialize"
    )]
    pub attributes: BTreeMap<String, String>,
}

/// AWS SigV4 signing settings.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SigV4Config {
    /// AWS region.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub region: String,
    /// Access key id.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub access_key: String,
    /// Secret access key.
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub secret_key: Secret,
    /// Named AWS profile.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub profile: String,
    /// Role to assume.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub role_arn: String,
}

impl Default for SnsConfig {
    fn default() -> Self {
        SnsConfig {
            send_resolved: true,
            http_config: None,
            api_url: String::new(),
            sigv4: SigV4Config::default(),
            topic_arn: String::new(),
            phone_number: String::new(),
            target_arn: String::new(),
            subject: template("sns.default.subject"),
            message: template("sns.default.message"),
            attributes: BTreeMap::new(),
        }
    }
}

impl SnsConfig {
    pub(crate) fn validate(&mut self) -> Result<(), FieldError> {
        validate_http(&mut self.http_config)?;
        if self.sigv4.access_key.is_empty() != self.sigv4.secret_key.is_empty() {
            return Err(field_error(
                "sigv4",
                "must provide a AWS SigV4 Access key and Secret Key if credentials are specified in the SigV4 config",
            ));
        }
        // Go compares the three emptiness flags with chained `!=`; keep its exact truth table.
        let (target, topic, phone) =
            (self.target_arn.is_empty(), self.topic_arn.is_empty(), self.phone_number.is_empty());
        if (target != topic) != phone {
            return Err(field_error(
                "topic_arn",
                "must provide either a Target ARN, Topic ARN, or Phone Number for SNS config",
            ));
        }
        Ok(())
    }

    pub(crate) fn inherit(&mut self, global: &mut GlobalConfig) -> Result<(), FieldError> {
        inherit_http(&mut self.http_config, global);
        Ok(())
    }
}
