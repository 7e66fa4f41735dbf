//! Math expressions (`$A > 5`, `($A + $B) / 2`, `abs($A) >= 1 && $B < 3`): a parser and an
//! evaluator over numbers and series. Operands with labels are joined as Grafana joins them:
//! equal label sets, or one a subset of the other (the result keeps the larger set); a
//! single unlabelled operand pairs with everything; when nothing joins and each side has one
//! value, the two are combined without labels. Comparisons and `&&`, `||`, `!` give 1 or 0;
//! null in gives null out; NoData in gives NoData out.

use std::collections::HashMap;

use model::LabelSet;

use super::value::{Point, Results, Value, includes};

/// A binary operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `**`
    Pow,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `<`
    Lt,
    /// `>=`
    Ge,
    /// `<=`
    Le,
    /// `&&`
    And,
    /// `||`
    Or,
}

/// A function of one argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Function {
    /// `abs`
    Abs,
    /// `ceil`
    Ceil,
    /// `floor`
    Floor,
    /// `log` (natural)
    Log,
    /// `round` (half away from zero)
    Round,
    /// `is_nan`
    IsNan,
    /// `is_inf`
    IsInf,
    /// `is_null`
    IsNull,
    /// `is_number`
    IsNumber,
}

/// A parsed math expression.
#[derive(Clone, Debug, PartialEq)]
pub enum MathExpr {
    /// A literal.
    Number(f64),
    /// `$A`: another node's result.
    Var(String),
    /// `-x`
    Negate(Box<MathExpr>),
    /// `!x`
    Not(Box<MathExpr>),
    /// `a op b`
    Binary(BinaryOp, Box<MathExpr>, Box<MathExpr>),
    /// `f(x)`
    Call(Function, Box<MathExpr>),
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Number(f64),
    Var(String),
    Ident(String),
    Op(&'static str),
    Open,
    Close,
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '$' {
            i += 1;
            let name: String = if chars.get(i) == Some(&'{') {
                let end =
                    chars[i..].iter().position(|&c| c == '}').ok_or("unclosed ${ in variable")?;
                let name = chars[i + 1..i + end].iter().collect();
                i += end + 1;
                name
            } else {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                chars[start..i].iter().collect()
            };
            if name.is_empty() {
                return Err("a variable needs a name after $".into());
            }
            tokens.push(Token::Var(name));
            continue;
        }
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            if i < chars.len() && matches!(chars[i], 'e' | 'E') {
                let mut j = i + 1;
                if j < chars.len() && matches!(chars[j], '+' | '-') {
                    j += 1;
                }
                if j < chars.len() && chars[j].is_ascii_digit() {
                    i = j;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let literal: String = chars[start..i].iter().collect();
            let value =
                literal.parse::<f64>().map_err(|_| format!("invalid number {literal:?}"))?;
            tokens.push(Token::Number(value));
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(Token::Ident(chars[start..i].iter().collect()));
            continue;
        }
        let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
        let op = ["**", "==", "!=", ">=", "<=", "&&", "||"]
            .into_iter()
            .find(|op| *op == two)
            .or_else(|| {
                ["+", "-", "*", "/", "%", ">", "<", "!"].into_iter().find(|op| op.starts_with(c))
            });
        match (c, op) {
            ('(', _) => tokens.push(Token::Open),
            (')', _) => tokens.push(Token::Close),
            (_, Some(op)) => {
                tokens.push(Token::Op(op));
                i += op.len();
                continue;
            }
            _ => return Err(format!("unexpected character {c:?}")),
        }
        i += 1;
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

/// Binding power of binary operators, loosest first.
fn precedence(op: &str) -> Option<(u8, BinaryOp)> {
    Some(match op {
        "||" => (1, BinaryOp::Or),
        "&&" => (2, BinaryOp::And),
        "==" => (3, BinaryOp::Eq),
        "!=" => (3, BinaryOp::Ne),
        ">" => (3, BinaryOp::Gt),
        "<" => (3, BinaryOp::Lt),
        ">=" => (3, BinaryOp::Ge),
        "<=" => (3, BinaryOp::Le),
        "+" => (4, BinaryOp::Add),
        "-" => (4, BinaryOp::Sub),
        "*" => (5, BinaryOp::Mul),
        "/" => (5, BinaryOp::Div),
        "%" => (5, BinaryOp::Mod),
        "**" => (6, BinaryOp::Pow),
        _ => return None,
    })
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn expression(&mut self, min: u8) -> Result<MathExpr, String> {
        let mut left = self.unary()?;
        while let Some(Token::Op(op)) = self.peek() {
            let Some((power, binary)) = precedence(op) else { break };
            if power < min {
                break;
            }
            self.at += 1;
            // `**` binds to the right; the others to the left.
            let next = if binary == BinaryOp::Pow { power } else { power + 1 };
            let right = self.expression(next)?;
            left = MathExpr::Binary(binary, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<MathExpr, String> {
        match self.next() {
            Some(Token::Op("-")) => Ok(MathExpr::Negate(Box::new(self.unary()?))),
            Some(Token::Op("!")) => Ok(MathExpr::Not(Box::new(self.unary()?))),
            Some(Token::Number(n)) => Ok(MathExpr::Number(n)),
            Some(Token::Var(name)) => Ok(MathExpr::Var(name)),
            Some(Token::Open) => {
                let inner = self.expression(0)?;
                match self.next() {
                    Some(Token::Close) => Ok(inner),
                    _ => Err("missing )".into()),
                }
            }
            Some(Token::Ident(name)) => {
                let function = match name.as_str() {
                    "abs" => Function::Abs,
                    "ceil" => Function::Ceil,
                    "floor" => Function::Floor,
                    "log" => Function::Log,
                    "round" => Function::Round,
                    "is_nan" => Function::IsNan,
                    "is_inf" => Function::IsInf,
                    "is_null" => Function::IsNull,
                    "is_number" => Function::IsNumber,
                    "NaN" | "nan" => return Ok(MathExpr::Number(f64::NAN)),
                    "Inf" | "inf" => return Ok(MathExpr::Number(f64::INFINITY)),
                    other => return Err(format!("unknown function {other:?}")),
                };
                if self.next() != Some(Token::Open) {
                    return Err(format!("{name} needs an argument in parentheses"));
                }
                let argument = self.expression(0)?;
                if self.next() != Some(Token::Close) {
                    return Err(format!("missing ) after the argument of {name}"));
                }
                Ok(MathExpr::Call(function, Box::new(argument)))
            }
            Some(token) => Err(format!("unexpected {token:?}")),
            None => Err("unexpected end of expression".into()),
        }
    }
}

/// What a sub-expression evaluates to.
enum Operand {
    Scalar(Option<f64>),
    Values(Vec<Value>),
    NoData,
}

fn truth(v: bool) -> f64 {
    if v { 1.0 } else { 0.0 }
}

fn apply(op: BinaryOp, a: Option<f64>, b: Option<f64>) -> Option<f64> {
    let (a, b) = (a?, b?);
    Some(match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => a / b,
        BinaryOp::Mod => a % b,
        BinaryOp::Pow => a.powf(b),
        BinaryOp::Eq => truth(a == b),
        BinaryOp::Ne => truth(a != b),
        BinaryOp::Gt => truth(a > b),
        BinaryOp::Lt => truth(a < b),
        BinaryOp::Ge => truth(a >= b),
        BinaryOp::Le => truth(a <= b),
        BinaryOp::And => truth(a != 0.0 && b != 0.0),
        BinaryOp::Or => truth(a != 0.0 || b != 0.0),
    })
}

fn call(function: Function, v: Option<f64>) -> Option<f64> {
    match function {
        Function::IsNull => return Some(truth(v.is_none())),
        Function::IsNumber => return Some(truth(v.is_some_and(f64::is_finite))),
        _ => {}
    }
    let v = v?;
    Some(match function {
        Function::Abs => v.abs(),
        Function::Ceil => v.ceil(),
        Function::Floor => v.floor(),
        Function::Log => v.ln(),
        Function::Round => v.round(),
        Function::IsNan => truth(v.is_nan()),
        Function::IsInf => truth(v.is_infinite()),
        Function::IsNull | Function::IsNumber => unreachable!("handled above"),
    })
}

fn map_value(value: Value, f: &dyn Fn(Option<f64>) -> Option<f64>) -> Value {
    match value {
        Value::Number { labels, value } => Value::Number { labels, value: f(value) },
        Value::Series { labels, points } => {
            Value::Series { labels, points: points.into_iter().map(|(t, v)| (t, f(v))).collect() }
        }
    }
}

fn combine(op: BinaryOp, labels: LabelSet, a: &Value, b: &Value) -> Value {
    match (a, b) {
        (Value::Number { value: x, .. }, Value::Number { value: y, .. }) => {
            Value::Number { labels, value: apply(op, *x, *y) }
        }
        (Value::Series { points, .. }, Value::Number { value: y, .. }) => Value::Series {
            labels,
            points: points.iter().map(|(t, x)| (*t, apply(op, *x, *y))).collect(),
        },
        (Value::Number { value: x, .. }, Value::Series { points, .. }) => Value::Series {
            labels,
            points: points.iter().map(|(t, y)| (*t, apply(op, *x, *y))).collect(),
        },
        (Value::Series { points: left, .. }, Value::Series { points: right, .. }) => {
            // Points join on equal timestamps; others are dropped.
            let right: HashMap<i64, Option<f64>> = right.iter().copied().collect();
            let points: Vec<Point> = left
                .iter()
                .filter_map(|(t, x)| right.get(t).map(|y| (*t, apply(op, *x, *y))))
                .collect();
            Value::Series { labels, points }
        }
    }
}

/// Joins two sides by labels, as described in the module documentation.
fn union(op: BinaryOp, a: &[Value], b: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    for x in a {
        for y in b {
            let (lx, ly) = (x.labels(), y.labels());
            let labels = if lx == ly || ly.is_empty() {
                lx.clone()
            } else if lx.is_empty() {
                ly.clone()
            } else if lx.len() == ly.len() {
                continue;
            } else if includes(lx, ly) {
                lx.clone()
            } else if includes(ly, lx) {
                ly.clone()
            } else {
                continue;
            };
            out.push(combine(op, labels, x, y));
        }
    }
    if out.is_empty()
        && let ([x], [y]) = (a, b)
    {
        out.push(combine(op, LabelSet::new(), x, y));
    }
    out
}

impl MathExpr {
    /// Parses `$A > 5` and the like.
    pub fn parse(text: &str) -> Result<MathExpr, String> {
        let tokens = tokenize(text)?;
        if tokens.is_empty() {
            return Err("the math expression is empty".into());
        }
        let mut parser = Parser { tokens, at: 0 };
        let expr = parser.expression(0)?;
        if let Some(token) = parser.peek() {
            return Err(format!("unexpected {token:?} after the expression"));
        }
        Ok(expr)
    }

    /// The refIds it reads, in order of appearance.
    pub fn variables(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect(&self, out: &mut Vec<String>) {
        match self {
            MathExpr::Number(_) => {}
            MathExpr::Var(name) => {
                if !out.contains(name) {
                    out.push(name.clone());
                }
            }
            MathExpr::Negate(inner) | MathExpr::Not(inner) | MathExpr::Call(_, inner) => {
                inner.collect(out);
            }
            MathExpr::Binary(_, a, b) => {
                a.collect(out);
                b.collect(out);
            }
        }
    }

    /// Evaluates over the results of the nodes it reads; a scalar result is one unlabelled
    /// number.
    pub fn evaluate(&self, vars: &HashMap<String, Results>) -> Result<Results, String> {
        Ok(match self.operand(vars)? {
            Operand::Scalar(value) => {
                Results { values: vec![Value::Number { labels: LabelSet::new(), value }] }
            }
            Operand::Values(values) => Results { values },
            Operand::NoData => Results::default(),
        })
    }

    fn operand(&self, vars: &HashMap<String, Results>) -> Result<Operand, String> {
        let unary = |inner: &MathExpr, f: &dyn Fn(Option<f64>) -> Option<f64>| {
            Ok(match inner.operand(vars)? {
                Operand::Scalar(v) => Operand::Scalar(f(v)),
                Operand::Values(values) => {
                    Operand::Values(values.into_iter().map(|v| map_value(v, f)).collect())
                }
                Operand::NoData => Operand::NoData,
            })
        };
        match self {
            MathExpr::Number(n) => Ok(Operand::Scalar(Some(*n))),
            MathExpr::Var(name) => {
                let results = vars.get(name).ok_or_else(|| format!("no result for ${name}"))?;
                Ok(if results.is_no_data() {
                    Operand::NoData
                } else {
                    Operand::Values(results.values.clone())
                })
            }
            MathExpr::Negate(inner) => unary(inner, &|v| v.map(|v| -v)),
            MathExpr::Not(inner) => unary(inner, &|v| v.map(|v| truth(v == 0.0))),
            MathExpr::Call(function, inner) => {
                let function = *function;
                unary(inner, &move |v| call(function, v))
            }
            MathExpr::Binary(op, a, b) => {
                let op = *op;
                Ok(match (a.operand(vars)?, b.operand(vars)?) {
                    (Operand::NoData, _) | (_, Operand::NoData) => Operand::NoData,
                    (Operand::Scalar(x), Operand::Scalar(y)) => Operand::Scalar(apply(op, x, y)),
                    (Operand::Values(values), Operand::Scalar(y)) => Operand::Values(
                        values.into_iter().map(|v| map_value(v, &|x| apply(op, x, y))).collect(),
                    ),
                    (Operand::Scalar(x), Operand::Values(values)) => Operand::Values(
                        values.into_iter().map(|v| map_value(v, &|y| apply(op, x, y))).collect(),
                    ),
                    (Operand::Values(left), Operand::Values(right)) => {
                        Operand::Values(union(op, &left, &right))
                    }
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(pairs: &[(&str, &str)], value: f64) -> Value {
        Value::Number { labels: LabelSet::from_pairs(pairs.iter().copied()), value: Some(value) }
    }

    fn vars(entries: Vec<(&str, Vec<Value>)>) -> HashMap<String, Results> {
        entries.into_iter().map(|(k, values)| (k.to_owned(), Results { values })).collect()
    }

    fn values(results: &Results) -> Vec<(String, Option<f64>)> {
        results
            .values
            .iter()
            .map(|v| match v {
                Value::Number { labels, value } => (labels.go_string(), *value),
                Value::Series { .. } => panic!("series"),
            })
            .collect()
    }

    #[test]
    fn precedence_associativity_and_functions() {
        let eval = |text: &str| {
            values(&MathExpr::parse(text).unwrap().evaluate(&HashMap::new()).unwrap())[0].1.unwrap()
        };
        assert_eq!(eval("1 + 2 * 3"), 7.0);
        assert_eq!(eval("(1 + 2) * 3"), 9.0);
        assert_eq!(eval("2 ** 3 ** 2"), 512.0, "** is right-associative");
        assert_eq!(eval("10 - 4 - 3"), 3.0);
        assert_eq!(eval("-2 + abs(-5) % 3"), 0.0);
        assert_eq!(eval("1 < 2 && !(3 == 4)"), 1.0);
        assert_eq!(eval("round(2.5) + floor(-1.5) + ceil(0.2)"), 2.0);
        assert_eq!(eval("is_nan(NaN) + is_inf(1/0) + is_number(1)"), 3.0);
        assert_eq!(eval("1e3 / 4"), 250.0);
    }

    #[test]
    fn parse_errors_say_what_is_wrong() {
        assert_eq!(MathExpr::parse("$A >").unwrap_err(), "unexpected end of expression");
        assert_eq!(MathExpr::parse("foo($A)").unwrap_err(), "unknown function \"foo\"");
        assert_eq!(MathExpr::parse("($A").unwrap_err(), "missing )");
        assert_eq!(MathExpr::parse("").unwrap_err(), "the math expression is empty");
        assert_eq!(MathExpr::parse("${B C} + $A").unwrap().variables(), vec!["B C", "A"]);
    }

    #[test]
    fn comparisons_give_one_or_zero_per_labelled_value() {
        let expr = MathExpr::parse("$A > 5").unwrap();
        let out = expr
            .evaluate(&vars(vec![(
                "A",
                vec![number(&[("host", "a")], 7.0), number(&[("host", "b")], 3.0)],
            )]))
            .unwrap();
        assert_eq!(
            values(&out),
            vec![("{host=\"a\"}".into(), Some(1.0)), ("{host=\"b\"}".into(), Some(0.0))]
        );
    }

    #[test]
    fn operands_join_on_equal_or_included_labels() {
        let a = vec![
            number(&[("host", "a"), ("dc", "x")], 10.0),
            number(&[("host", "b"), ("dc", "x")], 20.0),
        ];
        let b = vec![number(&[("dc", "x")], 2.0), number(&[("dc", "y")], 3.0)];
        let out =
            MathExpr::parse("$A / $B").unwrap().evaluate(&vars(vec![("A", a), ("B", b)])).unwrap();
        assert_eq!(
            values(&out),
            vec![
                ("{dc=\"x\", host=\"a\"}".into(), Some(5.0)),
                ("{dc=\"x\", host=\"b\"}".into(), Some(10.0))
            ]
        );
        let lone = MathExpr::parse("$A - $B")
            .unwrap()
            .evaluate(&vars(vec![
                ("A", vec![number(&[("x", "1")], 5.0)]),
                ("B", vec![number(&[("y", "2")], 1.0)]),
            ]))
            .unwrap();
        assert_eq!(
            values(&lone),
            vec![("{}".into(), Some(4.0))],
            "one each side: combined without labels"
        );
    }

    #[test]
    fn series_are_computed_point_by_point_and_nodata_and_null_pass_through() {
        let series = Value::Series {
            labels: LabelSet::from_pairs([("a", "1")]),
            points: vec![(0, Some(1.0)), (1000, None), (2000, Some(3.0))],
        };
        let out =
            MathExpr::parse("$A * 2").unwrap().evaluate(&vars(vec![("A", vec![series])])).unwrap();
        let Value::Series { points, .. } = &out.values[0] else { panic!() };
        assert_eq!(points, &vec![(0, Some(2.0)), (1000, None), (2000, Some(6.0))]);
        let no_data = MathExpr::parse("$A + $B")
            .unwrap()
            .evaluate(&vars(vec![("A", vec![]), ("B", vec![number(&[], 1.0)])]));
        assert!(no_data.unwrap().is_no_data());
    }
}
