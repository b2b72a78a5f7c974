//! The sweep's summary: one row per run (its varied values, seed, status, the final value of
//! every metrics column and the sweep's own summary metrics), as CSV and JSON, plus a plot of
//! each summary metric against each varied axis.

use std::path::Path;

use plotters::prelude::*;
use serde_json::json;

use super::sweep::{RunSpec, SummaryKind, SummaryMetric, Sweep};
use crate::error::{Error, Result};
use crate::output::series::Table;
pub use crate::output::series::read_metrics;
use crate::output::write_atomic;

/// One summary metric of one run; `None` when it does not exist (e.g. never crossed).
pub fn evaluate(m: &SummaryMetric, t: &Table) -> Option<f64> {
    let c = t.columns.iter().position(|c| *c == m.column)?;
    let pts: Vec<(f64, f64)> = t.rows.iter().map(|r| (r[0], r[c])).collect();
    let values = pts.iter().map(|p| p.1);
    match m.kind {
        SummaryKind::Final => pts.last().map(|p| p.1),
        SummaryKind::Max => values.reduce(f64::max),
        SummaryKind::Min => values.reduce(f64::min),
        SummaryKind::Mean => (!pts.is_empty()).then(|| values.sum::<f64>() / pts.len() as f64),
        SummaryKind::Integral => Some(
            pts.windows(2)
                .map(|w| 0.5 * (w[0].1 + w[1].1) * (w[1].0 - w[0].0))
                .sum(),
        ),
        SummaryKind::Crosses(v) => {
            if pts.first().is_some_and(|p| p.1 == v) {
                return pts.first().map(|p| p.0);
            }
            pts.windows(2).find_map(|w| {
                let ((t0, a), (t1, b)) = (w[0], w[1]);
                ((a - v) * (b - v) <= 0.0 && a != b).then(|| t0 + (t1 - t0) * (v - a) / (b - a))
            })
        }
    }
}

pub struct Row {
    pub run: RunSpec,
    pub status: String,
    /// (column, value): final value of each metrics column, then the summary metrics.
    pub values: Vec<(String, Option<f64>)>,
}

/// Reads what is on disk for every run of the sweep (finished or not).
pub fn collect(sweep: &Sweep, dir: &Path) -> Vec<Row> {
    sweep
        .runs
        .iter()
        .map(|r| {
            let rd = dir.join("runs").join(&r.id);
            let run_json: Option<serde_json::Value> =
                std::fs::read_to_string(rd.join(crate::run::RUN_JSON))
                    .ok()
                    .and_then(|t| serde_json::from_str(&t).ok());
            let status = run_json
                .as_ref()
                .and_then(|j| j["status"].as_str().map(String::from))
                .unwrap_or_else(|| "missing".into());
            let mut values = vec![];
            if let Some(t) = read_metrics(&rd.join("metrics.csv")).filter(|_| run_json.is_some()) {
                for (i, c) in t.columns.iter().enumerate().skip(1) {
                    values.push((format!("final_{c}"), t.rows.last().map(|r| r[i])));
                }
                for m in &sweep.summary {
                    values.push((m.name.clone(), evaluate(m, &t)));
                }
            }
            Row {
                run: r.clone(),
                status,
                values,
            }
        })
        .collect()
}

fn csv_escape(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn value_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Writes summary.csv, summary.json and the plots. Returns (complete, failed, missing).
pub fn write(sweep: &Sweep, dir: &Path) -> Result<(usize, usize, usize)> {
    let rows = collect(sweep, dir);
    // Columns: the union over runs, in first-seen order (a failed run may have none).
    let mut cols: Vec<String> = vec![];
    for r in &rows {
        for (c, _) in &r.values {
            if !cols.contains(c) {
                cols.push(c.clone());
            }
        }
    }
    let mut csv = ["id", "point", "replicate", "seed"]
        .map(String::from)
        .to_vec();
    csv.extend(sweep.axes.iter().cloned());
    csv.push("status".into());
    csv.extend(cols.iter().cloned());
    let mut out = csv
        .iter()
        .map(|c| csv_escape(c))
        .collect::<Vec<_>>()
        .join(",")
        + "\n";
    let mut json_rows = vec![];
    for r in &rows {
        let mut line = vec![
            r.run.id.clone(),
            r.run.point.to_string(),
            r.run.replicate.to_string(),
            r.run.seed.to_string(),
        ];
        line.extend(r.run.values.iter().map(value_text));
        line.push(r.status.clone());
        let get = |c: &str| r.values.iter().find(|(n, _)| n == c).and_then(|(_, v)| *v);
        line.extend(
            cols.iter()
                .map(|c| get(c).map(|v| format!("{v:?}")).unwrap_or_default()),
        );
        out.push_str(
            &line
                .iter()
                .map(|c| csv_escape(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
        let axes: serde_json::Map<String, serde_json::Value> = sweep
            .axes
            .iter()
            .zip(&r.run.values)
            .map(|(a, v)| (a.clone(), serde_json::to_value(v).unwrap_or_default()))
            .collect();
        let metrics: serde_json::Map<String, serde_json::Value> =
            cols.iter().map(|c| (c.clone(), json!(get(c)))).collect();
        json_rows.push(json!({ "id": r.run.id, "point": r.run.point, "replicate": r.run.replicate, "seed": r.run.seed, "axes": axes, "status": r.status, "metrics": metrics }));
    }
    write_atomic(&dir.join("summary.csv"), out.as_bytes())?;
    let doc = json!({ "sweep": sweep.file, "design": sweep.design, "axes": sweep.axes, "summary_metrics": sweep.summary, "runs": json_rows });
    write_atomic(
        &dir.join("summary.json"),
        serde_json::to_string_pretty(&doc)
            .map_err(|e| Error::Internal(e.to_string()))?
            .as_bytes(),
    )?;
    plots(sweep, dir, &rows, &cols)?;
    let table: Vec<crate::output::report::SweepRow> = rows
        .iter()
        .map(|r| {
            let mut cells: Vec<(String, String)> = sweep
                .axes
                .iter()
                .zip(&r.run.values)
                .map(|(a, v)| (a.clone(), value_text(v)))
                .collect();
            for m in &sweep.summary {
                let v = r
                    .values
                    .iter()
                    .find(|(n, _)| *n == m.name)
                    .and_then(|(_, v)| *v);
                cells.push((
                    m.name.clone(),
                    v.map_or(String::new(), |v| format!("{v:.4}")),
                ));
            }
            crate::output::report::SweepRow {
                id: r.run.id.clone(),
                cells,
                status: r.status.clone(),
            }
        })
        .collect();
    crate::output::report::write_sweep(dir, &format!("Sweep {}", sweep.file), &table)?;
    let complete = rows.iter().filter(|r| r.status == "completed").count();
    let missing = rows.iter().filter(|r| r.status == "missing").count();
    Ok((complete, rows.len() - complete - missing, missing))
}

/// One PNG per (summary metric, numeric axis): every run as a point, the mean per axis value
/// as a line.
fn plots(sweep: &Sweep, dir: &Path, rows: &[Row], cols: &[String]) -> Result<()> {
    crate::output::register_font();
    let pdir = dir.join("plots");
    std::fs::create_dir_all(&pdir).map_err(|e| Error::io("cannot create", &pdir, e))?;
    let metrics: Vec<&String> = sweep
        .summary
        .iter()
        .map(|m| &m.name)
        .chain(cols.iter().filter(|c| c.starts_with("final_")))
        .collect::<Vec<_>>();
    for (a, axis) in sweep.axes.iter().enumerate() {
        for metric in &metrics {
            let pts: Vec<(f64, f64)> =
                rows.iter()
                    .filter_map(|r| {
                        let x = r.run.values.get(a).and_then(|v| {
                            v.as_float().or_else(|| v.as_integer().map(|i| i as f64))
                        })?;
                        let y = r
                            .values
                            .iter()
                            .find(|(n, _)| n == *metric)
                            .and_then(|(_, v)| *v)?;
                        (x.is_finite() && y.is_finite()).then_some((x, y))
                    })
                    .collect();
            if pts.is_empty() {
                continue;
            }
            let file = pdir.join(format!(
                "{}_vs_{}.png",
                metric.replace(['/', ' '], "_"),
                axis.replace(['/', ' '], "_")
            ));
            let png = plot(&pts, axis, metric)
                .map_err(|e| Error::Internal(format!("plot {}: {e}", file.display())))?;
            write_atomic(&file, &png)?;
        }
    }
    Ok(())
}

fn plot(
    pts: &[(f64, f64)],
    xlabel: &str,
    ylabel: &str,
) -> std::result::Result<Vec<u8>, Box<dyn std::error::Error>> {
    let (w, h) = (640u32, 420u32);
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        root.fill(&WHITE)?;
        let (mut x0, mut x1) = pts.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |a, p| {
            (a.0.min(p.0), a.1.max(p.0))
        });
        let (mut y0, mut y1) = pts.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |a, p| {
            (a.0.min(p.1), a.1.max(p.1))
        });
        let pad = |lo: &mut f64, hi: &mut f64| {
            let d = if *hi > *lo {
                0.05 * (*hi - *lo)
            } else {
                0.5 * lo.abs().max(1e-9)
            };
            *lo -= d;
            *hi += d;
        };
        pad(&mut x0, &mut x1);
        pad(&mut y0, &mut y1);
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("{ylabel} vs {xlabel}"), ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .x_desc(xlabel)
            .y_desc(ylabel)
            .label_style(("sans-serif", 14))
            .draw()?;
        chart.draw_series(
            pts.iter()
                .map(|&(x, y)| Circle::new((x, y), 4, BLUE.mix(0.6).filled())),
        )?;
        // Mean per distinct x.
        let mut xs: Vec<f64> = pts.iter().map(|p| p.0).collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        let means: Vec<(f64, f64)> = xs
            .iter()
            .map(|&x| {
                let ys: Vec<f64> = pts.iter().filter(|p| p.0 == x).map(|p| p.1).collect();
                (x, ys.iter().sum::<f64>() / ys.len() as f64)
            })
            .collect();
        if means.len() > 1 {
            chart.draw_series(LineSeries::new(means, RED.stroke_width(2)))?;
        }
        root.present()?;
    }
    Ok(crate::output::snapshot::encode_png(
        &rgb, w as usize, h as usize,
    )?)
}
