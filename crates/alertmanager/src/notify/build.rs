//! The registry: turns a receiver's configuration into its integrations, in the order 0.25
//! builds them, each with its own HTTP client from its `http_config`.

use std::sync::Arc;
use std::time::Duration;

use super::Integration;
use super::http::HttpSender;
use super::webhook::Webhook;
use crate::config::Receiver;
use crate::template::Templates;

/// What every integration of a configuration shares.
#[derive(Clone)]
pub struct BuildOptions {
    /// The external URL notifications carry.
    pub external_url: String,
    /// The configuration's templates.
    pub templates: Arc<Templates>,
    /// Bound on one request when the flush deadline is further away.
    pub request_timeout: Duration,
}

fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// The integrations of `receiver`. Fails, as 0.25's config load does, when an HTTP client
/// cannot be built (unreadable TLS files, a bad proxy URL); the error names the integration.
pub fn receiver_integrations(
    receiver: &Receiver,
    options: &BuildOptions,
) -> Result<Vec<Arc<dyn Integration>>, String> {
    let mut out: Vec<Arc<dyn Integration>> = Vec::new();
    let sender = |kind: &str, i: usize, http| {
        HttpSender::new(http, options.request_timeout)
            .map_err(|e| format!("receiver {:?}: {kind}_configs[{i}]: {e}", receiver.name))
    };
    for (i, c) in receiver.webhook_configs.iter().enumerate() {
        let Some(url) = &c.url else { continue };
        out.push(Arc::new(Webhook {
            index: index(i),
            url: url.as_str().to_owned(),
            send_resolved: c.send_resolved,
            max_alerts: c.max_alerts,
            external_url: options.external_url.clone(),
            http: sender("webhook", i, c.http_config.as_ref())?,
        }));
    }
    Ok(out)
}
