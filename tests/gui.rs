//! The desktop app, tested for real on the GPU (lavapipe in CI): egui_kittest renders every
//! preset's first frame and the main screens through wgpu and compares them with the
//! snapshots in tests/snapshots (UPDATE_SNAPSHOTS=1 rewrites them); interaction tests click
//! and drag like a user and assert on the simulation, not on pixels; the real binary runs
//! under Xvfb for a few seconds and its screenshot must show a picture.

use std::sync::Arc;

use eframe::egui::{self, pos2};
use egui_kittest::kittest::Queryable;
use egui_kittest::{Harness, SnapshotResults};
use exoderm::app::{Command, ExoApp, GuiOptions, Tool};
use exoderm::scenario::Action;

const W: f32 = 1280.0;
const H: f32 = 820.0;

fn harness(opts: GuiOptions) -> Harness<'static, ExoApp> {
    crate::common::gpu().expect("the GUI tests need a GPU adapter (lavapipe in CI)");
    let mut setup = egui_kittest::wgpu::default_wgpu_setup();
    if let eframe::egui_wgpu::WgpuSetup::CreateNew(s) = &mut setup {
        s.device_descriptor = Arc::new(exoderm::app::device_descriptor);
    }
    let mut h = Harness::builder()
        .with_size([W, H])
        .wgpu_setup(setup)
        .build_eframe(move |cc| ExoApp::new(cc, opts.clone()).expect("the app starts"));
    settle(&mut h);
    h
}

/// Frames until the app is at rest: the first frames lay out, the initial quasi-steady
/// solves finish over several frames (never in one), the legend's range arrives from the
/// GPU probe.
fn settle(h: &mut Harness<'static, ExoApp>) {
    for _ in 0..1000 {
        h.run_steps(1);
        let s = &h.state().session();
        if s.lives()
            .all(|l| l.sim.qs_settled() && l.probed.range != [0.0, 0.0])
        {
            break;
        }
    }
    h.run_steps(2);
}

fn open(name: &str) -> GuiOptions {
    GuiOptions {
        scenario: Some(name.into()),
        ..Default::default()
    }
}

/// The status line shows wall-clock frame times: masked in snapshots. Results of several
/// harnesses in one test are gathered in `all` (kittest wants one set per test).
fn snapshot(h: &mut Harness<'static, ExoApp>, name: &str, all: &mut SnapshotResults) {
    // In points of the current zoom (presentation mode scales the UI by 1.5).
    let r = h.ctx.content_rect();
    h.mask(egui::Rect::from_min_max(
        pos2(r.min.x, r.max.y - 27.0),
        r.max,
    ));
    h.snapshot(name);
    all.extend_harness(h);
}

#[test]
fn first_frame_of_every_preset() {
    let mut all = SnapshotResults::default();
    let presets = exoderm::presets::classroom();
    let names: Vec<&str> = presets.iter().map(|(p, _)| *p).collect();
    // The names scripts rely on (#13) are among them.
    for name in [
        "epidermal_wound",
        "wound_human_acute",
        "wound_diabetic_healer",
        "wound_diabetic_nonhealer",
        "wound_mouse_control",
        "wound_mouse_db",
        "burn_partial_thickness",
        "burn_full_thickness",
    ] {
        assert!(
            names
                .iter()
                .any(|p| exoderm::presets::short_name(p) == name),
            "{name} is shipped: {names:?}"
        );
    }
    for (path, _) in presets {
        let name = exoderm::presets::short_name(path);
        let mut h = harness(open(name));
        let app = h.state();
        assert_eq!(app.session().name, name);
        assert!(app.error().is_none(), "{name}: {:?}", app.error());
        let e = app.session().scenario.display.explain.as_ref();
        assert!(
            e.is_some_and(|e| !e.what.is_empty() && !e.try_.is_empty() && !e.watch.is_empty()),
            "{name} explains what you see, what to try and what to watch for"
        );
        let [lo, hi] = app.session().a.probed.range;
        assert!(
            hi > lo,
            "{name}: the shown species is not flat at t = 0 ({lo}..{hi})"
        );
        snapshot(&mut h, &format!("preset_{name}"), &mut all);
    }
    all.unwrap();
}

#[test]
fn default_screen_is_the_wound_and_compare_and_presentation_screens() {
    let mut all = SnapshotResults::default();
    let mut h = harness(GuiOptions::default());
    assert_eq!(h.state().session().name, exoderm::presets::DEFAULT);
    assert!(
        h.state().session().scenario.display.skin.is_some(),
        "the wound has a skin view"
    );
    snapshot(&mut h, "main_default", &mut all);
    let mut h = harness(GuiOptions {
        compare: true,
        ..Default::default()
    });
    assert!(h.state().session().b.is_some());
    snapshot(&mut h, "main_compare", &mut all);
    let mut h = harness(GuiOptions {
        presentation: true,
        ..Default::default()
    });
    assert!(h.state().settings().presentation);
    snapshot(&mut h, "main_presentation", &mut all);
    all.unwrap();
}

#[test]
fn play_advances_the_clock_and_pause_stops_it() {
    let mut h = harness(open("epidermal_wound"));
    assert_eq!(h.state().session().time(), 0.0);
    h.get_by_label("Play").click();
    h.run_steps(8);
    let t1 = h.state().session().time();
    assert!(h.state().session().playing);
    assert!(t1 > 0.0, "playing moves the clock");
    h.get_by_label("Pause").click();
    h.run_steps(2);
    let t2 = h.state().session().time();
    h.run_steps(4);
    assert_eq!(
        h.state().session().time(),
        t2,
        "paused: the clock stands still"
    );
    assert!(!h.state().session().playing);
    assert!(
        h.state().session().a.history.times.len() >= 2,
        "metrics were recorded while playing"
    );
}

/// The first (colour) view of side A: the views are laid out left to right, each with the
/// domain's aspect ratio.
fn first_view(app: &ExoApp) -> egui::Rect {
    let all = app.view_rect().expect("views drawn");
    let g = &app.session().scenario.grid;
    let w = all.height() * (g.extent[0] / g.extent[1]) as f32;
    egui::Rect::from_min_size(all.min, egui::vec2(w, all.height()))
}

/// The A-side value of `species` at the cell under screen point `p` of the first view.
fn value_at(app: &ExoApp, species: usize, p: egui::Pos2) -> f32 {
    let rect = first_view(app);
    let g = &app.session().scenario.grid;
    let u = (p.x - rect.min.x) / rect.width();
    let v = (p.y - rect.min.y) / rect.height();
    let i = (u * g.nx as f32) as usize;
    let j = g.ny as usize - 1 - (v * g.ny as f32) as usize;
    app.session().a.sim.read_fields().unwrap()[species][j * g.nx as usize + i]
}

#[test]
fn dragging_the_scalpel_cuts_the_field_and_records_events() {
    let mut h = harness(open("epidermal_wound"));
    let app = h.state();
    let Tool::Brush(0) = app.ui_state().tool else {
        panic!("the wound preset starts with its first brush selected")
    };
    let brush = app.session().scenario.display.brushes[0].clone();
    let (species, value) = brush.amounts.set[0];
    let rect = first_view(app);
    // A point in intact skin near the upper-left corner of the first view, then a drag.
    let p0 = rect.min + rect.size() * 0.15;
    let p1 = rect.min + rect.size() * egui::vec2(0.3, 0.15);
    let before = value_at(app, species, p0);
    assert!(before != value as f32, "the brush will change this cell");
    h.event(egui::Event::PointerMoved(p0));
    h.run_steps(1);
    h.event(egui::Event::PointerButton {
        pos: p0,
        button: egui::PointerButton::Primary,
        pressed: true,
        modifiers: Default::default(),
    });
    h.run_steps(1);
    for k in 1..=6 {
        h.event(egui::Event::PointerMoved(p0 + (p1 - p0) * (k as f32 / 6.0)));
        h.run_steps(1);
    }
    h.event(egui::Event::PointerButton {
        pos: p1,
        button: egui::PointerButton::Primary,
        pressed: false,
        modifiers: Default::default(),
    });
    h.run_steps(1);
    let app = h.state();
    assert_eq!(value_at(app, species, p0), value as f32, "cut at the start");
    assert_eq!(
        value_at(app, species, p1),
        value as f32,
        "cut along the drag"
    );
    let log = &app.session().a.log;
    assert!(log.len() >= 2, "every stroke is an event: {}", log.len());
    assert!(matches!(log[0].action, Action::Deposit { .. }));
    let text = app.session().a.scenario_with_log();
    let replay = exoderm::Scenario::parse(&text, "replay.toml").expect("the saved scenario parses");
    // The preset's own events (its treatment doses) and every stroke.
    assert_eq!(
        replay.events.len(),
        app.session().scenario.events.len() + log.len(),
        "saved back as [[event]] tables"
    );
    // A second stroke (a click), then Undo twice: each takes back one whole stroke.
    let strokes = log.len();
    let p2 = rect.min + rect.size() * egui::vec2(0.8, 0.8);
    let before2 = value_at(h.state(), species, p2);
    h.event(egui::Event::PointerMoved(p2));
    h.run_steps(1);
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton {
            pos: p2,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: Default::default(),
        });
        h.run_steps(1);
    }
    assert_eq!(value_at(h.state(), species, p2), value as f32);
    assert!(h.state().session().a.log.len() > strokes);
    h.get_by_label("Undo").click();
    h.run_steps(2);
    let app = h.state();
    assert_eq!(value_at(app, species, p2), before2, "the click is undone");
    assert_eq!(value_at(app, species, p0), value as f32, "the drag is not");
    assert_eq!(app.session().a.log.len(), strokes);
    h.event(egui::Event::Key {
        key: egui::Key::Z,
        physical_key: None,
        pressed: true,
        repeat: false,
        modifiers: egui::Modifiers::COMMAND,
    });
    h.run_steps(2);
    let app = h.state();
    assert_eq!(value_at(app, species, p0), before, "Ctrl+Z undoes the drag");
    assert!(app.session().a.log.is_empty(), "and its events");
    assert!(!app.session().undo.can_undo());
}

#[test]
fn a_parameter_slider_changes_the_running_model() {
    let mut h = harness(open("epidermal_wound"));
    let p = h.state().session().scenario.model.params[0].clone();
    let target = p
        .range
        .map(|r| 0.5 * (r[0] + r[1]))
        .unwrap_or(p.value * 2.0);
    h.get_by_role_and_label(egui::accesskit::Role::Slider, &p.name)
        .set_value_accesskit(target);
    h.run_steps(2);
    let now = h.state().session().a.sim.problem().params[0];
    assert!(
        (now - target).abs() <= 1e-6 * target.abs().max(1.0),
        "{}: slider set {target}, model has {now}",
        p.name
    );
    assert!(
        h.state()
            .session()
            .a
            .log
            .iter()
            .any(|e| matches!(&e.action, Action::Param { param: 0, .. })),
        "the change is recorded"
    );
}

/// The value of parameter `k` in `s` as written.
fn param(s: &exoderm::Scenario, k: usize) -> f64 {
    s.model.params[k].value
}

#[test]
fn compare_runs_two_simulations_on_one_clock_with_one_difference() {
    let mut h = harness(open("epidermal_wound"));
    h.get_by_role_and_label(egui::accesskit::Role::CheckBox, "Compare")
        .click();
    settle(&mut h);
    let app = h.state();
    let b = app.session().b.as_ref().expect("side B exists");
    let d = app.session().difference.clone().expect("a difference");
    let pa = app.session().a.sim.problem().params[d.param];
    let pb = b.sim.problem().params[d.param];
    assert_eq!(pb, d.value);
    assert_ne!(pa, pb, "the sides differ in {}", d.param);
    h.get_by_label("Play").click();
    h.run_steps(10);
    let app = h.state();
    let (ta, tb) = (
        app.session().a.sim.time(),
        app.session().b.as_ref().unwrap().sim.time(),
    );
    assert!(app.session().time() > 0.0);
    assert!(
        (ta - tb).abs() <= 2.0 * app.session().a.sim.plan().dt,
        "playing, the sides are at most a frame's work apart: {ta} vs {tb}"
    );
    h.get_by_label("Pause").click();
    // The side behind catches up (a step and its quasi-steady solve take a few frames).
    for _ in 0..100 {
        h.run_steps(1);
        let s = h.state().session();
        if s.a.sim.time() == s.b.as_ref().unwrap().sim.time() {
            break;
        }
    }
    let app = h.state();
    let tb = app.session().b.as_ref().unwrap().sim.time();
    assert_eq!(app.session().a.sim.time(), tb, "one clock");
    // B − A: a third view, its range ± the largest difference, read back from the GPU.
    h.get_by_label("show B − A").click();
    for _ in 0..50 {
        h.run_steps(1);
        if h.state().session().delta.as_ref().unwrap().probed.range[1] > 0.0 {
            break;
        }
    }
    let app = h.state();
    let [lo, hi] = app.session().delta.as_ref().unwrap().probed.range;
    let (fa, fb) = (
        app.session().a.sim.read_fields().unwrap(),
        app.session().b.as_ref().unwrap().sim.read_fields().unwrap(),
    );
    let s = app.ui_state().species;
    let m = fa[s]
        .iter()
        .zip(&fb[s])
        .fold(0.0f32, |m, (a, b)| m.max((b - a).abs()));
    assert!(m > 0.0, "the sides differ after playing");
    assert_eq!([lo, hi], [-m, m], "the B − A view's range");
    h.get_by_role_and_label(egui::accesskit::Role::CheckBox, "Compare")
        .click();
    h.run_steps(2);
    assert!(h.state().session().b.is_none(), "compare toggles off");
}

#[test]
fn a_broken_scenario_is_shown_and_the_old_one_keeps_running() {
    let mut h = harness(open("gray_scott"));
    h.state_mut().apply(Command::Play(true));
    h.run_steps(3);
    let t = h.state().session().time();
    let broken = exoderm::presets::find("gray_scott")
        .unwrap()
        .1
        .replace("[reactions]", "[reactions]\n# broken on purpose\n")
        + "\n[[species]]\nname = \"w\"\ninitial = \"sqrt(\"\n";
    h.state_mut().apply(Command::OpenText {
        text: broken,
        label: "broken.toml".into(),
    });
    h.run_steps(3);
    let app = h.state();
    let err = app.error().expect("the error is shown").to_string();
    assert!(err.contains("broken.toml"), "names the file: {err}");
    assert_eq!(
        app.session().name,
        "gray_scott",
        "the previous simulation stays"
    );
    assert!(app.session().time() > t, "and keeps running");
    h.state_mut()
        .apply(Command::Open("no/such/file.toml".into()));
    h.run_steps(1);
    assert!(h.state().error().unwrap().contains("no/such/file.toml"));
}

/// `exoderm run --resume DIR` on a folder the app saved; it must finish the run.
fn resume_headless(dir: &std::path::Path) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_exoderm"))
        .args(["run", "--quiet", "--resume"])
        .arg(dir)
        .env("XDG_RUNTIME_DIR", crate::common::runtime_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn saved_state_resumes_headless() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(open("gray_scott"));
    let tiny = "[model]\nbuiltin = \"fisher\"\n[grid]\nsize = [32, 16]\nextent = [\"8 mm\", \"4 mm\"]\n[time]\nend = \"3 h\"\noutput_every = \"1 h\"\n";
    h.state_mut().apply(Command::OpenText {
        text: tiny.into(),
        label: "tiny.toml".into(),
    });
    h.run_steps(2);
    assert_eq!(h.state().session().name, "tiny.toml");
    h.state_mut()
        .apply(Command::SetCaptureDir(dir.path().display().to_string()));
    h.state_mut().apply(Command::Step);
    h.run_steps(1);
    let t = h.state().session().time();
    assert!(t > 0.0);
    h.state_mut().apply(Command::SaveState);
    h.run_steps(1);
    assert!(h.state().error().is_none(), "{:?}", h.state().error());
    let saved = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("exoderm-state")
        })
        .expect("a state folder");
    resume_headless(&saved);
    let csv = std::fs::read_to_string(saved.join("metrics.csv")).unwrap();
    let times: Vec<f64> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert!(
        (times[0] - t).abs() < 1e-9,
        "first row is the saved state at {t}: {times:?}"
    );
    assert!(
        times.len() >= 2 && times.windows(2).all(|w| w[1] > w[0]),
        "{times:?}"
    );
    let json = std::fs::read_to_string(saved.join("run.json")).unwrap();
    assert!(json.contains("\"completed\""));
}

#[test]
fn saving_in_compare_mode_saves_both_sides_and_b_keeps_its_difference() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(open("gray_scott"));
    let tiny = "[model]\nbuiltin = \"fisher\"\n[grid]\nsize = [32, 16]\nextent = [\"8 mm\", \"4 mm\"]\n[time]\nend = \"3 h\"\noutput_every = \"1 h\"\n";
    h.state_mut().apply(Command::OpenText {
        text: tiny.into(),
        label: "tiny.toml".into(),
    });
    h.state_mut()
        .apply(Command::SetCaptureDir(dir.path().display().to_string()));
    h.get_by_role_and_label(egui::accesskit::Role::CheckBox, "Compare")
        .click();
    settle(&mut h);
    let d = h
        .state()
        .session()
        .difference
        .clone()
        .expect("a difference");
    h.state_mut().apply(Command::Step);
    h.run_steps(3);
    h.state_mut().apply(Command::SaveState);
    assert!(h.state().error().is_none(), "{:?}", h.state().error());
    let mut saved: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    saved.sort();
    assert_eq!(saved.len(), 2, "one folder per side: {saved:?}");
    for folder in &saved {
        resume_headless(folder);
    }
    let scenario_of = |label: &str| {
        let folder = saved
            .iter()
            .find(|p| p.file_name().unwrap().to_string_lossy().contains(label))
            .unwrap_or_else(|| panic!("a folder for {label}: {saved:?}"));
        exoderm::Scenario::load(&folder.join("scenario.toml")).unwrap()
    };

    let label = |l: &str| l.replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    let (a, b) = (scenario_of(&label(&d.a)), scenario_of(&label(&d.b)));
    assert!(a.events.is_empty());
    assert!(
        matches!(&b.events[..], [exoderm::scenario::Event { at, action: exoderm::scenario::Action::Param { param, value } }] if *at == 0.0 && *param == d.param && *value == d.value),
        "side B's difference is saved as an event at 0: {:?}",
        b.events
    );
    assert_eq!(
        param(&a, d.param),
        param(&b, d.param),
        "the base parameter is the same"
    );
}

/// Decodes a PNG into (width, height, RGB(A) bytes, channels).
fn decode_png(path: &std::path::Path) -> (u32, u32, Vec<u8>, usize) {
    let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf, info.color_type.samples())
}

#[test]
fn the_real_binary_opens_a_window_under_xvfb_and_shows_the_wound() {
    crate::common::gpu().expect("needs a GPU adapter");
    let home = tempfile::tempdir().unwrap();
    let shot = home.path().join("shot.png");
    let status = std::process::Command::new("xvfb-run")
        .args(["-a", "-s", "-screen 0 1280x820x24"])
        .arg(env!("CARGO_BIN_EXE_exoderm"))
        .args(["gui", "--play", "--exit-after", "5", "--screenshot"])
        .arg(&shot)
        .env("XDG_RUNTIME_DIR", crate::common::runtime_dir())
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path())
        .output()
        .unwrap_or_else(|e| panic!("xvfb-run is needed for this test (apt-get install xvfb xauth; ./x test installs it): {e}"));
    assert!(
        status.status.success(),
        "exoderm gui failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let (w, h, px, ch) = decode_png(&shot);
    assert!(w >= 640 && h >= 400, "{w}×{h}");
    let colours: std::collections::HashSet<&[u8]> = px.chunks_exact(ch).map(|p| &p[..3]).collect();
    assert!(
        colours.len() > 200,
        "a real picture, not a blank window: {} colours",
        colours.len()
    );
}

#[test]
fn without_a_display_the_app_says_so_in_one_line() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_exoderm"))
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("WAYLAND_SOCKET")
        .env("XDG_RUNTIME_DIR", crate::common::runtime_dir())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("no display") && err.contains("exoderm run"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
}

#[test]
fn a_side_that_blows_up_stops_and_the_other_keeps_the_clock() {
    let mut h = harness(open("gray_scott"));
    // u' = r·u² blows up in finite time (at t = 1/(r·u0) = 2 h for side B), side A (r = 0)
    // just diffuses.
    let text = "[grid]\nsize = [32, 16]\nextent = [\"8 mm\", \"4 mm\"]\n[time]\nend = \"10 h\"\noutput_every = \"1 h\"\n\
        [[species]]\nname = \"u\"\ndiffusion = 0.01\ninitial = \"0.5\"\n\
        [reactions]\nu = \"r * u * u\"\n[params]\nr = 0.0\n\
        [view]\ncompare = { param = \"r\", value = 1.0, a = \"calm\", b = \"runaway\" }\n";
    h.state_mut().apply(Command::OpenText {
        text: text.into(),
        label: "runaway.toml".into(),
    });
    h.run_steps(2);
    h.get_by_role_and_label(egui::accesskit::Role::CheckBox, "Compare")
        .click();
    settle(&mut h);
    h.state_mut().apply(Command::SetSpeed(50.0));
    h.get_by_label("Play").click();
    for _ in 0..600 {
        h.run_steps(1);
        if h.state().session().time() > 4.0 {
            break;
        }
    }
    let s = &h.state().session();
    let b = s.b.as_ref().unwrap();
    let why = b.stopped.as_deref().expect("side B stopped");
    assert!(why.contains("species `u`"), "names the species: {why}");
    // The exact solution blows up at t = 2 h; explicit steps, shrinking as the rate grows,
    // lag a little behind. B must not stop before that, and its message's window ends where
    // it stopped (how far past 2 h that is depends on how the frames cut the work).
    let time_after = |key: &str| {
        let rest = why
            .split(key)
            .nth(1)
            .unwrap_or_else(|| panic!("`{key}` in {why}"));
        let words: Vec<&str> = rest.split_whitespace().take(2).collect();
        let text = words.join(" ").trim_end_matches(['.', ',']).to_string();
        exoderm::units::parse(&text, exoderm::units::Dimension::Time)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
    };
    let (from, to) = (time_after("between t = "), time_after(" and t = "));
    assert!(
        from >= 1.9 && from <= to && to <= b.sim.time() + 1e-3,
        "B stopped at its blow-up: {from}..{to} h at t = {} ({why})",
        b.sim.time()
    );
    assert!(s.a.stopped.is_none());
    assert!(s.time() > 4.0, "the clock follows side A: {}", s.time());
    assert_eq!(s.time(), s.a.sim.time());
}

/// The tissue examples (#12: maps, doses, varying diffusion, taxis, derived metrics) open
/// and run in the app; the derived columns (closure %, exposure) are plotted with the rest.
#[test]
fn the_tissue_examples_run_in_the_app() {
    for name in ["irregular_wound", "chemotaxis", "layered_skin"] {
        let mut h = harness(open(name));
        assert!(
            h.state().error().is_none(),
            "{name}: {:?}",
            h.state().error()
        );
        h.get_by_label("Play").click();
        h.run_steps(8);
        h.get_by_label("Pause").click();
        h.run_steps(2);
        let s = h.state().session();
        assert!(s.time() > 0.0, "{name}: the clock moved");
        assert!(
            h.state().error().is_none(),
            "{name}: {:?}",
            h.state().error()
        );
        let model = &s.scenario.model;
        let history = &s.a.history;
        assert!(history.times.len() >= 2, "{name}: metrics recorded");
        assert!(
            history
                .rows
                .iter()
                .all(|r| r.len() == model.metric_names().len())
        );
        if name == "irregular_wound" {
            // The first session went in at t = 0: the total in the open wound is the dose.
            let exo = model
                .metric_names()
                .iter()
                .position(|n| n == "exo_total")
                .unwrap();
            let first = history.rows[0][exo];
            assert!(
                (first - 2.0).abs() < 1e-3,
                "the first session's total: {first}"
            );
            let closure = model
                .metric_names()
                .iter()
                .position(|n| n == "closure_pct")
                .unwrap();
            assert_eq!(history.rows[0][closure], 0.0);
        }
    }
}
