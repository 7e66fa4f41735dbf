//! Unit tests for loading, validation errors and rendering.

use std::path::Path;

use super::{Config, ConfigError};

fn load(text: &str) -> Result<Config, ConfigError> {
    Config::from_yaml(text, Path::new("/etc/alertmanager/alertmanager.yml"))
}

fn error(text: &str) -> (Option<usize>, String, String) {
    match load(text) {
        Err(ConfigError::Invalid { line, field, message, .. }) => (line, field, message),
        other => panic!("expected an invalid config, got {other:?}"),
    }
}

const MINIMAL: &str = "route:\n  receiver: a\nreceivers:\n  - name: a\n";

#[test]
fn loads_minimal() {
    let config = load(MINIMAL).unwrap();
    assert_eq!(config.route.receiver.as_deref(), Some("a"));
    assert_eq!(config.global.resolve_timeout.as_secs(), 300);
    assert!(config.receivers[0].integrations().is_empty());
}

#[test]
fn bad_duration_names_file_line_and_field() {
    let text = "route:\n  receiver: a\n  routes:\n    - receiver: a\n      group_wait: 5x\nreceivers:\n  - name: a\n";
    let err = load(text).unwrap_err().to_string();
    assert_eq!(
        err,
        "/etc/alertmanager/alertmanager.yml:5: route.routes[0].group_wait: not a valid duration string: \"5x\""
    );
}

#[test]
fn unknown_field_is_an_error() {
    let (line, field, message) =
        error("route:\n  receiver: a\n  bogus: 1\nreceivers:\n  - name: a\n");
    assert_eq!(line, Some(3));
    assert!(field.starts_with("route"), "{field}");
    assert!(message.contains("unknown field"), "{message}");
}

#[test]
fn undefined_receiver_points_at_the_route() {
    let (line, field, message) =
        error("route:\n  receiver: a\n  routes:\n    - receiver: nope\nreceivers:\n  - name: a\n");
    assert_eq!((line, field.as_str()), (Some(4), "route.routes[0].receiver"));
    assert_eq!(message, "undefined receiver \"nope\" used in route");
}

#[test]
fn semantic_checks() {
    let cases = [
        ("route:\n  receiver: a\nreceivers:\n  - name: a\n  - name: a\n", "receivers[1].name"),
        (
            "route:\n  receiver: a\n  group_interval: 0s\nreceivers:\n  - name: a\n",
            "route.group_interval",
        ),
        ("route:\n  receiver: a\n  continue: true\nreceivers:\n  - name: a\n", "route.continue"),
        (
            "route:\n  receiver: a\n  matchers: ['x=\"y\"']\nreceivers:\n  - name: a\n",
            "route.matchers",
        ),
        (
            "route:\n  receiver: a\nreceivers:\n  - name: a\n    email_configs:\n      - to: x@y\n",
            "receivers[0].email_configs[0].smarthost",
        ),
        (
            "route:\n  receiver: a\nreceivers:\n  - name: a\n    slack_configs:\n      - channel: x\n",
            "receivers[0].slack_configs[0].api_url",
        ),
        (
            "route:\n  receiver: a\n  routes:\n    - mute_time_intervals: [x]\nreceivers:\n  - name: a\n",
            "route.routes[0].mute_time_intervals[0]",
        ),
        ("receivers:\n  - name: a\n", "route"),
    ];
    for (text, expected) in cases {
        let (_, field, _) = error(text);
        assert_eq!(field, expected, "{text}");
    }
}

#[test]
fn secrets_never_show() {
    let text = "global:\n  slack_api_url: https://hooks.slack.com/x\n  smtp_auth_password: pw\nroute:\n  receiver: a\nreceivers:\n  - name: a\n    slack_configs:\n      - channel: c\n";
    let config = load(text).unwrap();
    let rendered = config.original_yaml();
    assert!(!rendered.contains("hooks.slack.com"), "{rendered}");
    assert!(!rendered.contains("pw"), "{rendered}");
    assert_eq!(format!("{}", config.global.smtp_auth_password), "<secret>");
    assert_eq!(format!("{:?}", config.global.smtp_auth_password), "<secret>");
}

#[test]
fn global_defaults_flow_into_integrations() {
    let text = "global:\n  smtp_from: am@example.org\n  smtp_smarthost: mail:25\nroute:\n  receiver: a\nreceivers:\n  - name: a\n    email_configs:\n      - to: x@y\n";
    let config = load(text).unwrap();
    let email = &config.receivers[0].email_configs[0];
    assert_eq!(email.from, "am@example.org");
    assert_eq!(email.smarthost.to_string(), "mail:25");
    assert_eq!(email.require_tls, Some(true));
    assert_eq!(config.receivers[0].integrations(), vec![("email", 0)]);
}

#[test]
fn matchers_are_combined() {
    let text = "route:\n  receiver: a\n  routes:\n    - match: {b: x}\n      match_re: {a: 'y.*'}\n      matchers: ['c!=\"z\"']\nreceivers:\n  - name: a\n";
    let config = load(text).unwrap();
    let names: Vec<String> =
        config.route.routes[0].matchers.iter().map(|m| m.to_string()).collect();
    // match_re keeps 0.25's anchored source, which route keys render.
    assert_eq!(names, ["a=~\"^(?:y.*)$\"", "b=\"x\"", "c!=\"z\""]);
}

#[test]
fn duplicate_map_keys_are_rejected() {
    let (_, field, message) = error(
        "route:\n  receiver: a\n  routes:\n  - match: {a: b, a: c}\nreceivers:\n  - name: a\n",
    );
    assert_eq!(field, "route.routes[0].match");
    assert!(message.contains("duplicate key"), "{message}");
}

#[test]
fn templates_resolve_against_the_file_directory() {
    let text =
        "route:\n  receiver: a\nreceivers:\n  - name: a\ntemplates: ['t/*.tmpl', '/abs/x.tmpl']\n";
    let config = Config::from_yaml(text, Path::new("./conf/am.yml")).unwrap();
    assert_eq!(config.template_patterns, ["conf/t/*.tmpl", "/abs/x.tmpl"]);
    let config = Config::from_yaml(text, Path::new("am.yml")).unwrap();
    assert_eq!(config.template_patterns, ["t/*.tmpl", "/abs/x.tmpl"]);
}

#[test]
fn merge_keys_and_aliases_are_applied() {
    let text = "route:\n  receiver: &r a\n  routes:\n    - &base\n      receiver: *r\n      group_wait: 1m\n    - <<: *base\n      group_wait: 2m\nreceivers:\n  - name: a\n";
    let config = load(text).unwrap();
    let second = &config.route.routes[1];
    assert_eq!(second.receiver.as_deref(), Some("a"));
    assert_eq!(second.group_wait, Some(std::time::Duration::from_secs(120)));
}

#[test]
fn urls_are_checked_and_normalized() {
    use super::types::Url;
    assert_eq!(Url::parse("HTTPS://example.org/x").unwrap().as_str(), "https://example.org/x");
    assert!(Url::parse("ftp://example.org").is_err());
    assert!(Url::parse("http://").is_err());
    assert!(Url::parse("example.org").is_err());
    let slashed = Url::parse("https://api.example.org/v2?x=1").unwrap().with_trailing_slash();
    assert_eq!(slashed.as_str(), "https://api.example.org/v2/?x=1");
    let bare = Url::parse("https://api.example.org").unwrap().with_trailing_slash();
    assert_eq!(bare.as_str(), "https://api.example.org/");
}

#[test]
fn yaml_1_1_booleans_are_read_as_go_does() {
    let text = "route:\n  receiver: a\nreceivers:\n  - name: a\n    webhook_configs:\n      - url: http://x/\n        send_resolved: no\n";
    let config = load(text).unwrap();
    assert!(!config.receivers[0].webhook_configs[0].send_resolved);
    let (_, field, _) =
        error("route:\n  receiver: a\n  continue: maybe\nreceivers:\n  - name: a\n");
    assert_eq!(field, "route.continue");
}

#[test]
fn harness_config_exposes_what_the_server_needs() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/config/valid/harness.yml"
    ))
    .unwrap();
    let config = load(&text).unwrap();
    let secs = std::time::Duration::from_secs;
    assert_eq!(config.global.resolve_timeout, secs(300));
    assert_eq!(config.route.group_by, ["alertname", "group"]);
    assert_eq!(
        (config.route.group_wait, config.route.repeat_interval),
        (Some(secs(30)), Some(secs(14400)))
    );
    let child = &config.route.routes[0];
    assert_eq!(child.receiver.as_deref(), Some("sink"));
    assert_eq!(
        child.matchers.iter().map(|m| m.to_string()).collect::<Vec<_>>(),
        ["harness_route=\"webhook\""]
    );
    assert!(!child.continue_matching);
    let sink = config.receiver("sink").unwrap();
    assert_eq!(sink.integrations(), vec![("webhook", 0)]);
    let hook = &sink.webhook_configs[0];
    assert_eq!(hook.url.as_ref().unwrap().as_str(), "http://127.0.0.1:19099/hook");
    assert!(!hook.send_resolved);
    assert!(hook.http_config.as_ref().unwrap().follow_redirects);
}

#[test]
fn shared_global_http_config_paths_join_once_per_inheritor() {
    // Observed with Alertmanager 0.25 run as `--config.file=conf/am.yml`.
    let text = "global:\n  http_config:\n    basic_auth:\n      username: u\n      password_file: pw.txt\nroute:\n  receiver: a\nreceivers:\n  - name: a\n    webhook_configs:\n      - url: http://127.0.0.1:1/x\n      - url: http://127.0.0.1:1/y\n";
    let config = Config::from_yaml(text, Path::new("conf/am.yml")).unwrap();
    let file = |h: &Option<super::HttpClientConfig>| {
        h.as_ref().unwrap().basic_auth.as_ref().unwrap().password_file.clone()
    };
    assert_eq!(file(&config.global.http_config), "conf/conf/conf/pw.txt");
    assert_eq!(file(&config.receivers[0].webhook_configs[1].http_config), "conf/conf/conf/pw.txt");
}
