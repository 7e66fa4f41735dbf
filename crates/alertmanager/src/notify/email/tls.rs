//! `tls_config` as a rustls client configuration, for STARTTLS and implicit TLS: the CA file
//! (or the system's roots), a client certificate, the server name, `insecure_skip_verify`,
//! and TLS version bounds (rustls speaks TLS 1.2 and 1.3 only).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::config::http_config::TlsConfig;

const TLS12: u16 = 0x0303;
const TLS13: u16 = 0x0304;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The client configuration `tls` describes, or why it cannot be built.
pub fn client_config(tls: &TlsConfig) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut versions = Vec::new();
    let min = tls.min_version.unwrap_or(TLS12);
    let max = tls.max_version.unwrap_or(TLS13);
    if min <= TLS12 && max >= TLS12 {
        versions.push(&rustls::version::TLS12);
    }
    if min <= TLS13 && max >= TLS13 {
        versions.push(&rustls::version::TLS13);
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&versions)
        .map_err(|e| e.to_string())?;
    let builder = if tls.insecure_skip_verify {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(AcceptAny(provider())))
    } else {
        builder.with_root_certificates(roots(&tls.ca_file)?)
    };
    let config = match (tls.cert_file.is_empty(), tls.key_file.is_empty()) {
        (true, true) => builder.with_no_client_auth(),
        (false, false) => {
            let certs = CertificateDer::pem_file_iter(&tls.cert_file)
                .and_then(Iterator::collect::<Result<Vec<_>, _>>)
                .map_err(|e| format!("unable to read client cert {}: {e}", tls.cert_file))?;
            let key = PrivateKeyDer::from_pem_file(&tls.key_file)
                .map_err(|e| format!("unable to read client key {}: {e}", tls.key_file))?;
            builder.with_client_auth_cert(certs, key).map_err(|e| e.to_string())?
        }
        _ => return Err("client cert file and key file must both be set".into()),
    };
    Ok(Arc::new(config))
}

fn roots(ca_file: &str) -> Result<rustls::RootCertStore, String> {
    let mut roots = rustls::RootCertStore::empty();
    if ca_file.is_empty() {
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        return Ok(roots);
    }
    let certs = CertificateDer::pem_file_iter(ca_file)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| format!("unable to load specified CA cert {ca_file}: {e}"))?;
    for cert in certs {
        roots.add(cert).map_err(|e| format!("unable to use specified CA cert {ca_file}: {e}"))?;
    }
    Ok(roots)
}

/// The name certificates are checked against: `server_name`, or the smarthost's host.
pub fn server_name(tls: &TlsConfig, host: &str) -> Result<ServerName<'static>, String> {
    let name = if tls.server_name.is_empty() { host } else { &tls.server_name };
    ServerName::try_from(name.to_owned()).map_err(|e| format!("invalid server name {name:?}: {e}"))
}

/// `insecure_skip_verify`: any certificate is accepted (signatures are still checked).
#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
