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

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A scenario (or sweep) file is wrong. `fix` tells the user what to write instead.
    #[error("{at}: {message}\n  fix: {fix}")]
    Scenario {
        at: Location,
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
    #[error(
        "the simulation blew up: species `{species}` became {what} between t = {from} and t = {to}.\n  \
         likely cause: {cause}\n  the outputs written before t = {from} are kept."
    )]
    Blowup {
        species: String,
        what: String,
        from: String,
        to: String,
        cause: String,
    },

    /// The simulation had already stopped (a blow-up reported before).
    #[error("the simulation had stopped: {0}")]
    Stopped(String),

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
