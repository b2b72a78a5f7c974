//! UI settings that persist between launches (eframe storage). Only plain choices live
//! here — never GPU handles or simulation state.

use serde::{Deserialize, Serialize};

/// What is drawn in the field view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ViewMode {
    /// The scientific colour map.
    Colormap,
    /// The realistic skin view (when the model has one).
    Skin,
    /// Both, side by side.
    Both,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Colour map override (`None`: the scenario's own).
    pub colormap: Option<String>,
    pub view_mode: ViewMode,
    /// Brush radius as a fraction of the domain width, and the amount multiplier.
    pub brush_radius: f64,
    pub brush_amount: f64,
    /// Presentation mode: large UI, fewer controls, full screen.
    pub presentation: bool,
    pub show_plot: bool,
    /// Compare mode: the B − A view beside the sides.
    pub show_delta: bool,
    pub show_explain: bool,
    /// The preset (or file) open at the last exit.
    pub last_scenario: Option<String>,
    /// Where screenshots, recordings and saved states go.
    pub capture_dir: String,
    /// Recording as GIF (else a numbered PNG sequence).
    pub record_gif: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            colormap: None,
            view_mode: ViewMode::Both,
            brush_radius: 0.06,
            brush_amount: 1.0,
            presentation: false,
            show_plot: true,
            show_delta: false,
            show_explain: true,
            last_scenario: None,
            capture_dir: "exoderm-captures".into(),
            record_gif: true,
        }
    }
}

/// The eframe storage key.
pub const KEY: &str = "exoderm.settings";
