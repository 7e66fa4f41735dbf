//! The built-in test datasource: a few deterministic synthetic series (functions of the
//! evaluation time only, so every instance sees the same values) and a small PromQL
//! evaluator over them — selectors, number literals, parentheses, unary minus, and
//! arithmetic and comparison operators (with `bool`) between vectors and scalars. Anything
//! else is refused with a clear error. It exists so that Klaxon fires a real alert with no
//! external service; use `--datasource.url=builtin:`.
//!
//! Series:
//! - `klaxon_example_up{job="example",instance="example-a"}` = 1
//! - `klaxon_example_up{job="example",instance="example-b"}` = 0 (always down)
//! - `klaxon_example_temperature_celsius{room="lab"}` = 20 + 10·sin(2πt/600 s)
//! - `klaxon_example_temperature_celsius{room="server"}` = 35 + 5·sin(2πt/600 s)

use std::time::Duration;

use chrono::{DateTime, Utc};
use model::LabelSet;
use promql_parser::parser::Expr;

use super::{BoxFuture, Datasource, QueryOutput, RangeOutput, RangeSeries, Sample};

/// The built-in datasource.
pub struct Builtin;

/// Period of the temperature waves.
const WAVE_SECONDS: f64 = 600.0;

fn series(at: DateTime<Utc>) -> Vec<Sample> {
    #[allow(clippy::cast_precision_loss)] // milliseconds since 1970 fit a float's mantissa
    let t = at.timestamp_millis() as f64 / 1000.0;
    let wave = (2.0 * std::f64::consts::PI * t / WAVE_SECONDS).sin();
    let sample = |pairs: &[(&str, &str)], value: f64| Sample {
        labels: LabelSet::from_pairs(pairs.iter().copied()),
        value,
    };
    vec![
        sample(
            &[("__name__", "klaxon_example_up"), ("job", "example"), ("instance", "example-a")],
            1.0,
        ),
        sample(
            &[("__name__", "klaxon_example_up"), ("job", "example"), ("instance", "example-b")],
            0.0,
        ),
        sample(
            &[("__name__", "klaxon_example_temperature_celsius"), ("room", "lab")],
            20.0 + 10.0 * wave,
        ),
        sample(
            &[("__name__", "klaxon_example_temperature_celsius"), ("room", "server")],
            35.0 + 5.0 * wave,
        ),
    ]
}

enum Value {
    Scalar(f64),
    Vector(Vec<Sample>),
}

impl Datasource for Builtin {
    fn instant_query<'a>(
        &'a self,
        expr: &'a str,
        at: DateTime<Utc>,
        _timeout: Duration,
    ) -> BoxFuture<'a, Result<QueryOutput, String>> {
        let result = evaluate_text(expr, at);
        Box::pin(async move { result })
    }

    fn range_query<'a>(
        &'a self,
        expr: &'a str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        step: Duration,
        _timeout: Duration,
    ) -> BoxFuture<'a, Result<RangeOutput, String>> {
        let result = evaluate_range(expr, start, end, step);
        Box::pin(async move { result })
    }

    fn graph_url(&self, _expr: &str) -> String {
        String::new()
    }
}

/// Most points a range query of the built-in datasource computes.
const RANGE_POINTS_MAX: i64 = 11_000;

/// Evaluates `expr` at every `step` from `start` to `end`: one series per label set.
pub fn evaluate_range(
    expr: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    step: Duration,
) -> Result<RangeOutput, String> {
    let step_ms = i64::try_from(step.as_millis()).unwrap_or(i64::MAX).max(1);
    let (from, to) = (start.timestamp_millis(), end.timestamp_millis());
    if to < from {
        return Err("end timestamp must not be before start time".to_owned());
    }
    if (to - from) / step_ms >= RANGE_POINTS_MAX {
        return Err(format!(
            "exceeded maximum resolution of {RANGE_POINTS_MAX} points per timeseries"
        ));
    }
    let mut series: Vec<RangeSeries> = Vec::new();
    let mut t = from;
    while t <= to {
        let at = DateTime::from_timestamp_millis(t).ok_or("time out of range")?;
        for sample in evaluate_text(expr, at)?.samples {
            match series.iter_mut().find(|s| s.labels == sample.labels) {
                Some(found) => found.points.push((t, sample.value)),
                None => series
                    .push(RangeSeries { labels: sample.labels, points: vec![(t, sample.value)] }),
            }
        }
        t += step_ms;
    }
    Ok(RangeOutput { series, warnings: Vec::new() })
}

/// Parses and evaluates `expr` at `at`.
pub fn evaluate_text(expr: &str, at: DateTime<Utc>) -> Result<QueryOutput, String> {
    let parsed = promql_parser::parser::parse(expr)?;
    let samples = match evaluate(&parsed, at)? {
        Value::Scalar(value) => vec![Sample { labels: LabelSet::new(), value }],
        Value::Vector(samples) => samples,
    };
    Ok(QueryOutput { samples, warnings: Vec::new() })
}

fn unsupported(what: &str) -> String {
    format!("{what} is not supported by the built-in test datasource")
}

fn evaluate(expr: &Expr, at: DateTime<Utc>) -> Result<Value, String> {
    match expr {
        Expr::NumberLiteral(number) => Ok(Value::Scalar(number.val)),
        Expr::Paren(paren) => evaluate(&paren.expr, at),
        Expr::Unary(unary) => Ok(match evaluate(&unary.expr, at)? {
            Value::Scalar(v) => Value::Scalar(-v),
            Value::Vector(samples) => Value::Vector(
                samples
                    .into_iter()
                    .map(|s| Sample { labels: without_name(&s.labels), value: -s.value })
                    .collect(),
            ),
        }),
        Expr::VectorSelector(selector) => {
            if selector.offset.is_some() || selector.at.is_some() {
                return Err(unsupported("offset and @"));
            }
            let selected = series(at)
                .into_iter()
                .filter(|s| {
                    selector.name.as_deref().is_none_or(|n| s.labels.get("__name__") == Some(n))
                        && selector
                            .matchers
                            .matchers
                            .iter()
                            .all(|m| m.is_match(s.labels.get(&m.name).unwrap_or("")))
                })
                .collect();
            Ok(Value::Vector(selected))
        }
        Expr::Binary(binary) => {
            if binary.modifier.as_ref().is_some_and(|m| {
                m.matching.is_some()
                    || !matches!(m.card, promql_parser::parser::VectorMatchCardinality::OneToOne)
            }) {
                return Err(unsupported("vector matching modifiers"));
            }
            let op = binary.op.to_string();
            let return_bool = binary.return_bool();
            let lhs = evaluate(&binary.lhs, at)?;
            let rhs = evaluate(&binary.rhs, at)?;
            let comparison = binary.op.is_comparison_operator();
            match (lhs, rhs) {
                (Value::Scalar(a), Value::Scalar(b)) => {
                    let (keep, v) = apply(&op, a, b)?;
                    Ok(Value::Scalar(if comparison { f64::from(u8::from(keep)) } else { v }))
                }
                (Value::Vector(samples), Value::Scalar(b)) => Ok(Value::Vector(vector_scalar(
                    samples,
                    |a| apply(&op, a, b),
                    comparison,
                    return_bool,
                )?)),
                (Value::Scalar(a), Value::Vector(samples)) => Ok(Value::Vector(vector_scalar(
                    samples,
                    |b| apply(&op, a, b),
                    comparison,
                    return_bool,
                )?)),
                (Value::Vector(left), Value::Vector(right)) => {
                    let mut out = Vec::new();
                    for l in left {
                        let key = without_name(&l.labels);
                        if let Some(r) = right.iter().find(|r| without_name(&r.labels) == key) {
                            let (keep, v) = apply(&op, l.value, r.value)?;
                            if comparison && !return_bool {
                                if keep {
                                    out.push(l);
                                }
                            } else {
                                let value = if comparison { f64::from(u8::from(keep)) } else { v };
                                out.push(Sample { labels: key, value });
                            }
                        }
                    }
                    Ok(Value::Vector(out))
                }
            }
        }
        Expr::Aggregate(_) => Err(unsupported("aggregation")),
        Expr::Call(call) => Err(unsupported(&format!("function {}", call.func.name))),
        Expr::Subquery(_) => Err(unsupported("subquery")),
        Expr::MatrixSelector(_) => Err(unsupported("range vector")),
        Expr::StringLiteral(_) => Err(unsupported("string literal")),
        Expr::Extension(_) => Err(unsupported("extension")),
    }
}

fn vector_scalar(
    samples: Vec<Sample>,
    op: impl Fn(f64) -> Result<(bool, f64), String>,
    comparison: bool,
    return_bool: bool,
) -> Result<Vec<Sample>, String> {
    let mut out = Vec::new();
    for sample in samples {
        let (keep, value) = op(sample.value)?;
        if comparison && !return_bool {
            // A filtering comparison keeps the series as it is, name included.
            if keep {
                out.push(sample);
            }
        } else {
            let value = if comparison { f64::from(u8::from(keep)) } else { value };
            out.push(Sample { labels: without_name(&sample.labels), value });
        }
    }
    Ok(out)
}

fn apply(op: &str, a: f64, b: f64) -> Result<(bool, f64), String> {
    Ok(match op {
        "+" => (true, a + b),
        "-" => (true, a - b),
        "*" => (true, a * b),
        "/" => (true, a / b),
        "%" => (true, a % b),
        "^" => (true, a.powf(b)),
        "==" => (a == b, a),
        "!=" => (a != b, a),
        ">" => (a > b, a),
        "<" => (a < b, a),
        ">=" => (a >= b, a),
        "<=" => (a <= b, a),
        other => return Err(unsupported(&format!("operator {other}"))),
    })
}

fn without_name(labels: &LabelSet) -> LabelSet {
    labels.filter(|name| name != "__name__")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    #[test]
    fn the_down_instance_is_selected_by_a_comparison() {
        let out = evaluate_text("klaxon_example_up == 0", at(0)).unwrap();
        assert_eq!(out.samples.len(), 1);
        assert_eq!(out.samples[0].labels.get("instance"), Some("example-b"));
        assert_eq!(out.samples[0].labels.get("__name__"), Some("klaxon_example_up"));
    }

    #[test]
    fn series_are_functions_of_time() {
        let quarter =
            evaluate_text("klaxon_example_temperature_celsius{room=\"lab\"}", at(150)).unwrap();
        assert!((quarter.samples[0].value - 30.0).abs() < 1e-9);
        let arithmetic =
            evaluate_text("klaxon_example_temperature_celsius * 2 > bool 50", at(150)).unwrap();
        let values: Vec<f64> = arithmetic.samples.iter().map(|s| s.value).collect();
        assert_eq!(values, vec![1.0, 1.0]);
        assert!(arithmetic.samples[0].labels.get("__name__").is_none());
    }

    #[test]
    fn range_queries_evaluate_at_every_step() {
        let out = evaluate_range(
            "klaxon_example_temperature_celsius{room=\"lab\"}",
            at(0),
            at(300),
            Duration::from_secs(150),
        )
        .unwrap();
        let values: Vec<(i64, f64)> =
            out.series[0].points.iter().map(|(t, v)| (*t, (v * 1e6).round() / 1e6)).collect();
        assert_eq!(values, vec![(0, 20.0), (150_000, 30.0), (300_000, 20.0)]);
        assert!(
            evaluate_range("klaxon_example_up", at(0), at(100_000), Duration::from_secs(1))
                .is_err()
        );
    }

    #[test]
    fn unsupported_expressions_are_refused() {
        let error = evaluate_text("sum(klaxon_example_up)", at(0)).unwrap_err();
        assert_eq!(error, "aggregation is not supported by the built-in test datasource");
    }
}
