//! The desktop app (feature "gui"): eframe with the wgpu renderer. The simulation runs on
//! eframe's own device, so the field views are GPU textures written by compute passes and
//! drawn by egui directly — no per-frame readback. Everything about the model (species,
//! parameters, units, docs, metrics, brushes, skin roles, classroom text) comes from the
//! scenario, so new biology needs no UI changes.
//!
//! Shape: [`Settings`] (persisted choices) and [`UiState`] (this session's view and tool
//! choices) are plain state the panels edit; everything that acts on the simulation or can
//! fail is a [`Command`], applied in one place ([`ExoApp::apply`]) that shows its error;
//! [`Session`] holds the simulations; [`Autopilot`] runs demos and smoke tests.

pub mod autopilot;
pub mod capture;
pub mod command;
mod delta;
mod field_ui;
pub mod live;
mod panels;
mod plot_ui;
pub mod session;
pub mod settings;
mod undo;
pub mod view;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use eframe::egui_wgpu::{self, RenderState};
use eframe::{egui, wgpu};

pub use autopilot::Autopilot;
use capture::Recorder;
pub use command::Command;
use session::Session;
use settings::{Settings, ViewMode};
use view::Look;

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

/// The device eframe should open: the adapter's full limits (big grids need big buffers).
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

/// The engine's view of eframe's device.
pub fn gpu(rs: &RenderState) -> crate::engine::Gpu {
    crate::engine::Gpu {
        device: rs.device.clone(),
        queue: rs.queue.clone(),
        limits: rs.device.limits(),
        name: crate::engine::context::describe(&rs.adapter.get_info()),
    }
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

/// This session's view and tool choices (not persisted; reset when a scenario opens).
#[derive(Debug, Clone)]
pub struct UiState {
    pub tool: Tool,
    pub side: Side,
    /// The value the "set" tool paints.
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
    /// The cell under the pointer, and where the field views were drawn (for recordings).
    pub hover: Option<[u32; 2]>,
    pub view_rect: Option<egui::Rect>,
    /// The path typed into the Open box.
    pub open_path: String,
    /// The difference being edited for compare mode (a param index, its value for B).
    pub diff_param: usize,
    pub diff_value: f64,
}

impl Default for UiState {
    fn default() -> Self {
        UiState {
            tool: Tool::Pan,
            side: Side::Both,
            set_value: 0.0,
            species: 0,
            range: [0.0, 1.0],
            fixed_range: false,
            zoom: 1.0,
            center: egui::vec2(0.5, 0.5),
            hover: None,
            view_rect: None,
            open_path: String::new(),
            diff_param: 0,
            diff_value: 0.0,
        }
    }
}

/// The error banner and the passing notice.
#[derive(Debug, Default)]
struct Messages {
    /// The last error (a scenario that failed to load, a write that failed); the running
    /// simulation is unaffected.
    error: Option<String>,
    notice: Option<(String, Instant)>,
}

/// A screenshot delivered by eframe: (index into `purposes`, the image).
type ArrivedShot = (usize, Arc<egui::ColorImage>);

/// What a requested screenshot is for.
enum Shot {
    Save(PathBuf),
    Record,
    Exit(PathBuf),
}

/// Screenshots in flight and the recorder.
#[derive(Default)]
struct Capture {
    recorder: Option<Recorder>,
    shots: Arc<Mutex<Vec<ArrivedShot>>>,
    purposes: Vec<Shot>,
}

impl Capture {
    fn request(&mut self, ctx: &egui::Context, purpose: Shot) {
        let k = self.purposes.len();
        self.purposes.push(purpose);
        let shots = self.shots.clone();
        ctx.request_screenshot(move |img| {
            if let Ok(mut s) = shots.lock() {
                s.push((k, img));
            }
        });
    }
}

/// Frame times, for the status line and the exit summary.
struct FrameStats {
    last: Instant,
    /// Smoothed (ms).
    ms: f64,
    frames: u64,
    /// Intervals in ms (the first 3 frames not counted).
    times: Vec<f64>,
}

impl FrameStats {
    /// A new frame: returns the wall seconds since the last one.
    fn tick(&mut self) -> f64 {
        self.frames += 1;
        let now = Instant::now();
        let dt = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        if self.frames > 2 && self.times.len() < 1 << 20 {
            self.times.push(dt * 1e3);
        }
        self.ms = if self.ms == 0.0 {
            dt * 1e3
        } else {
            0.9 * self.ms + 0.1 * dt * 1e3
        };
        dt
    }
}

pub struct ExoApp {
    settings: Settings,
    session: Session,
    rs: RenderState,
    ui: UiState,
    messages: Messages,
    capture: Capture,
    stats: FrameStats,
    /// Demos and smoke tests: close after a while, with a screenshot.
    autopilot: Option<Autopilot>,
    /// Commands the panels queued this frame.
    commands: Vec<Command>,
    /// This frame's egui context (screenshots are requested through it).
    ctx: Option<egui::Context>,
    /// Presentation mode as last applied to the window (None before the first frame).
    presenting: Option<bool>,
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
            session,
            rs,
            ui: UiState::default(),
            messages: Messages {
                error,
                notice: None,
            },
            capture: Capture::default(),
            stats: FrameStats {
                last: Instant::now(),
                ms: 0.0,
                frames: 0,
                times: vec![],
            },
            autopilot: opts
                .exit_after
                .map(|secs| Autopilot::new(secs, opts.screenshot.clone())),
            commands: vec![],
            ctx: None,
            presenting: None,
        };
        app.adopt_session();
        if opts.compare {
            app.apply(Command::Compare(true));
        }
        app.apply(Command::Play(opts.play));
        Ok(app)
    }

    /// What is running.
    pub fn session(&self) -> &Session {
        &self.session
    }
    pub fn settings(&self) -> &Settings {
        &self.settings
    }
    /// The view and tool choices.
    pub fn ui_state(&self) -> &UiState {
        &self.ui
    }
    /// The error banner's text, if one is shown.
    pub fn error(&self) -> Option<&str> {
        self.messages.error.as_deref()
    }
    /// The render state (device, queue, egui renderer) the app runs on.
    pub fn render_state(&self) -> &RenderState {
        &self.rs
    }
    /// Where the field views were drawn last frame (screen points).
    pub fn view_rect(&self) -> Option<egui::Rect> {
        self.ui.view_rect
    }
    pub fn recording(&self) -> Option<&Recorder> {
        self.capture.recorder.as_ref()
    }

    /// Resets view choices to what a freshly loaded scenario says.
    fn adopt_session(&mut self) {
        let s = self.session.scenario.clone();
        self.ui = UiState {
            open_path: std::mem::take(&mut self.ui.open_path),
            tool: if s.display.brushes.is_empty() {
                Tool::Pan
            } else {
                Tool::Brush(0)
            },
            ..UiState::default()
        };
        self.apply(Command::ShowSpecies(s.display.species));
        if let Some(d) = self.session.default_difference() {
            self.ui.diff_param = d.param;
            self.ui.diff_value = d.value;
        }
        self.settings.last_scenario = Some(self.session.name.clone());
    }

    pub fn notify(&mut self, text: impl Into<String>) {
        self.messages.notice = Some((text.into(), Instant::now()));
    }

    /// The notice, for a few seconds after it was given.
    pub fn notice(&self) -> Option<&str> {
        self.messages
            .notice
            .as_ref()
            .filter(|(_, t)| t.elapsed().as_secs_f64() < 6.0)
            .map(|(n, _)| n.as_str())
    }

    /// Handles screenshots that arrived since the last frame.
    fn take_shots(&mut self, ctx: &egui::Context) {
        let arrived: Vec<ArrivedShot> = match self.capture.shots.lock() {
            Ok(mut s) => s.drain(..).collect(),
            Err(_) => return,
        };
        let ppp = ctx.pixels_per_point();
        for (k, img) in arrived {
            let result = match self.capture.purposes.get(k) {
                Some(Shot::Save(path)) => std::fs::create_dir_all(&self.settings.capture_dir)
                    .map_err(|e| crate::Error::io("cannot create", path, e))
                    .and_then(|_| capture::save_png(&img, path))
                    .map(|_| Some(format!("screenshot saved: {}", path.display()))),
                Some(Shot::Record) => match (&mut self.capture.recorder, self.ui.view_rect) {
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
                Err(e) => self.messages.error = Some(e.to_string()),
            }
        }
    }

    /// What the colour view draws.
    pub fn look(&self) -> Look {
        let s = &self.session.scenario;
        Look::Colormap {
            species: self.ui.species,
            colormap: self
                .settings
                .colormap
                .clone()
                .unwrap_or_else(|| s.display.colormap.clone()),
            range: self.ui.fixed_range.then_some(self.ui.range),
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
        let hover = self.ui.hover;
        let rs = self.rs.clone();
        let requested: Vec<bool> = self
            .session
            .lives_mut()
            .map(|l| l.encode_views(&rs, &mut enc, &look, hover))
            .collect();
        let session = &mut self.session;
        let delta_requested = match (&mut session.delta, &session.b) {
            (Some(d), Some(b)) if self.settings.show_delta => {
                d.encode(&rs, &mut enc, &session.a.sim, &b.sim, self.ui.species, None)
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
        self.ctx = Some(ctx.clone());
        let wall_dt = self.stats.tick();
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
                self.apply(Command::Open(path));
            } else {
                match f.bytes() {
                    Ok(bytes) => self.apply(Command::OpenText {
                        text: String::from_utf8_lossy(&bytes).into_owned(),
                        label: path,
                    }),
                    Err(e) => self.messages.error = Some(format!("{path}: {e}")),
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
            self.ui.view_rect = rect;
            self.ui.hover = hover;
        });
        if !ctx.input(|i| i.pointer.primary_down()) {
            self.queue(Command::EndStroke);
        }
        self.apply_queued();
        self.encode_views();
        if self.capture.recorder.is_some() && self.session.playing {
            self.capture.request(&ctx, Shot::Record);
        }
        if let Some(shot) = self.autopilot.as_mut().and_then(Autopilot::due) {
            eprintln!("{}", self.summary());
            match shot {
                Some(p) => self.capture.request(&ctx, Shot::Exit(p)),
                None => ctx.send_viewport_cmd(egui::ViewportCommand::Close),
            }
        }
        if self.session.playing || self.capture.recorder.is_some() || self.autopilot.is_some() {
            ctx.request_repaint();
        } else {
            // Probes and notices settle over the next frames.
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
    }

    /// One line on how the session went: frames, frame time, simulation throughput.
    pub fn summary(&self) -> String {
        let secs = self
            .autopilot
            .as_ref()
            .map_or(0.0, |a| a.started.elapsed().as_secs_f64());
        let s = &self.session;
        let c = s.a.sim.counters();
        let cells = s.scenario.grid.cells() as f64 * s.lives().count() as f64;
        let t = &self.stats.times;
        format!(
            "exoderm: {} frames in {secs:.1} s (frame ms: median {:.1}, p95 {:.1}, max {:.1}; the first 3 not counted) · {}×{} × {} · t = {} · {} steps, {:.3e} cell-updates/s while stepping",
            self.stats.frames,
            percentile(t, 0.5),
            percentile(t, 0.95),
            percentile(t, 1.0),
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

/// Writes a resumable run folder for `live` (see [`Command::SaveState`]).
pub fn save_state(live: &mut live::Live, dir: &std::path::Path) -> crate::Result<()> {
    // A checkpoint resumes like a batch run: from a converged quasi-steady solve.
    live.sim.finish_qs()?;
    let text = live.scenario_with_log();
    let file = dir.join(crate::run::SCENARIO_FILE);
    let scenario = crate::Scenario::parse(&text, &file.display().to_string())?;
    let mut w = crate::run::RunWriter::for_scenario(dir, &scenario)?;
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
