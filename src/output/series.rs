//! Time series of a run's metrics as the app plots them and the run folder draws them:
//! a metric, or "closure %" of the scenario's wound-area metric, and the classroom read-out
//! comparing two sides ("50% closed: untreated 5.4 d, hydrogel 3.7 d — 1.7 d sooner").

use std::path::Path;

/// A run's metrics.csv: column names and rows of numbers.
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<f64>>,
}

pub fn read_metrics(path: &Path) -> Option<Table> {
    Table::parse(&std::fs::read_to_string(path).ok()?)
}

impl Table {
    /// Times (h) of the rows: the first column.
    pub fn times(&self) -> Vec<f64> {
        self.rows.iter().map(|r| r[0]).collect()
    }

    /// metrics.csv text: a header line, then numbers (unparsable ones as NaN).
    pub fn parse(text: &str) -> Option<Table> {
        let mut lines = text.lines();
        let columns: Vec<String> = lines.next()?.split(',').map(String::from).collect();
        let rows = lines
            .map(|l| {
                l.split(',')
                    .map(|v| v.parse().unwrap_or(f64::NAN))
                    .collect()
            })
            .collect();
        Some(Table { columns, rows })
    }
}

/// Which series the plot shows: a metric, or closure % (100 × (1 − area / first area)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Series {
    Metric(usize),
    Closure(usize),
}

/// `series` over time as (time in `unit_h` hours, value) points.
pub fn points(times: &[f64], rows: &[Vec<f64>], series: Series, unit_h: f64) -> Vec<[f64; 2]> {
    let first = |m: usize| rows.first().and_then(|r| r.get(m)).copied();
    times
        .iter()
        .zip(rows)
        .filter_map(|(t, row)| {
            let y = match series {
                Series::Metric(m) => *row.get(m)?,
                Series::Closure(m) => {
                    let a0 = first(m)?;
                    if a0 <= 0.0 {
                        return None;
                    }
                    100.0 * (1.0 - row.get(m)? / a0)
                }
            };
            Some([t / unit_h, y])
        })
        .collect()
}

/// When `pts` first reaches `level` going up (linear between samples), in the points' unit.
pub fn first_reach(pts: &[[f64; 2]], level: f64) -> Option<f64> {
    if pts.first()?[1] >= level {
        return Some(pts[0][0]);
    }
    pts.windows(2).find_map(|w| {
        let ([t0, y0], [t1, y1]) = (w[0], w[1]);
        (y0 < level && y1 >= level).then(|| t0 + (t1 - t0) * (level - y0) / (y1 - y0))
    })
}

/// The classroom read-out under the plot: for closure, when each side reached 50% and 90%
/// and how much sooner B did; for any series in compare mode, B − A now.
pub fn comparison_text(sides: &[(String, Vec<[f64; 2]>)], closure: bool, unit: &str) -> String {
    let mut parts = vec![];
    if closure {
        for level in [50.0, 90.0] {
            let times: Vec<Option<f64>> =
                sides.iter().map(|(_, p)| first_reach(p, level)).collect();
            let each: Vec<String> = sides
                .iter()
                .zip(&times)
                .map(|((label, _), t)| match t {
                    Some(t) => format!("{label} {t:.2} {unit}"),
                    None => format!("{label} not yet"),
                })
                .collect();
            let mut text = format!("{level:.0}% closed: {}", each.join(", "));
            if let [Some(a), Some(b)] = times[..] {
                let d = a - b;
                text += &format!(
                    " — {} {:.2} {unit} {}",
                    sides[1].0,
                    d.abs(),
                    if d >= 0.0 { "sooner" } else { "later" }
                );
            }
            parts.push(text);
        }
    }
    if let [(label_a, a), (label_b, b)] = sides
        && let (Some([_, ya]), Some([_, yb])) = (a.last(), b.last())
    {
        parts.push(format!("{label_b} − {label_a} now: {:+.4}", yb - ya));
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milestones_are_interpolated_and_compared() {
        let a = vec![[0.0, 0.0], [2.0, 40.0], [4.0, 60.0], [6.0, 95.0]];
        let b = vec![[0.0, 0.0], [2.0, 50.0], [4.0, 90.0], [6.0, 100.0]];
        assert_eq!(first_reach(&a, 50.0), Some(3.0));
        assert_eq!(first_reach(&a, 90.0), Some(4.0 + 2.0 * 30.0 / 35.0));
        assert_eq!(first_reach(&a, 99.0), None);
        let text = comparison_text(&[("A".into(), a), ("gel".into(), b)], true, "d");
        assert!(
            text.contains("50% closed: A 3.00 d, gel 2.00 d — gel 1.00 d sooner"),
            "{text}"
        );
        assert!(text.contains("gel − A now: +5.0000"), "{text}");
        let one = comparison_text(&[("A".into(), vec![[0.0, 10.0]])], true, "d");
        assert_eq!(one, "50% closed: A not yet · 90% closed: A not yet");
    }
}
