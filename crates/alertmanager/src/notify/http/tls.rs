//! `tls_config` as a rustls client configuration: the CA file replaces the system roots (as
//! Go's `RootCAs` pool does), `server_name` is the name the certificate must carry,
//! `insecure_skip_verify` accepts any certificate, the client certificate and key come from
//! PEM files, and `min_version`/`max_version` bound the versions (rustls speaks 1.2 and 1.3
//! only, so TLS 1.0 and 1.1 minimums mean 1.2).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::config::http_config::TlsConfig;

const TLS12: u16 = 0x0303;
const TLS13: u16 = 0x0304;

/// The rustls configuration `tls` asks for, or `None` when nothing is set (the default client
/// then verifies against the system roots).
pub(super) fn client_config(tls: &TlsConfig) -> Result<Option<rustls::ClientConfig>, String> {
    if tls.is_zero() {
        return Ok(None);
    }
    rustls_client_config(tls).map(Some)
}

/// The rustls configuration `tls` describes, built even when nothing is set (email's STARTTLS
/// and implicit TLS need one): the system roots then verify the server.
pub(crate) fn rustls_client_config(tls: &TlsConfig) -> Result<rustls::ClientConfig, String> {
    if let (Some(min), Some(max)) = (tls.min_version, tls.max_version)
        && max < min
    {
        return Err("tls_config.max_version must be greater than or equal to tls_config.min_version if both are specified".into());
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut versions = Vec::new();
    for (number, version) in [(TLS12, &rustls::version::TLS12), (TLS13, &rustls::version::TLS13)] {
        let above_min = tls.min_version.is_none_or(|min| number >= min);
        let below_max = tls.max_version.is_none_or(|max| number <= max);
        if above_min && below_max {
            versions.push(version);
        }
    }
    if versions.is_empty() {
        return Err("tls_config: no TLS version between min_version and max_version is supported (TLS 1.2 and 1.3 are)".into());
    }
    let verifier = verifier(tls, &provider)?;
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| format!("tls_config: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let config = match (tls.cert_file.is_empty(), tls.key_file.is_empty()) {
        (true, true) => builder.with_no_client_auth(),
        (false, true) => {
            return Err(format!(
                "client cert file {:?} specified without client key file",
                tls.cert_file
            ));
        }
        (true, false) => {
            return Err(format!(
                "client key file {:?} specified without client cert file",
                tls.key_file
            ));
        }
        (false, false) => {
            let certs = read_certs(&tls.cert_file)?;
            let key = PrivateKeyDer::from_pem_file(&tls.key_file).map_err(|e| {
                format!("unable to read specified client key file {}: {e}", tls.key_file)
            })?;
            builder.with_client_auth_cert(certs, key).map_err(|e| {
                format!(
                    "unable to use specified client cert ({}) & key ({}): {e}",
                    tls.cert_file, tls.key_file
                )
            })?
        }
    };
    Ok(config)
}

pub(crate) fn read_certs(file: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_file_iter(file)
        .map_err(|e| format!("unable to load specified CA cert {file}: {e}"))?
        .collect();
    let certs = certs.map_err(|e| format!("unable to load specified CA cert {file}: {e}"))?;
    if certs.is_empty() {
        return Err(format!("unable to use specified CA cert {file}"));
    }
    Ok(certs)
}

fn verifier(
    tls: &TlsConfig,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, String> {
    if tls.insecure_skip_verify {
        return Ok(Arc::new(AcceptAny(provider.clone())));
    }
    let inner: Arc<dyn ServerCertVerifier> = if tls.ca_file.is_empty() {
        Arc::new(
            rustls_platform_verifier::Verifier::new(provider.clone())
                .map_err(|e| format!("loading the system CA certificates: {e}"))?,
        )
    } else {
        let mut roots = rustls::RootCertStore::empty();
        for cert in read_certs(&tls.ca_file)? {
            roots
                .add(cert)
                .map_err(|_| format!("unable to use specified CA cert {}", tls.ca_file))?;
        }
        rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .map_err(|e| format!("unable to use specified CA cert {}: {e}", tls.ca_file))?
    };
    if tls.server_name.is_empty() {
        return Ok(inner);
    }
    let name = ServerName::try_from(tls.server_name.clone())
        .map_err(|e| format!("tls_config.server_name {:?}: {e}", tls.server_name))?;
    Ok(Arc::new(NamedServer { inner, name }))
}

/// Verifies the certificate against the configured server name instead of the URL's host.
#[derive(Debug)]
struct NamedServer {
    inner: Arc<dyn ServerCertVerifier>,
    name: ServerName<'static>,
}

impl ServerCertVerifier for NamedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner.verify_server_cert(end_entity, intermediates, &self.name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// `insecure_skip_verify`: any certificate is accepted; handshake signatures are still checked
/// so the session keys belong to the certificate presented.
#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
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
