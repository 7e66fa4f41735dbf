//! Where rule expressions are evaluated: the Prometheus HTTP API (Prometheus, Mimir, Thanos,
//! VictoriaMetrics) or the built-in test datasource of deterministic synthetic series; named
//! datasources from provisioning files, looked up by uid in a [`registry::Registry`].

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, Utc};
use model::LabelSet;

pub mod builtin;
pub mod prometheus;
pub mod provisioning;
pub mod registry;

/// One series of an instant vector.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The series' labels (with `__name__` when the query kept it).
    pub labels: LabelSet,
    /// Its value at the query time.
    pub value: f64,
}

/// The answer to an instant query, as a rule sees it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueryOutput {
    /// The vector (a scalar result is one sample with no labels, as Prometheus' rule
    /// manager treats it).
    pub samples: Vec<Sample>,
    /// Warnings the datasource attached.
    pub warnings: Vec<String>,
}

/// One series of a range query's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct RangeSeries {
    /// The series' labels.
    pub labels: LabelSet,
    /// Points: Unix milliseconds and value, in time order.
    pub points: Vec<(i64, f64)>,
}

/// The answer to a range query.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RangeOutput {
    /// The matrix.
    pub series: Vec<RangeSeries>,
    /// Warnings the datasource attached.
    pub warnings: Vec<String>,
}

/// A boxed future, so that datasources can be trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Something that answers instant queries.
pub trait Datasource: Send + Sync {
    /// Evaluates `expr` at `at`, giving up after `timeout`.
    fn instant_query<'a>(
        &'a self,
        expr: &'a str,
        at: DateTime<Utc>,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<QueryOutput, String>>;

    /// Evaluates `expr` at every `step` from `start` to `end`, giving up after `timeout`.
    fn range_query<'a>(
        &'a self,
        expr: &'a str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        step: Duration,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<RangeOutput, String>> {
        let _ = (expr, start, end, step, timeout);
        Box::pin(async { Err("this datasource does not answer range queries".to_owned()) })
    }

    /// A link to the expression's graph in the datasource's UI, if it has one.
    fn graph_url(&self, expr: &str) -> String;

    /// The datasource an expression rule's query names by uid, or `None` for this one.
    /// Without a registry, `builtin` is the built-in datasource and every other uid this one.
    fn named(&self, uid: &str) -> Option<Result<&dyn Datasource, String>> {
        (uid == "builtin").then_some(Ok(&builtin::Builtin))
    }
}

/// The default datasource when no `--datasource.url` is given: every query fails saying so.
pub struct Unconfigured;

impl Datasource for Unconfigured {
    fn instant_query<'a>(
        &'a self,
        _expr: &'a str,
        _at: DateTime<Utc>,
        _timeout: Duration,
    ) -> BoxFuture<'a, Result<QueryOutput, String>> {
        Box::pin(async { Err(UNCONFIGURED.to_owned()) })
    }

    fn range_query<'a>(
        &'a self,
        _expr: &'a str,
        _start: DateTime<Utc>,
        _end: DateTime<Utc>,
        _step: Duration,
        _timeout: Duration,
    ) -> BoxFuture<'a, Result<RangeOutput, String>> {
        Box::pin(async { Err(UNCONFIGURED.to_owned()) })
    }

    fn graph_url(&self, _expr: &str) -> String {
        String::new()
    }
}

const UNCONFIGURED: &str =
    "no --datasource.url is set: use datasourceUid builtin, or set --datasource.url";

/// Builds the datasource a `--datasource.url` names: `builtin:` for the test datasource,
/// otherwise a Prometheus HTTP API base URL.
pub fn from_url(url: &str) -> Result<Box<dyn Datasource>, String> {
    if url == "builtin:" || url == "builtin" {
        return Ok(Box::new(builtin::Builtin));
    }
    prometheus::PrometheusApi::new(url).map(|api| Box::new(api) as Box<dyn Datasource>)
}
