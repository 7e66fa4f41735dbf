//! Named datasources (`--datasources.file`, Grafana's datasource provisioning format) against
//! a real Prometheus 2.42 that demands basic auth (`--web.config.file` with a bcrypt hash made
//! by `htpasswd`): the right credentials make a rule fire, wrong ones show as the rule's
//! error in `/api/v1/rules`, a datasource that never answers hits its own timeout, a reload
//! with an invalid datasources file changes nothing and a valid one applies, and the rules
//! API refuses a rule naming a datasource that is not configured. A second Prometheus serves
//! HTTPS with a certificate from a test CA (`openssl`), for `tlsCACert` and `tlsSkipVerify`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::rules::Process;
use crate::support::{Implementation, ScratchDir, Server, request, require_program, wait_for_json};

const PROMETHEUS_ADDRESS: &str = "127.0.0.231:19090";
const SILENT_ADDRESS: &str = "127.0.0.233:19099";
const USER: &str = "klaxon";
const PASSWORD: &str = "correct horse";

/// The datasources file: `good` and `wrong` are the same Prometheus with the right and the
/// wrong password; `silent` accepts connections and never answers.
fn datasources_file(wrong_password: &str) -> String {
    format!(
        r#"apiVersion: 1
datasources:
  - name: Prometheus with auth
    uid: good
    type: prometheus
    url: http://{PROMETHEUS_ADDRESS}
    basicAuth: true
    basicAuthUser: {USER}
    jsonData: {{timeout: 10, httpMethod: GET, httpHeaderName1: X-Scope-OrgID}}
    secureJsonData: {{basicAuthPassword: {PASSWORD}, httpHeaderValue1: tenant-1}}
  - name: Prometheus, wrong password
    uid: wrong
    type: prometheus
    url: http://{PROMETHEUS_ADDRESS}
    basicAuth: true
    basicAuthUser: {USER}
    secureJsonData: {{basicAuthPassword: "{wrong_password}"}}
  - name: Silent
    uid: silent
    type: prometheus
    url: http://{SILENT_ADDRESS}
    jsonData: {{timeout: 1}}
"#
    )
}

fn rule(uid: &str, datasource: &str) -> String {
    format!(
        r#"      - uid: {uid}
        title: {uid}
        condition: B
        data:
          - refId: A
            datasourceUid: {datasource}
            relativeTimeRange: {{from: 60, to: 0}}
            model: {{expr: 'label_replace(vector(42), "source", "{datasource}", "", "")', instant: true}}
          - refId: B
            datasourceUid: __expr__
            model:
              type: threshold
              expression: A
              conditions:
                - evaluator: {{type: gt, params: [1]}}
"#
    )
}

fn rules_file() -> String {
    format!(
        "apiVersion: 1\ngroups:\n  - name: auth\n    folder: lab\n    interval: 1s\n    rules:\n{}{}  - name: slow\n    folder: lab\n    interval: 5s\n    rules:\n{}",
        rule("authed", "good"),
        rule("rejected", "wrong"),
        rule("stalled", "silent"),
    )
}

/// A bcrypt hash of `password` from `htpasswd` (apache2-utils).
fn bcrypt(password: &str) -> String {
    let htpasswd = require_program("htpasswd");
    let out = Command::new(htpasswd).args(["-nbB", USER, password]).output().expect("htpasswd");
    assert!(out.status.success(), "htpasswd: {}", String::from_utf8_lossy(&out.stderr));
    let line = String::from_utf8(out.stdout).unwrap();
    line.trim().split_once(':').expect("user:hash").1.to_owned()
}

/// Starts Prometheus 2.42 with `web_config` (`--web.config.file`) and no scrape targets.
fn start_prometheus(scratch: &ScratchDir, web_config: &std::path::Path, address: &str) -> Process {
    let prometheus_bin = require_program("prometheus");
    let config = scratch.write("prometheus.yml", "global: {scrape_interval: 15s}\n");
    let log = std::fs::File::create(scratch.0.join("prometheus.log")).unwrap();
    Process(
        Command::new(prometheus_bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--web.config.file={}", web_config.display()))
            .arg(format!("--storage.tsdb.path={}", scratch.0.join("tsdb").display()))
            .arg(format!("--web.listen-address={address}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus"),
    )
}

/// Sends `ready` (a `/-/ready` request) until it succeeds, or fails with Prometheus' log.
async fn wait_ready(scratch: &ScratchDir, ready: reqwest::RequestBuilder) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let attempt = ready.try_clone().unwrap().timeout(Duration::from_secs(2)).send().await;
        if attempt.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus not ready: {}",
            std::fs::read_to_string(scratch.0.join("prometheus.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn rule_of<'a>(body: &'a Value, uid: &str) -> Option<&'a Value> {
    body["data"]["groups"]
        .as_array()?
        .iter()
        .flat_map(|g| g["rules"].as_array().into_iter().flatten())
        .find(|r| r["name"] == uid)
}

/// Whether the rule has an instance in `state` (Grafana's name: `Alerting`, `Error`).
fn has(body: &Value, uid: &str, state: &str) -> bool {
    rule_of(body, uid).is_some_and(|r| {
        r["alerts"].as_array().is_some_and(|a| a.iter().any(|a| a["grafanaState"] == state))
    })
}

fn firing(body: &Value, uid: &str) -> bool {
    has(body, uid, "Alerting")
}

fn last_error(body: &Value, uid: &str) -> String {
    rule_of(body, uid).and_then(|r| r["lastError"].as_str()).unwrap_or_default().to_owned()
}

/// Goal: each named datasource is queried with its own credentials and timeout; credentials
/// and reloads behave as the README says; a rule-file group can name its datasource.
/// Method: Prometheus 2.42 requires basic auth; Klaxon has three datasources (right password,
/// wrong password, a listener that never answers, with a 1 s timeout) and one expression
/// rule on each, plus a Prometheus rule-file group with `datasource_uid: good` (and no
/// default datasource). The right one fires (both rules); the wrong one's rule is unhealthy
/// with Prometheus' 401 as its error; the silent one's error is its own timeout, not the
/// evaluation deadline.
/// An invalid datasources file is refused by `/-/reload` (the firing rule stays firing), the
/// password fixed by a valid reload makes the second rule fire, and the rules API answers
/// 400 to a rule on an unknown datasource.
#[tokio::test]
async fn named_datasources_with_basic_auth_timeouts_and_reload() {
    let scratch = ScratchDir::new("datasources");
    let web_config =
        scratch.write("web.yml", &format!("basic_auth_users:\n  {USER}: '{}'\n", bcrypt(PASSWORD)));
    let _prometheus = start_prometheus(&scratch, &web_config, PROMETHEUS_ADDRESS);
    // Accepts connections (the kernel completes them) and never reads or answers.
    let _silent = std::net::TcpListener::bind(SILENT_ADDRESS).expect("bind the silent listener");
    let client = reqwest::Client::new();
    let ready =
        client.get(format!("http://{PROMETHEUS_ADDRESS}/-/ready")).basic_auth(USER, Some(PASSWORD));
    wait_ready(&scratch, ready).await;
    let unauthenticated =
        client.get(format!("http://{PROMETHEUS_ADDRESS}/api/v1/query?query=1")).send().await;
    assert_eq!(unauthenticated.unwrap().status().as_u16(), 401, "Prometheus demands auth");

    let datasources = scratch.write("datasources.yaml", &datasources_file("wrong password"));
    let rules = scratch.write("rules.yaml", &rules_file());
    // A Prometheus rule-file group that names its datasource (there is no default here).
    let rule_file = scratch.write(
        "prometheus-rules.yml",
        "groups:\n  - name: by-uid\n    interval: 1s\n    datasource_uid: good\n    rules:\n      - alert: RuleFileAuthed\n        expr: vector(1) > 0\n",
    );
    let am_config =
        scratch.write("alertmanager.yml", "route: {receiver: r}\nreceivers: [{name: r}]\n");
    let klaxon = Server::start(
        Implementation::Klaxon,
        "127.0.0.232:19093",
        &am_config,
        &[
            &format!("--datasources.file={}", datasources.display()),
            &format!("--rules.provisioning={}", rules.display()),
            &format!("--rules.file={}", rule_file.display()),
            "--rules.api",
            "--rules.tick-interval=1s",
        ],
    );
    let rules_url = format!("{}/api/v1/rules", klaxon.url);
    let body =
        wait_for_json(&client, &klaxon, &rules_url, "authed firing, rejected failing", |b| {
            firing(b, "authed")
                && last_error(b, "rejected").contains("401")
                && rule_of(b, "RuleFileAuthed").is_some_and(|r| r["state"] == "firing")
        })
        .await;
    let rejected = rule_of(&body, "rejected").unwrap();
    assert_eq!(rejected["health"], "error", "{body}");
    assert!(!firing(&body, "rejected") && has(&body, "rejected", "Error"), "{body}");
    assert!(
        last_error(&body, "rejected").ends_with("401 Unauthorized: Unauthorized"),
        "Prometheus' own answer: {body}"
    );
    let log = klaxon.log_text();
    assert!(!log.contains(PASSWORD) && !log.contains("wrong password"), "secrets logged:\n{log}");

    let body = wait_for_json(&client, &klaxon, &rules_url, "stalled times out", |b| {
        !last_error(b, "stalled").is_empty()
    })
    .await;
    let stalled = last_error(&body, "stalled");
    assert!(
        stalled.contains("query timed out") && !stalled.contains("deadline"),
        "the datasource's own 1 s timeout, well inside the 5 s evaluation: {stalled}"
    );

    // An invalid file is refused whole: the error names file, line and field.
    std::fs::write(
        &datasources,
        datasources_file(PASSWORD)
            .replace("    basicAuth: true\n", "    basicAuth: true\n    basicAuthPasword: x\n"),
    )
    .unwrap();
    let reload = request(&client, "POST", &format!("{}/-/reload", klaxon.url), None).await;
    assert_eq!(reload.status, 500, "{}", reload.text);
    assert!(
        reload.text.contains("datasources.yaml: 8:") && reload.text.contains("basicAuthPasword"),
        "{}",
        reload.text
    );
    let body = request(&client, "GET", &rules_url, None).await.json().unwrap();
    assert!(firing(&body, "authed") && !firing(&body, "rejected"), "nothing changed: {body}");

    // A valid file with the right password applies.
    std::fs::write(&datasources, datasources_file(PASSWORD)).unwrap();
    let reload = request(&client, "POST", &format!("{}/-/reload", klaxon.url), None).await;
    assert_eq!(reload.status, 200, "{}", reload.text);
    wait_for_json(&client, &klaxon, &rules_url, "rejected fires after the fix", |b| {
        firing(b, "rejected") && firing(b, "authed")
    })
    .await;

    let group = json!({
        "name": "elsewhere",
        "interval": "1s",
        "rules": [{
            "uid": "nowhere-rule", "title": "Nowhere", "condition": "A",
            "data": [{"refId": "A", "datasourceUid": "nowhere", "relativeTimeRange": {"from": 60, "to": 0},
                      "model": {"expr": "vector(1)", "instant": true}}]
        }]
    });
    let refused = request(
        &client,
        "POST",
        &format!("{}/api/ruler/grafana/api/v1/rules/lab", klaxon.url),
        Some(&group.to_string()),
    )
    .await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert!(
        refused.text.contains(
            "rules[0].data[0].datasourceUid: datasource \\\"nowhere\\\" is not configured"
        ),
        "{}",
        refused.text
    );
}

/// Runs `openssl` with `args` in `dir`, failing loudly when it is missing or fails.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out =
        Command::new(require_program("openssl")).args(args).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Goal: TLS settings of a named datasource apply: `tlsCACert` (with `tlsAuthWithCACert`)
/// trusts a private CA, `tlsSkipVerify` trusts anything, and without either the server's
/// certificate is refused.
/// Method: Prometheus 2.42 serves HTTPS (`tls_server_config`) with a certificate signed by a
/// CA `openssl` makes for the test; three datasources point at it, one rule on each.
#[tokio::test]
async fn tls_ca_and_skip_verify_of_named_datasources() {
    let scratch = ScratchDir::new("datasources-tls");
    let address = "127.0.0.235:19090";
    let ip = address.split(':').next().unwrap();
    let dir = &scratch.0;
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl(
        dir,
        &[
            &["req", "-x509"][..],
            &ec,
            &["-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=klaxon-test-ca"],
        ]
        .concat(),
    );
    openssl(
        dir,
        &[
            &["req"][..],
            &ec,
            &["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=prometheus"],
        ]
        .concat(),
    );
    scratch.write(
        "server.ext",
        &format!(
            "subjectAltName=IP:{ip}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
        ),
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
    let web_config = scratch.write(
        "web.yml",
        &format!(
            "tls_server_config:\n  cert_file: {0}/server.crt\n  key_file: {0}/server.key\n",
            dir.display()
        ),
    );
    let _prometheus = start_prometheus(&scratch, &web_config, address);
    let ca = std::fs::read_to_string(dir.join("ca.crt")).unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.as_bytes()).unwrap()])
        .build()
        .unwrap();
    wait_ready(&scratch, client.get(format!("https://{address}/-/ready"))).await;

    let indented: String = ca.lines().map(|l| format!("        {l}\n")).collect();
    let datasources = scratch.write(
        "datasources.yaml",
        &format!(
            "apiVersion: 1\ndatasources:\n  - name: Trusted CA\n    uid: good\n    type: prometheus\n    url: https://{address}\n    jsonData: {{tlsAuthWithCACert: true}}\n    secureJsonData:\n      tlsCACert: |\n{indented}  - name: Skip verify\n    uid: wrong\n    type: prometheus\n    url: https://{address}\n    jsonData: {{tlsSkipVerify: true}}\n  - name: System roots\n    uid: silent\n    type: prometheus\n    url: https://{address}\n"
        ),
    );
    let rules = scratch.write("rules.yaml", &rules_file());
    let am_config =
        scratch.write("alertmanager.yml", "route: {receiver: r}\nreceivers: [{name: r}]\n");
    let klaxon = Server::start(
        Implementation::Klaxon,
        "127.0.0.236:19093",
        &am_config,
        &[
            &format!("--datasources.file={}", datasources.display()),
            &format!("--rules.provisioning={}", rules.display()),
            "--rules.tick-interval=1s",
        ],
    );
    let http = reqwest::Client::new();
    let rules_url = format!("{}/api/v1/rules", klaxon.url);
    let body = wait_for_json(
        &http,
        &klaxon,
        &rules_url,
        "CA and skip-verify fire, system roots fail",
        |b| firing(b, "authed") && firing(b, "rejected") && !last_error(b, "stalled").is_empty(),
    )
    .await;
    let refused = last_error(&body, "stalled");
    assert!(refused.to_lowercase().contains("certificate"), "{refused}");
    assert!(!firing(&body, "stalled"), "{body}");
}
