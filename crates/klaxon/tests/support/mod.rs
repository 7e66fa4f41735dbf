//! Test support: start real processes (Klaxon and Alertmanager 0.25) on loopback, wait for them
//! with a deadline, stop them by PID on drop, and talk HTTP to them.

#![allow(dead_code, unreachable_pub)]

pub mod harness;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How long a server may take to answer `/-/ready`.
const READY_DEADLINE: Duration = Duration::from_secs(20);

/// A scratch directory removed on drop.
pub struct ScratchDir(pub PathBuf);

impl ScratchDir {
    /// A new empty directory under the system temp dir.
    pub fn new(label: &str) -> ScratchDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "klaxon-test-{label}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create scratch dir");
        ScratchDir(path)
    }

    /// Writes a file in the directory and returns its path.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("write scratch file");
        path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Polls `check` every 50 ms until it gives a value or `within` passes; then panics with
/// `what`.
pub async fn poll_for<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// [`poll_for`] for a condition.
pub async fn eventually<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    poll_for(what, within, || {
        let holds = check();
        async move { holds.await.then_some(()) }
    })
    .await
}

/// Polls `url` on `server` until `found` accepts the JSON answer (within 40 s), or fails
/// with the last answer and the server's log.
pub async fn wait_for_json(
    client: &reqwest::Client,
    server: &Server,
    url: &str,
    what: &str,
    mut found: impl FnMut(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let body =
            request(client, "GET", url, None).await.json().unwrap_or(serde_json::Value::Null);
        if found(&body) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: last answer {body}\nlog:\n{}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A fresh PostgreSQL schema with the store's tables on the test database
/// (`KLAXON_TEST_POSTGRES_URL`, default the local `test` database), for instances that share
/// one database. Fails loudly without PostgreSQL.
pub struct PostgresSchema {
    server: String,
    name: String,
    /// The `--storage.url` that points Klaxon at the schema.
    pub storage_url: String,
}

impl PostgresSchema {
    /// Creates the schema `{prefix}_{pid}`.
    pub async fn create(prefix: &str) -> PostgresSchema {
        let server = std::env::var("KLAXON_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let name = format!("{prefix}_{}", std::process::id());
        let prepared = store::Store::postgres_in_schema(&server, &name).await.unwrap_or_else(|e| {
            panic!("PostgreSQL at {server} is required (run scripts/setup.sh): {e}")
        });
        prepared.close().await;
        let storage_url = format!("{server}?options%5Bsearch_path%5D={name}");
        PostgresSchema { server, name, storage_url }
    }

    /// Drops the schema and everything in it.
    pub async fn drop_schema(self) {
        let admin = sqlx::PgPool::connect(&self.server).await.expect("connect for cleanup");
        let statement = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&admin)
            .await
            .expect("drop test schema");
    }
}

/// The path of an external program the test needs; panics (never skips) when it is missing.
pub fn require_program(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!("{name} is not installed: run scripts/setup.sh (Debian package prometheus-alertmanager)")
}

/// Which implementation a server runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Implementation {
    /// Prometheus Alertmanager 0.25 from Debian.
    Alertmanager,
    /// This project.
    Klaxon,
}

/// A running server, killed (by PID) on drop.
pub struct Server {
    /// Base URL, e.g. `http://127.0.0.21:19093`.
    pub url: String,
    /// Which implementation.
    pub implementation: Implementation,
    child: Child,
    log: PathBuf,
    _data: ScratchDir,
}

impl Server {
    /// Starts `implementation` with `config` on `address` (`ip:port`), clustering disabled.
    pub fn start(
        implementation: Implementation,
        address: &str,
        config: &Path,
        extra: &[&str],
    ) -> Server {
        Server::start_in(None, implementation, address, config, extra)
    }

    /// As [`Server::start`], inside the network namespace `netns` (`ip netns exec`, which
    /// execs the server, so the PID is still the server's). The caller must be able to reach
    /// `address` from its own namespace.
    pub fn start_in_netns(
        netns: &str,
        implementation: Implementation,
        address: &str,
        config: &Path,
        extra: &[&str],
    ) -> Server {
        Server::start_in(Some(netns), implementation, address, config, extra)
    }

    fn start_in(
        netns: Option<&str>,
        implementation: Implementation,
        address: &str,
        config: &Path,
        extra: &[&str],
    ) -> Server {
        let data = ScratchDir::new("data");
        let program = match implementation {
            Implementation::Alertmanager => require_program("prometheus-alertmanager"),
            Implementation::Klaxon => PathBuf::from(env!("CARGO_BIN_EXE_klaxon")),
        };
        let log = data.0.join("server.log");
        let log_file = std::fs::File::create(&log).expect("create server log");
        let mut command = match netns {
            Some(netns) => {
                let mut command = Command::new(require_program("ip"));
                command.args(["netns", "exec", netns]).arg(program);
                command
            }
            None => Command::new(program),
        };
        // Clustering stays off unless the caller turns it on (Alertmanager refuses a
        // repeated flag, so the default is only added when absent).
        if !extra.iter().any(|arg| arg.starts_with("--cluster.listen-address")) {
            command.arg("--cluster.listen-address=");
        }
        command
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", data.0.display()))
            .arg(format!("--web.listen-address={address}"))
            .arg(format!("--web.external-url=http://{address}"))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file);
        let child = command.spawn().expect("start server");
        let server =
            Server { url: format!("http://{address}"), implementation, child, log, _data: data };
        // A route prefix moves `/-/ready` too.
        let prefix = extra
            .iter()
            .find_map(|arg| arg.strip_prefix("--web.route-prefix="))
            .unwrap_or("")
            .trim_end_matches('/');
        server.wait_ready(prefix);
        server
    }

    fn wait_ready(&self, prefix: &str) {
        let started = Instant::now();
        let ready_url = format!("{}{prefix}/-/ready", self.url);
        while started.elapsed() < READY_DEADLINE {
            if let Ok(200) = blocking_get(&ready_url) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "{:?} at {} not ready within {READY_DEADLINE:?}; log:\n{}",
            self.implementation,
            self.url,
            self.log_text()
        );
    }

    /// The server's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal blocking GET returning the status code (used only for readiness polling, so the
/// tests need no second HTTP stack).
fn blocking_get(url: &str) -> std::io::Result<u16> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) =
        rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let mut stream = std::net::TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let code = response.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    Ok(code)
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Body text.
    pub text: String,
}

impl Reply {
    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.text).ok()
    }
}

/// Sends one request.
pub async fn request(
    client: &reqwest::Client,
    method: &str,
    url: &str,
    body: Option<&str>,
) -> Reply {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut builder = client.request(method, url).timeout(Duration::from_secs(10));
    if let Some(body) = body {
        builder = builder.header("Content-Type", "application/json").body(body.to_owned());
    }
    let response = builder.send().await.unwrap_or_else(|e| panic!("request to {url} failed: {e}"));
    let status = response.status().as_u16();
    let text = response.text().await.expect("read body");
    Reply { status, text }
}
