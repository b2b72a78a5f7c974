//! Demos and smoke tests drive the window without a person: `--exit-after SECONDS` closes
//! it after a while (printing the frame-time summary), `--screenshot PATH` saves the window
//! just before. Kept out of the app's own state.

use std::path::PathBuf;
use std::time::Instant;

pub struct Autopilot {
    pub started: Instant,
    exit_after: f64,
    screenshot: Option<PathBuf>,
    exiting: bool,
}

impl Autopilot {
    pub fn new(exit_after: f64, screenshot: Option<PathBuf>) -> Autopilot {
        Autopilot {
            started: Instant::now(),
            exit_after,
            screenshot,
            exiting: false,
        }
    }

    /// Once, when the time is up: `Some(screenshot path to take before closing)`, or
    /// `Some(None)` to close at once.
    pub fn due(&mut self) -> Option<Option<PathBuf>> {
        if self.exiting || self.started.elapsed().as_secs_f64() < self.exit_after {
            return None;
        }
        self.exiting = true;
        Some(self.screenshot.clone())
    }
}
