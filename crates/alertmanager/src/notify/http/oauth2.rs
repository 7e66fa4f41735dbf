//! OAuth 2.0 client credentials as golang.org/x/oauth2's `clientcredentials` runs them for
//! prometheus/common: the token endpoint gets `grant_type=client_credentials`, the scopes
//! joined by spaces and the extra endpoint parameters, with the client id and secret in a
//! basic-auth header (in the form body when the endpoint refuses the header); the token is
//! reused until ten seconds before it expires, or until the secret file changes.

use tokio::time::{Duration, Instant};

use super::super::NotifyError;
use super::super::encode::{encode_values, query_escape};
use super::{base64, oauth2_transport};
use crate::config::http_config::OAuth2;
use crate::config::types::Secret;

/// A token is renewed this long before it expires (x/oauth2's `expiryDelta`).
const EXPIRY_DELTA: Duration = Duration::from_secs(10);

/// Bound on the token endpoint's answer kept for an error message.
const ERROR_BODY_MAX: usize = 512;

struct Cached {
    header: String,
    expires: Option<Instant>,
    secret: String,
}

/// Fetches and caches tokens for one `oauth2` block.
pub(super) struct TokenSource {
    client_id: String,
    client_secret: Secret,
    client_secret_file: String,
    scopes: Vec<String>,
    token_url: String,
    endpoint_params: Vec<(String, String)>,
    transport: reqwest::Client,
    cached: tokio::sync::Mutex<Option<Cached>>,
}

#[derive(serde::Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    access_token: String,
    #[serde(default)]
    token_type: String,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

fn failure(message: String) -> NotifyError {
    NotifyError { retryable: true, message }
}

impl TokenSource {
    pub(super) fn new(settings: &OAuth2, timeout: std::time::Duration) -> Result<Self, String> {
        Ok(TokenSource {
            client_id: settings.client_id.clone(),
            client_secret: settings.client_secret.clone(),
            client_secret_file: settings.client_secret_file.clone(),
            scopes: settings.scopes.clone(),
            token_url: settings.token_url.clone(),
            endpoint_params: settings
                .endpoint_params
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            transport: oauth2_transport(settings, timeout)?,
            cached: tokio::sync::Mutex::new(None),
        })
    }

    fn secret(&self) -> Result<String, NotifyError> {
        if self.client_secret_file.is_empty() {
            return Ok(self.client_secret.expose().to_owned());
        }
        std::fs::read_to_string(&self.client_secret_file).map(|s| s.trim().to_owned()).map_err(
            |e| {
                failure(format!(
                    "unable to read oauth2 client secret file {}: {e}",
                    self.client_secret_file
                ))
            },
        )
    }

    /// The `Authorization` header value for the next request.
    pub(super) async fn header(&self) -> Result<String, NotifyError> {
        let secret = self.secret()?;
        let mut cached = self.cached.lock().await;
        if let Some(token) = cached.as_ref()
            && token.secret == secret
            && token.expires.is_none_or(|at| Instant::now() + EXPIRY_DELTA < at)
        {
            return Ok(token.header.clone());
        }
        let token = match self.fetch(&secret, true).await {
            Ok(token) => token,
            // x/oauth2 auto-detects the auth style: the header first, then the body.
            Err(_) => self.fetch(&secret, false).await?,
        };
        let header = token.header.clone();
        *cached = Some(token);
        Ok(header)
    }

    async fn fetch(&self, secret: &str, in_header: bool) -> Result<Cached, NotifyError> {
        let scope = self.scopes.join(" ");
        let mut params: Vec<(&str, &str)> = vec![("grant_type", "client_credentials")];
        if !self.scopes.is_empty() {
            params.push(("scope", &scope));
        }
        for (key, value) in &self.endpoint_params {
            params.retain(|(k, _)| k != key);
            params.push((key, value));
        }
        if !in_header {
            params.push(("client_id", &self.client_id));
            if !secret.is_empty() {
                params.push(("client_secret", secret));
            }
        }
        let mut request = self
            .transport
            .post(&self.token_url)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(encode_values(&params));
        if in_header {
            let pair = format!("{}:{}", query_escape(&self.client_id), query_escape(secret));
            request = request.header(
                reqwest::header::AUTHORIZATION,
                format!("Basic {}", base64(pair.as_bytes())),
            );
        }
        let started = Instant::now();
        let response = request
            .send()
            .await
            .map_err(|e| failure(format!("oauth2: cannot fetch token: {e}")))?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if !status.is_success() {
            let mut body = body;
            body.truncate(body.floor_char_boundary(ERROR_BODY_MAX));
            return Err(failure(format!("oauth2: cannot fetch token: {status}\nResponse: {body}")));
        }
        let answer: TokenAnswer = serde_json::from_str(&body)
            .map_err(|e| failure(format!("oauth2: cannot parse token response: {e}")))?;
        if answer.access_token.is_empty() {
            return Err(failure("oauth2: server response missing access_token".into()));
        }
        let seconds = match &answer.expires_in {
            Some(serde_json::Value::Number(n)) => n.as_u64(),
            Some(serde_json::Value::String(s)) => s.parse().ok(),
            _ => None,
        };
        let kind = match answer.token_type.to_ascii_lowercase().as_str() {
            "" | "bearer" => "Bearer".to_owned(),
            "mac" => "MAC".to_owned(),
            "basic" => "Basic".to_owned(),
            _ => answer.token_type.clone(),
        };
        Ok(Cached {
            header: format!("{kind} {}", answer.access_token),
            expires: seconds.filter(|s| *s > 0).map(|s| started + Duration::from_secs(s)),
            secret: secret.to_owned(),
        })
    }
}
