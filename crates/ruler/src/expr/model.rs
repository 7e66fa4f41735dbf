//! The expression-rule model in Grafana's shape: a rule is a list of queries and
//! server-side expressions (each an `AlertQuery` with a `refId`, a datasource UID — `__expr__`
//! for expressions — a relative time range and a JSON `model`), a condition refId, `for`,
//! `keep_firing_for`, labels, annotations, NoData and Error handling and a pause switch.
//! [`ExpressionRuleSpec::validate`] turns the JSON as written into typed [`Node`]s in
//! evaluation order, or says what is wrong and where.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::math::MathExpr;

/// The datasource UID that marks a server-side expression.
pub const EXPRESSION_DATASOURCE: &str = "__expr__";

/// A query's time range in seconds before the evaluation time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelativeTimeRange {
    /// Start: this many seconds before the evaluation.
    #[serde(default)]
    pub from: u64,
    /// End: this many seconds before the evaluation.
    #[serde(default)]
    pub to: u64,
}

/// One query or expression as written (Grafana's `AlertQuery`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertQuery {
    /// Its name, which expressions refer to as `$A` or `A`.
    pub ref_id: String,
    /// Grafana's query type (kept, not interpreted).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub query_type: String,
    /// The time range of a datasource query (and of a resample).
    #[serde(default)]
    pub relative_time_range: RelativeTimeRange,
    /// `__expr__` for an expression, else the datasource (`builtin`, `default`).
    #[serde(alias = "datasourceUID")]
    pub datasource_uid: String,
    /// The query or expression itself.
    pub model: serde_json::Value,
}

/// What a rule does when its queries return nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum NoDataState {
    /// A `NoData` instance, sent as `DatasourceNoData`.
    #[default]
    NoData,
    /// Treat as firing.
    Alerting,
    /// Treat as normal.
    OK,
    /// Keep the previous state.
    KeepLast,
}

/// What a rule does when its evaluation fails.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExecErrState {
    /// An `Error` instance, sent as `DatasourceError`.
    #[default]
    Error,
    /// Treat as firing.
    Alerting,
    /// Treat as normal.
    OK,
    /// Keep the previous state.
    KeepLast,
}

/// An expression rule as written (the JSON of the API, the YAML of provisioning files).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpressionRuleSpec {
    /// Stable identity (state and history are keyed by it).
    pub uid: String,
    /// The `alertname` of its alerts.
    pub title: String,
    /// The refId whose result decides the state of each instance.
    pub condition: String,
    /// Queries and expressions.
    pub data: Vec<AlertQuery>,
    /// NoData handling.
    #[serde(default)]
    pub no_data_state: NoDataState,
    /// Error handling.
    #[serde(default)]
    pub exec_err_state: ExecErrState,
    /// Pending period, as a Go/Prometheus duration (`5m`).
    #[serde(default, rename = "for", skip_serializing_if = "String::is_empty")]
    pub for_: String,
    /// How long an alert keeps firing after its condition clears.
    #[serde(default, alias = "keep_firing_for", skip_serializing_if = "String::is_empty")]
    pub keep_firing_for: String,
    /// Label templates.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotation templates.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// A paused rule is not evaluated.
    #[serde(default)]
    pub is_paused: bool,
    /// Evaluations a series may be missing before its instance resolves (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_series_evals_to_resolve: Option<u32>,
}

/// A reducer of a series into one number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reducer {
    /// The last point.
    Last,
    /// The arithmetic mean.
    Mean,
    /// The smallest value.
    Min,
    /// The largest value.
    Max,
    /// The sum.
    Sum,
    /// The number of points.
    Count,
}

impl Reducer {
    fn parse(name: &str) -> Option<Reducer> {
        Some(match name {
            "last" => Reducer::Last,
            "mean" | "avg" => Reducer::Mean,
            "min" => Reducer::Min,
            "max" => Reducer::Max,
            "sum" => Reducer::Sum,
            "count" => Reducer::Count,
            _ => return None,
        })
    }
}

/// How a reducer treats values that are not numbers (null, NaN, ±Inf).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ReduceMode {
    /// They poison the result (NaN), except for `last` and `count`.
    Strict,
    /// They are dropped first.
    DropNonNumbers,
    /// They are replaced by the value first.
    ReplaceNonNumbers(f64),
}

/// A threshold test on one value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Predicate {
    /// `v > x`.
    Gt(f64),
    /// `v < x`.
    Lt(f64),
    /// `v == x`.
    Eq(f64),
    /// `v != x`.
    Ne(f64),
    /// `v >= x`.
    Gte(f64),
    /// `v <= x`.
    Lte(f64),
    /// `a < v < b`.
    WithinRange(f64, f64),
    /// `v < a || v > b`.
    OutsideRange(f64, f64),
    /// `a <= v <= b`.
    WithinRangeIncluded(f64, f64),
    /// `v <= a || v >= b`.
    OutsideRangeIncluded(f64, f64),
}

impl Predicate {
    fn parse(kind: &str, params: &[f64]) -> Result<Predicate, String> {
        let one = || {
            params.first().copied().ok_or_else(|| {
                format!("threshold type {kind:?} needs 1 parameter, got {}", params.len())
            })
        };
        let two = || match params {
            [a, b, ..] => Ok((*a, *b)),
            _ => Err(format!("threshold type {kind:?} needs 2 parameters, got {}", params.len())),
        };
        Ok(match kind {
            "gt" => Predicate::Gt(one()?),
            "lt" => Predicate::Lt(one()?),
            "eq" => Predicate::Eq(one()?),
            "ne" => Predicate::Ne(one()?),
            "gte" => Predicate::Gte(one()?),
            "lte" => Predicate::Lte(one()?),
            "within_range" => two().map(|(a, b)| Predicate::WithinRange(a, b))?,
            "outside_range" => two().map(|(a, b)| Predicate::OutsideRange(a, b))?,
            "within_range_included" => two().map(|(a, b)| Predicate::WithinRangeIncluded(a, b))?,
            "outside_range_included" => {
                two().map(|(a, b)| Predicate::OutsideRangeIncluded(a, b))?
            }
            other => return Err(format!("unknown threshold type {other:?}")),
        })
    }

    /// Whether `v` passes.
    pub fn holds(self, v: f64) -> bool {
        match self {
            Predicate::Gt(x) => v > x,
            Predicate::Lt(x) => v < x,
            Predicate::Eq(x) => v == x,
            Predicate::Ne(x) => v != x,
            Predicate::Gte(x) => v >= x,
            Predicate::Lte(x) => v <= x,
            Predicate::WithinRange(a, b) => v > a && v < b,
            Predicate::OutsideRange(a, b) => v < a || v > b,
            Predicate::WithinRangeIncluded(a, b) => v >= a && v <= b,
            Predicate::OutsideRangeIncluded(a, b) => v <= a || v >= b,
        }
    }
}

/// How a resample fills a window with no points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upsampler {
    /// The last value seen before.
    Pad,
    /// The next value seen after.
    Backfill,
    /// Null.
    FillNa,
}

/// What a node computes.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    /// A datasource query.
    Query {
        /// The datasource UID.
        datasource_uid: String,
        /// The query text (PromQL).
        expr: String,
        /// An instant query (else a range query over the time range).
        instant: bool,
        /// The range query's step.
        step: Duration,
    },
    /// Arithmetic and comparisons (`$A > 5`).
    Math(MathExpr),
    /// A series reduced to a number.
    Reduce {
        /// The input refId.
        input: String,
        /// The reducer.
        reducer: Reducer,
        /// Non-number handling.
        mode: ReduceMode,
    },
    /// 1 where the predicate holds, else 0; with a recovery predicate for Alerting and
    /// Pending instances.
    Threshold {
        /// The input refId.
        input: String,
        /// When to fire.
        evaluator: Predicate,
        /// When an Alerting or Pending instance recovers (1 while it does not hold).
        recovery: Option<Predicate>,
    },
    /// A series resampled to a fixed window over the node's time range.
    Resample {
        /// The input refId.
        input: String,
        /// The window.
        window: Duration,
        /// How several points in one window become one.
        downsampler: Reducer,
        /// How an empty window is filled.
        upsampler: Upsampler,
    },
}

/// One validated node.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Its refId.
    pub ref_id: String,
    /// Its time range.
    pub range: RelativeTimeRange,
    /// What it computes.
    pub kind: NodeKind,
}

impl Node {
    /// The refIds it reads.
    pub fn inputs(&self) -> Vec<String> {
        match &self.kind {
            NodeKind::Query { .. } => Vec::new(),
            NodeKind::Math(expr) => expr.variables(),
            NodeKind::Reduce { input, .. }
            | NodeKind::Threshold { input, .. }
            | NodeKind::Resample { input, .. } => vec![input.clone()],
        }
    }
}

/// A rule ready to evaluate.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidRule {
    /// The rule as written.
    pub spec: ExpressionRuleSpec,
    /// Nodes in evaluation order (every node after its inputs).
    pub nodes: Vec<Node>,
    /// Pending period.
    pub for_: Duration,
    /// Keep-firing period.
    pub keep_firing_for: Duration,
}

/// A problem in a rule, with the path of the field at fault (`data[1].model.expression`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError {
    /// The field, relative to the rule.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Default step of range queries when the model gives no `intervalMs`.
const DEFAULT_STEP: Duration = Duration::from_secs(15);
/// Most points a range query asks for (Grafana's default `maxDataPoints`).
const MAX_DATA_POINTS: u64 = 43_200;

fn model_str<'a>(model: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    model.get(key).and_then(serde_json::Value::as_str)
}

fn reference(text: &str) -> String {
    let text = text.trim();
    let text = text.strip_prefix('$').unwrap_or(text);
    text.strip_prefix('{').and_then(|t| t.strip_suffix('}')).unwrap_or(text).to_owned()
}

impl ExpressionRuleSpec {
    /// Checks the rule and builds its nodes; every problem found is returned.
    pub fn validate(&self) -> Result<ValidRule, Vec<SpecError>> {
        let mut errors = Vec::new();
        let mut error = |field: String, message: String| errors.push(SpecError { field, message });
        if self.uid.is_empty() {
            error("uid".into(), "must not be empty".into());
        } else if self.uid.len() > 40
            || !self.uid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            error("uid".into(), "at most 40 letters, digits, '-' and '_'".into());
        }
        if self.title.is_empty() {
            error("title".into(), "must not be empty".into());
        }
        let duration = |field: &str, text: &str, error: &mut dyn FnMut(String, String)| {
            if text.is_empty() {
                return Duration::ZERO;
            }
            model::parse_duration(text).unwrap_or_else(|e| {
                error(field.into(), e.to_string());
                Duration::ZERO
            })
        };
        let for_ = duration("for", &self.for_, &mut error);
        let keep_firing_for = duration("keep_firing_for", &self.keep_firing_for, &mut error);
        for (kind, map) in [("labels", &self.labels), ("annotations", &self.annotations)] {
            for (name, text) in map {
                if !model::is_valid_label_name(name) {
                    error(kind.into(), format!("invalid name {name:?}"));
                }
                if let Err(e) = crate::template::check_with_values(&self.title, text) {
                    error(format!("{kind}.{name}"), e);
                }
            }
        }
        if self.missing_series_evals_to_resolve == Some(0) {
            error("missingSeriesEvalsToResolve".into(), "must be at least 1".into());
        }
        if self.data.is_empty() {
            error("data".into(), "at least one query is needed".into());
        }
        let mut nodes = Vec::new();
        let mut seen = HashSet::new();
        for (i, query) in self.data.iter().enumerate() {
            let at = |field: &str| format!("data[{i}]{field}");
            if query.ref_id.is_empty() {
                error(at(".refId"), "must not be empty".into());
                continue;
            }
            if !seen.insert(query.ref_id.clone()) {
                error(at(".refId"), format!("refId {:?} is repeated", query.ref_id));
                continue;
            }
            match parse_node(query, &at) {
                Ok(node) => nodes.push(node),
                Err(e) => error(e.field, e.message),
            }
        }
        let mut error = |field: String, message: String| errors.push(SpecError { field, message });
        if self.condition.is_empty() {
            error("condition".into(), "must not be empty".into());
        } else if !seen.contains(&self.condition) {
            error("condition".into(), format!("refId {:?} does not exist", self.condition));
        }
        // Node indexes match `data` only when every node parsed; otherwise the order is not
        // checked (a missing node would only repeat the first error).
        let order = match (nodes.len() == self.data.len()).then(|| order_nodes(&nodes)) {
            Some(Ok(order)) => order,
            Some(Err(e)) => {
                errors.push(e);
                Vec::new()
            }
            None => Vec::new(),
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ValidRule { spec: self.clone(), nodes: order, for_, keep_firing_for })
    }
}

fn parse_node(query: &AlertQuery, at: &dyn Fn(&str) -> String) -> Result<Node, SpecError> {
    let fail = |field: &str, message: String| SpecError { field: at(field), message };
    let model = &query.model;
    let range = query.relative_time_range;
    if range.to > range.from && query.datasource_uid != EXPRESSION_DATASOURCE {
        return Err(fail(".relativeTimeRange", "from must not be after to".into()));
    }
    if query.datasource_uid != EXPRESSION_DATASOURCE {
        // Whether the uid names a configured datasource is the registry's check
        // (`datasource::registry::Registry::unknown_uids`): the set changes on reload.
        if query.datasource_uid.is_empty() {
            return Err(fail(".datasourceUid", "must name a datasource, or __expr__".into()));
        }
        let expr = model_str(model, "expr").unwrap_or_default();
        if expr.is_empty() {
            return Err(fail(".model.expr", "a query needs an expression".into()));
        }
        promql_parser::parser::parse(expr).map_err(|e| {
            fail(".model.expr", format!("could not parse expression: {}", e.trim()))
        })?;
        let flag = |key: &str| model.get(key).and_then(serde_json::Value::as_bool).unwrap_or(false);
        // As Grafana's Prometheus datasource: a query that asks for neither is a range query.
        let instant = flag("instant") && !flag("range");
        let interval_ms = model.get("intervalMs").and_then(serde_json::Value::as_u64).unwrap_or(0);
        let span = Duration::from_secs(range.from - range.to);
        let step = if interval_ms > 0 { Duration::from_millis(interval_ms) } else { DEFAULT_STEP }
            .max(span / u32::try_from(MAX_DATA_POINTS).unwrap_or(u32::MAX))
            .max(Duration::from_millis(1));
        if !instant && span.is_zero() {
            return Err(fail(".relativeTimeRange", "a range query needs from > to".into()));
        }
        return Ok(Node {
            ref_id: query.ref_id.clone(),
            range,
            kind: NodeKind::Query {
                datasource_uid: query.datasource_uid.clone(),
                expr: expr.to_owned(),
                instant,
                step,
            },
        });
    }
    let kind = model_str(model, "type").unwrap_or_default();
    let input = || {
        let expression = model_str(model, "expression").unwrap_or_default();
        if expression.trim().is_empty() {
            Err(fail(".model.expression", "must name the input refId".into()))
        } else {
            Ok(reference(expression))
        }
    };
    let kind = match kind {
        "math" => {
            let text = model_str(model, "expression").unwrap_or_default();
            NodeKind::Math(MathExpr::parse(text).map_err(|e| fail(".model.expression", e))?)
        }
        "reduce" => {
            let name = model_str(model, "reducer").unwrap_or_default();
            let reducer = Reducer::parse(name).ok_or_else(|| {
                fail(
                    ".model.reducer",
                    format!("unknown reducer {name:?}: use last, mean, min, max, sum or count"),
                )
            })?;
            let settings = model.get("settings");
            let mode = match settings.and_then(|s| model_str(s, "mode")).unwrap_or("") {
                "" | "strict" => ReduceMode::Strict,
                "dropNN" => ReduceMode::DropNonNumbers,
                "replaceNN" => ReduceMode::ReplaceNonNumbers(
                    settings
                        .and_then(|s| s.get("replaceWithValue"))
                        .and_then(serde_json::Value::as_f64)
                        .ok_or_else(|| {
                            fail(
                                ".model.settings.replaceWithValue",
                                "a number is needed with mode replaceNN".into(),
                            )
                        })?,
                ),
                other => {
                    return Err(fail(
                        ".model.settings.mode",
                        format!("unknown mode {other:?}: use strict, dropNN or replaceNN"),
                    ));
                }
            };
            NodeKind::Reduce { input: input()?, reducer, mode }
        }
        "threshold" => {
            let conditions = model
                .get("conditions")
                .and_then(serde_json::Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let [condition] = conditions else {
                return Err(fail(".model.conditions", "exactly one condition is needed".into()));
            };
            let predicate = |key: &str| -> Result<Option<Predicate>, SpecError> {
                let Some(evaluator) = condition.get(key) else { return Ok(None) };
                let kind = model_str(evaluator, "type").unwrap_or_default();
                let params: Vec<f64> = evaluator
                    .get("params")
                    .and_then(serde_json::Value::as_array)
                    .map(|p| p.iter().filter_map(serde_json::Value::as_f64).collect())
                    .unwrap_or_default();
                Predicate::parse(kind, &params)
                    .map(Some)
                    .map_err(|e| fail(&format!(".model.conditions[0].{key}"), e))
            };
            let evaluator = predicate("evaluator")?.ok_or_else(|| {
                fail(".model.conditions[0].evaluator", "an evaluator is needed".into())
            })?;
            NodeKind::Threshold {
                input: input()?,
                evaluator,
                recovery: predicate("unloadEvaluator")?,
            }
        }
        "resample" => {
            let window_text = model_str(model, "window").unwrap_or_default();
            let window = model::parse_duration(window_text)
                .ok()
                .filter(|w| !w.is_zero())
                .ok_or_else(|| fail(".model.window", format!("invalid window {window_text:?}")))?;
            let name = model_str(model, "downsampler").unwrap_or_default();
            let downsampler =
                Reducer::parse(name).filter(|r| *r != Reducer::Count).ok_or_else(|| {
                    fail(".model.downsampler", format!("unknown downsampler {name:?}"))
                })?;
            let upsampler = match model_str(model, "upsampler").unwrap_or_default() {
                "pad" => Upsampler::Pad,
                "backfilling" => Upsampler::Backfill,
                "fillna" => Upsampler::FillNa,
                other => {
                    return Err(fail(
                        ".model.upsampler",
                        format!("unknown upsampler {other:?}: use pad, backfilling or fillna"),
                    ));
                }
            };
            if range.from <= range.to {
                return Err(fail(".relativeTimeRange", "a resample needs from > to".into()));
            }
            NodeKind::Resample { input: input()?, window, downsampler, upsampler }
        }
        "classic_conditions" | "sql" => {
            return Err(fail(".model.type", format!("expression type {kind:?} is not supported")));
        }
        other => {
            return Err(fail(
                ".model.type",
                format!(
                    "unknown expression type {other:?}: use math, reduce, threshold or resample"
                ),
            ));
        }
    };
    Ok(Node { ref_id: query.ref_id.clone(), range, kind })
}

/// Orders nodes so that each comes after its inputs; unknown inputs and cycles are errors.
fn order_nodes(nodes: &[Node]) -> Result<Vec<Node>, SpecError> {
    let index: HashMap<&str, usize> =
        nodes.iter().enumerate().map(|(i, n)| (n.ref_id.as_str(), i)).collect();
    for (i, node) in nodes.iter().enumerate() {
        for input in node.inputs() {
            if !index.contains_key(input.as_str()) {
                return Err(SpecError {
                    field: format!("data[{i}].model.expression"),
                    message: format!(
                        "refId {:?} reads {input:?}, which does not exist",
                        node.ref_id
                    ),
                });
            }
        }
    }
    // 0 unvisited, 1 in progress, 2 done.
    let mut marks = vec![0_u8; nodes.len()];
    let mut order = Vec::with_capacity(nodes.len());
    fn visit(
        i: usize,
        nodes: &[Node],
        index: &HashMap<&str, usize>,
        marks: &mut [u8],
        order: &mut Vec<Node>,
    ) -> Result<(), SpecError> {
        match marks[i] {
            2 => return Ok(()),
            1 => {
                return Err(SpecError {
                    field: format!("data[{i}]"),
                    message: format!("refId {:?} depends on itself", nodes[i].ref_id),
                });
            }
            _ => {}
        }
        marks[i] = 1;
        for input in nodes[i].inputs() {
            visit(index[input.as_str()], nodes, index, marks, order)?;
        }
        marks[i] = 2;
        order.push(nodes[i].clone());
        Ok(())
    }
    for i in 0..nodes.len() {
        visit(i, nodes, &index, &mut marks, &mut order)?;
    }
    Ok(order)
}
