//! Rust mirrors of the WGSL uniform structs — `XdGrid`/`XdStep` in `shaders/common.wgsl`,
//! `XdRun` in `model::expr::PARAMS_DECL`, `Deposit` in `shaders/deposit.wgsl`: keep in
//! sync; the tests below compare every size and offset with naga's layout.

use bytemuck::{Pod, Zeroable};

use super::problem::Grid;
use crate::model::{MAX_PARAMS, MAX_SPECIES};

/// Planes a step record holds coefficients for.
pub const MAX_PLANES: usize = MAX_SPECIES / 4;

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct GridUniform {
    pub nx: u32,
    pub ny: u32,
    pub runs: u32,
    /// vec4 elements per plane (runs × cells).
    pub plane: u32,
    pub x0: f32,
    pub y0: f32,
    pub dx: f32,
    pub dy: f32,
    pub bc: [u32; 4],
}

impl GridUniform {
    pub fn new(grid: &Grid, runs: usize) -> Self {
        let o = grid.origin();
        GridUniform {
            nx: grid.nx,
            ny: grid.ny,
            runs: runs as u32,
            plane: (grid.cells() * runs as u64) as u32,
            x0: o[0] as f32,
            y0: o[1] as f32,
            dx: grid.dx() as f32,
            dy: grid.dy() as f32,
            bc: grid.boundary.map(|b| b.code()),
        }
    }
}

/// One dispatch's record (bound with a dynamic offset).
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct StepUniform {
    pub t: f32,
    pub react_dt: f32,
    pub sel: u32,
    pub pad0: u32,
    pub cx: [[f32; 4]; MAX_PLANES],
    pub cy: [[f32; 4]; MAX_PLANES],
}

/// One run's params, diffusion coefficients, absolute tolerances and seed.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct RunUniform {
    pub p: [f32; MAX_PARAMS],
    /// mm²/h per species.
    pub d: [f32; MAX_SPECIES],
    /// Absolute error tolerance per species (its units), for the error estimate.
    pub atol: [f32; MAX_SPECIES],
    pub seed: [u32; 4],
}

impl RunUniform {
    /// `atol`: the absolute tolerance of each species (0 where unused).
    pub fn new(p: &super::problem::Problem, atol: &[f64]) -> Self {
        let mut r = RunUniform::zeroed();
        for (i, v) in p.params.iter().enumerate() {
            r.p[i] = *v as f32;
        }
        for (i, d) in p.diffusion.iter().enumerate() {
            r.d[i] = *d as f32;
        }
        for (i, a) in atol.iter().enumerate() {
            r.atol[i] = *a as f32;
        }
        r.seed[0] = p.seed;
        r
    }
}

/// One deposit (set or add a species inside a circle).
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct DepositUniform {
    pub nx: u32,
    pub ny: u32,
    pub run: u32,
    pub comp: u32,
    pub mode: u32,
    pub radius: f32,
    pub value: f32,
    pub plane: u32,
    pub origin: [f32; 2],
    pub cell: [f32; 2],
    pub center: [f32; 2],
    pub runs: u32,
    pub pad0: u32,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use wgpu::naga;

    /// (size, member offsets) of `struct_name` in `src`, by naga's layout.
    pub(crate) fn wgsl_layout(src: &str, struct_name: &str) -> (u32, Vec<(String, u32)>) {
        let module = naga::front::wgsl::parse_str(src).expect("the WGSL parses");
        let mut layouter = naga::proc::Layouter::default();
        layouter.update(module.to_ctx()).expect("layout");
        let (_, ty) = module
            .types
            .iter()
            .find(|(_, t)| t.name.as_deref() == Some(struct_name))
            .expect("struct present");
        let naga::TypeInner::Struct { members, span } = &ty.inner else {
            panic!("not a struct")
        };
        (
            *span,
            members
                .iter()
                .map(|m| (m.name.clone().unwrap_or_default(), m.offset))
                .collect(),
        )
    }

    /// Checks the size and every member offset of a mirrored struct.
    pub(crate) fn check(src: &str, name: &str, size: usize, offsets: &[(&str, usize)]) {
        let (span, members) = wgsl_layout(src, name);
        assert_eq!(span as usize, size, "size of {name}");
        assert_eq!(members.len(), offsets.len(), "{name}: members {members:?}");
        for ((wname, woff), (rname, roff)) in members.iter().zip(offsets) {
            assert_eq!(wname, rname, "{name}: member order");
            assert_eq!(*woff as usize, *roff, "{name}.{wname}");
        }
    }

    /// The model part declares XdRun; common.wgsl's functions need the model part's
    /// definitions, so parse both together with a minimal model.
    fn common_with_model() -> String {
        let model = crate::model::builtin("heat").expect("heat");
        format!(
            "{}{}",
            include_str!("../../shaders/common.wgsl"),
            crate::engine::codegen::model_part(&model, false)
        )
    }

    #[test]
    fn uniform_layouts_match_wgsl() {
        use std::mem::{offset_of, size_of};
        let src = common_with_model();
        check(
            &src,
            "XdGrid",
            size_of::<GridUniform>(),
            &[
                ("nx", offset_of!(GridUniform, nx)),
                ("ny", offset_of!(GridUniform, ny)),
                ("runs", offset_of!(GridUniform, runs)),
                ("plane", offset_of!(GridUniform, plane)),
                ("x0", offset_of!(GridUniform, x0)),
                ("y0", offset_of!(GridUniform, y0)),
                ("dx", offset_of!(GridUniform, dx)),
                ("dy", offset_of!(GridUniform, dy)),
                ("bc", offset_of!(GridUniform, bc)),
            ],
        );
        check(
            &src,
            "XdStep",
            size_of::<StepUniform>(),
            &[
                ("t", offset_of!(StepUniform, t)),
                ("react_dt", offset_of!(StepUniform, react_dt)),
                ("sel", offset_of!(StepUniform, sel)),
                ("pad0", offset_of!(StepUniform, pad0)),
                ("cx", offset_of!(StepUniform, cx)),
                ("cy", offset_of!(StepUniform, cy)),
            ],
        );
        check(
            &src,
            "XdRun",
            size_of::<RunUniform>(),
            &[
                ("p", offset_of!(RunUniform, p)),
                ("d", offset_of!(RunUniform, d)),
                ("atol", offset_of!(RunUniform, atol)),
                ("seed", offset_of!(RunUniform, seed)),
            ],
        );
        // The maps start right after the runs' block (engine::maps::planes is appended
        // to it).
        let (_, members) = wgsl_layout(&src, "XdRuns");
        assert_eq!(
            members,
            vec![
                ("r".to_string(), 0),
                (
                    "maps".to_string(),
                    (size_of::<RunUniform>() * crate::model::expr::MAX_BATCH) as u32
                )
            ]
        );
        check(
            include_str!("../../shaders/deposit.wgsl"),
            "Deposit",
            size_of::<DepositUniform>(),
            &[
                ("nx", offset_of!(DepositUniform, nx)),
                ("ny", offset_of!(DepositUniform, ny)),
                ("run", offset_of!(DepositUniform, run)),
                ("comp", offset_of!(DepositUniform, comp)),
                ("mode", offset_of!(DepositUniform, mode)),
                ("radius", offset_of!(DepositUniform, radius)),
                ("value", offset_of!(DepositUniform, value)),
                ("plane", offset_of!(DepositUniform, plane)),
                ("origin", offset_of!(DepositUniform, origin)),
                ("cell", offset_of!(DepositUniform, cell)),
                ("center", offset_of!(DepositUniform, center)),
                ("runs", offset_of!(DepositUniform, runs)),
                ("pad0", offset_of!(DepositUniform, pad0)),
            ],
        );
    }
}
