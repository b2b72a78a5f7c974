//! `exoderm run S --compare`: the scenario's two sides (its `[view] compare`, as the app
//! shows them) run headless into `DIR/a` and `DIR/b`, then both on one metrics plot, the
//! classroom read-out ("50% closed: untreated 5.4 d, hydrogel 3.7 d — hydrogel 1.7 d
//! sooner") in `DIR/run.json` and on screen, and a report comparing them.

use serde_json::json;

use crate::engine::GpuContext;
use crate::error::{Error, Result};
use crate::output::plots::{self, Side};
use crate::output::series::{Series, Table, comparison_text, points, read_metrics};
use crate::output::{self, report};
use crate::run::{self, RunOptions, RunReport};
use crate::scenario::Scenario;

pub struct CompareReport {
    pub labels: [String; 2],
    pub sides: [RunReport; 2],
    /// The read-out line (also in run.json).
    pub readout: String,
}

/// The read-out for two finished sides: closure milestones when the scenario names its
/// wound-area metric, else each `[crossings]` entry and each metric's end value side by
/// side.
pub fn readout(
    s: &Scenario,
    labels: &[String; 2],
    tables: &[Table; 2],
    sides: &[RunReport; 2],
) -> String {
    let unit = s.display.time_unit;
    if let Some(m) = s.display.closure_of {
        let first = 1 + 4 * s.model.species.len();
        let series: Vec<(String, Vec<[f64; 2]>)> = labels
            .iter()
            .zip(tables)
            .map(|(l, t)| {
                (
                    l.clone(),
                    points(
                        &t.times(),
                        &t.rows,
                        Series::Closure(first + m),
                        unit.hours(),
                    ),
                )
            })
            .collect();
        return comparison_text(&series, true, unit.symbol());
    }
    let mut parts: Vec<String> = sides[0]
        .crossings
        .iter()
        .zip(&sides[1].crossings)
        .map(|((name, a, u), (_, b, _))| {
            let t = |v: &Option<f64>| v.map_or("not reached".into(), |v| format!("{v:.2} {u}"));
            format!("{name}: {} {}, {} {}", labels[0], t(a), labels[1], t(b))
        })
        .collect();
    // Each model metric at the end, and B − A.
    let first = 1 + 4 * s.model.species.len();
    for (m, name) in s.model.metric_names().iter().enumerate() {
        let last = |t: &Table| t.rows.last().and_then(|r| r.get(first + m)).copied();
        if let (Some(a), Some(b)) = (last(&tables[0]), last(&tables[1])) {
            parts.push(format!(
                "{name} at the end: {} {a:.4}, {} {b:.4} ({:+.4})",
                labels[0],
                labels[1],
                b - a
            ));
        }
    }
    parts.join(" · ")
}

/// Runs both sides of `s` into `opts.out/a` and `opts.out/b`, then writes the two-sided
/// metrics.png, run.json (the read-out, each side's crossings) and index.html.
pub fn run(ctx: &GpuContext, s: &Scenario, opts: &RunOptions) -> Result<CompareReport> {
    let d = s.default_difference().ok_or_else(|| {
        Error::scenario(
            crate::error::Location {
                file: s.file.to_string(),
                line: None,
                field: "view.compare".into(),
            },
            "nothing to compare: the model has no parameters",
            "add [view] compare = { param = \"...\", value = ..., a = \"untreated\", b = \"treated\" }",
        )
    })?;
    let b = s.side_b(&d)?;
    let side = |name: &str| RunOptions {
        out: opts.out.join(name),
        quiet: opts.quiet,
        checkpoint_every: opts.checkpoint_every,
        movie: opts.movie.clone(),
    };
    let ra = run::run(ctx, s, &side("a"))?;
    let rb = run::run(ctx, &b, &side("b"))?;
    let labels = [d.a.clone(), d.b.clone()];
    let table = |k: &str| {
        let path = opts.out.join(k).join("metrics.csv");
        read_metrics(&path).ok_or_else(|| {
            Error::io(
                "cannot read back",
                &path,
                std::io::Error::new(std::io::ErrorKind::InvalidData, "not a metrics table"),
            )
        })
    };
    let tables = [table("a")?, table("b")?];
    let sides = [ra, rb];
    let text = readout(s, &labels, &tables, &sides);
    if s.output.plots {
        let panels = plots::panels(
            &s.model,
            s.display.closure_of,
            s.display.time_unit,
            &[
                Side {
                    label: &labels[0],
                    table: &tables[0],
                },
                Side {
                    label: &labels[1],
                    table: &tables[1],
                },
            ],
        );
        let png = plots::render(
            &format!("{}: {} vs {}", s.output.title, labels[0], labels[1]),
            s.display.time_unit,
            &panels,
        )?;
        output::write_atomic(&opts.out.join("metrics.png"), &png)?;
    }
    let crossings = |r: &RunReport| {
        r.crossings
            .iter()
            .map(|(n, t, _)| (n.clone(), json!(t)))
            .collect::<serde_json::Map<_, _>>()
    };
    let param = &s.model.params[d.param];
    let doc = json!({
        "status": "completed",
        "compare": {
            "param": param.name,
            "a": { "label": labels[0], "value": param.value, "folder": "a", "crossings": crossings(&sides[0]) },
            "b": { "label": labels[1], "value": d.value, "folder": "b", "crossings": crossings(&sides[1]) },
        },
        "readout": text,
    });
    let json_text = serde_json::to_string_pretty(&doc)
        .map_err(|e| Error::Internal(format!("run.json: {e}")))?;
    output::write_atomic(&opts.out.join(run::RUN_JSON), json_text.as_bytes())?;
    if s.output.report {
        report::write_compare(
            &opts.out,
            &s.problem(),
            &s.output,
            [&labels[0], &labels[1]],
            &text,
            sides[0].outputs,
        )?;
    }
    Ok(CompareReport {
        labels,
        sides,
        readout: text,
    })
}
