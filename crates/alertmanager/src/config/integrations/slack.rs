//! `slack_configs`: posts to a Slack incoming webhook, with attachments, fields and actions.

use serde::{Deserialize, Serialize};

use super::{
    FieldError, GlobalConfig, HttpClientConfig, field_error, inherit_http, template, validate_http,
};
use crate::config::types::SecretUrl;

/// A Slack integration.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlackConfig {
    /// Whether resolved notifications are sent (default false).
    #[serde(deserialize_with = "crate::config::types::go_bool")]
    pub send_resolved: bool,
    /// HTTP client settings (the global ones when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// The webhook URL (the global one when neither it nor the file is given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_url: Option<SecretUrl>,
    /// A file holding the webhook URL.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub api_url_file: String,
    /// Channel or user to post to.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub channel: String,
    /// Bot user name template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// Attachment colour template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub color: String,
    /// Title template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// Title link template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub title_link: String,
    /// Pretext template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pretext: String,
    /// Text template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// Attachment fields.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<SlackField>,
    /// Default for fields' `short`.
    #[serde(deserialize_with = "crate::config::types::go_bool")]
    pub short_fields: bool,
    /// Footer template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub footer: String,
    /// Fallback text template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub fallback: String,
    /// Callback id template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub callback_id: String,
    /// Icon emoji template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub icon_emoji: String,
    /// Icon URL template.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub icon_url: String,
    /// Image URL.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub image_url: String,
    /// Thumbnail URL.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub thumb_url: String,
    /// Whether to link channel and user names.
    #[serde(deserialize_with = "crate::config::types::go_bool")]
    pub link_names: bool,
    /// Attachment fields rendered as Markdown.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mrkdwn_in: Vec<String>,
    /// Buttons.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<SlackAction>,
}

/// A Slack attachment field.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlackField {
    /// Field title.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// Field value.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub value: String,
    /// Whether the field is short (the config's `short_fields` when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "crate::config::types::go_bool_opt")]
    pub short: Option<bool>,
}

/// A Slack button.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlackAction {
    /// Action type (`button`).
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Button text.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// Link target (a link button).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// Button style.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub style: String,
    /// Name (an interactive button).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Value (an interactive button).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub value: String,
    /// Confirmation dialog.
    #[serde(rename = "confirm", skip_serializing_if = "Option::is_none")]
    pub confirm: Option<SlackConfirmationField>,
}

/// A Slack confirmation dialog.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlackConfirmationField {
    /// Dialog text.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// Dialog title.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// Confirm button text.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ok_text: String,
    /// Dismiss button text.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub dismiss_text: String,
}

impl Default for SlackConfig {
    fn default() -> Self {
        SlackConfig {
            send_resolved: false,
            http_config: None,
            api_url: None,
            api_url_file: String::new(),
            channel: String::new(),
            username: template("slack.default.username"),
            color: "{{ if eq .Status \"firing\" }}danger{{ else }}good{{ end }}".to_owned(),
            title: template("slack.default.title"),
            title_link: template("slack.default.titlelink"),
            pretext: template("slack.default.pretext"),
            text: template("slack.default.text"),
            fields: Vec::new(),
            short_fields: false,
            footer: template("slack.default.footer"),
            fallback: template("slack.default.fallback"),
            callback_id: template("slack.default.callbackid"),
            icon_emoji: template("slack.default.iconemoji"),
            icon_url: template("slack.default.iconurl"),
            image_url: String::new(),
            thumb_url: String::new(),
            link_names: false,
            mrkdwn_in: Vec::new(),
            actions: Vec::new(),
        }
    }
}

impl SlackConfig {
    pub(crate) fn validate(&mut self) -> Result<(), FieldError> {
        validate_http(&mut self.http_config)?;
        for (i, field) in self.fields.iter().enumerate() {
            if field.title.is_empty() {
                return Err(field_error(
                    &format!("fields[{i}].title"),
                    "missing title in Slack field configuration",
                ));
            }
            if field.value.is_empty() {
                return Err(field_error(
                    &format!("fields[{i}].value"),
                    "missing value in Slack field configuration",
                ));
            }
        }
        for (i, action) in self.actions.iter_mut().enumerate() {
            action.validate().map_err(|(f, m)| (format!("actions[{i}]{f}"), m))?;
        }
        if self.api_url.is_some() && !self.api_url_file.is_empty() {
            return Err(field_error(
                "api_url",
                "at most one of api_url & api_url_file must be configured",
            ));
        }
        Ok(())
    }

    pub(crate) fn inherit(&mut self, global: &mut GlobalConfig) -> Result<(), FieldError> {
        inherit_http(&mut self.http_config, global);
        if self.api_url.is_none() && self.api_url_file.is_empty() {
            if global.slack_api_url.is_none() && global.slack_api_url_file.is_empty() {
                return Err(field_error(
                    "api_url",
                    "no global Slack API URL set either inline or in a file",
                ));
            }
            self.api_url.clone_from(&global.slack_api_url);
            self.api_url_file.clone_from(&global.slack_api_url_file);
        }
        Ok(())
    }
}

impl SlackAction {
    fn validate(&mut self) -> Result<(), FieldError> {
        if self.kind.is_empty() {
            return Err(field_error(".type", "missing type in Slack action configuration"));
        }
        if self.text.is_empty() {
            return Err(field_error(".text", "missing text in Slack action configuration"));
        }
        if let Some(confirm) = &self.confirm
            && confirm.text.is_empty()
        {
            return Err(field_error(
                ".confirm.text",
                "missing text in Slack confirmation configuration",
            ));
        }
        // A link button has no name, value or confirmation; an interactive one has no URL.
        if !self.url.is_empty() {
            self.name.clear();
            self.value.clear();
            self.confirm = None;
        } else if self.name.is_empty() {
            return Err(field_error("", "missing name or url in Slack action configuration"));
        }
        Ok(())
    }
}
