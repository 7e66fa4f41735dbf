use std::sync::Arc;

use chrono::{TimeZone, Utc};

use super::*;
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
        generator_url: Arc::from("http://gen/?a=1&b=<2>"),
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
