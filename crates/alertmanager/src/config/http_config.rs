//! `http_config`: the HTTP client settings of the global section and of each integration
//! (Prometheus' common `HTTPClientConfig`), its checks and the relative-path resolution.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::types::Secret;

/// HTTP client settings.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpClientConfig {
    /// HTTP basic authentication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    /// The `Authorization` header (a bearer token is turned into one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Authorization>,
    /// OAuth 2.0 client credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<OAuth2>,
    /// Deprecated bearer token; moved into `authorization` on load.
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub bearer_token: Secret,
    /// Deprecated bearer token file; moved into `authorization` on load.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub bearer_token_file: String,
    /// The proxy to use.
    #[serde(skip_serializing_if = "String::is_empty", serialize_with = "redacted_url")]
    pub proxy_url: String,
    /// TLS settings.
    #[serde(skip_serializing_if = "TlsConfig::is_zero")]
    pub tls_config: TlsConfig,
    /// Whether to follow redirects (default true).
    #[serde(deserialize_with = "crate::config::types::go_bool")]
    pub follow_redirects: bool,
    /// Whether HTTP/2 is allowed (default true).
    #[serde(deserialize_with = "crate::config::types::go_bool")]
    pub enable_http2: bool,
}

impl Default for HttpClientConfig {
    fn default() -> Self {
        HttpClientConfig {
            basic_auth: None,
            authorization: None,
            oauth2: None,
            bearer_token: Secret::default(),
            bearer_token_file: String::new(),
            proxy_url: String::new(),
            tls_config: TlsConfig::default(),
            follow_redirects: true,
            enable_http2: true,
        }
    }
}

/// HTTP basic authentication.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BasicAuth {
    /// The user name.
    pub username: String,
    /// The password.
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub password: Secret,
    /// A file holding the password.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub password_file: String,
}

/// The `Authorization` header.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Authorization {
    /// The scheme (default `Bearer`).
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// The credentials.
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub credentials: Secret,
    /// A file holding the credentials.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub credentials_file: String,
}

/// OAuth 2.0 client-credentials settings.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OAuth2 {
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: Secret,
    /// A file holding the client secret.
    pub client_secret_file: String,
    /// Scopes to request.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// The token endpoint.
    pub token_url: String,
    /// Extra token request parameters.
    #[serde(
        skip_serializing_if = "std::collections::BTreeMap::is_empty",
        deserialize_with = "crate::config::types::unique_map",
        serialize_with = "crate::config::gomap::serialize"
    )]
    pub endpoint_params: std::collections::BTreeMap<String, String>,
    /// The proxy to use for the token endpoint.
    #[serde(skip_serializing_if = "String::is_empty", serialize_with = "redacted_url")]
    pub proxy_url: String,
    /// TLS settings for the token endpoint.
    #[serde(skip_serializing_if = "TlsConfig::is_zero")]
    pub tls_config: TlsConfig,
}

/// TLS client settings.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// CA certificate file.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ca_file: String,
    /// Client certificate file.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cert_file: String,
    /// Client key file.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub key_file: String,
    /// Server name for SNI and verification.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub server_name: String,
    /// Skip certificate verification.
    #[serde(deserialize_with = "crate::config::types::go_bool")]
    pub insecure_skip_verify: bool,
    /// Minimum TLS version (`TLS10`..`TLS13`).
    #[serde(skip_serializing_if = "Option::is_none", with = "tls_version")]
    pub min_version: Option<u16>,
    /// Maximum TLS version.
    #[serde(skip_serializing_if = "Option::is_none", with = "tls_version")]
    pub max_version: Option<u16>,
}

impl TlsConfig {
    /// True if nothing is set (Go omits the block then).
    pub fn is_zero(&self) -> bool {
        *self == TlsConfig::default()
    }

    pub(crate) fn set_directory(&mut self, dir: &Path) {
        for file in [&mut self.ca_file, &mut self.cert_file, &mut self.key_file] {
            join_dir(dir, file);
        }
    }
}

/// TLS versions by name; Go renders the field as its number (the marshaller is not reached).
pub(crate) mod tls_version {
    use serde::{Deserializer, Serializer};

    const VERSIONS: [(&str, u16); 4] =
        [("TLS10", 0x0301), ("TLS11", 0x0302), ("TLS12", 0x0303), ("TLS13", 0x0304)];

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
        crate::config::types::scalar_with(d, |name| {
            match VERSIONS.iter().find(|(n, _)| *n == name) {
                Some((_, v)) => Ok(Some(*v)),
                None => Err(format!("unknown TLS version: {name}")),
            }
        })
    }

    pub(crate) fn serialize<S: Serializer>(value: &Option<u16>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => s.serialize_u16(*v),
            None => s.serialize_none(),
        }
    }
}

impl HttpClientConfig {
    /// Checks the settings and normalizes them as Prometheus does: a bearer token becomes an
    /// `Authorization: Bearer` header, an empty authorization type becomes `Bearer`.
    pub fn validate(&mut self) -> Result<(), String> {
        let has_bearer = !self.bearer_token.is_empty() || !self.bearer_token_file.is_empty();
        if !self.bearer_token.is_empty() && !self.bearer_token_file.is_empty() {
            return Err("at most one of bearer_token & bearer_token_file must be configured".into());
        }
        if (self.basic_auth.is_some() || self.oauth2.is_some()) && has_bearer {
            return Err("at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured".into());
        }
        if let Some(b) = &self.basic_auth
            && !b.password.is_empty()
            && !b.password_file.is_empty()
        {
            return Err(
                "at most one of basic_auth password & password_file must be configured".into()
            );
        }
        if let Some(auth) = &mut self.authorization {
            if has_bearer {
                return Err(
                    "authorization is not compatible with bearer_token & bearer_token_file".into(),
                );
            }
            if !auth.credentials.is_empty() && !auth.credentials_file.is_empty() {
                return Err("at most one of authorization credentials & credentials_file must be configured".into());
            }
            auth.kind = auth.kind.trim().to_owned();
            if auth.kind.is_empty() {
                auth.kind = "Bearer".to_owned();
            }
            if auth.kind.eq_ignore_ascii_case("basic") {
                return Err(
                    "authorization type cannot be set to \"basic\", use \"basic_auth\" instead"
                        .into(),
                );
            }
            if self.basic_auth.is_some() || self.oauth2.is_some() {
                return Err(
                    "at most one of basic_auth, oauth2 & authorization must be configured".into()
                );
            }
        } else if !self.bearer_token.is_empty() {
            let credentials = std::mem::take(&mut self.bearer_token);
            self.authorization =
                Some(Authorization { kind: "Bearer".into(), credentials, ..Default::default() });
        } else if !self.bearer_token_file.is_empty() {
            let credentials_file = std::mem::take(&mut self.bearer_token_file);
            self.authorization = Some(Authorization {
                kind: "Bearer".into(),
                credentials_file,
                ..Default::default()
            });
        }
        if let Some(o) = &self.oauth2 {
            validate_oauth2(o, self.basic_auth.is_some())?;
        }
        Ok(())
    }

    /// Resolves the file paths it contains against `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        self.tls_config.set_directory(dir);
        if let Some(b) = &mut self.basic_auth {
            join_dir(dir, &mut b.password_file);
        }
        if let Some(a) = &mut self.authorization {
            join_dir(dir, &mut a.credentials_file);
        }
        if let Some(o) = &mut self.oauth2 {
            join_dir(dir, &mut o.client_secret_file);
            o.tls_config.set_directory(dir);
        }
        join_dir(dir, &mut self.bearer_token_file);
    }
}

fn validate_oauth2(o: &OAuth2, has_basic_auth: bool) -> Result<(), String> {
    if has_basic_auth {
        return Err("at most one of basic_auth, oauth2 & authorization must be configured".into());
    }
    if o.client_id.is_empty() {
        return Err("oauth2 client_id must be configured".into());
    }
    if o.client_secret.is_empty() && o.client_secret_file.is_empty() {
        return Err("either oauth2 client_secret or client_secret_file must be configured".into());
    }
    if o.token_url.is_empty() {
        return Err("oauth2 token_url must be configured".into());
    }
    if !o.client_secret.is_empty() && !o.client_secret_file.is_empty() {
        return Err(
            "at most one of oauth2 client_secret & client_secret_file must be configured".into()
        );
    }
    Ok(())
}

/// Joins a relative, non-empty path to `dir`, leaving absolute and empty ones alone; the
/// result is cleaned lexically as Go's `filepath.Join` does.
pub(crate) fn join_dir(dir: &Path, file: &mut String) {
    if !file.is_empty() && !Path::new(file.as_str()).is_absolute() {
        let dir = dir.to_string_lossy();
        let joined = if dir.is_empty() { file.clone() } else { format!("{dir}/{file}") };
        *file = clean_path(&joined);
    }
}

/// Go's `filepath.Clean`: drops `.` and empty components and resolves `..` lexically.
fn clean_path(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            ".." if absolute => {}
            other => parts.push(other),
        }
    }
    let body = parts.join("/");
    match (absolute, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_owned(),
        (false, false) => body,
    }
}

/// Renders a proxy URL with its password replaced by `xxxxx`, as Prometheus does.
fn redacted_url<S: serde::Serializer>(url: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact_password(url))
}

fn redact_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else { return url.to_owned() };
    let authority_end =
        url[scheme_end..].find(['/', '?', '#']).map_or(url.len(), |i| i + scheme_end);
    let authority = &url[scheme_end..authority_end];
    match authority.rfind('@').and_then(|at| authority[..at].find(':').map(|colon| (colon, at))) {
        Some((colon, at)) => {
            format!(
                "{}{}:xxxxx{}",
                &url[..scheme_end],
                &authority[..colon],
                &url[scheme_end + at..]
            )
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{clean_path, redact_password};

    #[test]
    fn paths_are_cleaned_like_go() {
        assert_eq!(clean_path("./templates/*.tmpl"), "templates/*.tmpl");
        assert_eq!(clean_path("/etc/am/../x//y/./z"), "/etc/x/y/z");
        assert_eq!(clean_path("/templates/x"), "/templates/x");
        assert_eq!(clean_path("a/../../b"), "../b");
    }

    #[test]
    fn proxy_passwords_are_redacted() {
        assert_eq!(redact_password("http://u:p@proxy:3128/x"), "http://u:xxxxx@proxy:3128/x");
        assert_eq!(redact_password("http://proxy:3128"), "http://proxy:3128");
        assert_eq!(redact_password("http://u@proxy"), "http://u@proxy");
    }
}
