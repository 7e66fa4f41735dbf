use super::*;

fn data() -> gotemplate::Value {
    let alert = Alert {
        status: "firing".into(),
        labels: Kv::new([("alertname", "Up"), ("job", "node")]),
        annotations: Kv::default(),
        starts_at: GoTime::utc(0, 0),
        ends_at: GoTime::zero(),
        generator_url: String::new(),
        fingerprint: "f".into(),
    };
    let data = Data {
        receiver: "r".into(),
        alerts: Alerts::new(vec![alert]),
        common_labels: Kv::new([("job", "node")]),
        ..Data::default()
    };
    data.to_value()
}

#[test]
fn glob_files_are_named_by_base_name() {
    let dir = std::env::temp_dir().join(format!("klaxon-template-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.tmpl"), "top {{ .Receiver }}{{ define \"x\" }}X{{ end }}").unwrap();
    let glob = format!("{}/*.tmpl", dir.display());
    let t = Templates::from_globs(&[glob]).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let out = t.execute_text_string("{{ template \"a.tmpl\" . }}|{{ template \"x\" }}", &data());
    assert_eq!(out.unwrap(), "top r|X");
}

#[test]
fn text_rendering_follows_alertmanager() {
    let t = Templates::new();
    assert_eq!(t.execute_text_string("", &data()).unwrap(), "");
    assert_eq!(t.execute_text_string("{{ define \"only\" }}x{{ end }}", &data()).unwrap(), "");
    let missing = "[{{ .CommonLabels.nope }}]{{ len .Alerts.Firing }}{{ len .Alerts.Resolved }}";
    assert_eq!(t.execute_text_string(missing, &data()).unwrap(), "[]10");
    let err = t.execute_text_string("{{ .Alerts.Firing.Firing }}", &data()).unwrap_err();
    assert!(err.message().ends_with("can't evaluate field Firing in type []template.Alert"));
}

#[test]
fn html_rendering_escapes_but_trusts_safe_html() {
    let t = Templates::new();
    let out = t.execute_html_string("{{ \"<i>\" }}{{ safeHtml \"<b>\" }}", &data()).unwrap();
    assert_eq!(out, "&lt;i&gt;<b>");
}

#[test]
fn json_data_decodes_like_go() {
    let d = data_from_json(
        r#"{"RECEIVER": "x", "alerts": [{"startsAt": "2024-01-01T00:00:00+02:00"}]}"#,
    )
    .unwrap();
    assert_eq!(d.receiver, "x");
    assert_eq!(d.alerts.alerts[0].starts_at.go_string(), "2024-01-01 00:00:00 +0200 +0200");
    let err = data_from_json(r#"{"receiver": 5}"#).unwrap_err();
    assert_eq!(
        err,
        "json: cannot unmarshal number into Go struct field Data.receiver of type string"
    );
    assert_eq!(data_from_json("{").unwrap_err(), "unexpected end of JSON input");
}
