//! The command line and process behaviour: reload on `POST /-/reload` and SIGHUP (an invalid
//! file is rejected and the running configuration stays), and `check-config` against
//! `amtool check-config`.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{Implementation, ScratchDir, Server, request, require_program};

const VALID: &str = "route:\n  receiver: first\nreceivers:\n  - name: first\n";
const VALID_MORE: &str =
    "route:\n  receiver: first\nreceivers:\n  - name: first\n  - name: second\n";
const INVALID: &str = "route:\n  receiver: missing\nreceivers:\n  - name: first\n";

async fn receiver_names(client: &reqwest::Client, server: &Server) -> Vec<String> {
    let reply = request(client, "GET", &format!("{}/api/v2/receivers", server.url), None).await;
    let json = reply.json().expect("receivers are JSON");
    json.as_array()
        .expect("an array")
        .iter()
        .map(|r| r["name"].as_str().expect("a name").to_owned())
        .collect()
}

/// Goal: a reload with an invalid file changes nothing and says why; a valid one applies, by
/// HTTP and by SIGHUP, for Klaxon exactly as for Alertmanager 0.25.
/// Method: each server runs from a file the test rewrites; the answers of `/-/reload` and the
/// receivers listed afterwards are compared between the two.
#[tokio::test]
async fn reload_keeps_the_running_config_on_error() {
    let client = reqwest::Client::new();
    let mut outcomes = Vec::new();
    for (implementation, address) in [
        (Implementation::Alertmanager, "127.0.0.35:19093"),
        (Implementation::Klaxon, "127.0.0.36:19093"),
    ] {
        let scratch = ScratchDir::new("reload");
        let config = scratch.write("alertmanager.yml", VALID);
        let server = Server::start(implementation, address, &config, &[]);
        std::fs::write(&config, INVALID).unwrap();
        let rejected = request(&client, "POST", &format!("{}/-/reload", server.url), None).await;
        assert!(
            rejected.text.contains("undefined receiver"),
            "{implementation:?}: {}",
            rejected.text
        );
        let after_rejection = receiver_names(&client, &server).await;
        std::fs::write(&config, VALID_MORE).unwrap();
        let status =
            Command::new("kill").args(["-HUP", &server.pid().to_string()]).status().unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut after_hangup = receiver_names(&client, &server).await;
        while after_hangup.len() != 2 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
            after_hangup = receiver_names(&client, &server).await;
        }
        outcomes.push((rejected.status, after_rejection, after_hangup));
    }
    assert_eq!(outcomes[0], outcomes[1], "alertmanager vs klaxon");
    assert_eq!(outcomes[1].1, vec!["first"]);
    assert_eq!(outcomes[1].2, vec!["first", "second"]);
}

/// Goal: `klaxon check-config` accepts and rejects what `amtool check-config` does, printing
/// the same summary for valid files.
/// Method: both tools check the same files; exit codes must match, and so must the output for
/// valid files (for invalid ones Klaxon's reason also names the line and field, so only the
/// verdict line's start is compared).
#[test]
fn check_config_agrees_with_amtool() {
    let scratch = ScratchDir::new("check-config");
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/alertmanager.yml");
    let files = [
        example,
        scratch.write("valid.yml", VALID_MORE),
        scratch.write("undefined-receiver.yml", INVALID),
        scratch.write(
            "unknown-field.yml",
            "route:\n  receiver: a\n  colour: red\nreceivers:\n  - name: a\n",
        ),
        scratch.write(
            "bad-duration.yml",
            "route:\n  receiver: a\n  group_wait: 5x\nreceivers:\n  - name: a\n",
        ),
        scratch.write("not-yaml.yml", "route: [\n"),
    ];
    for file in &files {
        let amtool =
            Command::new(require_program("amtool")).arg("check-config").arg(file).output().unwrap();
        let klaxon = Command::new(env!("CARGO_BIN_EXE_klaxon"))
            .arg("check-config")
            .arg(file)
            .output()
            .unwrap();
        let (amtool_out, klaxon_out) =
            (String::from_utf8_lossy(&amtool.stdout), String::from_utf8_lossy(&klaxon.stdout));
        assert_eq!(
            amtool.status.success(),
            klaxon.status.success(),
            "{}:\n{amtool_out}\n{klaxon_out}",
            file.display()
        );
        if amtool.status.success() {
            assert_eq!(amtool_out, klaxon_out, "{}", file.display());
        } else {
            let verdict = format!("Checking '{}'  FAILED: ", file.display());
            assert!(klaxon_out.starts_with(&verdict), "{klaxon_out}");
        }
    }
}
