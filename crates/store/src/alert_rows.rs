//! The mapping between alerts and `alerts` rows: a JSON body keeping everything the receiver
//! holds (times with the offset the sender used), plus the columns last-writer-wins and GC
//! need. No I/O here.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Utc};
use model::{Alert, LabelSet};
use serde::{Deserialize, Serialize};

use crate::StoreError;
use crate::rows::unix_nanos;

/// One `alerts` row.
pub(crate) struct AlertRow {
    pub(crate) fingerprint: String,
    pub(crate) updated_at_ns: i64,
    pub(crate) ends_at_ns: i64,
    pub(crate) body: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct Body {
    labels: LabelSet,
    annotations: LabelSet,
    starts_at: DateTime<FixedOffset>,
    ends_at: DateTime<FixedOffset>,
    generator_url: String,
    updated_at: DateTime<Utc>,
    timeout: bool,
}

/// The row for an alert.
pub(crate) fn alert_row(alert: &Alert) -> AlertRow {
    let body = Body {
        labels: alert.labels.clone(),
        annotations: alert.annotations.clone(),
        starts_at: alert.starts_at,
        ends_at: alert.ends_at,
        generator_url: alert.generator_url.to_string(),
        updated_at: alert.updated_at,
        timeout: alert.timeout,
    };
    AlertRow {
        fingerprint: alert.fingerprint().to_string(),
        updated_at_ns: unix_nanos(alert.updated_at),
        ends_at_ns: unix_nanos(alert.ends_at.to_utc()),
        body: serde_json::to_vec(&body).expect("an alert always serializes"),
    }
}

/// The alert a stored body holds.
pub(crate) fn alert_from_body(fingerprint: &str, body: &[u8]) -> Result<Alert, StoreError> {
    let corrupt = || StoreError::CorruptRow { table: "alerts", key: fingerprint.to_owned() };
    let body: Body = serde_json::from_slice(body).map_err(|_| corrupt())?;
    Ok(Alert {
        labels: body.labels,
        annotations: body.annotations,
        starts_at: body.starts_at,
        ends_at: body.ends_at,
        generator_url: Arc::new(body.generator_url),
        updated_at: body.updated_at,
        timeout: body.timeout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_field() {
        let starts_at = DateTime::parse_from_rfc3339("2026-11-24T01:02:03.456+02:00").unwrap();
        let alert = Alert {
            labels: LabelSet::from_pairs([("alertname", "Down"), ("job", "node ✓")]),
            annotations: LabelSet::from_pairs([("summary", "it is down")]),
            starts_at,
            ends_at: starts_at + chrono::Duration::minutes(5),
            generator_url: Arc::new("http://prometheus/graph?g0.expr=up".to_owned()),
            updated_at: starts_at.to_utc() + chrono::Duration::seconds(1),
            timeout: true,
        };
        let row = alert_row(&alert);
        assert_eq!(row.fingerprint, alert.fingerprint().to_string());
        let back = alert_from_body(&row.fingerprint, &row.body).unwrap();
        assert_eq!(back, alert);
        assert_eq!(back.starts_at.offset(), alert.starts_at.offset());
        assert!(alert_from_body("x", b"{").is_err());
    }
}
