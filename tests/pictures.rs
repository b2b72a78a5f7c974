//! Pictures people would rather look at (#15): annotated snapshots — colour bar following
//! the map, the time changing between outputs, a scale bar, the title — raw pictures on
//! request, and no pictures at all when none are asked for; the run's metrics plot, its
//! movie, its report (every link resolves), and a compare run's read-out.

use exoderm::output::annotate::{layout, scale_bar};
use exoderm::run::MovieSpec;

use crate::common::{check_links, scenario};
use crate::gpu_or_skip;

const SCENARIO: &str = "[grid]\nsize = [40, 20]\nextent = [\"4 mm\", \"2 mm\"]\n\
    [time]\nend = \"2 h\"\noutput_every = \"1 h\"\n\
    [[species]]\nname = \"u\"\ndiffusion = 0.05\ninitial = \"select(0.0, 1.0, x < -1.0)\"\n\
    range = [0.0, 1.0]\nunits = \"fraction\"\n\
    [reactions]\nu = \"u * (1.0 - u)\"\n\
    [explain]\ntitle = \"A front\"\nwhat = \"w\"\ntry = \"t\"\nwatch = \"w\"\n";

fn run(extra: &str) -> tempfile::TempDir {
    run_with(extra, None)
}

fn run_with(extra: &str, movie: Option<MovieSpec>) -> tempfile::TempDir {
    let ctx = crate::common::gpu().expect("GPU");
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(&format!("{SCENARIO}{extra}"));
    exoderm::run::run(ctx, &sc, &options(dir.path(), movie)).unwrap();
    dir
}

fn options(out: &std::path::Path, movie: Option<MovieSpec>) -> exoderm::run::RunOptions {
    exoderm::run::RunOptions {
        out: out.to_path_buf(),
        quiet: true,
        checkpoint_every: None,
        movie,
    }
}

/// (width, height, RGB) of a PNG.
fn decode(path: &std::path::Path) -> (u32, u32, Vec<u8>) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut r = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

fn px(img: &(u32, u32, Vec<u8>), x: u32, y: u32) -> [u8; 3] {
    let i = ((y * img.0 + x) * 3) as usize;
    [img.2[i], img.2[i + 1], img.2[i + 2]]
}

/// The pixels of a rectangle, to compare regions of two pictures.
fn region(img: &(u32, u32, Vec<u8>), [x, y, w, h]: [u32; 4]) -> Vec<[u8; 3]> {
    (y..y + h)
        .flat_map(|yy| (x..x + w).map(move |xx| (xx, yy)))
        .map(|(xx, yy)| px(img, xx, yy))
        .collect()
}

#[test]
fn snapshots_carry_a_colour_bar_the_time_a_scale_bar_and_the_title() {
    let _ = gpu_or_skip!();
    let dir = run("");
    let (w, h, field, bar) = layout([4.0, 2.0], "A front", "fraction");
    let a = decode(&dir.path().join("u_0.png"));
    let b = decode(&dir.path().join("u_2.png"));
    assert_eq!((a.0, a.1), (w, h), "readable size");
    // The colour bar follows viridis from the bottom (0) to the top (1).
    let g = exoderm::colormap::gradient("viridis");
    for k in 0..5 {
        let y = bar[1] + (k * (bar[3] - 1)) / 4;
        let f = 1.0 - (y - bar[1]) as f64 / bar[3] as f64;
        let c = g.eval_continuous(f);
        let p = px(&a, bar[0] + bar[2] / 2, y);
        for (got, want) in p.iter().zip([c.r, c.g, c.b]) {
            assert!(
                got.abs_diff(want) <= 3,
                "bar at {y}: {p:?} vs {:?}",
                [c.r, c.g, c.b]
            );
        }
    }
    // Title line the same, time line different, field different (the front moved).
    let title = [16, 4, 200, 22];
    let time = [16, 28, 260, 22];
    assert_eq!(region(&a, title), region(&b, title));
    assert_ne!(region(&a, time), region(&b, time), "the time text changes");
    assert!(region(&a, time).iter().any(|p| p[0] < 100), "there is text");
    assert_ne!(region(&a, field), region(&b, field));
    // The field's left cells are u = 1 (yellow), drawn right way up and enlarged.
    let left = px(&a, field[0] + 2, field[1] + field[3] / 2);
    let c = g.eval_continuous(1.0);
    assert_eq!(left, [c.r, c.g, c.b]);
    // The scale bar: 1 mm of 4 mm, a quarter of the field's width, black.
    assert_eq!(scale_bar(4.0).0, 1.0);
    let y = field[1] + field[3] + 16;
    let black = (field[0]..field[0] + field[2] / 4 - 1)
        .filter(|&x| px(&a, x, y) == [0, 0, 0])
        .count() as u32;
    assert!(black >= field[2] / 4 - 3, "scale bar: {black} black pixels");
    assert_ne!(
        px(&a, field[0] + field[2] / 2, y),
        [0, 0, 0],
        "and no longer"
    );
    // The raw data stays available.
    assert!(dir.path().join("fields/u_2.npy").exists());
}

#[test]
fn raw_pictures_on_request_and_none_when_not_asked() {
    let _ = gpu_or_skip!();
    let dir = run("[output]\nannotate = false\n");
    let raw = decode(&dir.path().join("u_1.png"));
    assert_eq!((raw.0, raw.1), (40, 20), "one pixel per cell");
    let dir = run("[output]\npng = false\nplots = false\nreport = false\n");
    let pngs = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "png"))
        })
        .count();
    assert_eq!(pngs, 0);
    assert!(!dir.path().join("index.html").exists(), "no report");
    assert!(dir.path().join("fields/u_2.npy").exists());
    assert!(dir.path().join("metrics.csv").exists());
    // Pictures off but plots and report on (the default): the plot, and a report that
    // shows it without snapshots.
    let dir = run("[output]\npng = false\n");
    assert!(dir.path().join("metrics.png").exists());
    let html = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    assert!(html.contains("href=\"metrics.png\""));
    assert!(
        !html.contains("Snapshots"),
        "no snapshot strip without snapshots"
    );
}

/// A closing "wound": u falls where it starts low; closure % of its open area.
const CLOSING: &str = "[grid]\nsize = [32, 32]\nextent = [\"4 mm\", \"4 mm\"]\n\
    [time]\nend = \"8 h\"\noutput_every = \"1 h\"\n\
    [[species]]\nname = \"u\"\ndiffusion = 0.02\ninitial = \"select(1.0, 0.0, x * x + y * y < 1.0)\"\n\
    range = [0.0, 1.0]\nunits = \"fraction\"\n\
    [reactions]\nu = \"r * u * (1.0 - u) + 0.05 * (1.0 - u) * g\"\n\
    [params]\nr = 0.3\ng = 0.0\n\
    [metrics]\nopen = { expr = \"select(0.0, 1.0, u < 0.5)\", units = \"mm²\" }\n\
    closure_pct = { derived = \"100.0 * (1.0 - open / initial(open))\", units = \"%\" }\n\
    [crossings]\nt50_h = { metric = \"closure_pct\", reaches = 50.0, unit = \"h\" }\n\
    [view]\nclosure_of = \"open\"\ntime_unit = \"h\"\n\
    compare = { param = \"g\", value = 3.0, a = \"plain\", b = \"boosted\" }\n\
    [view.skin]\nepidermis = \"u\"\n\
    [explain]\ntitle = \"A closing hole\"\nwhat = \"What it is\"\ntry = \"t\"\nwatch = \"w\"\n";

#[test]
fn a_run_draws_its_metrics_makes_its_movie_and_reports_with_links_that_resolve() {
    let ctx = gpu_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(CLOSING);
    let movie = MovieSpec {
        species: 0,
        every: Some(0.5),
    };
    let report = exoderm::run::run(ctx, &sc, &options(dir.path(), Some(movie))).unwrap();
    let d = dir.path();
    // metrics.png: closure, open (mm²), closure_pct (%), u's mean: 4 panels, 2 rows.
    let plot = decode(&d.join("metrics.png"));
    assert_eq!((plot.0, plot.1), (2 * 560, 44 + 2 * 340));
    // The closure curve (first colour) is drawn in the top-left panel only... and the
    // 50% crossing is marked in it.
    let blue = |img: &(u32, u32, Vec<u8>), r: [u32; 4]| {
        region(img, r)
            .iter()
            .filter(|p| **p == [31, 119, 180])
            .count()
    };
    assert!(blue(&plot, [0, 44, 560, 340]) > 200);
    let t50 = report.crossings[0].1.expect("t50 reached");
    assert!(t50 > 1.0 && t50 < 8.0, "t50 {t50}");
    // The movie: a frame every 0.5 h of 8 h, and its frames' folder gone.
    let gif = std::fs::File::open(d.join("u.gif")).unwrap();
    let mut opts = gif::DecodeOptions::new();
    opts.set_color_output(gif::ColorOutput::RGBA);
    let mut dec = opts.read_info(gif).unwrap();
    let mut frames = vec![];
    while let Some(f) = dec.read_next_frame().unwrap() {
        frames.push(f.buffer.to_vec());
    }
    assert_eq!(frames.len(), 17);
    assert_ne!(frames[0], frames[16], "the hole closes in the movie");
    assert!(!d.join(".movie").exists());
    // The report: its links resolve, its pictures are embedded, the read-out is there.
    let (links, embedded) = check_links(d, "index.html");
    assert!(links.contains(&"metrics.csv".to_string()) && links.contains(&"u.gif".to_string()));
    // metrics.png, the movie and strips of 6 snapshots (9 outputs): the skin view and u.
    assert_eq!(embedded, 14);
    // The skin view, headless: the open hole dark red, intact skin a skin tone, and the
    // hole smaller at the end.
    let (w, h, field, _) = layout([4.0, 4.0], "A closing hole", "");
    let first = decode(&d.join("skin_0.png"));
    let last = decode(&d.join("skin_8.png"));
    assert_eq!((first.0, first.1), (w, h));
    let centre = px(&first, field[0] + field[2] / 2, field[1] + field[3] / 2);
    let corner = px(&first, field[0] + 4, field[1] + 4);
    assert!(
        centre[0] as u32 > 2 * centre[1] as u32 && centre[0] < 170,
        "bed {centre:?}"
    );
    assert!(
        corner[0] > 170 && corner[1] > 120 && corner[1] > corner[2],
        "skin {corner:?}"
    );
    let reddish = |img: &(u32, u32, Vec<u8>)| {
        region(img, field)
            .iter()
            .filter(|p| p[0] as u32 > 2 * p[1] as u32 && p[0] < 170)
            .count()
    };
    assert!(reddish(&last) < reddish(&first) / 2, "the bed shrinks");
    let html = std::fs::read_to_string(d.join("index.html")).unwrap();
    assert!(
        html.contains(&format!("t50_h = {t50:.3} h")),
        "read-out in the report"
    );
    assert!(html.contains("What it is"), "the explanation");
}

#[test]
fn a_compare_run_plots_both_sides_and_reads_out_the_difference() {
    let ctx = gpu_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(CLOSING);
    let c = exoderm::compare::run(ctx, &sc, &options(dir.path(), None)).unwrap();
    let d = dir.path();
    let t = |k: usize| c.sides[k].crossings[0].1.expect("both sides reach 50%");
    let (a, b) = (t(0), t(1));
    assert!(b < a - 0.3, "the boost closes sooner: {a} vs {b}");
    // The read-out (from the closure series) agrees with each run's own crossing (from
    // its metric tracker) to the printed digits.
    let want = format!(
        "50% closed: plain {a:.2} h, boosted {b:.2} h — boosted {:.2} h sooner",
        a - b
    );
    assert!(c.readout.starts_with(&want), "{} vs {want}", c.readout);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("run.json")).unwrap()).unwrap();
    assert_eq!(json["readout"], c.readout);
    assert_eq!(json["compare"]["b"]["value"], 3.0);
    // Side B's saved scenario reproduces it: g = 3 from t = 0.
    let saved = std::fs::read_to_string(d.join("b/scenario.toml")).unwrap();
    assert!(
        exoderm::scenario::Scenario::parse(&saved, "b")
            .unwrap()
            .events
            .len()
            == 1
    );
    // Both sides on one plot: B dashed in the same colours, so the closure panel holds
    // orange (side B's closure colour) and blue.
    let plot = decode(&d.join("metrics.png"));
    let count = |c: [u8; 3]| {
        region(&plot, [0, 44, 560, 340])
            .iter()
            .filter(|p| **p == c)
            .count()
    };
    assert!(count([31, 119, 180]) > 100 && count([255, 127, 14]) > 50);
    let (links, embedded) = check_links(d, "index.html");
    assert!(
        links.contains(&"a/index.html".to_string()) && links.contains(&"b/index.html".to_string())
    );
    assert!(embedded >= 3, "plot and the last snapshots of both sides");
    check_links(d, "a/index.html");
}
