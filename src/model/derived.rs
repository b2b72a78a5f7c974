//! Metrics people quote, computed on the CPU (f64) from the GPU's reductions at each sample:
//! derived metrics (a formula of other metrics, with `initial(m)` for a metric's first
//! value — e.g. closure % of the initial area), time integrals (area under a metric's
//! curve, trapezoidal over the samples) and first-crossing times (t50, t90).
//!
//! Formulas: numbers, metric names, + − × /, parentheses, and the functions `initial(m)`,
//! `min(a, b)`, `max(a, b)`, `abs(a)`.

use serde::{Deserialize, Serialize};

/// A parsed formula.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Node {
    Num(f64),
    /// A column of the metrics row.
    Col(usize),
    /// The column's first value.
    Initial(usize),
    Neg(Box<Node>),
    Bin(char, Box<Node>, Box<Node>),
    Call(String, Vec<Node>),
}

/// A metric computed from other metrics.
#[derive(Debug, Clone, Serialize)]
pub enum Derived {
    /// `derived = "formula"`.
    Formula {
        name: String,
        source: String,
        node: Node,
    },
    /// `time_integral = "metric"`: ∫ metric dt (its units × h).
    TimeIntegral { name: String, of: usize },
}

impl Derived {
    pub fn name(&self) -> &str {
        match self {
            Derived::Formula { name, .. } | Derived::TimeIntegral { name, .. } => name,
        }
    }
}

/// The first time a metric reaches a value, reported in `unit_h` hours per unit.
#[derive(Debug, Clone, Serialize)]
pub struct Crossing {
    pub name: String,
    /// Column of the metrics row.
    pub metric: usize,
    pub value: f64,
    /// Hours per reported unit (24 for days), and its name.
    pub unit_h: f64,
    pub unit: String,
}

/// Parses `source` with `column(name)` giving a metric's column.
pub fn parse(source: &str, column: &dyn Fn(&str) -> Option<usize>) -> Result<Node, String> {
    let tokens = tokenize(source)?;
    let mut p = Parser {
        tokens,
        at: 0,
        column,
    };
    let node = p.expr()?;
    if p.at != p.tokens.len() {
        return Err(format!("unexpected `{}`", p.tokens[p.at]));
    }
    Ok(node)
}

fn tokenize(s: &str) -> Result<Vec<String>, String> {
    let mut out = vec![];
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || c == '.' {
            let start = i;
            while i < b.len()
                && (b[i].is_ascii_digit()
                    || b[i] == '.'
                    || ((b[i] == 'e' || b[i] == 'E') && i + 1 < b.len())
                    || ((b[i] == '-' || b[i] == '+') && matches!(b[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
            out.push(b[start..i].iter().collect());
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            out.push(b[start..i].iter().collect());
        } else if "+-*/(),".contains(c) {
            out.push(c.to_string());
            i += 1;
        } else {
            return Err(format!("unexpected character `{c}`"));
        }
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: Vec<String>,
    at: usize,
    column: &'a dyn Fn(&str) -> Option<usize>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.at).map(String::as_str)
    }
    fn eat(&mut self, t: &str) -> bool {
        if self.peek() == Some(t) {
            self.at += 1;
            true
        } else {
            false
        }
    }
    fn expr(&mut self) -> Result<Node, String> {
        let mut n = self.term()?;
        while let Some(op) = self.peek().filter(|t| *t == "+" || *t == "-") {
            let op = op.chars().next().unwrap_or('+');
            self.at += 1;
            n = Node::Bin(op, Box::new(n), Box::new(self.term()?));
        }
        Ok(n)
    }
    fn term(&mut self) -> Result<Node, String> {
        let mut n = self.unary()?;
        while let Some(op) = self.peek().filter(|t| *t == "*" || *t == "/") {
            let op = op.chars().next().unwrap_or('*');
            self.at += 1;
            n = Node::Bin(op, Box::new(n), Box::new(self.unary()?));
        }
        Ok(n)
    }
    fn unary(&mut self) -> Result<Node, String> {
        if self.eat("-") {
            return Ok(Node::Neg(Box::new(self.unary()?)));
        }
        self.atom()
    }
    fn atom(&mut self) -> Result<Node, String> {
        let Some(t) = self.peek().map(str::to_string) else {
            return Err("the formula ends too soon".into());
        };
        self.at += 1;
        if t == "(" {
            let n = self.expr()?;
            return if self.eat(")") {
                Ok(n)
            } else {
                Err("a `(` is not closed".into())
            };
        }
        if let Ok(v) = t.parse::<f64>() {
            return Ok(Node::Num(v));
        }
        if t.starts_with(|c: char| c.is_alphabetic() || c == '_') {
            if self.eat("(") {
                let mut args = vec![];
                if !self.eat(")") {
                    loop {
                        args.push(self.expr()?);
                        if self.eat(")") {
                            break;
                        }
                        if !self.eat(",") {
                            return Err(format!("expected `,` or `)` in {t}(...)"));
                        }
                    }
                }
                return match (t.as_str(), args.as_slice()) {
                    ("initial", [Node::Col(c)]) => Ok(Node::Initial(*c)),
                    ("initial", _) => Err("initial(...) takes one metric name".into()),
                    ("min" | "max", [_, _]) | ("abs", [_]) => Ok(Node::Call(t, args)),
                    _ => Err(format!(
                        "unknown function `{t}` (formulas know initial(m), min(a, b), max(a, b), abs(a))"
                    )),
                };
            }
            return (self.column)(&t)
                .map(Node::Col)
                .ok_or_else(|| format!("`{t}` is not a metric defined before this one"));
        }
        Err(format!("unexpected `{t}`"))
    }
}

fn eval(n: &Node, row: &[f64], initial: &[f64]) -> f64 {
    match n {
        Node::Num(v) => *v,
        Node::Col(c) => row[*c],
        Node::Initial(c) => initial[*c],
        Node::Neg(a) => -eval(a, row, initial),
        Node::Bin(op, a, b) => {
            let (a, b) = (eval(a, row, initial), eval(b, row, initial));
            match op {
                '+' => a + b,
                '-' => a - b,
                '*' => a * b,
                _ => a / b,
            }
        }
        Node::Call(f, args) => {
            let v: Vec<f64> = args.iter().map(|a| eval(a, row, initial)).collect();
            match f.as_str() {
                "min" => v[0].min(v[1]),
                "max" => v[0].max(v[1]),
                _ => v[0].abs(),
            }
        }
    }
}

/// What the samples so far leave for the next: the first row, the last sample, the
/// integrals and the crossings found. Saved in checkpoints.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Tracker {
    pub initial: Option<Vec<f64>>,
    pub last: Option<(f64, Vec<f64>)>,
    pub integrals: Vec<f64>,
    /// Per crossing: the time (h) it was first reached.
    pub crossed: Vec<Option<f64>>,
}

impl Tracker {
    /// The full row at time `t` (h): the GPU's metrics, then each derived one.
    pub fn row(&mut self, model: &super::Model, t: f64, gpu: &[f64]) -> Vec<f64> {
        let mut row = gpu.to_vec();
        if self.integrals.len() != model.derived.len() {
            self.integrals = vec![0.0; model.derived.len()];
        }
        for (k, d) in model.derived.iter().enumerate() {
            let v = match d {
                Derived::Formula { node, .. } => {
                    // On the first row, `initial(m)` is the row itself.
                    let base = self.initial.clone().unwrap_or_else(|| row.clone());
                    eval(node, &row, &base)
                }
                Derived::TimeIntegral { of, .. } => {
                    if let Some((t0, prev)) = &self.last {
                        self.integrals[k] += 0.5 * (t - t0) * (prev[*of] + row[*of]);
                    }
                    self.integrals[k]
                }
            };
            row.push(v);
        }
        if self.crossed.len() != model.crossings.len() {
            self.crossed = vec![None; model.crossings.len()];
        }
        for (c, x) in model.crossings.iter().zip(self.crossed.iter_mut()) {
            if x.is_some() {
                continue;
            }
            let now = row[c.metric] - c.value;
            match &self.last {
                None if now == 0.0 => *x = Some(t),
                Some((t0, prev)) => {
                    let before = prev[c.metric] - c.value;
                    let start = self
                        .initial
                        .as_ref()
                        .map_or(before, |i| i[c.metric] - c.value);
                    // Reached: on the value, or across it from where the metric started.
                    if now == 0.0 || (now.signum() != start.signum() && start != 0.0) {
                        let f = if before == now {
                            1.0
                        } else {
                            before / (before - now)
                        };
                        *x = Some(t0 + f.clamp(0.0, 1.0) * (t - t0));
                    }
                }
                None => {}
            }
        }
        if self.initial.is_none() {
            self.initial = Some(row.clone());
        }
        self.last = Some((t, row.clone()));
        row
    }

    /// The crossings by name, in their units (None: not reached).
    pub fn crossings(&self, model: &super::Model) -> Vec<(String, Option<f64>, String)> {
        model
            .crossings
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let t = self.crossed.get(i).copied().flatten().map(|t| t / c.unit_h);
                (c.name.clone(), t, c.unit.clone())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(n: &str) -> Option<usize> {
        ["area", "other"].iter().position(|c| *c == n)
    }

    #[test]
    fn formulas_parse_and_evaluate() {
        let n = parse("100.0 * (1.0 - area / initial(area))", &cols).unwrap();
        assert_eq!(eval(&n, &[2.5, 0.0], &[10.0, 0.0]), 75.0);
        let n = parse("-max(area, other) + abs(-2e-1)", &cols).unwrap();
        assert!((eval(&n, &[1.0, 3.0], &[0.0, 0.0]) - (-2.8)).abs() < 1e-12);
        assert!(
            parse("area +", &cols)
                .unwrap_err()
                .contains("ends too soon")
        );
        assert!(
            parse("nope * 2", &cols)
                .unwrap_err()
                .contains("`nope` is not a metric")
        );
        assert!(
            parse("sqrt(area)", &cols)
                .unwrap_err()
                .contains("unknown function")
        );
    }
}
