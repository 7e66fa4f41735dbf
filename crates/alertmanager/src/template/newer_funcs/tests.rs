use super::*;
use crate::template::{Alert, Alerts, Data, Kv, Templates};

fn render(text: &str) -> Result<String, String> {
    let start = GoTime::utc(1_700_000_000, 250_000_000);
    let later = start.add_nanos(90_000_000_000);
    let clock: Clock = Arc::new(move || later.clone());
    let alert = Alert {
        status: "firing".into(),
        labels: Kv::new([("alertname", "A<1>")]),
        annotations: Kv::default(),
        starts_at: start.clone(),
        ends_at: GoTime::zero(),
        generator_url: String::new(),
        fingerprint: "f".into(),
    };
    let data = Data { alerts: Alerts::new(vec![alert]), ..Data::default() };
    Templates::with_funcs(newer_funcs(clock))
        .execute_text_string(text, &data.to_value())
        .map_err(|e| e.to_string())
}

#[test]
fn strings_and_encodings() {
    assert_eq!(
        render("{{ trimSpace \"  a b \\n\" }}|{{ urlUnescape \"a%20b+c\" }}").unwrap(),
        "a b|a b c"
    );
    assert_eq!(
        render("{{ base64encode \"hello?>\" }}|{{ base64decode \"aGVsbG8_Pg==\" }}").unwrap(),
        "aGVsbG8_Pg==|hello?>"
    );
    assert_eq!(render("{{ base64encode \"ab\" }} {{ base64decode \"YWI=\" }}").unwrap(), "YWI= ab");
    assert!(
        render("{{ base64decode \"abc\" }}")
            .unwrap_err()
            .ends_with("illegal base64 data at input byte 0")
    );
    assert!(
        render("{{ base64decode \"a===\" }}")
            .unwrap_err()
            .ends_with("illegal base64 data at input byte 1")
    );
    assert!(
        render("{{ urlUnescape \"%zz\" }}").unwrap_err().ends_with("invalid URL escape \"%zz\"")
    );
}

#[test]
fn times_and_durations() {
    let t = "{{ $a := index .Alerts 0 }}";
    assert_eq!(
        render(&format!("{t}{{{{ date \"2006-01-02 15:04\" $a.StartsAt }}}}")).unwrap(),
        "2023-11-14 22:13"
    );
    assert_eq!(
        render(&format!("{t}{{{{ (tz \"UTC\" $a.StartsAt).Unix }}}}")).unwrap(),
        "1700000000"
    );
    assert_eq!(
        render(&format!("{t}{{{{ since $a.StartsAt }}}} {{{{ now.Unix }}}}")).unwrap(),
        "1m30s 1700000090"
    );
    assert!(
        render(&format!("{t}{{{{ tz \"Mars/Base\" $a.StartsAt }}}}"))
            .unwrap_err()
            .ends_with("unknown time zone Mars/Base")
    );
    let cases = [
        (0, "0s"),
        (999, "999ns"),
        (1500, "1.5µs"),
        (1_500_000, "1.5ms"),
        (3_600_000_000_000, "1h0m0s"),
        (61_500_000_000, "1m1.5s"),
        (-2_000_000_000, "-2s"),
    ];
    for (d, want) in cases {
        assert_eq!(GoDuration(d).go_string(), want);
    }
}

#[test]
fn humanize_duration_like_prometheus() {
    let cases = [
        ("0", "0s"),
        ("1", "1s"),
        ("1.5", "1.5s"),
        ("61", "1m 1s"),
        ("3661", "1h 1m 1s"),
        ("90061", "1d 1h 1m 1s"),
        ("0.0015", "1.5ms"),
        ("123.456", "2m 3s"),
        ("-61", "-1m 1s"),
        ("0.000001", "1us"),
        ("\"5\"", "5s"),
    ];
    for (arg, want) in cases {
        assert_eq!(render(&format!("{{{{ humanizeDuration {arg} }}}}")).unwrap(), want, "{arg}");
    }
    assert_eq!(go_g4(1234.5678), "1235");
    assert_eq!(go_g4(12345.0), "1.234e+04");
    assert_eq!(go_g4(0.00001234), "1.234e-05");
}

#[test]
fn collections_and_json() {
    assert_eq!(render("{{ append (list 1 \"a\") 2 }} {{ list }}").unwrap(), "[1 a 2] []");
    assert_eq!(
        render("{{ toJson (dict \"b\" (list \"x\" \"<\") \"a\" 1.5) }}").unwrap(),
        r#"{"a":1.5,"b":["x","\u003c"]}"#
    );
    assert_eq!(
        render("{{ toJson (index .Alerts 0) }}").unwrap(),
        r#"{"status":"firing","labels":{"alertname":"A\u003c1\u003e"},"annotations":{},"startsAt":"2023-11-14T22:13:20.25Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"f"}"#
    );
    assert!(
        render("{{ dict \"a\" }}")
            .unwrap_err()
            .ends_with("dict requires an even number of arguments")
    );
    assert!(render("{{ dict 1 2 }}").unwrap_err().ends_with("dict keys must be strings"));
}
