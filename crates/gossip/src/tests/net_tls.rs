//! The tokio driver over Alertmanager's TLS transport on loopback (127.0.0.170 and .171,
//! port 7946): two nodes with certificates from one CA join, exchange state, deliver a
//! gossiped and an oversized broadcast (pooled packet connections and stream connections),
//! and once one node stops, its connections close and the other declares it gone.

use crate::net::{Cluster, Events, NetConfig};
use crate::net_tls::TlsTransport;
use crate::node::{Config, Delegate, Node};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_rustls::rustls;

#[derive(Default)]
struct Recorder {
    user: Mutex<Vec<Vec<u8>>>,
    states: Mutex<Vec<Vec<u8>>>,
}

impl Events for Recorder {
    fn user_message(&self, bytes: Vec<u8>) {
        self.user.lock().unwrap().push(bytes);
    }
    fn remote_state(&self, state: Vec<u8>, _join: bool) {
        self.states.lock().unwrap().push(state);
    }
}

struct Named(&'static str);

impl Delegate for Named {
    fn local_state(&mut self, _join: bool) -> Vec<u8> {
        format!("state of {}", self.0).into_bytes()
    }
}

/// Mutual TLS for a node at `ip`: a certificate for its IP that `issuer` signs, and trust
/// in `ca` alone, both ways.
fn transport(
    issuer: &rcgen::Issuer<'_, rcgen::KeyPair>,
    ca: &rcgen::Certificate,
    ip: &str,
) -> TlsTransport {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![ip.to_owned()]).unwrap();
    params.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let chain = vec![params.signed_by(&key, issuer).unwrap().der().clone()];
    let private = || rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    let roots = Arc::new(roots);
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        roots.clone(),
        provider.clone(),
    )
    .build()
    .unwrap();
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain.clone(), private())
        .unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, private())
        .unwrap();
    TlsTransport { server: Arc::new(server), client: Arc::new(client) }
}

async fn start(
    name: &'static str,
    addr: &str,
    peers: Vec<String>,
    tls: TlsTransport,
) -> (Cluster<Named>, Arc<Recorder>) {
    let addr: SocketAddr = addr.parse().unwrap();
    let config = Config {
        probe_interval: Duration::from_millis(200),
        probe_timeout: Duration::from_millis(100),
        gossip_interval: Duration::from_millis(50),
        ..Config::default()
    };
    let mut net = NetConfig::new(addr, peers);
    net.reconnect_interval = Duration::from_millis(200);
    net.tls = Some(tls);
    let recorder = Arc::new(Recorder::default());
    let make =
        move || Node::with_delegate(config, name, addr, SmallRng::seed_from_u64(1), Named(name));
    let cluster = Cluster::start(net, make, recorder.clone()).await.expect("bind loopback");
    (cluster, recorder)
}

async fn until(what: &str, check: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "not within 20s: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_drivers_gossip_over_mutual_tls() {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let (a_tls, b_tls) =
        (transport(&issuer, &ca, "127.0.0.170"), transport(&issuer, &ca, "127.0.0.171"));

    let (a, a_seen) = start("a", "127.0.0.170:7946", vec!["127.0.0.171:7946".into()], a_tls).await;
    let (b, b_seen) = start("b", "127.0.0.171:7946", vec![], b_tls).await;
    until("both list both", || a.members().len() == 2 && b.members().len() == 2).await;
    until("join exchanged state", || {
        a_seen.states.lock().unwrap().contains(&b"state of b".to_vec())
            && b_seen.states.lock().unwrap().contains(&b"state of a".to_vec())
    })
    .await;
    // No UDP socket: the port is free for anyone.
    let udp = std::net::UdpSocket::bind("127.0.0.170:7946").expect("TLS transport binds no UDP");
    drop(udp);

    a.broadcast(b"small".to_vec(), true);
    let big = vec![7u8; crate::net::MAX_GOSSIP_MESSAGE + 1];
    b.broadcast(big.clone(), true);
    until("b got the gossiped message", || {
        b_seen.user.lock().unwrap().contains(&b"small".to_vec())
    })
    .await;
    until("a got the oversized message", || a_seen.user.lock().unwrap().contains(&big)).await;

    // Stopped without a leave: its accepted connections must close with it, or b would keep
    // hearing nothing yet never lose the connection, and a's probes would go on answering.
    a.stop();
    until("b declared a gone", || b.members().len() == 1).await;
    b.stop();
}
