//! Klaxon's default templates against the integrations' default fields: every template a
//! default field calls is defined and renders, and configured files override them.

use super::*;
use crate::config::integrations::{
    DiscordConfig, EmailConfig, OpsGenieConfig, PagerdutyConfig, PushoverConfig, SlackConfig,
    SnsConfig, TelegramConfig, VictorOpsConfig, WebexConfig, WechatConfig,
};

fn alert(status: &str, name: &str, instance: &str, annotations: &[(&str, &str)]) -> Alert {
    Alert {
        status: status.into(),
        labels: Kv::new([("alertname", name), ("instance", instance), ("job", "node")]),
        annotations: Kv::new(annotations.iter().copied()),
        starts_at: GoTime::utc(1_700_000_000, 0),
        ends_at: if status == "resolved" { GoTime::utc(1_700_000_600, 0) } else { GoTime::zero() },
        generator_url: "http://prometheus.example/graph?g0.expr=up".into(),
        fingerprint: "0123456789abcdef".into(),
    }
}

fn data() -> gotemplate::Value {
    Data {
        receiver: "ops <pager>".into(),
        status: "firing".into(),
        alerts: Alerts::new(vec![
            alert("firing", "DiskFull", "db-1:9100", &[("summary", "disk <b>97%</b> full")]),
            alert("resolved", "DiskFull", "db-2:9100", &[]),
        ]),
        group_labels: Kv::new([("alertname", "DiskFull")]),
        common_labels: Kv::new([("alertname", "DiskFull"), ("job", "node")]),
        common_annotations: Kv::default(),
        external_url: "http://klaxon.example:9093".into(),
    }
    .to_value()
}

/// Every string holding a template action in `value`, a serialised integration config.
fn template_fields(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) if s.contains("{{") => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| template_fields(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| template_fields(v, out)),
        _ => {}
    }
}

fn default_fields() -> Vec<String> {
    let configs = [
        serde_json::to_value(DiscordConfig::default()),
        serde_json::to_value(EmailConfig::default()),
        serde_json::to_value(OpsGenieConfig::default()),
        serde_json::to_value(PagerdutyConfig::default()),
        serde_json::to_value(PushoverConfig::default()),
        serde_json::to_value(SlackConfig::default()),
        serde_json::to_value(SnsConfig::default()),
        serde_json::to_value(TelegramConfig::default()),
        serde_json::to_value(VictorOpsConfig::default()),
        serde_json::to_value(WebexConfig::default()),
        serde_json::to_value(WechatConfig::default()),
    ];
    // The email subject default is filled in when the configuration loads.
    let mut fields = vec!["{{ template \"email.default.subject\" . }}".to_owned()];
    for config in configs {
        template_fields(&config.expect("a default config serialises"), &mut fields);
    }
    fields
}

#[test]
fn every_default_field_renders() {
    let fields = default_fields();
    assert!(fields.len() >= 35, "fewer template defaults than expected: {fields:?}");
    let t = Templates::new();
    for field in &fields {
        let out = t.execute_text_string(field, &data());
        assert!(out.is_ok(), "{field}: {out:?}");
    }
    let html = t.execute_html_string("{{ template \"email.default.html\" . }}", &data()).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
}

#[test]
fn default_messages_name_status_group_and_alerts() {
    let t = Templates::new();
    let render = |name: &str| {
        t.execute_text_string(&format!("{{{{ template \"{name}\" . }}}}"), &data()).unwrap()
    };
    assert_eq!(
        render("email.default.subject"),
        "FIRING: alertname=DiskFull (1 firing, 1 resolved)"
    );
    let text = render("slack.default.text");
    assert!(text.contains("*Firing (1)*") && text.contains("*Resolved (1)*"), "{text}");
    assert!(text.contains("instance=db-1:9100") && text.contains("disk <b>97%</b> full"), "{text}");
    assert!(text.contains("<http://prometheus.example/graph?g0.expr=up|source>"), "{text}");
    let opsgenie = render("opsgenie.default.description");
    let silence = "http://klaxon.example:9093/#/silences/new?filter=%7Balertname%3D%22DiskFull%22%2C+instance%3D%22db-1%3A9100%22%2C+job%3D%22node%22%7D";
    assert!(opsgenie.contains(silence), "{opsgenie}");
    // Telegram's default parse mode is HTML: values are escaped, the markup is not.
    let telegram = render("telegram.default.message");
    assert!(telegram.contains("disk &lt;b&gt;97%&lt;/b&gt; full"), "{telegram}");
    assert!(telegram.starts_with("<b>FIRING</b>"), "{telegram}");
    assert_eq!(render("slack.default.iconemoji"), "");
}

#[test]
fn default_email_html_escapes_values_and_links() {
    let t = Templates::new();
    let html = t.execute_html_string("{{ template \"email.default.html\" . }}", &data()).unwrap();
    assert!(html.contains("disk &lt;b&gt;97%&lt;/b&gt; full"), "{html}");
    assert!(html.contains("receiver ops &lt;pager&gt;"), "{html}");
    // The silence filter is query-escaped once (urlquery stands in for the URL escaper).
    let silence = "href=\"http://klaxon.example:9093/#/silences/new?filter=%7Balertname%3D%22DiskFull%22%2C&#43;instance%3D%22db-2%3A9100%22%2C&#43;job%3D%22node%22%7D\"";
    assert!(html.contains(silence), "{html}");
    assert!(
        html.contains("href=\"http://klaxon.example:9093/#/alerts?receiver=ops&#43;%3Cpager%3E\""),
        "{html}"
    );
}

#[test]
fn configured_files_override_defaults() {
    let dir = std::env::temp_dir().join(format!("klaxon-default-override-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("mine.tmpl"),
        "{{ define \"email.default.subject\" }}mine: {{ .Receiver }}{{ end }}",
    )
    .unwrap();
    // A configured file named like Alertmanager's defaults replaces none of ours.
    std::fs::write(dir.join("default.tmpl"), "{{ define \"other\" }}{{ end }}").unwrap();
    let t = Templates::from_globs(&[format!("{}/*.tmpl", dir.display())]).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let subject = t.execute_text_string("{{ template \"email.default.subject\" . }}", &data());
    assert_eq!(subject.unwrap(), "mine: ops <pager>");
    let title = t.execute_text_string("{{ template \"slack.default.title\" . }}", &data());
    assert_eq!(title.unwrap(), "FIRING: alertname=DiskFull (1 firing, 1 resolved)");
}
