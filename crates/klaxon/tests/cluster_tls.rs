//! Mixed clusters over Alertmanager's TLS gossip transport (`--cluster.tls-config`) on
//! loopback (127.0.0.170–179): one real Alertmanager 0.25 with two Klaxons, and two with
//! one Klaxon, every node with its own certificate signed by a test CA, requiring and
//! verifying each other's client certificates. Every node must list every member, a silence
//! created on any node must reach every node (both as a gossip packet and as an oversized
//! reliable message, so both the pooled packet connections and the stream connections are
//! used), and the same alert posted to every node must give exactly one notification. A
//! node whose certificate another CA signed must not get in. A broken file must stop Klaxon
//! with an error naming the file and the field. The `alertmanager_tls_transport_*` counters
//! must have moved on every node.
//!
//! The scenarios and timers are those of [`crate::cluster`]; only the transport differs.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::time::Instant;

use crate::cluster::{
    Node, Sink, config, eventually, every_node_lists_every_member, member_names,
    notifications_after_every_turn, own_name, post_alert_everywhere, silences_replicate,
    start_cluster_with,
};
use crate::support::{Implementation, ScratchDir, request};

/// A test certificate authority.
struct Authority {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    pem: String,
}

impl Authority {
    fn new(name: &str) -> Authority {
        let key = rcgen::KeyPair::generate().expect("CA key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
        let pem = params.self_signed(&key).expect("CA certificate").pem();
        Authority { issuer: rcgen::Issuer::new(params, key), pem }
    }

    /// A certificate for the node at `ip`, good for serving and for dialling (the transport
    /// uses one certificate both ways), as (certificate PEM, key PEM).
    fn node(&self, ip: &str) -> (String, String) {
        let key = rcgen::KeyPair::generate().expect("node key");
        let mut params = rcgen::CertificateParams::new(vec![ip.to_owned()]).expect("node params");
        params.distinguished_name.push(rcgen::DnType::CommonName, ip);
        params.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = params.signed_by(&key, &self.issuer).expect("node certificate");
        (cert.pem(), key.serialize_pem())
    }
}

/// Writes the node's certificate, key and `--cluster.tls-config` file into `dir`: `signer`
/// signs the node's certificate, `trusted` is the CA it expects its peers to hold. Paths in
/// the file are relative, as they resolve against the file's directory.
fn tls_config(dir: &ScratchDir, ip: &str, signer: &Authority, trusted: &Authority) -> String {
    let (cert, key) = signer.node(ip);
    dir.write(&format!("{ip}.pem"), &cert);
    dir.write(&format!("{ip}.key"), &key);
    dir.write("ca.pem", &trusted.pem);
    let text = format!(
        "tls_server_config:\n  cert_file: {ip}.pem\n  key_file: {ip}.key\n  client_ca_file: ca.pem\n  client_auth_type: RequireAndVerifyClientCert\ntls_client_config:\n  ca_file: ca.pem\n  cert_file: {ip}.pem\n  key_file: {ip}.key\n"
    );
    let path = dir.write(&format!("{ip}-tls.yml"), &text);
    format!("--cluster.tls-config={}", path.display())
}

/// Every node gets a certificate the same CA signed; the scenarios of [`crate::cluster`]
/// (membership, silences, one notification per group) must hold over TLS.
async fn mixed_tls_cluster(
    implementations: &[Implementation],
    ips: &'static [&'static str],
    sink_address: &str,
) {
    let sink = Sink::start(sink_address).await;
    let dir = ScratchDir::new("cluster-tls");
    let config = dir.write("alertmanager.yml", &config(sink_address));
    let ca = Authority::new("Klaxon gossip test CA");
    let flags: Vec<String> = ips.iter().map(|ip| tls_config(&dir, ip, &ca, &ca)).collect();
    let nodes = start_cluster_with(implementations, ips, &config, |i| vec![flags[i].clone()]);
    let client = reqwest::Client::new();

    every_node_lists_every_member(&client, &nodes).await;
    silences_replicate(&client, &nodes).await;
    let all: Vec<&Node> = nodes.iter().collect();
    post_alert_everywhere(&client, &all, "dedup").await;
    assert_eq!(notifications_after_every_turn(&sink, "dedup", nodes.len()).await, 1);
    for node in &nodes {
        transport_counters_moved(&client, node).await;
    }
}

/// The transport's counters, under Alertmanager's names, counted both packets and streams
/// both ways; the same check runs against the Alertmanagers, so the names are theirs.
async fn transport_counters_moved(client: &reqwest::Client, node: &Node) {
    let text = request(client, "GET", &format!("{}/metrics", node.server.url), None).await.text;
    for name in [
        "packet_bytes_sent_total",
        "packet_bytes_received_total",
        "stream_connections_sent_total",
        "stream_connections_received_total",
    ] {
        let series = format!("alertmanager_tls_transport_{name} ");
        let value = text
            .lines()
            .find_map(|line| line.strip_prefix(&series))
            .and_then(|v| v.trim().parse::<f64>().ok());
        assert!(
            value.is_some_and(|v| v > 0.0),
            "{:?} at {}: {series}is {value:?}",
            node.server.implementation,
            node.ip
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_one_alertmanager_and_two_klaxons() {
    use Implementation::{Alertmanager, Klaxon};
    const IPS: &[&str] = &["127.0.0.170", "127.0.0.171", "127.0.0.172"];
    mixed_tls_cluster(&[Klaxon, Alertmanager, Klaxon], IPS, "127.0.0.173:19099").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_two_alertmanagers_and_one_klaxon() {
    use Implementation::{Alertmanager, Klaxon};
    const IPS: &[&str] = &["127.0.0.177", "127.0.0.178", "127.0.0.179"];
    // The sink shares the last node's address on a port of its own.
    mixed_tls_cluster(&[Alertmanager, Klaxon, Alertmanager], IPS, "127.0.0.179:19099").await;
}

/// A Klaxon that trusts the cluster's CA but holds a certificate another CA signed is
/// refused by both the Alertmanager and the Klaxon it tries to join, and they never list it.
#[tokio::test(flavor = "multi_thread")]
async fn tls_node_signed_by_another_ca_does_not_join() {
    use Implementation::{Alertmanager, Klaxon};
    const IPS: &[&str] = &["127.0.0.174", "127.0.0.175", "127.0.0.176"];
    let dir = ScratchDir::new("cluster-tls-intruder");
    let config = dir.write("alertmanager.yml", &config("127.0.0.176:19099"));
    let ca = Authority::new("Klaxon gossip test CA");
    let rogue = Authority::new("Rogue CA");
    let flags: Vec<String> = IPS
        .iter()
        .enumerate()
        .map(|(i, ip)| tls_config(&dir, ip, if i == 2 { &rogue } else { &ca }, &ca))
        .collect();
    let nodes = start_cluster_with(&[Alertmanager, Klaxon, Klaxon], IPS, &config, |i| {
        vec![flags[i].clone()]
    });
    let client = reqwest::Client::new();
    let (members, intruder) = nodes.split_at(2);
    let intruder = &intruder[0];

    let mut names = BTreeSet::new();
    for node in members {
        names.insert(own_name(&client, node).await);
    }
    let client = &client;
    for node in members {
        let expected = names.clone();
        eventually(&format!("{} lists {expected:?}", node.ip), || {
            let expected = expected.clone();
            async move { member_names(client, node).await == expected }
        })
        .await;
    }
    // The intruder re-joins every reconnect interval (1s); give it several tries.
    let intruder_name = own_name(client, intruder).await;
    let watch_until = Instant::now() + Duration::from_secs(8);
    while Instant::now() < watch_until {
        for node in members {
            let listed = member_names(client, node).await;
            assert!(
                !listed.contains(&intruder_name),
                "{} let the intruder in: {listed:?}",
                node.ip
            );
        }
        let seen = member_names(client, intruder).await;
        assert_eq!(seen, BTreeSet::from([intruder_name.clone()]), "the intruder sees only itself");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A file Klaxon cannot use stops it at start with the file, the line and the field named.
#[test]
fn bad_tls_config_names_file_and_field() {
    let dir = ScratchDir::new("cluster-tls-bad");
    let config = dir.write("alertmanager.yml", &config("127.0.0.173:19098"));
    let cases = [
        (
            "tls_server_config:\n  cert_file: a.pem\n  key_file: a.key\n  client_auth: x\ntls_client_config: {}\n",
            "tls_server_config.client_auth",
            ":4",
        ),
        (
            "tls_server_config:\n  cert_file: missing.pem\n  key_file: a.key\ntls_client_config: {}\n",
            "tls_server_config.cert_file",
            "missing.pem",
        ),
        (
            "tls_server_config:\n  cert_file: a.pem\n  key_file: a.key\n",
            "tls_client_config",
            "missing",
        ),
    ];
    for (i, (text, field, detail)) in cases.into_iter().enumerate() {
        let path = dir.write(&format!("bad-{i}.yml"), text);
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_klaxon"))
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", dir.0.join("data").display()))
            .args([
                "--web.listen-address=127.0.0.173:19093",
                "--cluster.listen-address=127.0.0.173:19094",
            ])
            .arg(format!("--cluster.tls-config={}", path.display()))
            .output()
            .expect("run klaxon");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{text}: klaxon started");
        let file = path.display().to_string();
        for needle in [file.as_str(), field, detail] {
            assert!(stderr.contains(needle), "{text}: {needle:?} not in {stderr}");
        }
    }
}
