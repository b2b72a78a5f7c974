//! The library's one error type. Each variant's message says what went wrong *and what to do
//! about it*; `main` prints the chain once and exits non-zero.

use std::path::PathBuf;

/// Where a mistake sits in a scenario: the file, its line (when known) and the dotted field.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Location {
    pub file: String,
    pub line: Option<usize>,
    pub field: String,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: `{}`", self.file, self.field),
            None => write!(f, "{}: `{}`", self.file, self.field),
        }
    }
}

/// A field of a problem an engine error is about, so the layer that read the file can
/// point at the line it was written on ([`crate::Scenario::locate`]); printed as the dotted
/// field name when no file is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    GridSize,
    TimeDt,
    /// `species.NAME.initial`.
    Initial(String),
    /// `species.NAME.diffusion`.
    Diffusion(String),
    /// `reactions.NAME`.
    Reaction(String),
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Field::GridSize => f.write_str("grid.size"),
            Field::TimeDt => f.write_str("time.dt"),
            Field::Initial(s) => write!(f, "species.{s}.initial"),
            Field::Diffusion(s) => write!(f, "species.{s}.diffusion"),
            Field::Reaction(s) => write!(f, "reactions.{s}"),
        }
    }
}

/// Why a run stopped: a species went NaN/Inf or ran away, in a time window.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "the simulation blew up: species `{species}` became {what} between t = {from} and t = {to}.\n  \
     likely cause: {cause}\n  the outputs written before t = {from} are kept."
)]
pub struct Blowup {
    pub species: String,
    pub what: String,
    pub from: String,
    pub to: String,
    pub cause: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A scenario (or sweep) file is wrong. `fix` tells the user what to write instead.
    #[error("{at}: {message}\n  fix: {fix}")]
    Scenario {
        at: Location,
        message: String,
        fix: String,
    },

    /// A problem the engine cannot run as given (a forced step that is unstable, a grid too
    /// large for the device, initial values that are not finite); `field` names what to
    /// change.
    #[error("`{field}`: {message}\n  fix: {fix}")]
    Problem {
        field: Field,
        message: String,
        fix: String,
    },

    /// No GPU/Vulkan adapter could be opened.
    #[error(
        "no GPU adapter found ({details}).\n  fix: install a Vulkan driver; on a machine without a GPU the software one works: \
         `sudo apt-get install -y mesa-vulkan-drivers libvulkan1` (Debian/Ubuntu), then run again. \
         EXODERM_ADAPTER=<part of a name> picks an adapter, WGPU_BACKEND=vulkan|gl a backend."
    )]
    NoAdapter { details: String },

    /// The GPU refused an operation; carries wgpu's message.
    #[error("GPU error during {during}: {message}")]
    Gpu { during: String, message: String },

    /// The simulation produced NaN/Inf or runaway values.
    #[error(transparent)]
    Blowup(Box<Blowup>),

    /// Every run of a batch stopped; the first one's reason.
    #[error("all {runs} runs in the batch stopped; the first: {first}")]
    AllStopped { runs: usize, first: Box<Blowup> },

    /// A quasi-steady species has no steady state the solver can find.
    #[error(
        "the quasi-steady solve for `{species}` did not converge at t = {at} ({sweeps} sweeps, scaled residual {residual:.2e} > qs_tolerance {tolerance:.1e}).\n  \
         fix: check that its decay (−∂R/∂c) is positive and its reaction bounded — a quasi-steady species needs a steady state to exist"
    )]
    QuasiSteady {
        species: String,
        at: String,
        sweeps: usize,
        residual: f64,
        tolerance: f64,
    },

    /// Reading or writing a file failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// An internal invariant broke: a bug in exoderm, to be reported.
    #[error("internal error (please report): {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn scenario(at: Location, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Error::Scenario {
            at,
            message: message.into(),
            fix: fix.into(),
        }
    }

    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

impl From<Blowup> for Error {
    fn from(b: Blowup) -> Error {
        Error::Blowup(Box::new(b))
    }
}
