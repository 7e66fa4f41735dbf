//! The email integration: 0.25's SMTP conversation and message.
//!
//! Port 465 means implicit TLS; otherwise STARTTLS when `require_tls` (the default), failing
//! if the server does not offer it. Authentication follows the server's `AUTH` list (see
//! [`auth`]). Templates render after the session is set up, as in 0.25: `from` and `to`
//! (text), every header (text), the text body and the HTML body (HTML-escaped). Failures of
//! the network or the server are retried; bad templates, addresses and TLS settings are not.
//! The server's answer to the final `.` is not checked, as 0.25 does not check it.
//!
//! - [`smtp`]: the SMTP client.
//! - [`auth`]: PLAIN, LOGIN, CRAM-MD5 and the choice among them.
//! - [`message`]: the message bytes.
//! - [`tls`]: `tls_config` for rustls.
//! - [`address`]: address lists (`to`, `from`).

pub mod address;
pub mod auth;
pub mod message;
pub mod smtp;
pub mod tls;

use std::sync::Arc;

use model::Alert;
use rand::Rng;
use tokio::net::TcpStream;

use self::smtp::{Client, Io};
use super::render::template_data;
use super::{BoxFuture, Integration, NotifyContext, NotifyError};
use crate::config::integrations::EmailConfig;
use crate::template::Templates;

/// A configured email integration.
pub struct Email {
    /// Index among the receiver's email configs.
    pub index: u32,
    /// The configuration, defaults and global settings applied.
    pub config: EmailConfig,
    /// The template sets (Klaxon's defaults plus the configured files).
    pub templates: Arc<Templates>,
    /// The external URL templates see.
    pub external_url: String,
    /// The host name in `Message-Id`.
    pub hostname: String,
}

fn retry(message: impl Into<String>) -> NotifyError {
    NotifyError { retryable: true, message: message.into() }
}

fn fail(message: impl Into<String>) -> NotifyError {
    NotifyError { retryable: false, message: message.into() }
}

/// The machine's host name as Go's `os.Hostname` reads it on Linux.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost.localdomain".to_owned())
}

impl Email {
    async fn connect(&self) -> Result<Client, NotifyError> {
        let smarthost = &self.config.smarthost;
        let address = smarthost.to_string();
        let host = smarthost.host.as_str();
        if smarthost.port == "465" {
            let config = tls::client_config(&self.config.tls_config)
                .map_err(|e| fail(format!("parse TLS configuration: {e}")))?;
            let name = tls::server_name(&self.config.tls_config, host)
                .map_err(|e| fail(format!("parse TLS configuration: {e}")))?;
            let tcp = TcpStream::connect(&address).await.map_err(|e| {
                retry(format!("establish TLS connection to server: dial tcp {address}: {e}"))
            })?;
            let stream = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(|e| retry(format!("establish TLS connection to server: {e}")))?;
            let stream: Box<dyn Io> = Box::new(stream);
            return Client::new(stream, host, true)
                .await
                .map_err(|e| retry(format!("create SMTP client: {e}")));
        }
        let tcp = TcpStream::connect(&address).await.map_err(|e| {
            retry(format!("establish connection to server: dial tcp {address}: {e}"))
        })?;
        let stream: Box<dyn Io> = Box::new(tcp);
        Client::new(stream, host, false)
            .await
            .map_err(|e| retry(format!("create SMTP client: {e}")))
    }

    /// Everything up to `DATA`'s go-ahead, then the message.
    async fn send(&self, context: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        let mut client = self.connect().await?;
        let result = self.converse(&mut client, context, alerts).await;
        // 0.25 quits whatever happened and only logs a failure to.
        let _ = client.quit().await;
        result
    }

    async fn converse(
        &self,
        client: &mut Client,
        context: &NotifyContext,
        alerts: &[Alert],
    ) -> Result<(), NotifyError> {
        let config = &self.config;
        if !config.hello.is_empty() {
            client
                .hello_as(&config.hello)
                .await
                .map_err(|e| retry(format!("send EHLO command: {e}")))?;
        }
        if config.require_tls.unwrap_or(true) {
            let starttls = client.extension("STARTTLS").await.map_err(|e| retry(e.to_string()))?;
            if starttls.is_none() {
                return Err(retry(format!(
                    "'require_tls' is true (default) but {:?} does not advertise the STARTTLS extension",
                    config.smarthost.to_string()
                )));
            }
            let tls_config = tls::client_config(&config.tls_config)
                .map_err(|e| fail(format!("parse TLS configuration: {e}")))?;
            let name = tls::server_name(&config.tls_config, &config.smarthost.host)
                .map_err(|e| fail(format!("parse TLS configuration: {e}")))?;
            client
                .start_tls(tls_config, name)
                .await
                .map_err(|e| retry(format!("send STARTTLS command: {e}")))?;
        }
        if let Some(mechanisms) =
            client.extension("AUTH").await.map_err(|e| retry(e.to_string()))?
        {
            let credentials = auth::Credentials {
                username: &config.auth_username,
                password: self.password(),
                secret: config.auth_secret.expose(),
                identity: &config.auth_identity,
                host: &config.smarthost.host,
            };
            let chosen = auth::choose(&mechanisms, &credentials)
                .map_err(|e| retry(format!("find auth mechanism: {e}")))?;
            if let Some(mechanism) = chosen {
                client
                    .auth(mechanism.as_ref())
                    .await
                    .map_err(|e| retry(format!("{} auth: {e}", mechanism.go_type())))?;
            }
        }

        let data = template_data(context, &self.external_url, alerts).to_value();
        let text = |t: &str| self.templates.execute_text_string(t, &data);
        let from = text(&config.from).map_err(|e| fail(format!("execute 'from' template: {e}")))?;
        let to = text(&config.to).map_err(|e| fail(format!("execute 'to' template: {e}")))?;
        let senders =
            address::parse_list(&from).map_err(|e| fail(format!("parse 'from' addresses: {e}")))?;
        let [sender] = senders.as_slice() else {
            return Err(fail(format!(
                "must be exactly one 'from' address (got: {})",
                senders.len()
            )));
        };
        client.mail(sender).await.map_err(|e| retry(format!("send MAIL command: {e}")))?;
        let recipients =
            address::parse_list(&to).map_err(|e| fail(format!("parse 'to' addresses: {e}")))?;
        for recipient in &recipients {
            client.rcpt(recipient).await.map_err(|e| retry(format!("send RCPT command: {e}")))?;
        }
        client.data().await.map_err(|e| retry(format!("send DATA command: {e}")))?;

        let mut headers = Vec::with_capacity(config.headers.len());
        for (name, template) in &config.headers {
            let value = text(template)
                .map_err(|e| fail(format!("execute {name:?} header template: {e}")))?;
            headers.push((name.clone(), value));
        }
        let text_body = if config.text.is_empty() {
            None
        } else {
            Some(text(&config.text).map_err(|e| fail(format!("execute text template: {e}")))?)
        };
        let html_body = if config.html.is_empty() {
            None
        } else {
            let html = self.templates.execute_html_string(&config.html, &data);
            Some(html.map_err(|e| fail(format!("execute html template: {e}")))?)
        };
        let (random, boundary) = {
            let mut rng = rand::rng();
            let boundary: String = (0..30).map(|_| format!("{:02x}", rng.random::<u8>())).collect();
            (rng.random::<u64>(), boundary)
        };
        let nanos = context.now.timestamp_nanos_opt().unwrap_or_default();
        let message = message::Message {
            headers,
            message_id: format!("<{nanos}.{random}@{}>", self.hostname),
            date: context
                .now
                .with_timezone(&chrono::Local)
                .format("%a, %d %b %Y %H:%M:%S %z")
                .to_string(),
            boundary,
            text: text_body,
            html: html_body,
        };
        client
            .write_message(&message.to_bytes())
            .await
            .map_err(|e| fail(format!("write body buffer: {e}")))?;
        // 0.25 closes the data writer without looking at the verdict.
        let _ = client.end_message().await;
        Ok(())
    }

    fn password(&self) -> Result<String, String> {
        let file = &self.config.auth_password_file;
        if file.is_empty() {
            return Ok(self.config.auth_password.expose().to_owned());
        }
        std::fs::read_to_string(file).map_err(|e| format!("could not read {file}: {e}"))
    }
}

impl Integration for Email {
    fn name(&self) -> &'static str {
        "email"
    }

    fn index(&self) -> u32 {
        self.index
    }

    fn send_resolved(&self) -> bool {
        self.config.send_resolved
    }

    fn notify<'a>(
        &'a self,
        context: &'a NotifyContext,
        alerts: &'a [Alert],
    ) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(self.send(context, alerts))
    }
}
