//! `index.html`: a run folder (or a compare run, or a sweep) as one self-contained page —
//! the scenario's explanation, the read-out, the parameters that differ from the model's
//! defaults, the metric plots, a strip of snapshots per species and the movie. Pictures are
//! embedded (data: URIs), so the page opens offline and can be mailed on its own; each also
//! links to its file in the folder.

use std::fmt::Write;
use std::path::Path;

use crate::engine::Problem;
use crate::error::Result;
use crate::scenario::OutputSpec;

pub const FILE: &str = "index.html";

/// Snapshots per species in the strip (first and last always among them).
const STRIP: usize = 6;

/// Standard base64 (RFC 4648, padded).
pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for k in 0..4 {
            if k <= c.len() {
                out.push(A[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `<a href=file><img src=data:…></a>` for a picture in `dir` (nothing if it is missing).
fn picture(dir: &Path, file: &str, alt: &str, class: &str) -> String {
    let Ok(bytes) = std::fs::read(dir.join(file)) else {
        return String::new();
    };
    let mime = if file.ends_with(".gif") {
        "image/gif"
    } else {
        "image/png"
    };
    format!(
        "<a href=\"{}\"><img class=\"{class}\" alt=\"{}\" src=\"data:{mime};base64,{}\"></a>",
        escape(file),
        escape(alt),
        base64(&bytes)
    )
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:1180px;margin:2em auto;padding:0 1em;color:#222}\
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}\
.meta{color:#666}.readout{font-size:1.15em;background:#f3f7ff;padding:.6em .8em;border-left:4px solid #1f77b4}\
table{border-collapse:collapse;font-size:.92em}td,th{border-bottom:1px solid #eee;padding:.25em .6em;text-align:left}\
tr.changed{background:#fff6d6}.strip{display:flex;flex-wrap:wrap;gap:6px}.strip img{width:180px}\
.plot{max-width:100%}.strip img.summary{width:540px}.side{display:inline-block;vertical-align:top;margin-right:1em}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n{body}\n<p class=\"meta\">Written by exoderm {}. Everything on this page is in this file; the links open the files beside it.</p></body></html>\n",
        escape(title),
        env!("CARGO_PKG_VERSION")
    )
}

fn explanation(out: &mut String, o: &OutputSpec) {
    let Some(e) = &o.context.explain else {
        return;
    };
    out.push_str("<h2>What this is</h2>");
    for (head, text) in [
        ("", &e.what),
        ("Try: ", &e.try_),
        ("Watch: ", &e.watch),
        ("Source: ", &e.source),
    ] {
        if !text.is_empty() {
            let _ = write!(out, "<p><b>{head}</b>{}</p>", escape(text));
        }
    }
}

/// The parameters, those differing from the model they build on first (highlighted).
fn parameters(out: &mut String, p: &Problem, o: &OutputSpec) {
    let model = &p.model;
    if model.params.is_empty() {
        return;
    }
    let changed = |i: usize| {
        o.context
            .defaults
            .get(i)
            .copied()
            .flatten()
            .is_some_and(|d| d != p.params[i])
    };
    let n_changed = (0..model.params.len()).filter(|&i| changed(i)).count();
    out.push_str("<h2>Parameters</h2>");
    let _ = write!(
        out,
        "<p>{}</p><table><tr><th>name</th><th>value</th><th>model default</th><th>units</th><th>range</th><th>source</th></tr>",
        if o.context.defaults.iter().all(Option::is_none) {
            "All are this scenario's own (it builds on no built-in model).".to_string()
        } else if n_changed == 0 {
            "All at the built-in model's defaults.".to_string()
        } else {
            format!(
                "{n_changed} differ from the built-in model's defaults (highlighted, listed first)."
            )
        }
    );
    let mut order: Vec<usize> = (0..model.params.len()).collect();
    order.sort_by_key(|&i| !changed(i));
    for i in order {
        let par = &model.params[i];
        let default = o.context.defaults.get(i).copied().flatten();
        let _ = write!(
            out,
            "<tr{}><td title=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if changed(i) { " class=\"changed\"" } else { "" },
            escape(&par.doc),
            escape(&par.name),
            p.params[i],
            default.map_or("—".into(), |d| d.to_string()),
            escape(&par.units),
            par.range
                .map_or("—".into(), |r| format!("{} – {}", r[0], r[1])),
            escape(&par.source),
        );
    }
    out.push_str("</table>");
}

/// Up to [`STRIP`] output indices out of `n`, evenly spread, first and last included.
pub fn strip_indices(n: usize) -> Vec<usize> {
    if n <= STRIP {
        return (0..n).collect();
    }
    let mut v: Vec<usize> = (0..STRIP)
        .map(|j| ((j * (n - 1)) as f64 / (STRIP - 1) as f64).round() as usize)
        .collect();
    v.dedup();
    v
}

fn snapshots(out: &mut String, dir: &Path, p: &Problem, outputs: usize, prefix: &str) {
    let mut any = false;
    // The skin view first (when the scenario has one), then each species.
    let names = std::iter::once("skin").chain(p.model.species.iter().map(|sp| sp.name.as_str()));
    for name in names {
        let strip: String = strip_indices(outputs)
            .into_iter()
            .map(|k| {
                picture(
                    dir,
                    &format!("{prefix}{name}_{k}.png"),
                    &format!("{name} at output {k}"),
                    "",
                )
            })
            .collect();
        if strip.is_empty() {
            continue;
        }
        if !any {
            out.push_str("<h2>Snapshots</h2>");
            any = true;
        }
        let _ = write!(
            out,
            "<h3>{}</h3><div class=\"strip\">{strip}</div>",
            escape(name)
        );
    }
}

fn movies(out: &mut String, dir: &Path, p: &Problem, prefix: &str) {
    for sp in &p.model.species {
        let file = format!("{prefix}{}.gif", sp.name);
        let m = picture(dir, &file, &format!("{} over the run", sp.name), "plot");
        if !m.is_empty() {
            let _ = write!(out, "<h2>Movie: {}</h2>{m}", escape(&sp.name));
        }
    }
}

fn run_json(dir: &Path) -> serde_json::Value {
    std::fs::read_to_string(dir.join(super::RUN_JSON))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// `[crossings]` as one line: "t50_closure_d = 5.010 d; t90_closure_d: not reached".
pub fn crossings_text(crossings: &[(String, Option<f64>, String)]) -> String {
    crossings
        .iter()
        .map(|(n, t, u)| match t {
            Some(t) => format!("{n} = {t:.3} {u}"),
            None => format!("{n}: not reached"),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn files(out: &mut String, names: &[&str]) {
    out.push_str("<h2>Files</h2><ul>");
    for n in names {
        let _ = write!(out, "<li><a href=\"{0}\">{0}</a></li>", escape(n));
    }
    out.push_str("</ul>");
}

/// The report of one run folder (after its run.json is written).
pub fn write_run(
    dir: &Path,
    p: &Problem,
    o: &OutputSpec,
    outputs: usize,
    crossings: &[(String, Option<f64>, String)],
) -> Result<()> {
    let j = run_json(dir);
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>{}</h1><p class=\"meta\">{} · status: {} · {} simulated in {:.1} s wall on {} · {}×{} cells over {} × {} mm · {} outputs</p>",
        escape(&o.title),
        escape(&o.context.file),
        escape(j["status"].as_str().unwrap_or("unknown")),
        crate::units::format_time(j["simulated_h"].as_f64().unwrap_or(0.0)),
        j["wall_time_s"].as_f64().unwrap_or(0.0),
        escape(j["adapter"]["name"].as_str().unwrap_or("?")),
        p.grid.nx,
        p.grid.ny,
        p.grid.extent[0],
        p.grid.extent[1],
        outputs
    );
    let c = crossings_text(crossings);
    if !c.is_empty() {
        let _ = write!(b, "<p class=\"readout\">{}</p>", escape(&c));
    }
    explanation(&mut b, o);
    let plot = picture(dir, "metrics.png", "metrics over time", "plot");
    if !plot.is_empty() {
        let _ = write!(b, "<h2>Metrics</h2>{plot}");
    }
    movies(&mut b, dir, p, "");
    snapshots(&mut b, dir, p, outputs, "");
    parameters(&mut b, p, o);
    files(
        &mut b,
        &["metrics.csv", super::RUN_JSON, super::SCENARIO_FILE],
    );
    super::write_atomic(&dir.join(FILE), page(&o.title, &b).as_bytes())
}

/// The report of a compare run: `dir` holds the sides' folders `a/` and `b/` and the
/// two-sided metrics.png; `readout` is the classroom line.
pub fn write_compare(
    dir: &Path,
    p: &Problem,
    o: &OutputSpec,
    labels: [&str; 2],
    readout: &str,
    outputs: usize,
) -> Result<()> {
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>{}</h1><p class=\"meta\">{} · compare: <a href=\"a/{FILE}\">{}</a> vs <a href=\"b/{FILE}\">{}</a></p>",
        escape(&o.title),
        escape(&o.context.file),
        escape(labels[0]),
        escape(labels[1]),
    );
    if !readout.is_empty() {
        let _ = write!(b, "<p class=\"readout\">{}</p>", escape(readout));
    }
    explanation(&mut b, o);
    let plot = picture(dir, "metrics.png", "metrics over time, both sides", "plot");
    if !plot.is_empty() {
        let _ = write!(b, "<h2>Metrics</h2>{plot}");
    }
    // The last snapshot of each species, side by side.
    if outputs > 0 {
        b.push_str("<h2>At the end</h2>");
        for sp in &p.model.species {
            let _ = write!(b, "<h3>{}</h3>", escape(&sp.name));
            for (side, label) in ["a", "b"].iter().zip(labels) {
                let pic = picture(
                    dir,
                    &format!("{side}/{}_{}.png", sp.name, outputs - 1),
                    &format!("{} ({label})", sp.name),
                    "",
                );
                if !pic.is_empty() {
                    let _ = write!(b, "<div class=\"side\"><p>{}</p>{pic}</div>", escape(label));
                }
            }
        }
    }
    files(
        &mut b,
        &[
            "a/index.html",
            "b/index.html",
            "a/metrics.csv",
            "b/metrics.csv",
            super::RUN_JSON,
        ],
    );
    super::write_atomic(&dir.join(FILE), page(&o.title, &b).as_bytes())
}

/// One run in a sweep's report: its id, (column, value) cells and status.
pub struct SweepRow {
    pub id: String,
    pub cells: Vec<(String, String)>,
    pub status: String,
}

/// A sweep's report: its summary plots and a table of runs linking to each run's report.
pub fn write_sweep(dir: &Path, title: &str, table: &[SweepRow]) -> Result<()> {
    let mut b = String::new();
    let _ = write!(b, "<h1>{}</h1>", escape(title));
    let pdir = dir.join("plots");
    let mut plots: Vec<String> = std::fs::read_dir(&pdir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".png"))
                .collect()
        })
        .unwrap_or_default();
    plots.sort();
    if !plots.is_empty() {
        b.push_str("<h2>Summary plots</h2><div class=\"strip\">");
        for p in &plots {
            b.push_str(&picture(dir, &format!("plots/{p}"), p, "summary"));
        }
        b.push_str("</div>");
    }
    b.push_str("<h2>Runs</h2><table><tr><th>run</th>");
    if let Some(first) = table.first() {
        for (c, _) in &first.cells {
            let _ = write!(b, "<th>{}</th>", escape(c));
        }
    }
    b.push_str("<th>status</th></tr>");
    for SweepRow { id, cells, status } in table {
        let link = if dir.join("runs").join(id).join(FILE).exists() {
            format!("runs/{id}/{FILE}")
        } else {
            format!("runs/{id}/")
        };
        let _ = write!(
            b,
            "<tr><td><a href=\"{}\">{}</a></td>",
            escape(&link),
            escape(id)
        );
        for (_, v) in cells {
            let _ = write!(b, "<td>{}</td>", escape(v));
        }
        let _ = write!(b, "<td>{}</td></tr>", escape(status));
    }
    b.push_str("</table>");
    files(&mut b, &["summary.csv", "summary.json"]);
    super::write_atomic(&dir.join(FILE), page(title, &b).as_bytes())
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(super::base64(b""), "");
        assert_eq!(super::base64(b"f"), "Zg==");
        assert_eq!(super::base64(b"fo"), "Zm8=");
        assert_eq!(super::base64(b"foo"), "Zm9v");
        assert_eq!(super::base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(super::base64(&[255, 254, 253]), "//79");
    }

    #[test]
    fn strips_take_first_and_last() {
        assert_eq!(super::strip_indices(3), vec![0, 1, 2]);
        assert_eq!(super::strip_indices(29), vec![0, 6, 11, 17, 22, 28]);
    }
}
