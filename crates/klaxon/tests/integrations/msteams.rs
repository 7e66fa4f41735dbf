//! Microsoft Teams: Alertmanager 0.25 rejects `msteams_configs` (no oracle), so Klaxon's
//! request is checked against the MessageCard format later releases document: POST with
//! JSON `@context`, `type`, `title`, `summary`, `text`, `themeColor` (red firing, green
//! resolved).

use std::sync::Arc;

use serde_json::json;

use super::capture::{Capture, Reply};
use super::{firing, post_alerts, start};
use crate::support::{Implementation, ScratchDir};

const CONFIG: &str = r#"
route: {receiver: teams, group_by: [alertname], group_wait: 0s, group_interval: 1s, repeat_interval: 1h}
receivers:
  - name: teams
    msteams_configs:
      - webhook_url: CAP/teams
        title: '{{ .Status }}: {{ .GroupLabels.alertname }}'
        summary: '{{ len .Alerts }} alert(s)'
        text: '{{ range .Alerts }}{{ .Annotations.summary }} & {{ end }}'
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msteams_posts_a_message_card() {
    let capture =
        Capture::start("127.0.0.113:19661", None, Arc::new(|_: &_| Reply::json(200, "1"))).await;
    let dir = ScratchDir::new("msteams");
    let server = start(
        Implementation::Klaxon,
        "127.0.0.113:19660",
        &dir,
        &CONFIG.replace("CAP", &capture.base),
    );
    let alert = firing(json!({"alertname": "Teams"}), json!({"summary": "<down>"}));
    post_alerts(&[&server], &json!([alert])).await;
    let received = capture.wait_for("the Teams card", |r| !r.is_empty()).await;
    let card = &received[0];
    assert_eq!((card.method.as_str(), card.target.as_str()), ("POST", "/teams"));
    assert_eq!(card.header("content-type"), Some("application/json"));
    assert_eq!(
        card.json(),
        json!({
            "@context": "http://schema.org/extensions",
            "type": "MessageCard",
            "title": "firing: Teams",
            "summary": "1 alert(s)",
            "text": "<down> & ",
            "themeColor": "8C1A1A",
        })
    );
}
