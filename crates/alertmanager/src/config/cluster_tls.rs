//! The `--cluster.tls-config` file of Alertmanager's TLS gossip transport, turned into the
//! rustls configurations of the listener and the dialler.
//!
//! The file has two sections, both required (Alertmanager 0.25 crashes without either):
//! `tls_server_config`, exporter-toolkit's server block (`cert_file`, `key_file`,
//! `client_auth_type`, `client_ca_file`, `cipher_suites`, `curve_preferences`, `min_version`,
//! `max_version`, `prefer_server_cipher_suites`), and `tls_client_config`, the same block as
//! an integration's `tls_config`. Unknown fields are errors; relative paths are relative to
//! the file. Certificates are read once, at start, where exporter-toolkit re-reads the
//! server's on every handshake.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use serde::Deserialize;

use super::ConfigError;
use super::http_config::{TlsConfig, join_dir, tls_version};
use crate::notify::http::tls::{read_certs, rustls_client_config};

const TLS12: u16 = 0x0303;
const TLS13: u16 = 0x0304;

/// The file as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct Document {
    tls_server_config: Option<ServerTls>,
    tls_client_config: Option<TlsConfig>,
}

/// exporter-toolkit's `web.TLSConfig`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct ServerTls {
    cert_file: String,
    key_file: String,
    client_auth_type: String,
    client_ca_file: String,
    cipher_suites: Vec<String>,
    curve_preferences: Vec<String>,
    #[serde(with = "tls_version")]
    min_version: Option<u16>,
    #[serde(with = "tls_version")]
    max_version: Option<u16>,
    #[serde(deserialize_with = "crate::config::types::go_bool")]
    prefer_server_cipher_suites: bool,
}

/// What the gossip transport needs from the file.
#[derive(Debug)]
pub struct ClusterTlsConfig {
    /// For the listener: our certificate and the client certificate policy.
    pub server: rustls::ServerConfig,
    /// For dialling peers: the CA that signs their certificates, and ours if they ask.
    pub client: rustls::ClientConfig,
}

/// A semantic error: the field path and the message.
type Problem = (String, String);

impl ClusterTlsConfig {
    /// Reads and checks the file at `path`; errors name the file, the line and the field.
    pub fn load_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Io { file: path.to_owned(), source })?;
        let deserializer = yaml_serde::Deserializer::from_str(&text);
        let document: Document =
            serde_path_to_error::deserialize(deserializer).map_err(|error| {
                let field = error.path().to_string();
                let inner = error.into_inner();
                ConfigError::Invalid {
                    file: path.to_owned(),
                    line: inner.location().map(|l| l.line()),
                    field: if field == "." || field == "?" { String::new() } else { field },
                    message: super::load::bare_message(&inner),
                }
            })?;
        let dir = path.parent().unwrap_or(Path::new(""));
        build(document, dir).map_err(|(field, message)| ConfigError::Invalid {
            file: path.to_owned(),
            line: super::locate::line_of(&text, &field),
            field,
            message,
        })
    }
}

fn build(document: Document, dir: &Path) -> Result<ClusterTlsConfig, Problem> {
    let mut server = document.tls_server_config.ok_or_else(|| {
        ("tls_server_config".to_owned(), "missing: the listener needs a certificate".to_owned())
    })?;
    let mut client = document.tls_client_config.ok_or_else(|| {
        ("tls_client_config".to_owned(), "missing: the dialler needs a CA to trust".to_owned())
    })?;
    for file in [&mut server.cert_file, &mut server.key_file, &mut server.client_ca_file] {
        join_dir(dir, file);
    }
    client.set_directory(dir);
    let server = server_config(&server)?;
    let client = rustls_client_config(&client)
        .map_err(|message| ("tls_client_config".to_owned(), message))?;
    Ok(ClusterTlsConfig { server, client })
}

fn field(name: &str) -> String {
    format!("tls_server_config.{name}")
}

/// exporter-toolkit's checks, in its order, then the rustls configuration.
fn server_config(tls: &ServerTls) -> Result<rustls::ServerConfig, Problem> {
    if tls.cert_file.is_empty()
        && tls.key_file.is_empty()
        && tls.client_auth_type.is_empty()
        && tls.client_ca_file.is_empty()
    {
        return Err(("tls_server_config".to_owned(), "TLS config is not present".to_owned()));
    }
    if tls.cert_file.is_empty() {
        return Err((field("cert_file"), "missing cert_file".to_owned()));
    }
    if tls.key_file.is_empty() {
        return Err((field("key_file"), "missing key_file".to_owned()));
    }
    let certs = certificates(&tls.cert_file).map_err(|m| (field("cert_file"), m))?;
    let key = PrivateKeyDer::from_pem_file(&tls.key_file).map_err(|e| {
        (field("key_file"), format!("unable to read key file {}: {e}", tls.key_file))
    })?;
    let provider = Arc::new(provider(tls)?);
    let versions = versions(tls)?;
    let verifier = client_verifier(tls, &provider)?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| ("tls_server_config".to_owned(), e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| {
            (field("key_file"), format!("failed to load X509KeyPair: {e} ({})", tls.key_file))
        })?;
    config.ignore_client_order = tls.prefer_server_cipher_suites;
    Ok(config)
}

/// The certificate chain in a PEM file.
fn certificates(file: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_file_iter(file)
        .map_err(|e| format!("unable to read certificate file {file}: {e}"))?
        .collect();
    let certs = certs.map_err(|e| format!("unable to read certificate file {file}: {e}"))?;
    if certs.is_empty() {
        return Err(format!("no certificate in {file}"));
    }
    Ok(certs)
}

/// aws-lc-rs, narrowed to the listed TLS 1.2 cipher suites (Go's list does not touch TLS
/// 1.3's) and to the listed curves, in the file's order.
fn provider(tls: &ServerTls) -> Result<CryptoProvider, Problem> {
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    if !tls.cipher_suites.is_empty() {
        let all = provider.cipher_suites.clone();
        let mut chosen: Vec<_> = all.iter().filter(|s| s.tls13().is_some()).copied().collect();
        for (i, name) in tls.cipher_suites.iter().enumerate() {
            // Go names the ChaCha20 suites without the hash.
            let matches = |suite: &rustls::SupportedCipherSuite| {
                let rustls_name = suite.suite().as_str().unwrap_or_default();
                rustls_name == name || rustls_name == format!("{name}_SHA256")
            };
            let suite = all.iter().find(|s| s.tls13().is_none() && matches(s)).ok_or_else(|| {
                (
                    format!("tls_server_config.cipher_suites[{i}]"),
                    format!("cipher suite {name} is not supported (only ECDHE with AES-GCM or ChaCha20-Poly1305)"),
                )
            })?;
            chosen.push(*suite);
        }
        provider.cipher_suites = chosen;
    }
    if !tls.curve_preferences.is_empty() {
        let mut chosen = Vec::new();
        for (i, name) in tls.curve_preferences.iter().enumerate() {
            let wanted = match name.as_str() {
                "CurveP256" => Some(rustls::NamedGroup::secp256r1),
                "CurveP384" => Some(rustls::NamedGroup::secp384r1),
                "X25519" => Some(rustls::NamedGroup::X25519),
                _ => None,
            };
            let group =
                provider.kx_groups.iter().find(|g| Some(g.name()) == wanted).ok_or_else(|| {
                    (
                        format!("tls_server_config.curve_preferences[{i}]"),
                        format!(
                            "curve {name} is not supported (CurveP256, CurveP384 and X25519 are)"
                        ),
                    )
                })?;
            chosen.push(*group);
        }
        provider.kx_groups = chosen;
    }
    Ok(provider)
}

fn versions(tls: &ServerTls) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, Problem> {
    if let (Some(min), Some(max)) = (tls.min_version, tls.max_version)
        && max < min
    {
        return Err((field("max_version"), "must not be below min_version".to_owned()));
    }
    let mut versions = Vec::new();
    for (number, version) in [(TLS12, &rustls::version::TLS12), (TLS13, &rustls::version::TLS13)] {
        let above_min = tls.min_version.is_none_or(|min| number >= min);
        let below_max = tls.max_version.is_none_or(|max| number <= max);
        if above_min && below_max {
            versions.push(version);
        }
    }
    if versions.is_empty() {
        return Err((
            field("max_version"),
            "no TLS version between min_version and max_version is supported (TLS 1.2 and 1.3 are)"
                .to_owned(),
        ));
    }
    Ok(versions)
}

/// Go's `client_auth_type` policies.
fn client_verifier(
    tls: &ServerTls,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, Problem> {
    let roots = || -> Result<Arc<rustls::RootCertStore>, Problem> {
        if tls.client_ca_file.is_empty() {
            return Err((
                field("client_ca_file"),
                format!("required with client_auth_type {}", tls.client_auth_type),
            ));
        }
        let mut roots = rustls::RootCertStore::empty();
        for cert in read_certs(&tls.client_ca_file).map_err(|m| (field("client_ca_file"), m))? {
            roots.add(cert).map_err(|e| {
                (field("client_ca_file"), format!("unusable CA in {}: {e}", tls.client_ca_file))
            })?;
        }
        Ok(Arc::new(roots))
    };
    let verified = |optional: bool| -> Result<Arc<dyn ClientCertVerifier>, Problem> {
        let builder =
            rustls::server::WebPkiClientVerifier::builder_with_provider(roots()?, provider.clone());
        let builder = if optional { builder.allow_unauthenticated() } else { builder };
        builder.build().map_err(|e| (field("client_ca_file"), e.to_string()))
    };
    let any = |mandatory: bool| -> Arc<dyn ClientCertVerifier> {
        Arc::new(AnyClientCert { mandatory, provider: provider.clone() })
    };
    let verifier = match tls.client_auth_type.as_str() {
        "RequestClientCert" => any(false),
        "RequireAnyClientCert" | "RequireClientCert" => any(true),
        "VerifyClientCertIfGiven" => verified(true)?,
        "RequireAndVerifyClientCert" => verified(false)?,
        "" | "NoClientCert" => {
            if !tls.client_ca_file.is_empty() {
                return Err((
                    field("client_ca_file"),
                    "Client CA's have been configured without a Client Auth Policy".to_owned(),
                ));
            }
            rustls::server::WebPkiClientVerifier::no_client_auth()
        }
        other => {
            return Err((field("client_auth_type"), format!("Invalid ClientAuth: {other}")));
        }
    };
    Ok(verifier)
}

/// `RequestClientCert` and `RequireAnyClientCert`: a client certificate is asked for (and
/// with `mandatory`, required) but not checked against any CA; the handshake signature is
/// still checked, so the client holds the certificate's key.
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<ClusterTlsConfig, String> {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("klaxon-cluster-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("tls-{n}.yml"));
        std::fs::write(&path, text).unwrap();
        ClusterTlsConfig::load_file(&path).map_err(|e| e.to_string())
    }

    #[test]
    fn missing_sections_and_unknown_fields_name_the_field() {
        let error = load("tls_client_config: {}\n").unwrap_err();
        assert!(error.contains("tls_server_config") && error.contains("missing"), "{error}");
        let error =
            load("tls_server_config:\n  cert_file: a.pem\n  key_file: a.key\n").unwrap_err();
        assert!(error.contains("tls_client_config") && error.contains("missing"), "{error}");
        let error = load("tls_server_config:\n  cert_file: a\n  bogus: 1\n").unwrap_err();
        assert!(error.contains(":3") && error.contains("bogus"), "{error}");
    }

    #[test]
    fn exporter_toolkit_checks() {
        let cases = [
            ("tls_server_config: {}\ntls_client_config: {}\n", "TLS config is not present"),
            ("tls_server_config:\n  key_file: k\ntls_client_config: {}\n", "missing cert_file"),
            ("tls_server_config:\n  cert_file: c\ntls_client_config: {}\n", "missing key_file"),
            (
                "tls_server_config:\n  cert_file: /nonexistent/c.pem\n  key_file: k\ntls_client_config: {}\n",
                "tls_server_config.cert_file",
            ),
            (
                "tls_server_config:\n  cert_file: c\n  key_file: k\n  min_version: TLS14\ntls_client_config: {}\n",
                "unknown TLS version",
            ),
        ];
        for (text, expected) in cases {
            let error = load(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
