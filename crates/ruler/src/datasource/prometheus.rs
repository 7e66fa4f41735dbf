//! A client of the Prometheus HTTP API's instant and range queries (`POST /api/v1/query`,
//! `POST /api/v1/query_range`), which Prometheus, Mimir, Thanos and VictoriaMetrics all serve.

use std::time::Duration;

use chrono::{DateTime, Utc};
use model::LabelSet;
use serde::Deserialize;

use super::provisioning::{ClientSettings, HttpMethod};
use super::{BoxFuture, Datasource, QueryOutput, RangeOutput, RangeSeries, Sample};
use crate::template::parse_go_float;

/// Largest response body read (bounds memory when a rule selects far too many series).
const RESPONSE_BYTES_MAX: usize = 64 * 1024 * 1024;
/// Most of a non-JSON error body quoted in the rule's error.
const ERROR_BODY_MAX: usize = 256;

/// A Prometheus-compatible query API at a base URL.
pub struct PrometheusApi {
    base: String,
    client: reqwest::Client,
    settings: ClientSettings,
}

impl PrometheusApi {
    /// A client for the API under `base` (e.g. `http://127.0.0.1:9090`).
    pub fn new(base: &str) -> Result<PrometheusApi, String> {
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(format!(
                "--datasource.url {base:?}: expected an http:// or https:// URL, or builtin:"
            ));
        }
        PrometheusApi::with_settings(base, ClientSettings::default())
            .map_err(|e| format!("--datasource.url {base:?}: {e}"))
    }

    /// A client for the API under `base` with a named datasource's credentials, headers,
    /// TLS settings and timeouts.
    pub fn with_settings(base: &str, settings: ClientSettings) -> Result<PrometheusApi, String> {
        let mut builder = reqwest::Client::builder();
        if settings.tls_skip_verify {
            builder = builder.danger_accept_invalid_certs(true);
        }
        if let Some(pem) = &settings.tls_ca_cert {
            let ca = reqwest::Certificate::from_pem(pem.as_bytes())
                .map_err(|e| format!("tlsCACert: {e}"))?;
            builder = builder.tls_certs_only([ca]);
        }
        if let Some((cert, key)) = &settings.tls_client {
            let identity = reqwest::Identity::from_pem(format!("{cert}\n{key}").as_bytes())
                .map_err(|e| format!("tlsClientCert: {e}"))?;
            builder = builder.identity(identity);
        }
        let client = builder.build().map_err(|e| e.to_string())?;
        Ok(PrometheusApi { base: base.trim_end_matches('/').to_owned(), client, settings })
    }

    /// Posts a form to `path` and reads the API's answer envelope.
    async fn call(&self, path: &str, body: String, timeout: Duration) -> Result<Answer, String> {
        let timeout = self.settings.timeout.map_or(timeout, |own| own.min(timeout));
        let url = format!("{}{path}", self.base);
        let mut request = match self.settings.method {
            HttpMethod::Post => self
                .client
                .post(url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body),
            HttpMethod::Get => self.client.get(format!("{url}?{body}")),
        }
        .timeout(timeout);
        if let Some((user, password)) = &self.settings.basic_auth {
            request = request.basic_auth(user, Some(password));
        }
        for (name, value) in &self.settings.headers {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(|e| describe(&e))?;
        let status = response.status();
        if response.content_length().is_some_and(|n| n > RESPONSE_BYTES_MAX as u64) {
            return Err(format!("response larger than {RESPONSE_BYTES_MAX} bytes"));
        }
        let bytes = response.bytes().await.map_err(|e| describe(&e))?;
        if bytes.len() > RESPONSE_BYTES_MAX {
            return Err(format!("response larger than {RESPONSE_BYTES_MAX} bytes"));
        }
        let answer: Answer = serde_json::from_slice(&bytes).map_err(|e| {
            if status.is_success() {
                return format!(
                    "server returned HTTP status {status} with an unreadable body: {e}"
                );
            }
            // Proxies and authentication layers answer errors in plain text.
            let text = String::from_utf8_lossy(&bytes[..bytes.len().min(ERROR_BODY_MAX)]);
            format!("server returned HTTP status {status}: {}", text.trim())
        })?;
        if answer.status != "success" {
            return Err(format!(
                "server returned HTTP status {status}: {}: {}",
                answer.error_type.clone().unwrap_or_default(),
                answer.error.clone().unwrap_or_default()
            ));
        }
        Ok(answer)
    }

    /// The `timeout` parameter: the evaluation's remaining time, or less when the datasource
    /// sets `queryTimeout`.
    fn server_timeout(&self, remaining: Duration) -> Duration {
        self.settings.query_timeout.map_or(remaining, |own| own.min(remaining))
    }

    async fn range(
        &self,
        expr: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        step: Duration,
        timeout: Duration,
    ) -> Result<RangeOutput, String> {
        let seconds =
            |t: DateTime<Utc>| format!("{}.{:03}", t.timestamp(), t.timestamp_subsec_millis());
        let step = self.settings.min_step.map_or(step, |min| step.max(min));
        let body = format!(
            "query={}&start={}&end={}&step={}&timeout={}ms",
            form_encode(expr),
            seconds(start),
            seconds(end),
            step.as_secs_f64(),
            self.server_timeout(timeout).as_millis()
        );
        let answer = self.call("/api/v1/query_range", body, timeout).await?;
        let data = answer.data.ok_or("success answer without data")?;
        if data.result_type != "matrix" {
            return Err(format!("range query result is not a matrix: {}", data.result_type));
        }
        let matrix: Vec<MatrixSeries> =
            serde_json::from_value(data.result).map_err(|e| format!("matrix: {e}"))?;
        let series = matrix
            .into_iter()
            .map(|s| {
                let points = s
                    .values
                    .iter()
                    .map(|(t, v)| {
                        #[allow(clippy::cast_possible_truncation)] // Unix milliseconds fit an i64
                        let millis = (t * 1000.0).round() as i64;
                        Ok((millis, value(v)?))
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                Ok(RangeSeries { labels: LabelSet::from_pairs(s.metric), points })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(RangeOutput { series, warnings: answer.warnings })
    }

    async fn query(
        &self,
        expr: &str,
        at: DateTime<Utc>,
        timeout: Duration,
    ) -> Result<QueryOutput, String> {
        let time = format!("{}.{:03}", at.timestamp(), at.timestamp_subsec_millis());
        let body = format!(
            "query={}&time={time}&timeout={}ms",
            form_encode(expr),
            self.server_timeout(timeout).as_millis()
        );
        let answer = self.call("/api/v1/query", body, timeout).await?;
        let data = answer.data.ok_or("success answer without data")?;
        let samples = match data.result_type.as_str() {
            "vector" => {
                let series: Vec<VectorSample> =
                    serde_json::from_value(data.result).map_err(|e| format!("vector: {e}"))?;
                series
                    .into_iter()
                    .map(|s| {
                        Ok(Sample {
                            labels: LabelSet::from_pairs(s.metric),
                            value: value(&s.value.1)?,
                        })
                    })
                    .collect::<Result<Vec<_>, String>>()?
            }
            "scalar" => {
                let point: (f64, String) =
                    serde_json::from_value(data.result).map_err(|e| format!("scalar: {e}"))?;
                vec![Sample { labels: LabelSet::new(), value: value(&point.1)? }]
            }
            other => {
                return Err(format!("rule result is not a vector or scalar: {other}"));
            }
        };
        Ok(QueryOutput { samples, warnings: answer.warnings })
    }
}

impl Datasource for PrometheusApi {
    fn instant_query<'a>(
        &'a self,
        expr: &'a str,
        at: DateTime<Utc>,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<QueryOutput, String>> {
        Box::pin(self.query(expr, at, timeout))
    }

    fn range_query<'a>(
        &'a self,
        expr: &'a str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        step: Duration,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<RangeOutput, String>> {
        Box::pin(self.range(expr, start, end, step, timeout))
    }

    fn graph_url(&self, expr: &str) -> String {
        format!("{}/graph?g0.expr={}&g0.tab=1", self.base, form_encode(expr))
    }
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "query timed out".to_owned();
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

fn value(text: &str) -> Result<f64, String> {
    parse_go_float(text).ok_or_else(|| format!("invalid sample value {text:?}"))
}

#[derive(Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: serde_json::Value,
}

#[derive(Deserialize)]
struct MatrixSeries {
    metric: std::collections::BTreeMap<String, String>,
    values: Vec<(f64, String)>,
}

#[derive(Deserialize)]
struct VectorSample {
    metric: std::collections::BTreeMap<String, String>,
    value: (f64, String),
}

/// `application/x-www-form-urlencoded` encoding of one value.
pub(crate) fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3 / 2);
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char);
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// Goal: a named datasource's request carries its basic auth and custom headers, uses its
    /// HTTP method and asks the server for its `queryTimeout`.
    /// Method: a loopback listener records the raw request and answers one sample.
    #[tokio::test]
    async fn requests_carry_the_datasources_credentials_headers_and_method() {
        let listener = tokio::net::TcpListener::bind("127.0.0.234:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buffer = [0_u8; 4096];
            while !request.ends_with(b"\r\n\r\n") {
                let n = stream.read(&mut buffer).await.unwrap();
                assert!(n > 0, "request ended early");
                request.extend_from_slice(&buffer[..n]);
            }
            let body = r#"{"status":"success","warnings":["w1"],"data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[1,"2.5"]}]}}"#;
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(answer.as_bytes()).await.unwrap();
            String::from_utf8(request).unwrap()
        });
        let settings = ClientSettings {
            basic_auth: Some(("tenant".into(), "s3cret".into())),
            headers: vec![("X-Scope-OrgID".into(), "tenant-1".into())],
            query_timeout: Some(Duration::from_secs(7)),
            method: HttpMethod::Get,
            ..ClientSettings::default()
        };
        let api = PrometheusApi::with_settings(&base, settings).unwrap();
        let at = DateTime::from_timestamp(1_000, 0).unwrap();
        let output = api.query("up", at, Duration::from_secs(20)).await.unwrap();
        assert_eq!(output.samples[0].value, 2.5);
        assert_eq!(output.warnings, vec!["w1".to_owned()]);
        let request = server.await.unwrap();
        assert!(
            request.starts_with("GET /api/v1/query?query=up&time=1000.000&timeout=7000ms "),
            "{request}"
        );
        // base64("tenant:s3cret"); hyper writes header names in lower case.
        assert!(request.contains("authorization: Basic dGVuYW50OnMzY3JldA=="), "{request}");
        assert!(request.contains("x-scope-orgid: tenant-1"), "{request}");
    }

    #[test]
    fn form_encoding_escapes_promql() {
        assert_eq!(super::form_encode("up{job=\"a b\"} > 1"), "up%7Bjob%3D%22a+b%22%7D+%3E+1");
    }
}
