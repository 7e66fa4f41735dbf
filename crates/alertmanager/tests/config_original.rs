//! Differential tests of the configuration against Alertmanager 0.25 itself:
//! - every `testdata/config/valid/*.yml` is loaded by the real `prometheus-alertmanager`, and
//!   the `config.original` it serves must equal our rendering byte for byte;
//! - every `testdata/config/invalid/*.yml` must be rejected by both `amtool check-config` and
//!   our loader, and our error must name the field given in the file's first line
//!   (`# field: route.group_wait`).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use alertmanager::config::{Config, ConfigError};

const ALERTMANAGER: &str = "/usr/bin/prometheus-alertmanager";
const AMTOOL: &str = "/usr/bin/amtool";
const HOST: &str = "127.0.0.12";
const PORTS: std::ops::Range<u16> = 22093..22200;

static NEXT_PORT: AtomicU16 = AtomicU16::new(PORTS.start);

/// Kills and reaps the Alertmanager process however the test ends.
struct Running {
    child: Child,
    storage: PathBuf,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.storage);
    }
}

fn testdata(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/config").join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no test configurations in {}", dir.display());
    files
}

fn require_binary(path: &str) {
    assert!(
        Path::new(path).is_file(),
        "{path} is missing: these tests need Alertmanager 0.25 installed"
    );
}

/// A free port in our range (another test binary may hold some).
fn free_port() -> u16 {
    loop {
        let port = NEXT_PORT.fetch_add(1, Ordering::SeqCst);
        assert!(PORTS.contains(&port), "no free port left in {PORTS:?}");
        if TcpListener::bind((HOST, port)).is_ok() {
            return port;
        }
    }
}

fn start(config: &Path, port: u16) -> Running {
    let storage =
        std::env::temp_dir().join(format!("klaxon-config-test-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&storage).expect("storage directory");
    let child = Command::new(ALERTMANAGER)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.path={}", storage.display()))
        .arg(format!("--web.listen-address={HOST}:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {ALERTMANAGER}: {e}"));
    Running { child, storage }
}

/// One plain HTTP/1.0 GET; `None` until the server answers 200.
fn get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect((HOST, port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {HOST}:{port}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let code = head.lines().next()?.split_whitespace().nth(1)?;
    (code == "200").then(|| body.to_owned())
}

/// Polls `/api/v2/status` until it answers or the deadline passes.
fn served_original(running: &mut Running, port: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(body) = get(port, "/api/v2/status") {
            let status: serde_json::Value = serde_json::from_str(&body).expect("status is JSON");
            return status["config"]["original"].as_str().expect("config.original").to_owned();
        }
        if let Ok(Some(exit)) = running.child.try_wait() {
            let mut stderr = String::new();
            if let Some(mut pipe) = running.child.stderr.take() {
                let _ = pipe.read_to_string(&mut stderr);
            }
            panic!("alertmanager exited ({exit}) before serving:\n{stderr}");
        }
        assert!(Instant::now() < deadline, "alertmanager did not answer on port {port} in time");
        std::thread::park_timeout(Duration::from_millis(50));
    }
}

fn first_difference(expected: &str, actual: &str) -> String {
    for (n, (e, a)) in expected.lines().zip(actual.lines()).enumerate() {
        if e != a {
            return format!("line {}:\n  alertmanager: {e:?}\n  klaxon:       {a:?}", n + 1);
        }
    }
    format!("line counts differ: {} vs {}", expected.lines().count(), actual.lines().count())
}

#[test]
fn rendering_matches_alertmanager() {
    require_binary(ALERTMANAGER);
    let mut failures = Vec::new();
    for file in testdata("valid") {
        let ours = Config::load_file(&file).unwrap_or_else(|e| panic!("{e}")).original_yaml();
        let port = free_port();
        let mut running = start(&file, port);
        let theirs = served_original(&mut running, port);
        drop(running);
        if theirs != ours {
            failures.push(format!(
                "{}: {}\n--- alertmanager ---\n{theirs}\n--- klaxon ---\n{ours}",
                file.display(),
                first_difference(&theirs, &ours)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The field named by the `# field: ...` first line of an invalid test file.
fn expected_field(file: &Path) -> String {
    let text = std::fs::read_to_string(file).expect("readable");
    let first = text.lines().next().unwrap_or_default();
    first
        .strip_prefix("# field: ")
        .unwrap_or_else(|| panic!("{}: first line must be `# field: ...`", file.display()))
        .trim()
        .to_owned()
}

#[test]
fn invalid_configs_are_rejected_by_both() {
    require_binary(AMTOOL);
    let mut failures = Vec::new();
    for file in testdata("invalid") {
        let amtool = Command::new(AMTOOL).arg("check-config").arg(&file).output().expect("amtool");
        if amtool.status.success() {
            failures.push(format!("amtool accepted {}", file.display()));
        }
        match Config::load_file(&file) {
            Err(error @ ConfigError::Invalid { .. }) => {
                eprintln!("{error}");
                let ConfigError::Invalid { field, .. } = &error else { unreachable!() };
                if *field != expected_field(&file) {
                    failures.push(format!("wrong field: {error}"));
                }
            }
            Err(other) => failures.push(format!("{}: unexpected error {other}", file.display())),
            Ok(_) => failures.push(format!("we accepted {}", file.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// amtool re-reads the served configuration; ours must agree with it on whether each
/// rendering loads. (Not always: Alertmanager writes an IPv6 smarthost without brackets.)
#[test]
fn rendering_reads_back_like_amtool() {
    require_binary(AMTOOL);
    let dir = std::env::temp_dir().join(format!("klaxon-config-readback-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for file in testdata("valid") {
        let rendered = Config::load_file(&file).unwrap_or_else(|e| panic!("{e}")).original_yaml();
        let copy = dir.join(file.file_name().expect("file name"));
        std::fs::write(&copy, &rendered).expect("write rendering");
        let amtool = Command::new(AMTOOL).arg("check-config").arg(&copy).output().expect("amtool");
        let ours = Config::from_yaml(&rendered, &copy);
        assert_eq!(
            ours.is_ok(),
            amtool.status.success(),
            "{}: we say {:?}, amtool says {}",
            file.display(),
            ours.err().map(|e| e.to_string()),
            String::from_utf8_lossy(&amtool.stdout)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
