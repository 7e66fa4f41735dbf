//! The shared black-box harness `amharness.py` (`../shared/tools`) driven from tests: where it
//! is found, and a harness state directory whose cluster is taken down on drop.

use std::path::PathBuf;
use std::process::Command;

use super::{ScratchDir, require_program};

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
pub struct HarnessCluster {
    python: PathBuf,
    harness: PathBuf,
    state: ScratchDir,
}

impl HarnessCluster {
    /// A fresh state directory; panics when python3 or the harness is missing.
    pub fn in_scratch_dir() -> HarnessCluster {
        HarnessCluster {
            python: require_program("python3"),
            harness: harness(),
            state: ScratchDir::new("amharness"),
        }
    }

    fn command(&self, subcommand: &str) -> Command {
        let mut command = Command::new(&self.python);
        command.arg(&self.harness).arg("--state-dir").arg(&self.state.0).arg(subcommand);
        command
    }

    /// Runs a subcommand and returns its final JSON line; panics with its stderr on failure.
    pub fn run(&self, subcommand: &str, args: &[&str]) -> serde_json::Value {
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
