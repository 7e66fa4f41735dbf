//! `tls_config` for STARTTLS and implicit TLS: the rustls configuration the HTTP
//! integrations build (CA file or the system's roots, client certificate, server name,
//! `insecure_skip_verify`, version bounds), and the name the connection asks for.

use std::sync::Arc;

use rustls::pki_types::ServerName;

use crate::config::http_config::TlsConfig;
use crate::notify::http::tls::rustls_client_config;

/// The client configuration `tls` describes, or why it cannot be built.
pub fn client_config(tls: &TlsConfig) -> Result<Arc<rustls::ClientConfig>, String> {
    rustls_client_config(tls).map(Arc::new)
}

/// The name certificates are checked against: `server_name`, or the smarthost's host.
pub fn server_name(tls: &TlsConfig, host: &str) -> Result<ServerName<'static>, String> {
    let name = if tls.server_name.is_empty() { host } else { &tls.server_name };
    ServerName::try_from(name.to_owned()).map_err(|e| format!("invalid server name {name:?}: {e}"))
}
