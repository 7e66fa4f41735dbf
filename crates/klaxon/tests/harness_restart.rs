//! The shared black-box harness's `restart-persistence` run against a single Klaxon node with
//! no peers (gossiping alone, so its status settles to `ready`): 20 silences are created, the
//! node is stopped (SIGTERM, or SIGKILL), restarted alone on its data directory, and every
//! silence must be back and active.
//! Alertmanager 0.25 keeps 20/20 after SIGTERM and 0/20 after SIGKILL (bench/README.md).
//! Addresses 127.0.0.130-131.

use std::path::PathBuf;
use std::process::Command;

use crate::support::{ScratchDir, require_program};

const SILENCES: u64 = 20;

/// Where the team's shared tools live on the machines we develop and run CI on, for a
/// checkout that is not next to them (CI clones the repository elsewhere).
const MACHINE_SHARED_HARNESS: &str = "/work/shared/tools/amharness.py";

/// `$AMHARNESS`, else `../shared/tools/amharness.py` next to the repository (as the bench
/// scripts find it), else the machine's shared copy; panics when none exists (a test that
/// needs it never skips).
fn harness() -> PathBuf {
    if let Some(path) = std::env::var_os("AMHARNESS") {
        let path = PathBuf::from(path);
        assert!(path.is_file(), "AMHARNESS names no file: {}", path.display());
        return path;
    }
    let next_to_repo =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/tools/amharness.py");
    let candidates = [next_to_repo, PathBuf::from(MACHINE_SHARED_HARNESS)];
    let found = candidates.iter().find(|path| path.is_file());
    found.cloned().unwrap_or_else(|| {
        panic!(
            "the shared harness amharness.py is missing (looked at {}): check out ../shared \
             next to the repository or set AMHARNESS",
            candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        )
    })
}

/// A harness state directory whose cluster is taken down (by the harness, by PID) on drop.
struct HarnessCluster {
    python: PathBuf,
    harness: PathBuf,
    state: ScratchDir,
}

impl HarnessCluster {
    fn command(&self, subcommand: &str) -> Command {
        let mut command = Command::new(&self.python);
        command.arg(&self.harness).arg("--state-dir").arg(&self.state.0).arg(subcommand);
        command
    }

    /// Runs a subcommand and returns its final JSON line; panics with its stderr on failure.
    fn run(&self, subcommand: &str, args: &[&str]) -> serde_json::Value {
        let output = self.command(subcommand).args(args).output().expect("run amharness");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "amharness {subcommand} failed:\n{stderr}");
        let last = stdout.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or_default();
        serde_json::from_str(last).unwrap_or_else(|error| {
            panic!("amharness {subcommand} printed no JSON line ({error}):\n{stdout}\n{stderr}")
        })
    }
}

impl Drop for HarnessCluster {
    fn drop(&mut self) {
        let _ = self.command("cluster-down").output();
    }
}

/// Runs one `restart-persistence` variant on a one-node Klaxon cluster on `host` and checks
/// that every silence survived both the restart alone on disk and the normal restart. The node
/// gossips (with no peers) so that its status reports `ready` once settled, which is what the
/// harness waits for after each restart.
fn keeps_every_silence(host: &str, variant: &str) {
    let cluster = HarnessCluster {
        python: require_program("python3"),
        harness: harness(),
        state: ScratchDir::new("amharness"),
    };
    let klaxon = env!("CARGO_BIN_EXE_klaxon");
    let template = format!(
        "{klaxon} --config.file={{config}} --storage.path={{data}} --web.listen-address={{http}} \
         --web.external-url={{url}} --cluster.listen-address={{gossip}}"
    );
    cluster.run(
        "cluster-up",
        &[
            "--impl",
            "custom",
            "--cmd",
            &template,
            "--n",
            "1",
            "--host",
            host,
            "--base-port",
            "19093",
            "--settle-timeout",
            "30",
        ],
    );
    let silences = SILENCES.to_string();
    let result = cluster.run(
        "restart-persistence",
        &["--silences", &silences, "--variants", variant, "--recover-timeout", "20"],
    );
    let outcome = &result["variants"][variant];
    assert!(outcome.is_object(), "no {variant} result in {result}");
    assert_eq!(outcome["isolated_present"], SILENCES, "restarted alone on disk: {result}");
    assert_eq!(outcome["isolated_active"], SILENCES, "restarted alone on disk: {result}");
    assert_eq!(outcome["present_at_ready"], SILENCES, "restarted: {result}");
    assert_eq!(outcome["present_after_rejoin"], SILENCES, "restarted: {result}");
}

#[test]
fn harness_restart_persistence_graceful_keeps_all_silences() {
    keeps_every_silence("127.0.0.130", "graceful");
}

#[test]
fn harness_restart_persistence_sigkill_keeps_all_silences() {
    keeps_every_silence("127.0.0.131", "sigkill");
}
