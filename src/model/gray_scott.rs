//! Gray–Scott: the reference pattern-forming system (spots, stripes, mitosis-like splitting),
//! used by VisualPDE and Ready; here it doubles as the 2-species benchmark.

use super::{Expr, Metric, Model, Reduce, Species, param};

pub fn model() -> Model {
    let m = "gray_scott";
    // A 2-mm square seed: at the default grid (≈0.12 mm cells) it spans ~17 cells, which
    // survives (10-cell seeds die out at F = 0.035, k = 0.065; see DESIGN.md). F = 0.0367, k = 0.0649
    // is the "mitosis" regime (Pearson 1993; Sims): spots divide until they fill the dish.
    let seed = "select(0.0, 1.0, abs(x) < seed_half && abs(y) < seed_half)";
    Model {
        name: m.into(),
        description:
            "Gray–Scott u_t = Du Δu − u v² + F (1 − u), v_t = Dv Δv + u v² − (F + k) v: \
                      a feed substrate u and an autocatalyst v. From one seed, spots grow and divide; \
                      change F and k to get stripes, mazes or waves."
                .into(),
        species: vec![
            Species {
                name: "u".into(),
                diffusion: 0.02,
                initial: Expr::builtin(
                    m,
                    "species.u.initial",
                    format!("1.0 - 0.5 * {seed} + 0.02 * (noise - 0.5)"),
                ),
                boundary_value: None,
                boundary_flux: None,
                exchange_rate: None,
                outside: None,
                reaction: Some(Expr::builtin(
                    m,
                    "reactions.u",
                    "-u * v * v + F * (1.0 - u)",
                )),
                units: "a.u.".into(),
                range: Some([0.0, 1.0]),
                description: "Substrate, fed at rate F.".into(),
                quasi_steady: false,
                diffusion_expr: None,
                taxis: vec![],
                velocity: None,
                atol: None,
            },
            Species {
                name: "v".into(),
                diffusion: 0.01,
                initial: Expr::builtin(m, "species.v.initial", format!("0.25 * {seed}")),
                boundary_value: None,
                boundary_flux: None,
                exchange_rate: None,
                outside: None,
                reaction: Some(Expr::builtin(m, "reactions.v", "u * v * v - (F + k) * v")),
                units: "a.u.".into(),
                range: Some([0.0, 0.5]),
                description: "Autocatalyst, removed at rate F + k.".into(),
                quasi_steady: false,
                diffusion_expr: None,
                taxis: vec![],
                velocity: None,
                atol: None,
            },
        ],
        params: vec![
            param(
                "F",
                0.0367,
                [0.0, 0.1],
                "1/h",
                "Feed rate of u. With k, selects the pattern (Pearson 1993 map): too high and \
                 v dies out, too low and the pattern freezes or vanishes.",
                "Pearson 1993, Science 261:189 [M]",
            ),
            param(
                "k",
                0.0649,
                [0.0, 0.1],
                "1/h",
                "Removal rate of v beyond the feed.",
                "Pearson 1993 [M]",
            ),
            param(
                "seed_half",
                1.0,
                [0.0, 50.0],
                "mm",
                "Half-width of the initial square seed. Seeds narrower than ~8 cells die out.",
                "-",
            ),
        ],
        metrics: vec![Metric {
            name: "pattern_area_mm2".into(),
            expr: Expr::builtin(m, "metrics.pattern_area_mm2", "select(0.0, 1.0, v > 0.1)"),
            reduce: Reduce::Integral,
            region: None,
        }],
        // No defines, maps, doses or derived metrics.
        ..Default::default()
    }
}

pub fn react_f64(c: &[f64], p: &[f64], out: &mut [f64]) {
    let (u, v, f, k) = (c[0], c[1], p[0], p[1]);
    out[0] = -u * v * v + f * (1.0 - u);
    out[1] = u * v * v - (f + k) * v;
}
