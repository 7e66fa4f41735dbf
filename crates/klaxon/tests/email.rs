//! Email notifications delivered to a real SMTP server (Python's aiosmtpd) on loopback and
//! parsed back by Python's email parser: envelope, authentication, encryption, headers and
//! the text and HTML parts.
//!
//! - Klaxon alone, plain SMTP with AUTH CRAM-MD5, Klaxon's default HTML body.
//! - Differential: Alertmanager 0.25 and Klaxon with the same email receiver and the same
//!   user templates (subject, text, HTML, a custom header), each sending over STARTTLS with
//!   AUTH PLAIN (the server lists CRAM-MD5 first, but no secret is configured) to its own
//!   capture server, which presents a certificate from a CA this test makes with openssl;
//!   the parsed messages must agree apart from `Date` and `Message-Id`.
//! - Implicit TLS (port 465) from Klaxon.
//!
//! Addresses: 127.0.0.100–127.0.0.104 only.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Implementation, ScratchDir, Server, request, require_program};

/// How long a notification may take to arrive.
const DELIVERY_DEADLINE: Duration = Duration::from_secs(30);

fn capture_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_capture.py")
}

/// A capture server, stopped (by PID) on drop.
struct Capture {
    child: Child,
    _stdin: ChildStdin,
    out: PathBuf,
}

impl Capture {
    fn start(scratch: &ScratchDir, name: &str, address: &str, extra: &[&str]) -> Capture {
        let python = require_program("python3");
        let check =
            Command::new(&python).args(["-c", "import aiosmtpd"]).output().expect("python3");
        assert!(
            check.status.success(),
            "aiosmtpd is not installed: run scripts/setup.sh ({})",
            String::from_utf8_lossy(&check.stderr)
        );
        let (host, port) = address.split_once(':').expect("ip:port");
        let out = scratch.0.join(format!("{name}.jsonl"));
        let mut child = Command::new(python)
            .arg(capture_script())
            .args(["--host", host, "--port", port, "--out"])
            .arg(&out)
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start smtp_capture.py");
        let stdin = child.stdin.take().expect("stdin");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read capture server output");
        assert_eq!(line.trim(), "ready", "capture server on {address} did not start");
        Capture { child, _stdin: stdin, out }
    }

    /// The first message received, polled until the deadline.
    fn first_message(&self, sender: &Server) -> Value {
        let started = Instant::now();
        while started.elapsed() < DELIVERY_DEADLINE {
            if let Ok(text) = std::fs::read_to_string(&self.out)
                && let Some(line) = text.lines().next()
            {
                return serde_json::from_str(line).expect("capture record is JSON");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "no email from {:?} within {DELIVERY_DEADLINE:?}; log:\n{}",
            sender.implementation,
            sender.log_text()
        );
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new(require_program("openssl"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A test CA and a server certificate it signed for `ip`: (CA certificate, server
/// certificate, server key) files.
fn certificate(scratch: &ScratchDir, ip: &str) -> (PathBuf, PathBuf, PathBuf) {
    let dir = &scratch.0;
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=klaxon test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=capture",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    std::fs::write(
        dir.join("san.ext"),
        format!("subjectAltName=IP:{ip}\nbasicConstraints=CA:FALSE\n"),
    )
    .expect("write extensions");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "san.ext",
            "-out",
            "server.pem",
        ],
    );
    (dir.join("ca.pem"), dir.join("server.pem"), dir.join("server.key"))
}

async fn post_alert(server: &Server, labels: Value, annotations: Value) {
    let body = json!([{"labels": labels, "annotations": annotations,
        "generatorURL": "http://prometheus.example/graph?g0.expr=disk"}]);
    let client = reqwest::Client::new();
    let reply =
        request(&client, "POST", &format!("{}/api/v2/alerts", server.url), Some(&body.to_string()))
            .await;
    assert_eq!(reply.status, 200, "{reply:?}");
}

fn header<'a>(message: &'a Value, name: &str) -> Vec<&'a str> {
    message["headers"]
        .as_array()
        .expect("headers")
        .iter()
        .filter(|h| h[0].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
        .filter_map(|h| h[1].as_str())
        .collect()
}

fn part<'a>(message: &'a Value, content_type: &str) -> &'a str {
    message["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .find(|p| p["content_type"] == content_type)
        .and_then(|p| p["body"].as_str())
        .unwrap_or_else(|| panic!("no {content_type} part in {message:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_is_delivered_and_parsed_back() {
    let scratch = ScratchDir::new("email-plain");
    let smtp = Capture::start(
        &scratch,
        "plain",
        "127.0.0.100:2525",
        &["--user", "alice", "--password", "s3cret"],
    );
    let config = scratch.write(
        "alertmanager.yml",
        r#"
global:
  smtp_smarthost: 127.0.0.100:2525
  smtp_from: 'Klaxon <klaxon@example.org>'
  smtp_require_tls: false
  smtp_auth_username: alice
  smtp_auth_secret: s3cret
route:
  receiver: mail
  group_by: [alertname]
  group_wait: 100ms
receivers:
  - name: mail
    email_configs:
      - to: 'ops@example.org, "Doe, Jane" <jane@example.org>'
        headers:
          X-Team: '{{ .CommonLabels.team }}'
        text: '{{ range .Alerts }}{{ .Labels.alertname }}: {{ .Annotations.summary }}{{ end }}'
"#,
    );
    let klaxon = Server::start(Implementation::Klaxon, "127.0.0.100:9093", &config, &[]);
    post_alert(
        &klaxon,
        json!({"alertname": "DiskFull", "team": "ops", "instance": "db-1"}),
        json!({"summary": "disk <b>97%</b> full, Grüße"}),
    )
    .await;
    let message = smtp.first_message(&klaxon);

    assert_eq!(message["mail_from"], "klaxon@example.org");
    assert_eq!(message["rcpt_tos"], json!(["ops@example.org", "jane@example.org"]));
    // The server lists CRAM-MD5 first and a secret is configured.
    assert_eq!(message["auth"], "CRAM-MD5 alice");
    assert_eq!(message["tls"], false);
    assert_eq!(message["content_type"], "multipart/alternative");
    assert_eq!(header(&message, "Subject"), ["FIRING: alertname=DiskFull (1 firing)"]);
    assert_eq!(header(&message, "To"), [r#"ops@example.org, "Doe, Jane" <jane@example.org>"#]);
    assert_eq!(header(&message, "From"), ["Klaxon <klaxon@example.org>"]);
    assert_eq!(header(&message, "X-Team"), ["ops"]);
    assert_eq!(header(&message, "Message-Id").len(), 1);
    assert_eq!(header(&message, "Date").len(), 1);
    assert_eq!(part(&message, "text/plain"), "DiskFull: disk <b>97%</b> full, Grüße");
    // Klaxon's default HTML body: escaped values, the alert and a silence link.
    let html = part(&message, "text/html");
    assert!(html.contains("disk &lt;b&gt;97%&lt;/b&gt; full, Grüße"), "{html}");
    assert!(html.contains("<strong>DiskFull</strong>"), "{html}");
    assert!(html.contains("href=\"http://127.0.0.100:9093/#/silences/new?filter="), "{html}");
    assert!(html.contains("href=\"http://prometheus.example/graph?g0.expr=disk\""), "{html}");
}

/// The user templates both servers load.
const TEMPLATES: &str = r#"
{{ define "mail.subject" }}[{{ .Status | toUpper }}:{{ len .Alerts.Firing }}] {{ .GroupLabels.SortedPairs.Values | join " " }} – Störung{{ end }}
{{ define "mail.text" }}{{ range .Alerts }}{{ .Status }} {{ .Labels.alertname }} on {{ .Labels.instance }}
{{ range .Annotations.SortedPairs }}  {{ .Name }} = {{ .Value }}
{{ end }}{{ end }}A long line to make quoted-printable wrap: {{ range .Alerts }}{{ range .Labels.SortedPairs }}{{ .Name }}={{ .Value }}; {{ end }}{{ end }}
{{ end }}
{{ define "mail.html" }}<html><body><h1>{{ template "mail.subject" . }}</h1>
<ul>{{ range .Alerts }}<li title="{{ .Labels.instance }}">{{ .Annotations.summary }} <a href="{{ .GeneratorURL }}">source</a></li>{{ end }}</ul>
<p><a href="{{ .ExternalURL }}/#/alerts?receiver={{ .Receiver | urlquery }}">alerts</a></p></body></html>{{ end }}
"#;

fn differential_config(smarthost: &str, ca: &Path, templates: &Path) -> String {
    format!(
        r#"
global:
  smtp_from: 'Alerts <alerts@example.org>'
templates: ['{templates}']
route:
  receiver: mail
  group_by: [alertname, team]
  group_wait: 100ms
receivers:
  - name: mail
    email_configs:
      - to: 'ops@example.org, Oncall <oncall@example.org>'
        smarthost: {smarthost}
        auth_username: alice
        auth_password: s3cret
        auth_identity: alice
        tls_config:
          ca_file: {ca}
        headers:
          Subject: '{{{{ template "mail.subject" . }}}}'
          X-Receiver: '{{{{ .Receiver }}}}'
          Reply-To: 'noc@example.org'
        text: '{{{{ template "mail.text" . }}}}'
        html: '{{{{ template "mail.html" . }}}}'
"#,
        templates = templates.display(),
        ca = ca.display(),
    )
}

/// The parts of a message both implementations must agree on.
fn comparable(message: &Value, external_url: &str) -> Value {
    let mut headers: Vec<Value> = message["headers"]
        .as_array()
        .expect("headers")
        .iter()
        .filter(|h| {
            !["date", "message-id", "content-type"]
                .contains(&h[0].as_str().unwrap_or("").to_ascii_lowercase().as_str())
        })
        .cloned()
        .collect();
    headers.sort_by_key(|h| h[0].as_str().unwrap_or("").to_owned());
    let parts: Vec<Value> = message["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .map(|p| {
            let body = p["body"].as_str().unwrap_or("").replace(external_url, "EXTERNAL_URL");
            json!({"content_type": p["content_type"], "charset": p["charset"],
                "transfer_encoding": p["transfer_encoding"], "body": body})
        })
        .collect();
    json!({
        "mail_from": message["mail_from"],
        "rcpt_tos": message["rcpt_tos"],
        "auth": message["auth"],
        "tls": message["tls"],
        "content_type": message["content_type"],
        "headers": headers,
        "parts": parts,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_matches_alertmanager() {
    let scratch = ScratchDir::new("email-differential");
    let (ca, cert, key) = certificate(&scratch, "127.0.0.101");
    let tls_args = |mode: &'static str| {
        vec![
            "--mode".to_owned(),
            mode.to_owned(),
            "--cert".to_owned(),
            cert.display().to_string(),
            "--key".to_owned(),
            key.display().to_string(),
            "--user".to_owned(),
            "alice".to_owned(),
            "--password".to_owned(),
            "s3cret".to_owned(),
            "--exclude-mechanism".to_owned(),
            "LOGIN".to_owned(),
        ]
    };
    let args = tls_args("starttls");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let am_smtp = Capture::start(&scratch, "am", "127.0.0.101:2525", &args);
    let klaxon_smtp = Capture::start(&scratch, "klaxon", "127.0.0.101:2526", &args);
    let templates = scratch.write("mail.tmpl", TEMPLATES);
    let am_config =
        scratch.write("am.yml", &differential_config("127.0.0.101:2525", &ca, &templates));
    let klaxon_config =
        scratch.write("klaxon.yml", &differential_config("127.0.0.101:2526", &ca, &templates));
    let am = Server::start(Implementation::Alertmanager, "127.0.0.101:9093", &am_config, &[]);
    let klaxon = Server::start(Implementation::Klaxon, "127.0.0.101:9094", &klaxon_config, &[]);
    let labels = json!({"alertname": "DiskFull", "team": "ops", "instance": "db-1:9100",
        "severity": "critical"});
    let annotations = json!({"summary": "disk /var is 97% full <now> & rising",
        "description": "Ünïcödé text that is long enough to need soft line breaks in quoted-printable encoding, really."});
    for server in [&am, &klaxon] {
        post_alert(server, labels.clone(), annotations.clone()).await;
    }
    let from_am = am_smtp.first_message(&am);
    let from_klaxon = klaxon_smtp.first_message(&klaxon);
    assert_eq!(from_am["tls"], true, "{from_am:#}");
    assert_eq!(from_am["auth"], "PLAIN alice", "{from_am:#}");
    let (expected, actual) = (comparable(&from_am, &am.url), comparable(&from_klaxon, &klaxon.url));
    assert_eq!(
        actual, expected,
        "Klaxon's email differs from Alertmanager's\nklaxon: {actual:#}\nalertmanager: {expected:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_over_implicit_tls() {
    let scratch = ScratchDir::new("email-implicit");
    let (ca, cert, key) = certificate(&scratch, "127.0.0.102");
    let (cert_arg, key_arg) = (cert.display().to_string(), key.display().to_string());
    let smtp = Capture::start(
        &scratch,
        "implicit",
        "127.0.0.102:465",
        &["--mode", "implicit", "--cert", &cert_arg, "--key", &key_arg],
    );
    let config = scratch.write(
        "alertmanager.yml",
        &format!(
            r#"
route:
  receiver: mail
  group_wait: 100ms
receivers:
  - name: mail
    email_configs:
      - to: ops@example.org
        from: klaxon@example.org
        smarthost: 127.0.0.102:465
        require_tls: false
        tls_config: {{ca_file: {ca}}}
"#,
            ca = ca.display()
        ),
    );
    let klaxon = Server::start(Implementation::Klaxon, "127.0.0.102:9093", &config, &[]);
    post_alert(&klaxon, json!({"alertname": "Implicit"}), json!({})).await;
    let message = smtp.first_message(&klaxon);
    assert_eq!(message["tls"], true);
    assert_eq!(header(&message, "Subject"), ["FIRING: Implicit (1 firing)"]);
    assert!(part(&message, "text/html").contains("<strong>Implicit</strong>"));
}
