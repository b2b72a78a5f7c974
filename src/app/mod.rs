//! The desktop app (feature "gui"): eframe with the wgpu renderer. The simulation runs on
//! eframe's own device, so the field views are GPU textures written by compute passes and
//! drawn by egui directly — no per-frame readback. Everything about the model (species,
//! parameters, units, docs, metrics, brushes, skin roles, classroom text) comes from the
//! scenario, so new biology needs no UI changes.

pub mod capture;
mod delta;
mod field_ui;
pub mod live;
mod panels;
mod plot_ui;
pub mod session;
pub mod settings;
mod undo;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use eframe::egui_wgpu::{self, RenderState};
use eframe::{egui, wgpu};

use crate::engine::render::Look;
use crate::scenario::Amounts;
use capture::Recorder;
use session::Session;
use settings::{Settings, ViewMode};

/// Command-line choices for the window.
#[derive(Debug, Clone, Default)]
pub struct GuiOptions {
    /// A scenario file or shipped preset name; `None`: the last one, else the default wound.
    pub scenario: Option<String>,
    /// Close after this many seconds (smoke tests, demos).
    pub exit_after: Option<f64>,
    /// Save a screenshot of the window here just before closing (with `exit_after`).
    pub screenshot: Option<PathBuf>,
    pub presentation: bool,
    /// Start playing at once.
    pub play: bool,
    /// Start in compare mode with the scenario's suggested difference.
    pub compare: bool,
    /// With `compare`: show the B − A view too.
    pub delta: bool,
}

/// The device eframe should open: the adapter's full limits, since a 16-species model
/// binds 9 storage buffers per stage (the WebGPU default allows 8) and big grids need big
/// buffers.
pub fn device_descriptor(adapter: &wgpu::Adapter) -> wgpu::DeviceDescriptor<'static> {
    wgpu::DeviceDescriptor {
        label: Some("exoderm.gui.device"),
        required_features: wgpu::Features::empty(),
        required_limits: adapter.limits(),
        ..Default::default()
    }
}

/// eframe's wgpu setup with [`device_descriptor`].
pub fn wgpu_setup() -> egui_wgpu::WgpuSetup {
    let mut setup = egui_wgpu::WgpuSetupCreateNew::without_display_handle();
    setup.power_preference = wgpu::PowerPreference::HighPerformance;
    setup.device_descriptor = Arc::new(device_descriptor);
    egui_wgpu::WgpuSetup::CreateNew(setup)
}

/// Opens the window. Without a display it fails in one line that points to `exoderm run`.
pub fn run(opts: GuiOptions) -> anyhow::Result<()> {
    let has_display = ["DISPLAY", "WAYLAND_DISPLAY", "WAYLAND_SOCKET"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
    if cfg!(target_os = "linux") && !has_display {
        anyhow::bail!(
            "no display to open the exoderm window on (DISPLAY and WAYLAND_DISPLAY are unset); run a scenario headless with `exoderm run SCENARIO --out DIR` (`exoderm presets` lists the shipped ones)"
        );
    }
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("exoderm")
            .with_inner_size([1280.0, 820.0])
            .with_min_inner_size([640.0, 420.0])
            .with_drag_and_drop(true),
        wgpu_options: egui_wgpu::WgpuConfiguration {
            wgpu_setup: wgpu_setup(),
            ..Default::default()
        },
        ..Default::default()
    };
    eframe::run_native(
        "exoderm",
        native,
        Box::new(move |cc| Ok(Box::new(ExoApp::new(cc, opts)?))),
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "cannot open the exoderm window: {e}; run headless with `exoderm run SCENARIO --out DIR`"
        )
    })
}

/// What a brush stroke does.
#[derive(Debug, Clone, PartialEq)]
pub enum Tool {
    /// Drag pans, scroll zooms.
    Pan,
    /// One of the scenario's named brushes.
    Brush(usize),
    /// Set any species to a value.
    SetSpecies(usize),
}

/// Which side(s) a brush stroke goes to in compare mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    A,
    B,
    Both,
}

/// A screenshot delivered by eframe: (index into `shot_purposes`, the image).
type ArrivedShot = (usize, Arc<egui::ColorImage>);

/// What a requested screenshot is for.
enum Shot {
    Save(PathBuf),
    Record,
    Exit(PathBuf),
}

pub struct ExoApp {
    pub settings: Settings,
    pub session: Session,
    rs: RenderState,
    /// The last error (a scenario that failed to load, a write that failed), shown in a
    /// banner; the running simulation is unaffected.
    pub error: Option<String>,
    notice: Option<(String, Instant)>,
    pub open_path: String,
    pub tool: Tool,
    pub side: Side,
    pub set_value: f64,
    /// The species shown in the colour view.
    pub species: usize,
    pub range: [f32; 2],
    /// Colours over `range` (else over the field's own min..max, every frame). On when the
    /// species declares a range: a closing wound then fades to the skin colour instead of
    /// being re-stretched until the last damaged cell looks like an open hole.
    pub fixed_range: bool,
    /// Zoom (1 = whole domain) and the view centre in texture coordinates (0..1).
    pub zoom: f32,
    pub center: egui::Vec2,
    hover: Option<[u32; 2]>,
    last_frame: Instant,
    /// Frame time, smoothed (ms).
    pub frame_ms: f64,
    recorder: Option<Recorder>,
    shots: Arc<Mutex<Vec<ArrivedShot>>>,
    shot_purposes: Vec<Shot>,
    /// Where the field views were drawn (for cropping recordings).
    view_rect: Option<egui::Rect>,
    started: Instant,
    exit_after: Option<f64>,
    exit_shot: Option<PathBuf>,
    exiting: bool,
    /// Frames drawn since start, and their intervals in ms (for the exit summary).
    frames: u64,
    frame_times: Vec<f64>,
    /// Presentation mode as last applied to the window (None before the first frame).
    presenting: Option<bool>,
    /// The difference being edited for compare mode.
    pub diff_param: String,
    pub diff_value: f64,
}

impl ExoApp {
    pub fn new(cc: &eframe::CreationContext<'_>, opts: GuiOptions) -> anyhow::Result<ExoApp> {
        let rs = cc.wgpu_render_state.clone().ok_or_else(|| {
            anyhow::anyhow!("the exoderm window needs eframe's wgpu renderer (no wgpu device)")
        })?;
        let mut settings: Settings = cc
            .storage
            .and_then(|s| eframe::get_value(s, settings::KEY))
            .unwrap_or_default();
        if opts.presentation {
            settings.presentation = true;
        }
        if opts.delta {
            settings.show_delta = true;
        }
        // The scenario asked for, else the last one, else the default wound; a broken
        // last one falls back to the default with the error shown.
        let wanted = opts
            .scenario
            .clone()
            .or_else(|| settings.last_scenario.clone())
            .unwrap_or_else(|| crate::presets::DEFAULT.into());
        let mut error = None;
        let loaded = crate::presets::load(&wanted).and_then(|s| Session::new(&rs, s, &wanted));
        let session = match loaded {
            Ok(s) => s,
            Err(e) if opts.scenario.is_none() => {
                error = Some(format!("{wanted}: {e}"));
                Session::new(
                    &rs,
                    crate::presets::load(crate::presets::DEFAULT)?,
                    crate::presets::DEFAULT,
                )?
            }
            Err(e) => return Err(e.into()),
        };
        let mut app = ExoApp {
            settings,
            rs,
            error,
            notice: None,
            open_path: String::new(),
            tool: Tool::Pan,
            side: Side::Both,
            set_value: 0.0,
            species: 0,
            range: [0.0, 1.0],
            fixed_range: false,
            zoom: 1.0,
            center: egui::vec2(0.5, 0.5),
            hover: None,
            last_frame: Instant::now(),
            frame_ms: 0.0,
            recorder: None,
            shots: Arc::new(Mutex::new(vec![])),
            shot_purposes: vec![],
            view_rect: None,
            started: Instant::now(),
            exit_after: opts.exit_after,
            exit_shot: opts.screenshot.clone(),
            exiting: false,
            frames: 0,
            frame_times: vec![],
            presenting: None,
            diff_param: String::new(),
            diff_value: 0.0,
            session,
        };
        app.adopt_session();
        if opts.compare {
            app.toggle_compare();
        }
        app.session.set_playing(opts.play);
        Ok(app)
    }

    /// The render state (device, queue, egui renderer) the app runs on.
    pub fn render_state(&self) -> &RenderState {
        &self.rs
    }

    /// Resets view choices to what a freshly loaded scenario says.
    fn adopt_session(&mut self) {
        let s = &self.session.scenario;
        self.species = s.display.species;
        let declared = s.model.species[self.species].range;
        self.fixed_range = declared.is_some();
        self.range = declared
            .map(|r| [r[0] as f32, r[1] as f32])
            .unwrap_or([0.0, 1.0]);
        self.tool = if s.display.brushes.is_empty() {
            Tool::Pan
        } else {
            Tool::Brush(0)
        };
        self.zoom = 1.0;
        self.center = egui::vec2(0.5, 0.5);
        if let Some(d) = self.session.default_difference() {
            self.diff_param = d.param;
            self.diff_value = d.value;
        }
        self.settings.last_scenario = Some(self.session.name.clone());
    }

    /// Loads a scenario (file path or preset name). On failure the current one keeps
    /// running and the error is shown.
    pub fn open(&mut self, name: &str) {
        self.switch_to(crate::presets::load(name), name);
    }

    /// Loads scenario text (drag-and-drop of contents); same rules as [`Self::open`].
    pub fn open_text(&mut self, text: &str, label: &str) {
        self.switch_to(crate::Scenario::parse(text, label), label);
    }

    /// Replaces the running session with `scenario`, or keeps it and shows why not.
    fn switch_to(&mut self, scenario: crate::Result<crate::Scenario>, label: &str) {
        match scenario.and_then(|s| Session::new(&self.rs, s, label)) {
            Ok(new) => {
                for l in self.session.lives() {
                    l.release(&self.rs);
                }
                self.session = new;
                self.error = None;
                self.adopt_session();
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    pub fn toggle_compare(&mut self) {
        let result = if self.session.b.is_some() {
            self.session.stop_compare(&self.rs)
        } else {
            let mut d = self
                .session
                .default_difference()
                .unwrap_or(session::Difference {
                    param: String::new(),
                    value: 0.0,
                    a: "A".into(),
                    b: "B".into(),
                });
            if d.param.is_empty() {
                self.error = Some("this model has no parameters to compare".into());
                return;
            }
            if d.param != self.diff_param || d.value != self.diff_value {
                let p = self.diff_param.clone();
                let v = self.diff_value;
                d = session::Difference {
                    a: format!("{p} as in the scenario"),
                    b: format!("{p} = {v}"),
                    param: p,
                    value: v,
                };
            }
            self.session.start_compare(&self.rs, d)
        };
        if let Err(e) = result {
            self.error = Some(e.to_string());
        }
    }

    pub fn reset(&mut self, replay: bool) {
        if let Err(e) = self.session.reset(&self.rs, replay) {
            self.error = Some(e.to_string());
        }
    }

    /// A stroke at domain point `p` (mm) on `side`.
    pub fn paint(&mut self, p: [f64; 2], side: Side) {
        let s = &self.session.scenario;
        let amounts = match &self.tool {
            Tool::Pan => return,
            Tool::Brush(i) => {
                let Some(b) = s.display.brushes.get(*i) else {
                    return;
                };
                let k = self.settings.brush_amount;
                Amounts {
                    set: b.amounts.set.iter().map(|&(s, v)| (s, v * k)).collect(),
                    add: b.amounts.add.iter().map(|&(s, v)| (s, v * k)).collect(),
                }
            }
            Tool::SetSpecies(sp) => Amounts {
                set: vec![(*sp, self.set_value)],
                add: vec![],
            },
        };
        let radius = self.settings.brush_radius * s.grid.extent[0];
        let targets: Vec<bool> = vec![side != Side::B, side != Side::A && self.session.b.is_some()];
        for (k, on) in targets.into_iter().enumerate() {
            let session = &mut self.session;
            let live = match (k, session.b.as_mut()) {
                (0, _) => &mut session.a,
                (_, Some(b)) => b,
                _ => continue,
            };
            let result = if on {
                session
                    .undo
                    .before_paint(k, live)
                    .and_then(|()| live.paint(p, radius, &amounts))
            } else {
                Ok(())
            };
            if let Err(e) = result {
                self.error = Some(e.to_string());
            }
        }
    }

    /// Takes back the last brush stroke (the Undo button, Ctrl+Z).
    pub fn undo(&mut self) {
        match self.session.undo_stroke() {
            Ok(()) => self.notify("undid the last brush stroke"),
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    /// Changes a parameter on side A (and B unless it is B's difference).
    pub fn set_param(&mut self, name: &str, value: f64) {
        let diff = self.session.difference.as_ref().map(|d| d.param.clone());
        let mut result = self.session.a.set_param(name, value);
        if let Some(b) = self.session.b.as_mut()
            && diff.as_deref() != Some(name)
        {
            result = result.and(b.set_param(name, value));
        }
        if let Err(e) = result {
            self.error = Some(e.to_string());
        }
    }

    pub fn notify(&mut self, text: impl Into<String>) {
        self.notice = Some((text.into(), Instant::now()));
    }

    fn request_shot(&mut self, ctx: &egui::Context, purpose: Shot) {
        let k = self.shot_purposes.len();
        self.shot_purposes.push(purpose);
        let shots = self.shots.clone();
        ctx.request_screenshot(move |img| {
            if let Ok(mut s) = shots.lock() {
                s.push((k, img));
            }
        });
    }

    pub fn screenshot(&mut self, ctx: &egui::Context) {
        let path = capture::stamped(&self.settings.capture_dir, "exoderm", ".png");
        self.request_shot(ctx, Shot::Save(path));
    }

    pub fn toggle_recording(&mut self) {
        match self.recorder.take() {
            Some(r) => match r.finish() {
                Ok(p) => self.notify(format!("recording saved: {}", p.display())),
                Err(e) => self.error = Some(e.to_string()),
            },
            None => {
                let dir = &self.settings.capture_dir;
                let r = if self.settings.record_gif {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| {
                            crate::Error::io("cannot create", std::path::Path::new(dir), e)
                        })
                        .map(|_| Recorder::gif(capture::stamped(dir, "exoderm", ".gif")))
                } else {
                    Recorder::pngs(capture::stamped(dir, "exoderm", ""))
                };
                match r {
                    Ok(r) => self.recorder = Some(r),
                    Err(e) => self.error = Some(e.to_string()),
                }
            }
        }
    }

    /// Where the field views were drawn last frame (screen points).
    pub fn view_rect(&self) -> Option<egui::Rect> {
        self.view_rect
    }

    pub fn recording(&self) -> Option<&Recorder> {
        self.recorder.as_ref()
    }

    /// Saves each side as a run folder `exoderm run --resume DIR` continues: the scenario
    /// with the interventions so far (side B's difference included), the state now (metrics
    /// row, NPY fields) and a checkpoint. In compare mode the folder names carry the labels.
    pub fn save_state(&mut self) {
        let compare = self.session.b.is_some();
        let capture_dir = self.settings.capture_dir.clone();
        let mut saved = vec![];
        let session = &mut self.session;
        for live in std::iter::once(&mut session.a).chain(session.b.as_mut()) {
            let prefix = if compare {
                let label: String = live
                    .label
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                format!("exoderm-state-{label}")
            } else {
                "exoderm-state".into()
            };
            let dir = capture::stamped(&capture_dir, &prefix, "");
            match save_state(live, &dir) {
                Ok(()) => saved.push(dir.display().to_string()),
                Err(e) => {
                    self.error = Some(e.to_string());
                    return;
                }
            }
        }
        self.notify(format!(
            "saved: continue with `exoderm run --resume {}`",
            saved.join("` / `")
        ));
    }

    /// Handles screenshots that arrived since the last frame.
    fn take_shots(&mut self, ctx: &egui::Context) {
        let arrived: Vec<ArrivedShot> = match self.shots.lock() {
            Ok(mut s) => s.drain(..).collect(),
            Err(_) => return,
        };
        let ppp = ctx.pixels_per_point();
        for (k, img) in arrived {
            let result = match self.shot_purposes.get(k) {
                Some(Shot::Save(path)) => std::fs::create_dir_all(&self.settings.capture_dir)
                    .map_err(|e| crate::Error::io("cannot create", path, e))
                    .and_then(|_| capture::save_png(&img, path))
                    .map(|_| Some(format!("screenshot saved: {}", path.display()))),
                Some(Shot::Record) => match (&mut self.recorder, self.view_rect) {
                    (Some(r), Some(rect)) => {
                        r.push(&capture::crop(&img, rect, ppp), 4).map(|_| None)
                    }
                    _ => Ok(None),
                },
                Some(Shot::Exit(path)) => {
                    let r = capture::save_png(&img, path);
                    ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                    r.map(|_| None)
                }
                None => Ok(None),
            };
            match result {
                Ok(Some(n)) => self.notify(n),
                Ok(None) => {}
                Err(e) => self.error = Some(e.to_string()),
            }
        }
    }

    /// What the colour view draws.
    pub fn look(&self) -> Look {
        let s = &self.session.scenario;
        Look::Colormap {
            species: self.species,
            colormap: self
                .settings
                .colormap
                .clone()
                .unwrap_or_else(|| s.display.colormap.clone()),
            range: self.fixed_range.then_some(self.range),
        }
    }

    /// Encodes every view and probe for this frame (one submit, before egui draws).
    fn encode_views(&mut self) {
        let look = self.look();
        let mut enc = self
            .rs
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("exoderm.gui.views"),
            });
        let hover = self.hover;
        let rs = self.rs.clone();
        let requested: Vec<bool> = self
            .session
            .lives_mut()
            .map(|l| l.encode_views(&rs, &mut enc, &look, hover))
            .collect();
        let session = &mut self.session;
        let delta_requested = match (&mut session.delta, &session.b) {
            (Some(d), Some(b)) if self.settings.show_delta => {
                d.encode(&rs, &mut enc, &session.a.sim, &b.sim, self.species, None)
            }
            _ => false,
        };
        self.rs.queue.submit([enc.finish()]);
        for (l, r) in self.session.lives_mut().zip(requested) {
            l.after_submit(r);
        }
        if let Some(d) = &mut self.session.delta {
            d.after_submit(delta_requested);
        }
    }

    /// The whole frame (also what the UI tests drive).
    pub fn frame_ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.frames += 1;
        let now = Instant::now();
        let wall_dt = now.duration_since(self.last_frame).as_secs_f64();
        self.last_frame = now;
        if self.frames > 2 && self.frame_times.len() < 1 << 20 {
            self.frame_times.push(wall_dt * 1e3);
        }
        self.frame_ms = if self.frame_ms == 0.0 {
            wall_dt * 1e3
        } else {
            0.9 * self.frame_ms + 0.1 * wall_dt * 1e3
        };
        ctx.set_zoom_factor(if self.settings.presentation { 1.5 } else { 1.0 });
        // Presenting is full screen; leaving it gives the window back.
        if self.presenting != Some(self.settings.presentation) {
            if self.presenting.is_some() || self.settings.presentation {
                ctx.send_viewport_cmd(egui::ViewportCommand::Fullscreen(
                    self.settings.presentation,
                ));
            }
            self.presenting = Some(self.settings.presentation);
        }
        for l in self.session.lives_mut() {
            l.poll_probe(&self.rs.device);
        }
        if let Some(d) = &mut self.session.delta {
            d.poll(&self.rs.device);
        }
        self.take_shots(&ctx);
        let dropped: Vec<egui::DroppedFileHandle> = ctx.input(|i| i.raw.dropped_files.clone());
        for f in dropped {
            let path = f.path().display().to_string();
            if f.path().exists() {
                self.open(&path);
            } else {
                match f.bytes() {
                    Ok(bytes) => self.open_text(&String::from_utf8_lossy(&bytes), &path),
                    Err(e) => self.error = Some(format!("{path}: {e}")),
                }
            }
        }
        self.session.tick(wall_dt);
        panels::top_ui(self, ui);
        panels::status_ui(self, ui);
        if !self.settings.presentation || self.settings.show_explain {
            panels::side_ui(self, ui);
        }
        if self.settings.show_plot {
            plot_ui::plot_panel_ui(self, ui);
        }
        egui::CentralPanel::default().show(ui, |ui| {
            let (rect, hover) = field_ui::views_ui(self, ui);
            self.view_rect = rect;
            self.hover = hover;
        });
        if !ctx.input(|i| i.pointer.primary_down()) {
            self.session.undo.end_stroke();
        }
        self.encode_views();
        if self.recorder.is_some() && self.session.playing {
            self.request_shot(&ctx, Shot::Record);
        }
        if let Some(limit) = self.exit_after
            && !self.exiting
            && self.started.elapsed().as_secs_f64() >= limit
        {
            self.exiting = true;
            eprintln!("{}", self.summary());
            match self.exit_shot.clone() {
                Some(p) => self.request_shot(&ctx, Shot::Exit(p)),
                None => ctx.send_viewport_cmd(egui::ViewportCommand::Close),
            }
        }
        if self.session.playing || self.recorder.is_some() || self.exit_after.is_some() {
            ctx.request_repaint();
        } else {
            // Probes and notices settle over the next frames.
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
    }

    /// One line on how the session went: frames, frame time, simulation throughput.
    pub fn summary(&self) -> String {
        let secs = self.started.elapsed().as_secs_f64();
        let s = &self.session;
        let c = s.a.sim.counters();
        let cells = s.scenario.grid.cells() as f64 * s.lives().count() as f64;
        format!(
            "exoderm: {} frames in {secs:.1} s (frame ms: median {:.1}, p95 {:.1}, max {:.1}; the first 3 not counted) · {}×{} × {} · t = {} · {} steps, {:.3e} cell-updates/s while stepping",
            self.frames,
            percentile(&self.frame_times, 0.5),
            percentile(&self.frame_times, 0.95),
            percentile(&self.frame_times, 1.0),
            s.scenario.grid.nx,
            s.scenario.grid.ny,
            s.lives().count(),
            crate::units::format_time(s.time()),
            c.steps,
            if c.seconds > 0.0 {
                c.steps as f64 * cells / c.seconds
            } else {
                0.0
            },
        )
    }

    pub fn notice(&self) -> Option<&str> {
        self.notice
            .as_ref()
            .filter(|(_, t)| t.elapsed().as_secs_f64() < 6.0)
            .map(|(n, _)| n.as_str())
    }

    pub fn view_mode(&self) -> ViewMode {
        if self.session.scenario.display.skin.is_none() {
            ViewMode::Colormap
        } else {
            self.settings.view_mode
        }
    }
}

/// The `q` quantile (0..=1, nearest rank) of `v`; 0 when empty.
fn percentile(v: &[f64], q: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(((v.len() as f64 - 1.0) * q).round().max(0.0) as usize)
        .copied()
        .unwrap_or(0.0)
}

/// Writes a resumable run folder for `live` (see [`ExoApp::save_state`]).
pub fn save_state(live: &mut live::Live, dir: &std::path::Path) -> crate::Result<()> {
    // A checkpoint resumes like a batch run: from a converged quasi-steady solve.
    live.sim.finish_qs()?;
    let text = live.scenario_with_log();
    let file = dir.join(crate::run::SCENARIO_FILE);
    let scenario = crate::Scenario::parse(&text, &file.display().to_string())?;
    let mut w = crate::run::RunWriter::create(dir, &scenario)?;
    w.observe(
        live.sim.time(),
        &live.sim.read_fields()?,
        &live.sim.read_metrics()?,
    )?;
    crate::output::checkpoint::save(
        &dir.join(crate::run::CHECKPOINT_FILE),
        &live.sim.checkpoint(0)?,
        &w.state,
    )
}

impl eframe::App for ExoApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.frame_ui(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, settings::KEY, &self.settings);
    }
}
