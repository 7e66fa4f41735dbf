//! The HTTP client every HTTP integration sends through, built from its `http_config` as
//! prometheus/common 0.38 (Alertmanager 0.25) builds one: TLS (CA, client certificate, server
//! name, skip-verify, version bounds) with rustls, proxy, redirects, and the credentials each
//! request carries (basic auth, `Authorization`, OAuth 2.0 client credentials).
//!
//! Credential files are read at each request, as Go's round trippers do, so rotated secrets
//! apply without a reload. A request that already carries an `Authorization` header (OpsGenie's
//! `GenieKey`) keeps it, except that OAuth 2.0 always sets its token, as `oauth2.Transport` does.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderValue};

use super::NotifyError;
use crate::config::HttpClientConfig;
use crate::config::http_config::{OAuth2, TlsConfig};
use crate::config::types::Secret;

mod oauth2;
pub(crate) mod tls;

/// The `User-Agent` 0.25 sends.
pub const USER_AGENT: &str = "Alertmanager/0.25.0";

/// Bound on one request when the flush has no sooner deadline.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// Bound on the error body kept for a log line.
pub const ERROR_BODY_MAX: usize = 1024;

/// Credentials a request carries, from `http_config`.
#[derive(Debug, Clone)]
pub enum Auth {
    /// `basic_auth`.
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: Secret,
        /// File holding the password (trimmed), when set.
        password_file: String,
    },
    /// `authorization` (a `bearer_token` was moved there on load).
    Header {
        /// Scheme, `Bearer` when empty.
        kind: String,
        /// Credentials.
        credentials: Secret,
        /// File holding the credentials (trimmed), when set.
        credentials_file: String,
    },
}

impl Auth {
    /// The credentials an `http_config` asks for, if any.
    pub fn from_config(config: Option<&HttpClientConfig>) -> Option<Auth> {
        let config = config?;
        if let Some(header) = &config.authorization {
            return Some(Auth::Header {
                kind: header.kind.clone(),
                credentials: header.credentials.clone(),
                credentials_file: header.credentials_file.clone(),
            });
        }
        config.basic_auth.as_ref().map(|basic| Auth::Basic {
            username: basic.username.clone(),
            password: basic.password.clone(),
            password_file: basic.password_file.clone(),
        })
    }

    /// The `Authorization` header value.
    fn header(&self) -> Result<String, NotifyError> {
        Ok(match self {
            Auth::Basic { username, password, password_file } => {
                let password = read_secret(password, password_file, "basic auth password")?;
                format!("Basic {}", base64(format!("{username}:{password}").as_bytes()))
            }
            Auth::Header { kind, credentials, credentials_file } => {
                let kind = if kind.is_empty() { "Bearer" } else { kind.as_str() };
                // Inline credentials go out as written; only a file's content is trimmed.
                let credentials = if credentials_file.is_empty() {
                    credentials.expose().to_owned()
                } else {
                    read_secret(credentials, credentials_file, "authorization credentials")?
                };
                format!("{kind} {credentials}")
            }
        })
    }
}

/// A secret given inline or in a file, trimmed as prometheus/common trims both.
pub(crate) fn read_secret(secret: &Secret, file: &str, what: &str) -> Result<String, NotifyError> {
    if file.is_empty() {
        return Ok(secret.expose().trim().to_owned());
    }
    std::fs::read_to_string(file).map(|text| text.trim().to_owned()).map_err(|error| NotifyError {
        retryable: true,
        message: format!("unable to read {what} file {file}: {error}"),
    })
}

/// Standard base64 with padding.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// An HTTP client with its credentials: what one integration sends through.
#[derive(Clone)]
pub struct HttpSender {
    client: reqwest::Client,
    auth: Option<Auth>,
    oauth2: Option<Arc<oauth2::TokenSource>>,
}

impl std::fmt::Debug for HttpSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSender").field("auth", &self.auth.is_some()).finish_non_exhaustive()
    }
}

/// A reqwest client honouring the transport part of an `http_config` (TLS, proxy, redirects).
fn transport(
    tls: &TlsConfig,
    proxy_url: &str,
    follow_redirects: bool,
    timeout: Duration,
) -> Result<reqwest::Client, String> {
    // Building a client loads the system roots (tens of milliseconds): integrations with the
    // default transport share one, so a reload with many of them stays quick. Credentials
    // are per request, not per client.
    let default_transport = tls.is_zero() && proxy_url.is_empty() && follow_redirects;
    if default_transport && timeout == DEFAULT_REQUEST_TIMEOUT {
        static SHARED: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
        if let Some(client) = SHARED.get() {
            return Ok(client.clone());
        }
        let client = transport_uncached(tls, proxy_url, follow_redirects, timeout)?;
        return Ok(SHARED.get_or_init(|| client).clone());
    }
    transport_uncached(tls, proxy_url, follow_redirects, timeout)
}

fn transport_uncached(
    tls: &TlsConfig,
    proxy_url: &str,
    follow_redirects: bool,
    timeout: Duration,
) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder().user_agent(USER_AGENT).timeout(timeout);
    builder = if proxy_url.is_empty() {
        builder.no_proxy()
    } else {
        builder
            .proxy(reqwest::Proxy::all(proxy_url).map_err(|e| format!("invalid proxy_url: {e}"))?)
    };
    if !follow_redirects {
        builder = builder.redirect(reqwest::redirect::Policy::none());
    }
    if let Some(config) = tls::client_config(tls)? {
        builder = builder.tls_backend_preconfigured(config);
    }
    builder.build().map_err(|e| format!("building the HTTP client: {e}"))
}

impl HttpSender {
    /// The sender for an integration's `http_config` (the default settings when absent).
    /// Fails, as 0.25's config load does, on unreadable TLS files or a bad proxy URL.
    pub fn new(config: Option<&HttpClientConfig>, timeout: Duration) -> Result<HttpSender, String> {
        let default = HttpClientConfig::default();
        let config = config.unwrap_or(&default);
        let client =
            transport(&config.tls_config, &config.proxy_url, config.follow_redirects, timeout)?;
        let oauth2 = match &config.oauth2 {
            Some(settings) => Some(Arc::new(oauth2::TokenSource::new(settings, timeout)?)),
            None => None,
        };
        Ok(HttpSender { client, auth: Auth::from_config(Some(config)), oauth2 })
    }

    /// Starts a request.
    pub fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        self.client.request(method, url)
    }

    /// Starts a POST.
    pub fn post(&self, url: &str) -> reqwest::RequestBuilder {
        self.client.post(url)
    }

    /// Sends `request` with the configured credentials. A transport error is retryable, as
    /// every 0.25 integration treats it.
    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, NotifyError> {
        let mut request = request.build().map_err(|error| NotifyError {
            retryable: false,
            message: format!("building the request: {error}"),
        })?;
        if let Some(oauth2) = &self.oauth2 {
            let token = oauth2.header().await?;
            request.headers_mut().insert(AUTHORIZATION, header_value(&token)?);
        } else if let Some(auth) = &self.auth
            && !request.headers().contains_key(AUTHORIZATION)
        {
            request.headers_mut().insert(AUTHORIZATION, header_value(&auth.header()?)?);
        }
        self.client
            .execute(request)
            .await
            .map_err(|error| NotifyError { retryable: true, message: redact_url(&error) })
    }
}

fn header_value(text: &str) -> Result<HeaderValue, NotifyError> {
    HeaderValue::from_str(text).map_err(|_| NotifyError {
        retryable: false,
        message: "credentials are not a valid header value".into(),
    })
}

/// A transport error without its URL, which may hold secrets (0.25's `RedactURL`).
fn redact_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), "<redacted>");
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The OAuth2 settings' own transport.
fn oauth2_transport(settings: &OAuth2, timeout: Duration) -> Result<reqwest::Client, String> {
    transport(&settings.tls_config, &settings.proxy_url, true, timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_tls_settings_fail_the_build_naming_the_file() {
        let config = |tls: TlsConfig| HttpClientConfig { tls_config: tls, ..Default::default() };
        let missing =
            config(TlsConfig { ca_file: "/nonexistent/ca.pem".into(), ..Default::default() });
        let error = HttpSender::new(Some(&missing), DEFAULT_REQUEST_TIMEOUT).unwrap_err();
        assert!(error.contains("/nonexistent/ca.pem"), "{error}");
        let half = config(TlsConfig { cert_file: "c.pem".into(), ..Default::default() });
        let error = HttpSender::new(Some(&half), DEFAULT_REQUEST_TIMEOUT).unwrap_err();
        assert!(error.contains("without client key file"), "{error}");
        let inverted = config(TlsConfig {
            min_version: Some(0x0304),
            max_version: Some(0x0303),
            ..Default::default()
        });
        assert!(HttpSender::new(Some(&inverted), DEFAULT_REQUEST_TIMEOUT).is_err());
        assert!(HttpSender::new(None, DEFAULT_REQUEST_TIMEOUT).is_ok());
    }

    #[test]
    fn base64_pads_like_go() {
        assert_eq!(base64(b"u:p"), "dTpw");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b""), "");
    }
}
