//! The check between batches: NaN/Inf and runaway masks per run and the reaction-rate
//! probe, run on the GPU and read back as [`RunFlags`]; and the words that explain a
//! blow-up when one is found.

use super::gpu::Gpu;
use super::kernels::{Kernel, Kernels};
use super::layout::{self, RunFlags};
use super::problem::Problem;
use super::resources::{Current, Resources};
use super::schemes::Encoding;
use crate::error::{Blowup, Field, Result};
use crate::units::format_time;

/// What a run's check found.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// Species (bit masks) that are NaN/Inf, and beyond ±1e30.
    pub nan: u32,
    pub runaway: u32,
    /// Reaction-rate estimate and its IMEX-soft part (1/h).
    pub rate: f64,
    pub soft: f64,
    /// Each species' fastest own decay, max(−∂R/∂c) (1/h; empty when not probed).
    pub decay: Vec<f64>,
    /// Each species' (smallest, largest) value over the run's cells.
    pub extent: Vec<Option<(f64, f64)>>,
    /// Each species' largest ∂R_s/∂c_s over the cells (1/h): negative when it decays
    /// everywhere, at least that fast; `None` for species without reactions.
    pub own: Vec<Option<f64>>,
    /// The largest diffusion coefficient of a stepped species anywhere (mm²/h), measured
    /// where diffusion varies (0 otherwise).
    pub dmax: f64,
    /// The fastest advection across a cell's faces (cells per hour, 1/h), measured where
    /// species advect (0 otherwise).
    pub vmax: f64,
}

/// Clears the flags, checks the current state (at the service records' time), and queues
/// the flags' readback.
pub fn encode(
    e: &mut Encoding,
    res: &Resources,
    kernels: &Kernels,
    current: Current,
) -> Result<()> {
    let bytes = layout::flag_bytes(res.fields.runs);
    e.enc.clear_buffer(&res.fields.aux, 0, Some(bytes));
    let check = kernels.get(Kernel::Check)?;
    e.pass(
        res,
        "exoderm.check",
        &[(check, &res.from[current.index()], res.records.service(0))],
    );
    e.enc
        .copy_buffer_to_buffer(&res.fields.aux, 0, &res.flags_staging, 0, bytes);
    Ok(())
}

/// Checks the current state now: submit, wait, read every run's flags.
pub fn check_now(
    gpu: &Gpu,
    res: &Resources,
    kernels: &Kernels,
    current: Current,
    t: f64,
) -> Result<Vec<Checked>> {
    res.records.write_service(gpu, t);
    let mut e = Encoding::new(gpu, res, "check");
    encode(&mut e, res, kernels, current)?;
    e.submit(gpu, res);
    read(gpu, res)
}

/// Per run, what the last check found.
pub fn read(gpu: &Gpu, res: &Resources) -> Result<Vec<Checked>> {
    let bytes = super::gpu::map_and_read(&gpu.device, &res.flags_staging)?;
    let words: &[u32] = bytemuck::cast_slice(&bytes);
    Ok(RunFlags::split(words)
        .map(|f| Checked {
            nan: f.nan(),
            runaway: f.runaway(),
            rate: f.rate(),
            soft: f.soft_rate(),
            decay: (0..crate::model::MAX_SPECIES).map(|s| f.decay(s)).collect(),
            extent: (0..crate::model::MAX_SPECIES)
                .map(|s| f.extent(s))
                .collect(),
            own: (0..crate::model::MAX_SPECIES).map(|s| f.own(s)).collect(),
            dmax: f.dmax(),
            vmax: f.vmax(),
        })
        .collect())
}

/// Initial values that are not finite: the species and the field to fix.
pub fn initial_not_finite(p: &Problem, c: &Checked) -> crate::error::Error {
    let s = &p.model.species[(c.nan | c.runaway).trailing_zeros() as usize];
    crate::error::Error::Problem {
        field: Field::Initial(s.name.clone()),
        message: format!(
            "the initial value of `{}` is {} somewhere on the grid",
            s.name,
            if c.nan != 0 {
                "NaN or infinite"
            } else {
                "beyond ±1e30"
            }
        ),
        fix: "check the expression for divisions by zero, log/sqrt of negatives or overflow within the grid's extent".into(),
    }
}

/// Why run `p` blew up between `from` and `to`.
pub fn blowup(p: &Problem, c: &Checked, from: f64, to: f64) -> Blowup {
    let i = (c.nan | c.runaway).trailing_zeros() as usize;
    let name = &p.model.species[i].name;
    let cause = if p.numerics.dt.is_some() {
        "the forced [time] dt may be too large for these reactions: remove it and let exoderm choose".to_string()
    } else if p.model.species[i].reaction.is_some() {
        format!(
            "the reaction term of `{name}` ({}) grows without bound — is a limiting term (e.g. `* (1.0 - {name})`) or a decay missing, or a parameter far outside its range?",
            Field::Reaction(name.clone())
        )
    } else {
        format!("a reaction elsewhere feeds `{name}` without bound, or a boundary value is NaN")
    };
    Blowup {
        species: name.clone(),
        what: if c.nan & (1 << i) != 0 {
            "NaN or infinite".into()
        } else {
            "larger than 1e30".into()
        },
        from: format_time(from),
        to: format_time(to),
        cause,
    }
}

/// Steps that shrank to nothing although nothing is fast (the reactions' rate would allow
/// far larger ones): the error control could not meet one species' tolerance — typically a
/// species far below its eventual size. Say which and how to fix it.
pub fn tolerance_stall(p: &Problem, species: &str, left: f64, from: f64, to: f64) -> Blowup {
    let declared = p
        .model
        .species
        .iter()
        .find(|s| s.name == species)
        .is_some_and(|s| s.range.is_some());
    Blowup {
        species: species.into(),
        what: format!(
            "impossible to step: its error tolerance would need over 10^9 steps for the remaining {}, though nothing in the model is that fast",
            format_time(left)
        ),
        from: format_time(from),
        to: format_time(to),
        cause: if declared {
            format!(
                "`{species}` is judged against rtol × its own values while they are tiny: give it an `atol` (in its units), or a looser [time] rtol"
            )
        } else {
            format!(
                "`{species}` is judged against rtol × its own values while they are tiny (e.g. a compartment filling from nothing): give it a `range` (its errors are then judged against at least rtol × that) or an `atol`"
            )
        },
    }
}

/// A step collapsing towards zero is a blow-up in slow motion (Zeno): say so instead of
/// running for ever.
pub fn zeno(p: &Problem, rate: f64, left: f64, from: f64, to: f64) -> Blowup {
    let reacting: Vec<&str> = p
        .model
        .species
        .iter()
        .filter(|s| s.reaction.is_some())
        .map(|s| s.name.as_str())
        .collect();
    let fields: Vec<String> = reacting
        .iter()
        .map(|n| Field::Reaction(n.to_string()).to_string())
        .collect();
    Blowup {
        species: reacting.join("`/`"),
        what: format!(
            "so fast-reacting (rate {rate:.3e}/h) that the remaining {} would need over 10^9 steps",
            format_time(left)
        ),
        from: format_time(from),
        to: format_time(to),
        cause: format!(
            "a reaction term running away ({}) — a missing limiting term or a parameter far outside its range",
            fields.join(", ")
        ),
    }
}
