//! Rust mirrors of the WGSL uniform structs in `shaders/common.wgsl` — keep in sync; the
//! test `uniform_layout_matches_wgsl` compares sizes and offsets with naga's layout.

use bytemuck::{Pod, Zeroable};

use crate::scenario::Grid;

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct GridUniform {
    pub nx: u32,
    pub ny: u32,
    pub runs: u32,
    pub nspecies: u32,
    pub x0: f32,
    pub y0: f32,
    pub dx: f32,
    pub dy: f32,
    pub bc: [u32; 4],
}

impl GridUniform {
    pub fn new(grid: &Grid, runs: usize, nspecies: usize) -> Self {
        let o = grid.origin();
        GridUniform {
            nx: grid.nx,
            ny: grid.ny,
            runs: runs as u32,
            nspecies: nspecies as u32,
            x0: o[0] as f32,
            y0: o[1] as f32,
            dx: grid.dx() as f32,
            dy: grid.dy() as f32,
            bc: grid.boundary.map(|b| b.code()),
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct StepUniform {
    pub t: f32,
    pub react_dt: f32,
    pub sel: u32,
    pub pad0: u32,
    pub cx: [[f32; 4]; 4],
    pub cy: [[f32; 4]; 4],
}

/// One run's params, diffusion coefficients and seed (`XdRun` in model::expr::PARAMS_DECL).
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct RunUniform {
    pub p: [f32; crate::model::MAX_PARAMS],
    /// mm²/h per species.
    pub d: [f32; crate::model::MAX_SPECIES],
    pub seed: [u32; 4],
}

impl RunUniform {
    pub fn new(s: &crate::scenario::Scenario) -> Self {
        let mut r = RunUniform::zeroed();
        for (i, p) in s.model.params.iter().enumerate() {
            r.p[i] = p.value as f32;
        }
        for (i, sp) in s.model.species.iter().enumerate() {
            r.d[i] = sp.diffusion as f32;
        }
        r.seed[0] = s.seed;
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wgpu::naga;

    fn wgsl_layout(struct_name: &str) -> (u32, Vec<(String, u32)>) {
        let src = format!(
            "{}{}",
            include_str!("../../shaders/common.wgsl"),
            crate::model::expr::PARAMS_DECL
        );
        let module = naga::front::wgsl::parse_str(&src).expect("common.wgsl parses");
        let mut layouter = naga::proc::Layouter::default();
        layouter.update(module.to_ctx()).expect("layout");
        let (handle, ty) = module
            .types
            .iter()
            .find(|(_, t)| t.name.as_deref() == Some(struct_name))
            .expect("struct present");
        let naga::TypeInner::Struct { members, span } = &ty.inner else {
            panic!("not a struct")
        };
        let _ = handle;
        (
            *span,
            members
                .iter()
                .map(|m| (m.name.clone().unwrap_or_default(), m.offset))
                .collect(),
        )
    }

    #[test]
    fn uniform_layout_matches_wgsl() {
        let (size, members) = wgsl_layout("XdGrid");
        assert_eq!(size as usize, std::mem::size_of::<GridUniform>());
        let bc = members.iter().find(|(n, _)| n == "bc").unwrap().1;
        assert_eq!(bc as usize, std::mem::offset_of!(GridUniform, bc));
        let dy = members.iter().find(|(n, _)| n == "dy").unwrap().1;
        assert_eq!(dy as usize, std::mem::offset_of!(GridUniform, dy));

        let (size, members) = wgsl_layout("XdStep");
        assert_eq!(size as usize, std::mem::size_of::<StepUniform>());
        for (name, off) in [
            ("t", std::mem::offset_of!(StepUniform, t)),
            ("react_dt", std::mem::offset_of!(StepUniform, react_dt)),
            ("sel", std::mem::offset_of!(StepUniform, sel)),
            ("cx", std::mem::offset_of!(StepUniform, cx)),
            ("cy", std::mem::offset_of!(StepUniform, cy)),
        ] {
            assert_eq!(
                members.iter().find(|(n, _)| n == name).unwrap().1 as usize,
                off,
                "XdStep.{name}"
            );
        }

        let (size, members) = wgsl_layout("XdRun");
        assert_eq!(size as usize, std::mem::size_of::<RunUniform>());
        for (name, off) in [
            ("p", std::mem::offset_of!(RunUniform, p)),
            ("d", std::mem::offset_of!(RunUniform, d)),
            ("seed", std::mem::offset_of!(RunUniform, seed)),
        ] {
            assert_eq!(
                members.iter().find(|(n, _)| n == name).unwrap().1 as usize,
                off,
                "XdRun.{name}"
            );
        }
        let (size, _) = wgsl_layout("XdRuns");
        assert_eq!(
            size as usize,
            std::mem::size_of::<RunUniform>() * crate::model::expr::MAX_BATCH
        );
    }
}
