//! The runs a simulation holds and where they stand: their problems (with parameter values
//! as they are now), why any stopped, the clock, the work done, and the tolerances the
//! error control measures against.

use super::checkpoint::Counters;
use super::problem::Problem;
use crate::error::Blowup;

pub struct Runs {
    /// One per run.
    pub problems: Vec<Problem>,
    /// Why each run stopped, if it did.
    pub failed: Vec<Option<Blowup>>,
    pub counters: Counters,
    /// The clock (h), shared by every run of the batch.
    pub time: f64,
    /// Each run's absolute tolerance per species (stabilized schemes).
    pub atol: Vec<Vec<f64>>,
    /// Each species' fastest own decay at the start, over the runs (1/h).
    pub decay: Vec<f64>,
}

impl Runs {
    /// Which runs still run.
    pub fn live(&self) -> Vec<bool> {
        self.failed.iter().map(Option::is_none).collect()
    }

    pub fn all_failed(&self) -> bool {
        self.failed.iter().all(Option::is_some)
    }

    pub fn len(&self) -> usize {
        self.problems.len()
    }

    pub fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }
}
