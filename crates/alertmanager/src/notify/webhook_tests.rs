use std::sync::Arc;

use std::time::Duration;

use chrono::{TimeZone, Utc};

use super::*;
use crate::config::HttpClientConfig;
use crate::config::http_config::{Authorization, BasicAuth};
use crate::config::types::Secret;
use crate::notify::http::HttpSender;
use crate::silence::silencepb::go_zero_time;

fn alert(
    labels: &[(&str, &str)],
    annotations: &[(&str, &str)],
    ends: DateTime<FixedOffset>,
) -> Alert {
    Alert {
        labels: LabelSet::from_pairs(labels.iter().copied()),
        annotations: LabelSet::from_pairs(annotations.iter().copied()),
        starts_at: DateTime::parse_from_rfc3339("2023-11-14T22:13:20.120+01:00").unwrap(),
        ends_at: ends,
        generator_url: Arc::new("http://gen/?a=1&b=<2>".to_owned()),
        updated_at: Utc.timestamp_opt(0, 0).unwrap(),
        timeout: false,
    }
}

#[test]
fn notify_webhook_body_is_go_json() {
    let now = Utc.with_ymd_and_hms(2023, 11, 14, 22, 0, 0).unwrap();
    let context = NotifyContext {
        receiver: "team.a+b".into(),
        group_key: r#"{}:{alertname="X"}"#.into(),
        group_labels: LabelSet::from_pairs([("alertname", "X")]),
        now,
    };
    let alerts = [
        alert(&[("alertname", "X"), ("i", "1")], &[("s", "a")], go_zero_time().fixed_offset()),
        alert(
            &[("alertname", "X"), ("i", "2")],
            &[("s", "a"), ("t", "x")],
            DateTime::parse_from_rfc3339("2023-11-14T20:00:00.5Z").unwrap(),
        ),
    ];
    let body = Message::new(&context, "http://am:9093", &alerts, 3).to_go_json();
    let expected = concat!(
        r#"{"receiver":"team\\.a\\+b","status":"firing","alerts":["#,
        r#"{"status":"firing","labels":{"alertname":"X","i":"1"},"annotations":{"s":"a"},"#,
        r#""startsAt":"2023-11-14T22:13:20.12+01:00","endsAt":"0001-01-01T00:00:00Z","#,
        r#""generatorURL":"http://gen/?a=1\u0026b=\u003c2\u003e","fingerprint":""#,
    );
    let text = String::from_utf8(body).unwrap();
    assert!(text.starts_with(expected), "{text}");
    assert!(text.contains(r#""status":"resolved","labels":{"alertname":"X","i":"2"}"#), "{text}");
    assert!(text.contains(r#""endsAt":"2023-11-14T20:00:00.5Z""#), "{text}");
    let tail = concat!(
        r#""groupLabels":{"alertname":"X"},"commonLabels":{"alertname":"X"},"#,
        r#""commonAnnotations":{"s":"a"},"externalURL":"http://am:9093","version":"4","#,
        r#""groupKey":"{}:{alertname=\"X\"}","truncatedAlerts":3}"#,
        "\n"
    );
    assert!(text.ends_with(tail), "{text}");
}

#[test]
fn notify_go_time_trims_the_fraction() {
    let t = |s: &str| go_time(DateTime::parse_from_rfc3339(s).unwrap());
    assert_eq!(t("2023-01-02T03:04:05Z"), "2023-01-02T03:04:05Z");
    assert_eq!(t("2023-01-02T03:04:05.100-07:30"), "2023-01-02T03:04:05.1-07:30");
    assert_eq!(t("2023-01-02T03:04:05.123456789+00:00"), "2023-01-02T03:04:05.123456789Z");
    assert_eq!(go_time(go_zero_time().fixed_offset()), "0001-01-01T00:00:00Z");
}

#[test]
fn notify_quote_meta_escapes_regex_syntax() {
    assert_eq!(
        quote_meta(r"a.b*c\d[e]{f}(g)|h^i$j?k+l"),
        r"a\.b\*c\\d\[e\]\{f\}\(g\)\|h\^i\$j\?k\+l"
    );
}

/// Answers one HTTP request with `status` and returns what was received.
async fn serve_once(status: u16) -> (String, tokio::task::JoinHandle<String>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let handle = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut received = Vec::new();
        let mut buffer = [0u8; 4096];
        // Read the head, then the body by Content-Length.
        loop {
            let n = stream.read(&mut buffer).await.unwrap();
            received.extend_from_slice(&buffer[..n]);
            let text = String::from_utf8_lossy(&received).to_string();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length: ")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if body.len() >= length || n == 0 {
                    break;
                }
            }
        }
        let reply =
            format!("HTTP/1.1 {status} X\r\nContent-Length: 4\r\nConnection: close\r\n\r\noops");
        stream.write_all(reply.as_bytes()).await.unwrap();
        String::from_utf8_lossy(&received).to_string()
    });
    (url, handle)
}

fn webhook(url: String, http: Option<HttpClientConfig>) -> Webhook {
    Webhook {
        index: 0,
        url,
        send_resolved: true,
        max_alerts: 1,
        external_url: "http://am".into(),
        http: HttpSender::new(http.as_ref(), Duration::from_secs(5)).unwrap(),
    }
}

#[tokio::test]
async fn notify_webhook_posts_with_auth_and_classifies_answers() {
    let context = NotifyContext {
        receiver: "r".into(),
        group_key: "{}:{}".into(),
        group_labels: LabelSet::new(),
        now: Utc::now(),
    };
    let alerts = [
        alert(&[("a", "1")], &[], go_zero_time().fixed_offset()),
        alert(&[("a", "2")], &[], go_zero_time().fixed_offset()),
    ];
    let auth = HttpClientConfig {
        authorization: Some(Authorization {
            kind: String::new(),
            credentials: Secret::new("tok"),
            credentials_file: String::new(),
        }),
        ..HttpClientConfig::default()
    };
    let (url, server) = serve_once(200).await;
    webhook(url, Some(auth)).notify(&context, &alerts).await.unwrap();
    let request = server.await.unwrap();
    assert!(request.starts_with("POST /hook HTTP/1.1\r\n"), "{request}");
    let lower = request.to_ascii_lowercase();
    assert!(lower.contains("authorization: bearer tok\r\n"), "{request}");
    assert!(lower.contains("content-type: application/json\r\n"), "{request}");
    assert!(lower.contains("user-agent: alertmanager/0.25.0\r\n"), "{request}");
    assert!(request.contains(r#""truncatedAlerts":1}"#), "{request}");

    let basic = HttpClientConfig {
        basic_auth: Some(BasicAuth {
            username: "u".into(),
            password: Secret::new("p"),
            password_file: String::new(),
        }),
        ..HttpClientConfig::default()
    };
    for (status, retryable) in [(500, true), (503, true), (429, false), (400, false)] {
        let (url, server) = serve_once(status).await;
        let error = webhook(url, Some(basic.clone())).notify(&context, &alerts).await.unwrap_err();
        assert_eq!(error.retryable, retryable, "{status}");
        assert!(
            error.message.starts_with(&format!("unexpected status code {status}")),
            "{}",
            error.message
        );
        assert!(
            server.await.unwrap().to_ascii_lowercase().contains("authorization: basic dtpw\r\n")
        );
    }
    let error =
        webhook("http://127.0.0.1:1/".into(), None).notify(&context, &alerts).await.unwrap_err();
    assert!(error.retryable);
}
