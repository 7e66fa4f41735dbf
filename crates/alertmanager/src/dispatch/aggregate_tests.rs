use std::sync::Arc;

use chrono::TimeZone;

use super::*;
use crate::config::Config;

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + seconds, 0).unwrap()
}

fn dispatcher(yaml: &str) -> Dispatcher {
    let config = Config::from_yaml(yaml, std::path::Path::new("test.yml")).unwrap();
    Dispatcher::new(Route::from_config(&config.route))
}

const CONFIG: &str = r#"
route:
  receiver: root
  group_by: [alertname]
  group_wait: 10s
  group_interval: 60s
  routes:
    - matchers: ['team="a"']
      continue: true
      receiver: a
    - matchers: ['team=~"a|b"']
      receiver: b
      group_by: ['...']
receivers:
  - name: root
  - name: a
  - name: b
"#;

fn alert(name: &str, team: &str, starts: i64, ends: i64, updated: i64) -> Alert {
    Alert {
        labels: LabelSet::from_pairs([("alertname", name), ("team", team)]),
        annotations: LabelSet::new(),
        starts_at: at(starts).fixed_offset(),
        ends_at: at(ends).fixed_offset(),
        generator_url: Arc::default(),
        updated_at: at(updated),
        timeout: false,
    }
}

#[test]
fn dispatch_groups_per_route_and_group_labels() {
    let mut d = dispatcher(CONFIG);
    d.insert(&Arc::new(alert("X", "a", 0, 1000, 0)), at(0));
    d.insert(&Arc::new(alert("Y", "a", 0, 1000, 0)), at(0));
    d.insert(&Arc::new(alert("X", "c", 0, 1000, 0)), at(0));
    let mut keys: Vec<&str> = d.groups().map(|(_, g)| g.key.as_str()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            r#"{}/{team="a"}:{alertname="X"}"#,
            r#"{}/{team="a"}:{alertname="Y"}"#,
            r#"{}/{team=~"a|b"}:{alertname="X", team="a"}"#,
            r#"{}/{team=~"a|b"}:{alertname="Y", team="a"}"#,
            r#"{}:{alertname="X"}"#,
        ]
    );
}

#[test]
fn dispatch_timers_wait_then_tick_on_interval() {
    let mut d = dispatcher(CONFIG);
    d.insert(&Arc::new(alert("X", "c", 5, 1000, 5)), at(5));
    assert_eq!(d.next_deadline(), Some(at(15)));
    assert!(d.due(at(14)).is_empty());
    let flushes = d.due(at(15));
    assert_eq!(flushes.len(), 1);
    // Firing alerts go out with Go's zero end.
    assert!(is_zero_time(flushes[0].alerts[0].ends_at.to_utc()));
    // A flush in progress holds the timer back.
    assert_eq!(d.next_deadline(), None);
    assert!(d.due(at(80)).is_empty());
    d.flush_done(&flushes[0], true, at(16));
    assert_eq!(d.next_deadline(), Some(at(75)));
    let flushes = d.due(at(80));
    assert_eq!(flushes.len(), 1);
    assert_eq!(d.next_deadline(), None);
    d.flush_done(&flushes[0], false, at(81));
    assert_eq!(d.next_deadline(), Some(at(140)));
}

#[test]
fn dispatch_old_alerts_flush_at_once_until_the_first_flush() {
    let mut d = dispatcher(CONFIG);
    d.insert(&Arc::new(alert("X", "c", 5, 1000, 5)), at(5));
    assert_eq!(d.next_deadline(), Some(at(15)));
    // An alert that started over group_wait ago forces the flush now.
    d.insert(&Arc::new(alert("Z", "c", -100, 1000, 6)), at(6));
    let mut deadlines: Vec<_> = d.groups().map(|(_, g)| g.next_flush).collect();
    deadlines.sort();
    assert_eq!(deadlines, [at(6), at(15)]);
    let flush = d.due(at(15));
    assert_eq!(flush.len(), 2);
    for f in &flush {
        d.flush_done(f, true, at(15));
    }
    d.insert(&Arc::new(alert("X", "c", -100, 1000, 20)), at(20));
    assert_eq!(d.next_deadline(), Some(at(75)));
}

#[test]
fn dispatch_resolved_alerts_leave_after_success_unless_updated() {
    let mut d = dispatcher(CONFIG);
    d.insert(&Arc::new(alert("X", "c", 0, 1000, 0)), at(0));
    d.insert(&Arc::new(alert("X", "d", 0, 1000, 0)), at(0));
    for f in d.due(at(10)) {
        d.flush_done(&f, true, at(10));
    }
    d.insert(&Arc::new(alert("X", "c", 0, 20, 20)), at(20));
    d.insert(&Arc::new(alert("X", "d", 0, 20, 20)), at(20));
    let flush = d.due(at(70)).pop().unwrap();
    assert_eq!(flush.alerts.len(), 2);
    assert!(flush.alerts.iter().all(|a| resolved_at(a, at(70))));
    // "d" fires again while the flush is out: it must stay.
    d.insert(&Arc::new(alert("X", "d", 0, 2000, 71)), at(71));
    d.flush_done(&flush, true, at(72));
    let (_, group) = d.groups().next().unwrap();
    assert_eq!(group.alerts.len(), 1);
    assert_eq!(d.maintenance(), 0);
    d.insert(&Arc::new(alert("X", "d", 0, 75, 75)), at(75));
    let flush = d.due(at(130)).pop().unwrap();
    d.flush_done(&flush, true, at(130));
    assert_eq!(d.maintenance(), 1);
    assert!(d.is_empty());
}

#[test]
fn dispatch_alert_order_is_job_instance_then_labels() {
    let make = |pairs: &[(&str, &str)]| Alert {
        labels: LabelSet::from_pairs(pairs.iter().copied()),
        ..alert("A", "x", 0, 0, 0)
    };
    let mut alerts = [
        make(&[("a", "2")]),
        make(&[("a", "1"), ("b", "1")]),
        make(&[("instance", "i2")]),
        make(&[("instance", "i1")]),
        make(&[("job", "b")]),
        make(&[("job", "a"), ("instance", "z")]),
        make(&[("a", "1")]),
    ];
    alerts.sort_by(compare_alerts);
    let rendered: Vec<String> = alerts.iter().map(|a| a.labels.go_string()).collect();
    assert_eq!(
        rendered,
        [
            r#"{instance="z", job="a"}"#,
            r#"{job="b"}"#,
            r#"{instance="i1"}"#,
            r#"{instance="i2"}"#,
            r#"{a="1"}"#,
            r#"{a="2"}"#,
            r#"{a="1", b="1"}"#,
        ]
    );
}
