//! Fisher–KPP: cells that migrate (diffuse) and proliferate logistically. The classic model
//! of a scratch assay closing; its front travels at c = 2·sqrt(D·r)
//! (`../shared/science/SOURCES.md` §1.1, El-Hachem, McCue & Simpson; Maini et al. 2004).

use super::{Expr, Metric, Model, Reduce, Species, param};

pub fn model() -> Model {
    let m = "fisher";
    Model {
        name: m.into(),
        description: "Fisher–KPP u_t = D Δu + r·u·(1 − u): cells (u, fraction of confluence) \
                      spread from the left into an empty scratch. The front moves at \
                      2·sqrt(D·r) (SOURCES.md §1.1)."
            .into(),
        species: vec![Species {
            name: "u".into(),
            diffusion: 0.2,
            initial: Expr::builtin(m, "species.u.initial", "select(0.0, 1.0, x < x_front)"),
            boundary_value: None,
            boundary_flux: None,
            exchange_rate: None,
            outside: None,
            reaction: Some(Expr::builtin(m, "reactions.u", "r * u * (1.0 - u)")),
            units: "fraction of confluence".into(),
            range: Some([0.0, 1.0]),
            description: "Cell density relative to confluence.".into(),
            quasi_steady: false,
            diffusion_expr: None,
            taxis: vec![],
            velocity: None,
            atol: None,
        }],
        params: vec![
            param(
                "r",
                1.0,
                [0.0, 5.0],
                "1/h",
                "Logistic proliferation rate. Front speed grows as sqrt(r); at r = 0 the model \
                 is pure diffusion and no front forms.",
                "SOURCES.md §1.1 (model form [R]); value illustrative",
            ),
            param(
                "x_front",
                -15.0,
                [-1e3, 1e3],
                "mm",
                "Initial position of the cell front (cells fill x < x_front).",
                "-",
            ),
        ],
        metrics: vec![Metric {
            name: "covered_area_mm2".into(),
            expr: Expr::builtin(m, "metrics.covered_area_mm2", "select(0.0, 1.0, u >= 0.5)"),
            reduce: Reduce::Integral,
            region: None,
        }],
        // No defines, maps, doses or derived metrics.
        ..Default::default()
    }
}

pub fn react_f64(c: &[f64], p: &[f64], out: &mut [f64]) {
    let (u, r) = (c[0], p[0]);
    out[0] = r * u * (1.0 - u);
}
