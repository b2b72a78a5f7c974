//! Pure diffusion of one substance: the heat equation, whose Gaussian solution (variance
//! growing by 2·D·t per axis) is the engine's first analytic check.

use super::{Expr, Model, Species, param};

pub fn model() -> Model {
    let m = "heat";
    Model {
        name: m.into(),
        description: "Pure diffusion u_t = D Δu of a Gaussian blob. Its variance grows by \
                      2·D·t per axis and its total is conserved — watch it spread and flatten."
            .into(),
        species: vec![Species {
            name: "u".into(),
            diffusion: 0.1,
            initial: Expr::builtin(
                m,
                "species.u.initial",
                "amp * exp(-(x * x + y * y) / (2.0 * s0 * s0))",
            ),
            boundary_value: None,
            boundary_flux: None,
            exchange_rate: None,
            outside: None,
            reaction: None,
            units: "a.u.".into(),
            range: None,
            description: "A diffusing substance (arbitrary units).".into(),
            quasi_steady: false,
            diffusion_expr: None,
            taxis: vec![],
            velocity: None,
            atol: None,
        }],
        params: vec![
            param(
                "amp",
                1.0,
                [0.0, 10.0],
                "a.u.",
                "Peak of the initial Gaussian.",
                "-",
            ),
            param(
                "s0",
                1.0,
                [0.05, 10.0],
                "mm",
                "Initial standard deviation. Below ~2 cells the blob is not resolved and the \
                 discrete variance no longer matches the continuum one.",
                "-",
            ),
        ],
        metrics: vec![],
        // No defines, maps, doses or derived metrics.
        ..Default::default()
    }
}

pub fn react_f64(_c: &[f64], _p: &[f64], out: &mut [f64]) {
    out[0] = 0.0;
}
