//! The one typed layout of the aux buffer shared by Rust and WGSL: per run, a block of
//! [`FLAG_WORDS`] u32 words that kernels fill with atomics (blow-up masks, the reaction-rate
//! probe, quasi-steady convergence, step-doubling errors), then — for metric reductions —
//! one vec4 per cell of every run. The word offsets are emitted into every shader as
//! constants ([`wgsl_consts`]) and read back here through [`RunFlags`], so no offset is
//! written twice in two languages.

use crate::model::MAX_SPECIES;

/// Words per run in the flag block (a multiple of 4: the metric area starts on a vec4).
pub const FLAG_WORDS: u64 = 256;

/// Named word offsets inside one run's flag block.
pub mod word {
    /// Bit s set: species s is NaN or infinite somewhere.
    pub const NAN: u32 = 0;
    /// Bit s set: |species s| ≥ [`RUNAWAY`](crate::engine::layout::RUNAWAY) somewhere.
    pub const RUNAWAY: u32 = 1;
    /// Largest Gershgorin row sum of the reaction Jacobian (f32 bits), 1/h.
    pub const RATE: u32 = 2;
    /// The part of it an implicit-in-decay step does not absorb (f32 bits).
    pub const SOFT_RATE: u32 = 3;
    /// Quasi-steady sweep: largest |Δq| (f32 bits).
    pub const QS_CHANGE: u32 = 4;
    /// Quasi-steady sweep: largest |q| (f32 bits).
    pub const QS_SIZE: u32 = 5;
    /// Quasi-steady sweep: largest share of the diagonal that couples to neighbours.
    pub const QS_COUPLING: u32 = 6;
    /// Power iteration: largest |J·v| (f32 bits).
    pub const POWER: u32 = 7;
    /// The check: the largest diffusion coefficient of any stepped species anywhere
    /// (f32 bits, mm²/h) — what variable diffusion adds to the spectral radius bound.
    pub const DMAX: u32 = 8;
    /// The check: the fastest advection (taxis, drift) across a cell's faces, in cells per
    /// hour (f32 bits, 1/h) — the CFL bound on the step.
    pub const VMAX: u32 = 9;
    /// A `total` dose: the cells of its region (u32), counted before it is spread.
    pub const DOSE_CELLS: u32 = 10;
    /// Step doubling: largest |Y − X| of species s at `ERROR + s`; stabilized RK: the
    /// largest scaled error estimate of species s (f32 bits).
    pub const ERROR: u32 = 32;
    /// Step doubling: largest |Y| of species s at `SIZE + s` (f32 bits).
    pub const SIZE: u32 = ERROR + super::MAX_SPECIES as u32;
    /// The rate-probe: species s's fastest own decay, max(−∂R_s/∂c_s) (f32 bits, 1/h).
    pub const DECAY: u32 = SIZE + super::MAX_SPECIES as u32;
    /// The check and the stabilized schemes' step end: species s's largest value at
    /// `HIGH + s`, and the largest of its negated values at `LOW + s`, as order-preserving
    /// keys (WGSL `xd_key`, Rust [`unkey`](super::unkey)).
    pub const HIGH: u32 = DECAY + super::MAX_SPECIES as u32;
    pub const LOW: u32 = HIGH + super::MAX_SPECIES as u32;
    /// The rate probe: species s's largest ∂R_s/∂c_s (its slowest own decay, negated), as
    /// an order-preserving key.
    pub const OWN: u32 = LOW + super::MAX_SPECIES as u32;
    /// Stabilized RK: species s's largest |∂Y/∂t| at the step's end (f32 bits).
    pub const SPEED: u32 = OWN + super::MAX_SPECIES as u32;
}

const _: () = assert!(word::SPEED as u64 + MAX_SPECIES as u64 <= FLAG_WORDS);
const _: () = assert!(FLAG_WORDS.is_multiple_of(4));

/// Values at or beyond this magnitude count as a runaway.
pub const RUNAWAY: f32 = 1e30;

/// Bytes of the flag blocks of `runs` runs.
pub fn flag_bytes(runs: usize) -> u64 {
    FLAG_WORDS * 4 * runs as u64
}

/// vec4 index where the metric area starts (after every run's flag block).
pub fn metrics_offset_vec4(runs: usize) -> u64 {
    FLAG_WORDS / 4 * runs as u64
}

/// WGSL constants mirroring this module (prepended to every generated module).
pub fn wgsl_consts() -> String {
    format!(
        "const XD_FLAG_WORDS: u32 = {FLAG_WORDS}u;\n\
         const XD_FLAG_NAN: u32 = {}u;\nconst XD_FLAG_RUNAWAY: u32 = {}u;\n\
         const XD_FLAG_RATE: u32 = {}u;\nconst XD_FLAG_SOFT_RATE: u32 = {}u;\n\
         const XD_FLAG_QS_CHANGE: u32 = {}u;\nconst XD_FLAG_QS_SIZE: u32 = {}u;\n\
         const XD_FLAG_QS_COUPLING: u32 = {}u;\nconst XD_FLAG_POWER: u32 = {}u;\nconst XD_FLAG_DMAX: u32 = {}u;\nconst XD_FLAG_VMAX: u32 = {}u;\nconst XD_FLAG_DOSE_CELLS: u32 = {}u;\n\
         const XD_FLAG_ERROR: u32 = {}u;\nconst XD_FLAG_SIZE: u32 = {}u;\nconst XD_FLAG_DECAY: u32 = {}u;\n\
         const XD_FLAG_HIGH: u32 = {}u;\nconst XD_FLAG_LOW: u32 = {}u;\nconst XD_FLAG_OWN: u32 = {}u;\nconst XD_FLAG_SPEED: u32 = {}u;\n\
         // An f32 as a u32 that orders as the value does (atomicMax over values of any sign).\n\
         fn xd_key(v: f32) -> u32 {{ let b = bitcast<u32>(v); return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u); }}\n\
         const XD_RUNAWAY: f32 = {RUNAWAY:e};\n\
         // Index of word `w` of run `run`'s flag block.\n\
         fn xd_flag(run: u32, w: u32) -> u32 {{ return XD_FLAG_WORDS * run + w; }}\n",
        word::NAN,
        word::RUNAWAY,
        word::RATE,
        word::SOFT_RATE,
        word::QS_CHANGE,
        word::QS_SIZE,
        word::QS_COUPLING,
        word::POWER,
        word::DMAX,
        word::VMAX,
        word::DOSE_CELLS,
        word::ERROR,
        word::SIZE,
        word::DECAY,
        word::HIGH,
        word::LOW,
        word::OWN,
        word::SPEED,
    )
}

/// One run's flag block, read back.
#[derive(Debug, Clone, Copy)]
pub struct RunFlags<'a> {
    words: &'a [u32],
}

impl<'a> RunFlags<'a> {
    /// The runs' blocks in `words` (as read from the start of the aux buffer).
    pub fn split(words: &'a [u32]) -> impl Iterator<Item = RunFlags<'a>> {
        words
            .chunks_exact(FLAG_WORDS as usize)
            .map(|words| RunFlags { words })
    }

    fn f32_at(&self, w: u32) -> f64 {
        f32::from_bits(self.words[w as usize]) as f64
    }

    /// The largest diffusion coefficient of a stepped species (mm²/h; 0 unless checked).
    pub fn dmax(&self) -> f64 {
        self.f32_at(word::DMAX)
    }

    /// The fastest advection across a cell's faces (1/h; 0 unless checked).
    pub fn vmax(&self) -> f64 {
        self.f32_at(word::VMAX)
    }

    /// Species (bit mask) that are NaN or infinite somewhere.
    pub fn nan(&self) -> u32 {
        self.words[word::NAN as usize]
    }
    /// Species (bit mask) beyond ±[`RUNAWAY`].
    pub fn runaway(&self) -> u32 {
        self.words[word::RUNAWAY as usize]
    }
    pub fn rate(&self) -> f64 {
        self.f32_at(word::RATE)
    }
    pub fn soft_rate(&self) -> f64 {
        self.f32_at(word::SOFT_RATE)
    }
    pub fn qs_change(&self) -> f64 {
        self.f32_at(word::QS_CHANGE)
    }
    pub fn qs_size(&self) -> f64 {
        self.f32_at(word::QS_SIZE)
    }
    pub fn qs_coupling(&self) -> f64 {
        self.f32_at(word::QS_COUPLING)
    }
    /// Power iteration: the largest |J·v|.
    pub fn power(&self) -> f64 {
        self.f32_at(word::POWER)
    }
    /// Stabilized RK: the largest scaled error estimate of species `s`.
    pub fn scaled_error(&self, s: usize) -> f64 {
        self.f32_at(word::ERROR + s as u32)
    }
    /// The rate probe: species `s`'s fastest own decay (1/h).
    pub fn decay(&self, s: usize) -> f64 {
        self.f32_at(word::DECAY + s as u32)
    }
    /// The check: species `s`'s (smallest, largest) value; `None` when no cell was seen.
    pub fn extent(&self, s: usize) -> Option<(f64, f64)> {
        let hi = self.words[(word::HIGH as usize) + s];
        let lo = self.words[(word::LOW as usize) + s];
        (hi != 0 && lo != 0).then(|| (-unkey(lo), unkey(hi)))
    }
    /// The rate probe: species `s`'s largest ∂R_s/∂c_s (1/h); `None` where not probed.
    pub fn own(&self, s: usize) -> Option<f64> {
        let k = self.words[(word::OWN as usize) + s];
        (k != 0).then(|| unkey(k))
    }
    /// Stabilized RK: species `s`'s largest |∂Y/∂t| at the step's end (its units per h).
    pub fn speed(&self, s: usize) -> f64 {
        self.f32_at(word::SPEED + s as u32)
    }
    /// Step doubling: (largest |Y − X|, largest |Y|) of species `s`.
    pub fn error(&self, s: usize) -> (f64, f64) {
        (
            self.f32_at(word::ERROR + s as u32),
            self.f32_at(word::SIZE + s as u32),
        )
    }
}

/// The value an order-preserving key (WGSL `xd_key`) stands for.
pub fn unkey(k: u32) -> f64 {
    let bits = if k & 0x8000_0000 != 0 {
        k & 0x7fff_ffff
    } else {
        !k
    };
    f32::from_bits(bits) as f64
}
