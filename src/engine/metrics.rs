//! The model's metrics at the current time: per-cell values computed on the GPU (one
//! dispatch per group of four metrics), reduced in f64 on the CPU per run.

use super::kernels::Kernel;
use super::layout;
use super::problem::Problem;
use super::schemes::Encoding;
use super::stepping::Core;
use crate::error::Result;
use crate::model::Reduce;

/// Every run's metrics (one Vec per run, in model order).
pub fn read_all(core: &Core, problem: &Problem, t: f64) -> Result<Vec<Vec<f64>>> {
    let model = &problem.model;
    let runs = core.res.fields.runs;
    if model.metrics.is_empty() {
        return Ok(vec![vec![]; runs]);
    }
    let pipeline = core.kernels.get(Kernel::Metrics)?;
    core.res.records.write_service(&core.gpu, t);
    let cells = core.res.fields.cells;
    let area = problem.grid.cell_area();
    let mut out = vec![vec![0.0; model.metrics.len()]; runs];
    for g in 0..model.metrics.len().div_ceil(4) {
        let mut e = Encoding::new(&core.gpu, &core.res, "metrics");
        e.pass(
            &core.res,
            "exoderm.metrics",
            &[(
                pipeline,
                &core.res.from[core.current.index()],
                core.res.records.service(g),
            )],
        );
        e.submit(&core.gpu, &core.res);
        let bytes = core.gpu.read_buffer(
            &core.res.fields.aux,
            layout::metrics_offset_vec4(runs) * 16,
            cells * 16 * runs as u64,
        )?;
        let all: &[f32] = bytemuck::cast_slice(&bytes);
        for (run, vals) in all.chunks_exact(cells as usize * 4).enumerate() {
            for c in 0..4 {
                let Some(metric) = model.metrics.get(4 * g + c) else {
                    break;
                };
                // NaN marks a cell outside the metric's region (see codegen): skipped; a
                // metric over an empty region is NaN.
                let it = vals
                    .iter()
                    .skip(c)
                    .step_by(4)
                    .map(|&v| v as f64)
                    .filter(|v| !(metric.region.is_some() && v.is_nan()));
                let (n, sum, lo, hi) = it.fold(
                    (0usize, 0.0f64, f64::INFINITY, f64::NEG_INFINITY),
                    |(n, s, lo, hi), v| (n + 1, s + v, lo.min(v), hi.max(v)),
                );
                out[run][4 * g + c] = match (metric.reduce, n) {
                    (_, 0) => f64::NAN,
                    (Reduce::Integral, _) => sum * area,
                    (Reduce::Mean, _) => sum / n as f64,
                    (Reduce::Min, _) => lo,
                    (Reduce::Max, _) => hi,
                };
            }
        }
    }
    Ok(out)
}
