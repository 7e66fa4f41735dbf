//! One evaluation of an expression rule, sans-IO: [`query_requests`] says which datasource
//! queries to run for an evaluation time; [`evaluate`] takes their answers, runs the
//! expressions in order and decides, as Grafana does, what each instance's result is:
//! - any query that returned nothing makes the whole evaluation NoData, one result per
//!   datasource labelled `datasource_uid` and `ref_id`;
//! - a failed query or expression makes it an Error (with the query's `ref_id` and
//!   `datasource_uid` when a query failed);
//! - otherwise each number of the condition is an instance: null is NoData, 0 Normal,
//!   anything else (NaN included) Alerting; an empty condition is NoData; a series in the
//!   condition, or two numbers with the same labels, is an Error.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use model::{Fingerprint, LabelSet};

use super::model::{Node, NodeKind, ReduceMode, Reducer, Upsampler, ValidRule};
use super::value::{Point, Results, Value, includes};

/// A datasource query to run.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryRequest {
    /// The node it feeds.
    pub ref_id: String,
    /// Which datasource.
    pub datasource_uid: String,
    /// PromQL.
    pub expr: String,
    /// `Some(step)` for a range query from `start` to `end`; `None` for an instant query at
    /// `end`.
    pub step: Option<Duration>,
    /// Start of the range.
    pub start: DateTime<Utc>,
    /// End of the range, or the instant.
    pub end: DateTime<Utc>,
}

fn before(at: DateTime<Utc>, seconds: u64) -> DateTime<Utc> {
    at - chrono::Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX / 1000))
}

/// The queries of `rule` for the evaluation at `at`.
pub fn query_requests(rule: &ValidRule, at: DateTime<Utc>) -> Vec<QueryRequest> {
    rule.nodes
        .iter()
        .filter_map(|node| match &node.kind {
            NodeKind::Query { datasource_uid, expr, instant, step } => Some(QueryRequest {
                ref_id: node.ref_id.clone(),
                datasource_uid: datasource_uid.clone(),
                expr: expr.clone(),
                step: (!instant).then_some(*step),
                start: before(at, node.range.from),
                end: before(at, node.range.to),
            }),
            _ => None,
        })
        .collect()
}

/// The raw state an evaluation gives one instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResultState {
    /// The condition is 0.
    Normal,
    /// The condition is non-zero.
    Alerting,
    /// The condition is null, or there was no data.
    NoData,
}

/// One instance's result.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceResult {
    /// The labels of the condition's value.
    pub labels: LabelSet,
    /// Its raw state.
    pub state: ResultState,
    /// The condition's value.
    pub value: Option<f64>,
    /// The values of every reduced node whose labels match, by refId.
    pub values: BTreeMap<String, f64>,
}

/// What one evaluation of a rule gave.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Instance results.
    Instances(Vec<InstanceResult>),
    /// A query returned no data: one label set per datasource (`datasource_uid`, `ref_id`).
    NoData(Vec<LabelSet>),
    /// The evaluation failed.
    Error {
        /// Why.
        message: String,
        /// The labels naming the failed query (`ref_id`, `datasource_uid`), if a query failed.
        labels: LabelSet,
    },
}

fn error(message: String) -> Outcome {
    Outcome::Error { message, labels: LabelSet::new() }
}

/// Runs the expressions over the query answers (by refId; a value list per query) and
/// decides the outcome. `firing` holds the fingerprints of the result labels of the
/// instances recovery thresholds apply to (see `Instances::firing_results`).
pub fn evaluate(
    rule: &ValidRule,
    at: DateTime<Utc>,
    mut answers: HashMap<String, Result<Vec<Value>, String>>,
    firing: &HashSet<Fingerprint>,
) -> Outcome {
    let mut results: HashMap<String, Results> = HashMap::new();
    let mut no_data: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for node in &rule.nodes {
        if let NodeKind::Query { datasource_uid, .. } = &node.kind {
            match answers.remove(&node.ref_id) {
                Some(Ok(values)) => {
                    if values.is_empty()
                        || values
                            .iter()
                            .all(|v| matches!(v, Value::Series { points, .. } if points.is_empty()))
                    {
                        no_data
                            .entry(datasource_uid.clone())
                            .or_default()
                            .push(node.ref_id.clone());
                    }
                    results.insert(node.ref_id.clone(), Results { values });
                }
                Some(Err(message)) => {
                    return Outcome::Error {
                        message: format!("query {}: {message}", node.ref_id),
                        labels: LabelSet::from_pairs([
                            ("ref_id", node.ref_id.as_str()),
                            ("datasource_uid", datasource_uid.as_str()),
                        ]),
                    };
                }
                None => return error(format!("query {} was not run", node.ref_id)),
            }
        }
    }
    if !no_data.is_empty() {
        return Outcome::NoData(
            no_data
                .into_iter()
                .map(|(uid, refs)| {
                    LabelSet::from_pairs([("datasource_uid", uid), ("ref_id", refs.join(","))])
                })
                .collect(),
        );
    }
    for node in &rule.nodes {
        if matches!(node.kind, NodeKind::Query { .. }) {
            continue;
        }
        match run_expression(node, at, &results, firing) {
            Ok(out) => {
                results.insert(node.ref_id.clone(), out);
            }
            Err(message) => return error(format!("expression {}: {message}", node.ref_id)),
        }
    }
    let Some(condition) = results.get(&rule.spec.condition) else {
        return error(format!("condition {} has no result", rule.spec.condition));
    };
    if condition.is_no_data() {
        return Outcome::NoData(vec![LabelSet::new()]);
    }
    let mut instances = Vec::with_capacity(condition.values.len());
    let mut seen = HashSet::new();
    for value in &condition.values {
        let Value::Number { labels, value } = value else {
            return error(format!(
                "invalid format of evaluation results for {}: looks like time series data, only reduced data can be alerted on",
                rule.spec.condition
            ));
        };
        if !seen.insert(labels.fingerprint()) {
            return error(format!(
                "frame cannot uniquely be identified by its labels: has duplicate results with labels {}",
                labels.go_string()
            ));
        }
        let state = match value {
            None => ResultState::NoData,
            Some(v) if *v == 0.0 => ResultState::Normal,
            Some(_) => ResultState::Alerting,
        };
        let mut values = BTreeMap::new();
        for node in &rule.nodes {
            let Some(out) = results.get(&node.ref_id) else { continue };
            for candidate in &out.values {
                if let Value::Number { labels: other, value: Some(v) } = candidate
                    && (includes(labels, other) || includes(other, labels))
                {
                    values.insert(node.ref_id.clone(), *v);
                    break;
                }
            }
        }
        instances.push(InstanceResult { labels: labels.clone(), state, value: *value, values });
    }
    Outcome::Instances(instances)
}

fn run_expression(
    node: &Node,
    at: DateTime<Utc>,
    results: &HashMap<String, Results>,
    firing: &HashSet<Fingerprint>,
) -> Result<Results, String> {
    let input = |name: &str| results.get(name).ok_or_else(|| format!("no result for {name}"));
    Ok(match &node.kind {
        NodeKind::Query { .. } => unreachable!("queries are answered by the datasource"),
        NodeKind::Math(expr) => expr.evaluate(results)?,
        NodeKind::Reduce { input: name, reducer, mode } => {
            let mut values = Vec::new();
            for value in &input(name)?.values {
                match value {
                    Value::Series { labels, points } => {
                        let raw: Vec<Option<f64>> = points.iter().map(|(_, v)| *v).collect();
                        values.push(Value::Number {
                            labels: labels.clone(),
                            value: reduce(&map_non_numbers(&raw, *mode), *reducer),
                        });
                    }
                    Value::Number { labels, value } => {
                        // Already reduced: passes through, the mode still applies.
                        if let Some(value) = map_non_numbers(&[*value], *mode).first() {
                            values.push(Value::Number { labels: labels.clone(), value: *value });
                        }
                    }
                }
            }
            Results { values }
        }
        NodeKind::Threshold { input: name, evaluator, recovery } => {
            let test = |labels: &LabelSet, v: Option<f64>| -> Option<f64> {
                let v = v?;
                let fires = match recovery {
                    Some(recovery) if firing.contains(&labels.fingerprint()) => !recovery.holds(v),
                    _ => evaluator.holds(v),
                };
                Some(if fires { 1.0 } else { 0.0 })
            };
            let values = input(name)?
                .values
                .iter()
                .map(|value| match value {
                    Value::Number { labels, value } => {
                        Value::Number { labels: labels.clone(), value: test(labels, *value) }
                    }
                    Value::Series { labels, points } => Value::Series {
                        labels: labels.clone(),
                        points: points.iter().map(|(t, v)| (*t, test(labels, *v))).collect(),
                    },
                })
                .collect();
            Results { values }
        }
        NodeKind::Resample { input: name, window, downsampler, upsampler } => {
            let from = before(at, node.range.from).timestamp_millis();
            let to = before(at, node.range.to).timestamp_millis();
            let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
            let mut values = Vec::new();
            for value in &input(name)?.values {
                let Value::Series { labels, points } = value else {
                    return Err("can only resample series, got a number".into());
                };
                values.push(Value::Series {
                    labels: labels.clone(),
                    points: resample(points, from, to, window_ms, *downsampler, *upsampler)?,
                });
            }
            Results { values }
        }
    })
}

fn is_number(v: Option<f64>) -> bool {
    v.is_some_and(f64::is_finite)
}

fn map_non_numbers(values: &[Option<f64>], mode: ReduceMode) -> Vec<Option<f64>> {
    match mode {
        ReduceMode::Strict => values.to_vec(),
        ReduceMode::DropNonNumbers => values.iter().copied().filter(|v| is_number(*v)).collect(),
        ReduceMode::ReplaceNonNumbers(with) => {
            values.iter().map(|v| if is_number(*v) { *v } else { Some(with) }).collect()
        }
    }
}

/// Reduces values as Grafana does: null or NaN makes sum, mean, min and max NaN; an empty
/// input gives NaN except for sum and count (0); `last` may be null.
pub fn reduce(values: &[Option<f64>], reducer: Reducer) -> Option<f64> {
    #[allow(clippy::cast_precision_loss)] // point counts are far below 2^52
    let count = values.len() as f64;
    let poisoned = values.iter().any(|v| v.is_none_or(f64::is_nan));
    let numbers = || values.iter().map(|v| v.unwrap_or(f64::NAN));
    Some(match reducer {
        Reducer::Count => count,
        Reducer::Last => return values.last().copied().unwrap_or(Some(f64::NAN)),
        _ if poisoned => f64::NAN,
        Reducer::Sum => numbers().sum(),
        Reducer::Mean => numbers().sum::<f64>() / count,
        _ if values.is_empty() => f64::NAN,
        Reducer::Min => numbers().fold(f64::INFINITY, f64::min),
        Reducer::Max => numbers().fold(f64::NEG_INFINITY, f64::max),
    })
}

/// Resamples onto `from, from + window, …, to`: a timestamp takes the points after the
/// previous one up to itself (reduced by the downsampler), or, with none, what the
/// upsampler says.
fn resample(
    points: &[Point],
    from: i64,
    to: i64,
    window: i64,
    downsampler: Reducer,
    upsampler: Upsampler,
) -> Result<Vec<Point>, String> {
    if window <= 0 || to - from < window {
        return Err(
            "the series cannot be sampled further: the time range is shorter than the window"
                .into(),
        );
    }
    let mut out = Vec::new();
    let mut next = 0;
    let mut last_seen: Option<f64> = None;
    let mut t = from;
    while t <= to {
        let start = next;
        while next < points.len() && points[next].0 <= t {
            last_seen = points[next].1;
            next += 1;
        }
        let bucket: Vec<Option<f64>> = points[start..next].iter().map(|(_, v)| *v).collect();
        let value = if bucket.is_empty() {
            match upsampler {
                Upsampler::Pad => last_seen,
                Upsampler::Backfill => points.get(next).and_then(|(_, v)| *v),
                Upsampler::FillNa => None,
            }
        } else {
            match downsampler {
                Reducer::Sum | Reducer::Mean => reduce(&bucket, downsampler),
                Reducer::Min | Reducer::Max => reduce(&bucket, downsampler),
                Reducer::Last | Reducer::Count => bucket.last().copied().flatten(),
            }
        };
        out.push((t, value));
        t += window;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::model::{AlertQuery, ExpressionRuleSpec, RelativeTimeRange};

    fn query(ref_id: &str, datasource: &str, model: serde_json::Value) -> AlertQuery {
        AlertQuery {
            ref_id: ref_id.into(),
            query_type: String::new(),
            relative_time_range: RelativeTimeRange { from: 600, to: 0 },
            datasource_uid: datasource.into(),
            model,
        }
    }

    fn rule(data: Vec<AlertQuery>, condition: &str) -> ValidRule {
        ExpressionRuleSpec {
            uid: "r1".into(),
            title: "T".into(),
            condition: condition.into(),
            data,
            no_data_state: Default::default(),
            exec_err_state: Default::default(),
            for_: String::new(),
            keep_firing_for: String::new(),
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            is_paused: false,
            missing_series_evals_to_resolve: None,
        }
        .validate()
        .unwrap()
    }

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_000_000, 0).unwrap()
    }

    fn series(host: &str, values: &[Option<f64>]) -> Value {
        let start = at().timestamp_millis() - 600_000;
        Value::Series {
            labels: LabelSet::from_pairs([("host", host)]),
            points: values
                .iter()
                .enumerate()
                .map(|(i, v)| (start + i as i64 * 60_000, *v))
                .collect(),
        }
    }

    /// A, reduced by B, tested by C.
    fn pipeline(reducer: &str, mode: serde_json::Value, threshold: serde_json::Value) -> ValidRule {
        rule(
            vec![
                query("A", "builtin", serde_json::json!({"expr": "x"})),
                query(
                    "B",
                    "__expr__",
                    serde_json::json!({"type": "reduce", "expression": "A", "reducer": reducer, "settings": mode}),
                ),
                query(
                    "C",
                    "__expr__",
                    serde_json::json!({"type": "threshold", "expression": "$B", "conditions": [threshold]}),
                ),
            ],
            "C",
        )
    }

    fn answers(values: Vec<Value>) -> HashMap<String, Result<Vec<Value>, String>> {
        HashMap::from([("A".to_owned(), Ok(values))])
    }

    fn states(outcome: &Outcome) -> Vec<(String, ResultState, BTreeMap<String, f64>)> {
        let Outcome::Instances(instances) = outcome else { panic!("{outcome:?}") };
        instances.iter().map(|i| (i.labels.go_string(), i.state, i.values.clone())).collect()
    }

    #[test]
    fn reducers_and_their_modes() {
        let nan = f64::NAN;
        let with_gaps = [Some(1.0), None, Some(nan), Some(4.0)];
        let strict: Vec<Option<f64>> = [
            Reducer::Last,
            Reducer::Mean,
            Reducer::Min,
            Reducer::Max,
            Reducer::Sum,
            Reducer::Count,
        ]
        .iter()
        .map(|r| reduce(&with_gaps, *r))
        .collect();
        assert_eq!(strict[0], Some(4.0));
        assert!(
            strict[1..5].iter().all(|v| v.unwrap().is_nan()),
            "null or NaN poisons: {strict:?}"
        );
        assert_eq!(strict[5], Some(4.0), "count counts every point");
        let dropped = map_non_numbers(&with_gaps, ReduceMode::DropNonNumbers);
        assert_eq!(reduce(&dropped, Reducer::Mean), Some(2.5));
        assert_eq!(reduce(&dropped, Reducer::Count), Some(2.0));
        let replaced = map_non_numbers(&with_gaps, ReduceMode::ReplaceNonNumbers(0.0));
        assert_eq!(reduce(&replaced, Reducer::Sum), Some(5.0));
        assert_eq!(reduce(&replaced, Reducer::Min), Some(0.0));
        assert_eq!(reduce(&replaced, Reducer::Max), Some(4.0));
        assert_eq!(reduce(&[], Reducer::Sum), Some(0.0));
        assert!(reduce(&[], Reducer::Max).unwrap().is_nan());
        assert_eq!(reduce(&[Some(1.0), None], Reducer::Last), None, "last may be null");
    }

    #[test]
    fn reduce_then_threshold_makes_one_instance_per_series() {
        let r = pipeline(
            "mean",
            serde_json::json!({"mode": "dropNN"}),
            serde_json::json!({"evaluator": {"type": "gt", "params": [5]}}),
        );
        let outcome = evaluate(
            &r,
            at(),
            answers(vec![
                series("a", &[Some(4.0), Some(8.0), None]),
                series("b", &[Some(1.0), Some(2.0)]),
            ]),
            &HashSet::new(),
        );
        let found = states(&outcome);
        assert_eq!(found[0].0, "{host=\"a\"}");
        assert_eq!((found[0].1, found[1].1), (ResultState::Alerting, ResultState::Normal));
        assert_eq!(found[0].2, BTreeMap::from([("B".to_owned(), 6.0), ("C".to_owned(), 1.0)]));
    }

    #[test]
    fn ranges_and_recovery_thresholds() {
        let outcome_for = |kind: &str, params: serde_json::Value, value: f64, firing: bool| {
            let r = pipeline(
                "last",
                serde_json::json!({}),
                serde_json::json!({"evaluator": {"type": kind, "params": params}, "unloadEvaluator": {"type": "lt", "params": [3]}}),
            );
            let labels = LabelSet::from_pairs([("host", "a")]);
            let firing =
                if firing { HashSet::from([labels.fingerprint()]) } else { HashSet::new() };
            states(&evaluate(&r, at(), answers(vec![series("a", &[Some(value)])]), &firing))[0].1
        };
        let alerting = ResultState::Alerting;
        let normal = ResultState::Normal;
        assert_eq!(outcome_for("within_range", serde_json::json!([1, 5]), 3.0, false), alerting);
        assert_eq!(outcome_for("within_range", serde_json::json!([1, 5]), 5.0, false), normal);
        assert_eq!(outcome_for("outside_range", serde_json::json!([1, 5]), 6.0, false), alerting);
        assert_eq!(outcome_for("outside_range", serde_json::json!([1, 5]), 1.0, false), normal);
        assert_eq!(
            outcome_for("gt", serde_json::json!([5]), 4.0, false),
            normal,
            "not firing: the threshold"
        );
        assert_eq!(
            outcome_for("gt", serde_json::json!([5]), 4.0, true),
            alerting,
            "firing: until below 3"
        );
        assert_eq!(outcome_for("gt", serde_json::json!([5]), 2.0, true), normal);
    }

    #[test]
    fn math_condition_and_the_no_data_and_error_decisions() {
        let r = rule(
            vec![
                query("A", "builtin", serde_json::json!({"expr": "x", "instant": true})),
                query("B", "__expr__", serde_json::json!({"type": "math", "expression": "$A > 5"})),
            ],
            "B",
        );
        let number = |host: &str, v: Option<f64>| Value::Number {
            labels: LabelSet::from_pairs([("host", host)]),
            value: v,
        };
        let found = states(&evaluate(
            &r,
            at(),
            answers(vec![number("a", Some(9.0)), number("b", Some(f64::NAN)), number("c", None)]),
            &HashSet::new(),
        ));
        let raw: Vec<ResultState> = found.iter().map(|f| f.1).collect();
        assert_eq!(
            raw,
            vec![ResultState::Alerting, ResultState::Normal, ResultState::NoData],
            "NaN > 5 is 0; null stays null"
        );
        assert_eq!(
            evaluate(&r, at(), answers(vec![]), &HashSet::new()),
            Outcome::NoData(vec![LabelSet::from_pairs([
                ("datasource_uid", "builtin"),
                ("ref_id", "A")
            ])])
        );
        let failed = evaluate(
            &r,
            at(),
            HashMap::from([("A".to_owned(), Err("connection refused".to_owned()))]),
            &HashSet::new(),
        );
        assert_eq!(
            failed,
            Outcome::Error {
                message: "query A: connection refused".into(),
                labels: LabelSet::from_pairs([("datasource_uid", "builtin"), ("ref_id", "A")])
            }
        );
        let duplicate = evaluate(
            &r,
            at(),
            answers(vec![number("a", Some(1.0)), number("a", Some(2.0))]),
            &HashSet::new(),
        );
        assert!(
            matches!(duplicate, Outcome::Error { message, .. } if message.contains("duplicate results"))
        );
        let nan_alerts = rule(
            vec![query("A", "builtin", serde_json::json!({"expr": "x", "instant": true}))],
            "A",
        );
        let found = states(&evaluate(
            &nan_alerts,
            at(),
            answers(vec![number("a", Some(f64::NAN)), number("b", Some(0.0))]),
            &HashSet::new(),
        ));
        assert_eq!(
            (found[0].1, found[1].1),
            (ResultState::Alerting, ResultState::Normal),
            "NaN in the condition fires"
        );
        let series_condition =
            rule(vec![query("A", "builtin", serde_json::json!({"expr": "x"}))], "A");
        let outcome = evaluate(
            &series_condition,
            at(),
            answers(vec![series("a", &[Some(1.0)])]),
            &HashSet::new(),
        );
        assert!(
            matches!(outcome, Outcome::Error { message, .. } if message.contains("only reduced data can be alerted on"))
        );
    }

    #[test]
    fn resample_down_and_up() {
        let points = vec![(0, Some(1.0)), (1000, Some(3.0)), (5000, Some(10.0))];
        let mean_pad = resample(&points, 0, 6000, 2000, Reducer::Mean, Upsampler::Pad).unwrap();
        assert_eq!(
            mean_pad,
            vec![(0, Some(1.0)), (2000, Some(3.0)), (4000, Some(3.0)), (6000, Some(10.0))]
        );
        let max_fill = resample(&points, 0, 6000, 2000, Reducer::Max, Upsampler::FillNa).unwrap();
        assert_eq!(max_fill[2], (4000, None));
        let back = resample(&points, 0, 6000, 2000, Reducer::Sum, Upsampler::Backfill).unwrap();
        assert_eq!(back[2], (4000, Some(10.0)));
        assert!(resample(&points, 0, 1000, 2000, Reducer::Sum, Upsampler::Pad).is_err());
    }

    #[test]
    fn query_requests_use_the_relative_range() {
        let r = pipeline(
            "last",
            serde_json::json!({}),
            serde_json::json!({"evaluator": {"type": "gt", "params": [1]}}),
        );
        let requests = query_requests(&r, at());
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].start, at() - chrono::Duration::seconds(600));
        assert_eq!(requests[0].end, at());
        assert_eq!(requests[0].step, Some(Duration::from_secs(15)));
    }
}
