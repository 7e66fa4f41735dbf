//! The values that flow between the nodes of an expression rule: numbers (one optional value
//! with labels) and series (labelled points), as Grafana's server-side expressions see them.

use model::LabelSet;

/// A point of a series: Unix milliseconds and a value (`None` is null).
pub type Point = (i64, Option<f64>);

/// One labelled value or series.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A single value (a reduced series, an instant query's sample).
    Number {
        /// Its labels.
        labels: LabelSet,
        /// The value; `None` is null.
        value: Option<f64>,
    },
    /// Points in time order (a range query's series).
    Series {
        /// Its labels.
        labels: LabelSet,
        /// The points.
        points: Vec<Point>,
    },
}

impl Value {
    /// The labels.
    pub fn labels(&self) -> &LabelSet {
        match self {
            Value::Number { labels, .. } | Value::Series { labels, .. } => labels,
        }
    }
}

/// What one node produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Results {
    /// The values.
    pub values: Vec<Value>,
}

impl Results {
    /// No values at all: Grafana's NoData, which every expression passes through.
    pub fn is_no_data(&self) -> bool {
        self.values.is_empty()
    }
}

/// Whether `a`'s labels include all of `b`'s.
pub fn includes(a: &LabelSet, b: &LabelSet) -> bool {
    b.iter().all(|(name, value)| a.get(name) == Some(value))
}
