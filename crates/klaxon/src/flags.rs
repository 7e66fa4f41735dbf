//! The command line: Alertmanager's flags with the same names and defaults, so replacing the
//! binary name is the whole migration, plus Klaxon's subcommands.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// Klaxon: a highly available, Alertmanager-compatible alert receiver.
#[derive(Debug, Parser)]
#[command(name = "klaxon", version, about, args_override_self = true)]
pub struct Cli {
    /// A subcommand; without one, Klaxon runs the server.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Server flags.
    #[command(flatten)]
    pub server: ServerFlags,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Checks configuration files, like `amtool check-config`.
    #[command(name = "check-config")]
    CheckConfig {
        /// The files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Copies an Alertmanager data directory's `silences` and `nflog` snapshots into the
    /// store (newer rows already there are kept).
    #[command(name = "import-alertmanager")]
    ImportAlertmanager {
        /// Alertmanager's `--storage.path`.
        dir: PathBuf,
        /// Klaxon's `--storage.path` (holds the SQLite file).
        #[arg(long = "storage.path", default_value = "data/")]
        storage_path: PathBuf,
        /// Klaxon's `--storage.url` (empty for SQLite).
        #[arg(long = "storage.url", default_value = "")]
        storage_url: String,
    },
    /// Checks Prometheus rule files, like `promtool check rules`.
    #[command(name = "check-rules")]
    CheckRules {
        /// The files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Template tools, like `amtool template`.
    #[command(name = "template", subcommand)]
    Template(TemplateCommand),
}

/// `klaxon template ...` subcommands.
#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// Renders a template with example (or given) data, like `amtool template render`.
    #[command(name = "render")]
    Render(TemplateRenderFlags),
}

/// The flags of `template render`, as amtool 0.25 names them.
#[derive(Debug, Clone, Args)]
pub struct TemplateRenderFlags {
    /// Glob of paths that will be expanded and used for rendering (repeatable).
    #[arg(long = "template.glob", required = true)]
    pub glob: Vec<String>,
    /// The template that will be rendered.
    #[arg(long = "template.text", required = true)]
    pub text: String,
    /// The type of the template: text (default) or html.
    #[arg(long = "template.type", value_parser = ["text", "html"])]
    pub kind: Option<String>,
    /// A JSON file with the data (Alertmanager's `template.Data` layout); example data
    /// when absent.
    #[arg(long = "template.data")]
    pub data: Option<PathBuf>,
}

/// Flags of the server, named and defaulted as Alertmanager 0.25 names and defaults them.
#[derive(Debug, Clone, Args)]
pub struct ServerFlags {
    /// Alertmanager configuration file name.
    #[arg(long = "config.file", default_value = "alertmanager.yml")]
    pub config_file: PathBuf,
    /// Base path for data storage.
    #[arg(long = "storage.path", default_value = "data/")]
    pub storage_path: PathBuf,
    /// Database for silences and the notification log: `postgres://...`, or empty for the
    /// SQLite file `<storage.path>/klaxon.db` (a Klaxon addition).
    #[arg(long = "storage.url", default_value = "")]
    pub storage_url: String,
    /// How often an instance on a shared PostgreSQL (`--storage.url`) reads the silences the
    /// others changed, so they converge without gossip; 0 disables (a Klaxon addition).
    #[arg(long = "storage.poll-interval", default_value = "10s", value_parser = parse_go_duration)]
    pub storage_poll_interval: Duration,
    /// Store alerts as they arrive (answering `POST /api/v2/alerts` once stored), so a restart
    /// still sends the resolved notifications it owed; `false` keeps them in memory only, as
    /// Alertmanager does (a Klaxon addition).
    #[arg(long = "storage.persist-alerts", default_value_t = true, action = clap::ArgAction::Set)]
    pub storage_persist_alerts: bool,
    /// Bytes the SQLite alert journal may gain between folds into the alerts table before it
    /// is folded ahead of the next maintenance (a Klaxon addition).
    #[arg(long = "storage.alert-journal-fold-bytes", default_value_t = store::FOLD_AFTER_BYTES)]
    pub storage_alert_journal_fold_bytes: u64,
    /// How long to keep data for.
    #[arg(long = "data.retention", default_value = "120h", value_parser = parse_go_duration)]
    pub data_retention: Duration,
    /// Interval between garbage collection and snapshotting of silences and the notification log.
    #[arg(long = "data.maintenance-interval", default_value = "15m", value_parser = parse_go_duration)]
    pub data_maintenance_interval: Duration,
    /// Interval between alert GC.
    #[arg(long = "alerts.gc-interval", default_value = "30m", value_parser = parse_go_duration)]
    pub alerts_gc_interval: Duration,
    /// Maximum number of silences, including expired ones (0 = no limit).
    #[arg(long = "silences.max-silences", default_value_t = 0)]
    pub silences_max_silences: usize,
    /// Maximum size of one silence in bytes (0 = no limit).
    #[arg(long = "silences.max-silence-size-bytes", default_value_t = 0)]
    pub silences_max_silence_size_bytes: usize,
    /// Addresses to listen on for the web interface and API (repeatable).
    #[arg(long = "web.listen-address", default_value = ":9093")]
    pub web_listen_address: Vec<String>,
    /// Path to a web configuration file (TLS and authentication); not supported yet.
    #[arg(long = "web.config.file")]
    pub web_config_file: Option<PathBuf>,
    /// The URL under which Klaxon is externally reachable.
    #[arg(long = "web.external-url")]
    pub web_external_url: Option<String>,
    /// Prefix for the internal routes of web endpoints (defaults to the external URL's path).
    #[arg(long = "web.route-prefix")]
    pub web_route_prefix: Option<String>,
    /// Maximum number of GET requests processed at once (0 = GOMAXPROCS in Alertmanager).
    #[arg(long = "web.get-concurrency", default_value_t = 0)]
    pub web_get_concurrency: usize,
    /// Timeout for HTTP requests (0 = none).
    #[arg(long = "web.timeout", default_value = "0s", value_parser = parse_go_duration)]
    pub web_timeout: Duration,
    /// Cluster flags.
    #[command(flatten)]
    pub cluster: ClusterFlags,
    /// Alert generator flags.
    #[command(flatten)]
    pub rules: RuleFlags,
    /// Only log messages with the given severity or above: debug, info, warn, error.
    #[arg(long = "log.level", default_value = "info")]
    pub log_level: String,
    /// Output format of log messages: logfmt or json.
    #[arg(long = "log.format", default_value = "logfmt")]
    pub log_format: String,
}

/// The alert generator's flags (Prometheus' names where Prometheus has the flag).
#[derive(Debug, Clone, Args)]
pub struct RuleFlags {
    /// Prometheus rule files to evaluate, as a glob (repeatable).
    #[arg(long = "rules.file")]
    pub files: Vec<String>,
    /// Grafana alerting provisioning files of expression rules (`apiVersion: 1`, `groups:`),
    /// as a glob (repeatable); read at start and on reload.
    #[arg(long = "rules.provisioning")]
    pub provisioning: Vec<String>,
    /// Serve the rules API (`/api/ruler/grafana/api/v1/rules`): expression-rule groups
    /// created, replaced and deleted over HTTP, stored (versioned) in the database.
    #[arg(long = "rules.api")]
    pub api: bool,
    /// Where rule expressions are evaluated: a Prometheus HTTP API base URL, or `builtin:`
    /// for the built-in test datasource.
    #[arg(long = "datasource.url", default_value = "")]
    pub datasource_url: String,
    /// Named datasources in Grafana's datasource provisioning format (`apiVersion: 1`,
    /// `datasources:`), as a glob (repeatable); read at start and on reload. Expression rules
    /// name them by `datasourceUid`.
    #[arg(long = "datasources.file")]
    pub datasource_files: Vec<String>,
    /// An Alertmanager to send alerts to as well as this instance's own receiver
    /// (repeatable; API v2).
    #[arg(long = "alertmanager.url")]
    pub alertmanager_urls: Vec<String>,
    /// The scheduler's base tick; every group interval must be a multiple of it.
    #[arg(long = "rules.tick-interval", default_value = "10s", value_parser = parse_go_duration)]
    pub tick_interval: Duration,
    /// Interval of rule groups that set none (Prometheus' `evaluation_interval`).
    #[arg(long = "rules.evaluation-interval", default_value = "1m", value_parser = parse_go_duration)]
    pub evaluation_interval: Duration,
    /// Bound on one group evaluation (capped at the group's interval).
    #[arg(long = "rules.evaluation-timeout", default_value = "30s", value_parser = parse_go_duration)]
    pub evaluation_timeout: Duration,
    /// Minimum time before a firing alert is sent again.
    #[arg(long = "rules.alert.resend-delay", default_value = "30s", value_parser = parse_go_duration)]
    pub resend_delay: Duration,
    /// Attempts per rule query before the evaluation counts as failed (1: no retry).
    #[arg(long = "rules.query-attempts", default_value_t = 3)]
    pub query_attempts: u32,
    /// Wait before the first retry of a failed query; it doubles for each further retry
    /// (never past the evaluation's deadline).
    #[arg(long = "rules.retry-delay", default_value = "1s", value_parser = parse_go_duration)]
    pub retry_delay: Duration,
    /// This instance's name in the state history (default: `--cluster.peer-name`, else the
    /// external URL).
    #[arg(long = "rules.instance-id", default_value = "")]
    pub instance_id: String,
    /// How long state-history entries are kept.
    #[arg(long = "rules.history-retention", default_value = "168h", value_parser = parse_go_duration)]
    pub history_retention: Duration,
    /// A label templates see in `$externalLabels`, as name=value (repeatable).
    #[arg(long = "rules.external-label")]
    pub external_labels: Vec<String>,
    /// How many live cluster members evaluate each rule group, picked by rendezvous hashing
    /// of the group and member names; 0 means every instance evaluates every group. Only
    /// the evaluating members send a group's alerts, so with sharding each instance should
    /// list the others in `--alertmanager.url` (or all should send to the same external
    /// Alertmanagers), as Prometheus servers send to every Alertmanager: otherwise, when a
    /// group moves away from a live instance, its receiver lets the alerts expire.
    #[arg(long = "rules.replication-factor", default_value_t = 0)]
    pub replication_factor: usize,
}

/// The `--cluster.*` flags, with Alertmanager's defaults.
#[derive(Debug, Clone, Args)]
pub struct ClusterFlags {
    /// Listen address for cluster (empty disables HA mode).
    #[arg(long = "cluster.listen-address", default_value = "0.0.0.0:9094")]
    pub listen_address: String,
    /// Explicit address to advertise in the cluster.
    #[arg(long = "cluster.advertise-address")]
    pub advertise_address: Option<String>,
    /// Initial peers (repeatable).
    #[arg(long = "cluster.peer")]
    pub peer: Vec<String>,
    /// Name of this peer (a ULID when empty).
    #[arg(long = "cluster.peer-name", default_value = "")]
    pub peer_name: String,
    /// Time to wait between peers to send notifications.
    #[arg(long = "cluster.peer-timeout", default_value = "15s", value_parser = parse_go_duration)]
    pub peer_timeout: Duration,
    /// Time to resolve peers.
    #[arg(long = "cluster.peers-resolve-timeout", default_value = "15s", value_parser = parse_go_duration)]
    pub peers_resolve_timeout: Duration,
    /// Interval between sending gossip messages.
    #[arg(long = "cluster.gossip-interval", default_value = "200ms", value_parser = parse_go_duration)]
    pub gossip_interval: Duration,
    /// Interval for gossip state syncs.
    #[arg(long = "cluster.pushpull-interval", default_value = "1m0s", value_parser = parse_go_duration)]
    pub pushpull_interval: Duration,
    /// Timeout for establishing a stream connection with a remote node.
    #[arg(long = "cluster.tcp-timeout", default_value = "10s", value_parser = parse_go_duration)]
    pub tcp_timeout: Duration,
    /// Timeout to wait for an ack from a probed node.
    #[arg(long = "cluster.probe-timeout", default_value = "500ms", value_parser = parse_go_duration)]
    pub probe_timeout: Duration,
    /// Interval between random node probes.
    #[arg(long = "cluster.probe-interval", default_value = "1s", value_parser = parse_go_duration)]
    pub probe_interval: Duration,
    /// Maximum time to wait for cluster connections to settle.
    #[arg(long = "cluster.settle-timeout", default_value = "1m0s", value_parser = parse_go_duration)]
    pub settle_timeout: Duration,
    /// Interval between attempting to reconnect to lost peers.
    #[arg(long = "cluster.reconnect-interval", default_value = "10s", value_parser = parse_go_duration)]
    pub reconnect_interval: Duration,
    /// Length of time to attempt to reconnect to a lost peer.
    #[arg(long = "cluster.reconnect-timeout", default_value = "6h0m0s", value_parser = parse_go_duration)]
    pub reconnect_timeout: Duration,
    /// Path to a TLS configuration file for mutual TLS between peers.
    #[arg(long = "cluster.tls-config")]
    pub tls_config: Option<PathBuf>,
    /// Allow a public IP address to be advertised when none is given.
    #[arg(long = "cluster.allow-insecure-public-advertise-address-discovery")]
    pub allow_insecure_public_advertise_address_discovery: bool,
    /// The cluster label: traffic from peers with another label is dropped.
    #[arg(long = "cluster.label", default_value = "")]
    pub label: String,
}

/// Parses a Go `time.ParseDuration` string (`1h30m`, `1.5s`, `300ms`), also accepting the
/// Prometheus units `d`, `w` and `y` that operators sometimes pass.
pub fn parse_go_duration(text: &str) -> Result<Duration, String> {
    if let Ok(duration) = model::duration::parse_duration(text) {
        return Ok(duration);
    }
    let error = || format!("time: invalid duration {text:?}");
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    if rest.is_empty() || rest.starts_with('-') {
        return Err(error());
    }
    let mut seconds = 0f64;
    while !rest.is_empty() {
        let number_end =
            rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let number: f64 = rest[..number_end].parse().map_err(|_| error())?;
        rest = &rest[number_end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(error()),
        };
        seconds += number * scale;
        rest = &rest[unit_end..];
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("120h").unwrap(), Duration::from_secs(432000));
        assert_eq!(parse_go_duration("1m0s").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_go_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_go_duration("6h0m0s").unwrap(), Duration::from_secs(21600));
        assert!(parse_go_duration("5x").is_err());
        assert!(parse_go_duration("-1s").is_err());
    }

    #[test]
    fn alertmanager_command_line_parses() {
        let cli = Cli::try_parse_from([
            "klaxon",
            "--config.file=/etc/am.yml",
            "--storage.path=/var/lib/am",
            "--web.listen-address=127.0.0.1:19093",
            "--web.external-url=http://127.0.0.1:19093",
            "--cluster.listen-address=127.0.0.1:19094",
            "--cluster.peer=127.0.0.1:19096",
            "--cluster.peer=127.0.0.1:19098",
            "--log.level=info",
        ])
        .unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.server.cluster.peer.len(), 2);
        assert_eq!(cli.server.data_retention, Duration::from_secs(120 * 3600));
        assert_eq!(cli.server.storage_url, "", "SQLite under --storage.path by default");
    }

    #[test]
    fn storage_additions_parse() {
        let cli = Cli::try_parse_from(["klaxon"]).unwrap();
        assert!(cli.server.storage_persist_alerts);
        assert_eq!(cli.server.storage_alert_journal_fold_bytes, 64 << 20);
        assert_eq!(cli.server.storage_poll_interval, Duration::from_secs(10));
        let cli = Cli::try_parse_from([
            "klaxon",
            "--storage.persist-alerts=false",
            "--storage.poll-interval=0s",
        ])
        .unwrap();
        assert!(!cli.server.storage_persist_alerts);
        assert!(cli.server.storage_poll_interval.is_zero());
    }

    #[test]
    fn import_alertmanager_parses() {
        let cli = Cli::try_parse_from([
            "klaxon",
            "import-alertmanager",
            "/var/lib/alertmanager",
            "--storage.url=postgres://am@db/klaxon",
        ])
        .unwrap();
        let Some(Command::ImportAlertmanager { dir, storage_path, storage_url }) = cli.command
        else {
            panic!("not the import command");
        };
        assert_eq!(dir, PathBuf::from("/var/lib/alertmanager"));
        assert_eq!(storage_path, PathBuf::from("data/"));
        assert_eq!(storage_url, "postgres://am@db/klaxon");
    }
}
