//! Assembles the WGSL modules of a model: `common.wgsl` + the model's expressions as
//! functions (spelled by `model::expr`) + generated kernels. Three modules, so that each
//! binding has one type per module:
//! - **step**: `xd_init_main` (initial condition) and `xd_step_main` (one explicit step);
//! - **check**: `xd_check_main` (NaN/Inf/runaway flags and a reaction-rate estimate);
//! - **metrics**: `xd_metric_main` (per-cell metric values for reduction).
//!
//! Bindings (one layout for all, see `pipeline.rs`): 0 grid, 1 step (dynamic offset),
//! 2 params, 3.. source planes, then destination planes, then the aux buffer.

use std::fmt::Write;

use crate::model::Model;
use crate::model::expr::{self, Role};

/// Workgroup shape: wide in x so neighbouring threads read neighbouring cells; 64×4 ran at
/// twice the speed of 8×8 on an H200 (issue #2).
pub const WORKGROUP: (u32, u32) = (64, 4);

/// Values at or beyond this magnitude count as a runaway.
pub const RUNAWAY: f32 = 1e30;

const COMMON: &str = include_str!("../../shaders/common.wgsl");

pub fn src_binding(plane: usize) -> u32 {
    3 + plane as u32
}
pub fn dst_binding(planes: usize, plane: usize) -> u32 {
    3 + (planes + plane) as u32
}
pub fn aux_binding(planes: usize) -> u32 {
    3 + 2 * planes as u32
}

const COMPONENTS: [&str; 4] = ["x", "y", "z", "w"];

struct Gen<'a> {
    model: &'a Model,
    planes: usize,
    out: String,
}

impl<'a> Gen<'a> {
    fn new(model: &'a Model) -> Self {
        let mut out = String::from(COMMON);
        out.push_str(expr::PARAMS_DECL);
        Gen {
            model,
            planes: model.planes(),
            out,
        }
    }

    fn line(&mut self, s: impl AsRef<str>) {
        self.out.push_str(s.as_ref());
        self.out.push('\n');
    }

    fn src_bindings(&mut self) {
        for k in 0..self.planes {
            self.line(format!(
                "@group(0) @binding({}) var<storage, read> xd_src{k}: array<vec4<f32>>;",
                src_binding(k)
            ));
        }
    }

    fn function(&mut self, role: Role, owner: &str, source: &str) {
        let (f, _) = expr::function(self.model, role, owner, source);
        self.out.push_str(&f);
    }

    fn dst_bindings(&mut self) {
        for k in 0..self.planes {
            self.line(format!(
                "@group(0) @binding({}) var<storage, read_write> xd_dst{k}: array<vec4<f32>>;",
                dst_binding(self.planes, k)
            ));
        }
    }

    /// Prologue of every kernel: cell index, bounds check, cell-centre coordinates.
    fn kernel_head(&mut self, name: &str) {
        self.kernel_head_mapped(name, "xd_gid.x");
    }

    /// A kernel whose column is `i` (an expression of `xd_gid` and `xd_j`).
    fn kernel_head_mapped(&mut self, name: &str, i: &str) {
        let (wx, wy) = WORKGROUP;
        self.line(format!("@compute @workgroup_size({wx}, {wy}, 1)"));
        self.line(format!(
            "fn {name}(@builtin(global_invocation_id) xd_gid: vec3<u32>) {{"
        ));
        self.line(format!("    let xd_j = xd_gid.y;\n    let xd_i = {i};\n    let xd_nx = xd_grid.nx;\n    let xd_ny = xd_grid.ny;"));
        self.line("    if (xd_i >= xd_nx || xd_j >= xd_ny) { return; }");
        self.line("    let xd_run = xd_gid.z;\n    let xd_base = xd_run * xd_nx * xd_ny;");
        self.line("    let xd_idx = xd_base + xd_j * xd_nx + xd_i;");
        self.line("    let x = xd_grid.x0 + (f32(xd_i) + 0.5) * xd_grid.dx;");
        self.line("    let y = xd_grid.y0 + (f32(xd_j) + 0.5) * xd_grid.dy;");
        self.line("    let t = xd_step.t;");
    }

    /// Coordinates of the domain's four sides.
    fn face_coords(&mut self) {
        self.line(
            "    let xd_xl = xd_grid.x0;\n    let xd_xr = xd_grid.x0 + f32(xd_nx) * xd_grid.dx;",
        );
        self.line(
            "    let xd_yb = xd_grid.y0;\n    let xd_yt = xd_grid.y0 + f32(xd_ny) * xd_grid.dy;",
        );
    }

    /// `let <species> = xd_c<k>.<comp>;` for every species.
    fn species_lets(&mut self) {
        for k in 0..self.planes {
            self.line(format!("    let xd_c{k} = xd_src{k}[xd_idx];"));
        }
        let names: Vec<String> = self.model.species.iter().map(|s| s.name.clone()).collect();
        for (s, name) in names.iter().enumerate() {
            self.line(format!(
                "    let {name} = xd_c{}.{};",
                s / 4,
                COMPONENTS[s % 4]
            ));
        }
    }

    fn species_args(&self) -> String {
        self.model
            .species
            .iter()
            .map(|s| s.name.clone())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A vec4 of per-species values for plane `k`, built by `f(species_index)`.
    fn plane_vec(&self, k: usize, f: impl Fn(usize) -> String) -> String {
        let comps: Vec<String> = (0..4)
            .map(|m| {
                let s = 4 * k + m;
                if s < self.model.species.len() {
                    f(s)
                } else {
                    "0.0".into()
                }
            })
            .collect();
        format!("vec4<f32>({})", comps.join(", "))
    }
}

/// Per plane, the boundary functions of its species and `xd_side{k}`: the value of the
/// missing neighbour across a side under that side's rule (common.wgsl's codes). `wrap` is
/// the cell on the opposite side; (x, y) the face centre; `h` the cell size across the face.
fn side_functions(g: &mut Gen) {
    let model = g.model;
    for s in &model.species {
        let (name, boundary) = (&s.name, expr::fn_name(Role::Boundary, &s.name));
        match &s.boundary_value {
            Some(b) => g.function(Role::Boundary, name, &b.source),
            // No boundary_value: the initial expression at the current t (noise at its mean).
            None => g.line(format!(
                "fn {boundary}(xd_run: u32, x: f32, y: f32, t: f32) -> f32 {{ return {}(xd_run, x, y, t, 0.5); }}",
                expr::fn_name(Role::Initial, name)
            )),
        }
        let defaults = [
            (Role::Flux, &s.boundary_flux, "0.0".to_string()),
            (Role::Exchange, &s.exchange_rate, "0.0".to_string()),
            (
                Role::Outside,
                &s.outside,
                format!("{boundary}(xd_run, x, y, t)"),
            ),
        ];
        for (role, e, default) in defaults {
            match e {
                Some(e) => g.function(role, name, &e.source),
                None => g.line(format!(
                    "fn {}(xd_run: u32, x: f32, y: f32, t: f32) -> f32 {{ return {default}; }}",
                    expr::fn_name(role, name)
                )),
            }
        }
    }
    for k in 0..g.planes {
        let call = |role: Role| {
            g.plane_vec(k, |s| {
                format!(
                    "{}(xd_run, x, y, t)",
                    expr::fn_name(role, &model.species[s].name)
                )
            })
        };
        let (face, flux, rate, outside) = (
            call(Role::Boundary),
            call(Role::Flux),
            call(Role::Exchange),
            call(Role::Outside),
        );
        let _ = writeln!(
            g.out,
            "fn xd_side{k}(rule: u32, c: vec4<f32>, wrap: vec4<f32>, xd_run: u32, x: f32, y: f32, t: f32, h: f32) -> vec4<f32> {{\n    \
             switch rule {{\n        \
             case 1u: {{ return wrap; }}\n        \
             case 2u: {{ return 2.0 * {face} - c; }}\n        \
             case 3u: {{\n            let d = xd_runs.r[xd_run].d[{k}];\n            \
             // Inward flux q = D (ghost - c) / h.\n            \
             return select(c, c + {flux} * h / d, d > vec4<f32>(0.0));\n        }}\n        \
             case 4u: {{\n            let d = xd_runs.r[xd_run].d[{k}] / h;\n            let k = {rate};\n            \
             // D (ghost - c) / h = k (outside - (c + ghost) / 2).\n            \
             return select(c, (c * (d - 0.5 * k) + k * {outside}) / (d + 0.5 * k), d > vec4<f32>(0.0));\n        }}\n        \
             default: {{ return c; }}\n    }}\n}}"
        );
    }
}

/// Declares `xd_w{tag}`, `xd_e{tag}`, `xd_s{tag}`, `xd_n{tag}`: the four neighbours of the cell
/// in `buf` (plane `k`, centre value `centre`) — inside the domain a plain read, across a side
/// the side's rule (`xd_side{k}`).
fn neighbours(buf: &str, k: usize, tag: &str, centre: &str) -> String {
    format!(
        "    var xd_w{tag}: vec4<f32>;\n    var xd_e{tag}: vec4<f32>;\n    var xd_s{tag}: vec4<f32>;\n    var xd_n{tag}: vec4<f32>;\n    \
         if (xd_i > 0u) {{ xd_w{tag} = {buf}[xd_idx - 1u]; }} else {{ xd_w{tag} = xd_side{k}(xd_grid.bc.x, {centre}, {buf}[xd_idx + xd_nx - 1u], xd_run, xd_xl, y, t, xd_grid.dx); }}\n    \
         if (xd_i + 1u < xd_nx) {{ xd_e{tag} = {buf}[xd_idx + 1u]; }} else {{ xd_e{tag} = xd_side{k}(xd_grid.bc.y, {centre}, {buf}[xd_idx + 1u - xd_nx], xd_run, xd_xr, y, t, xd_grid.dx); }}\n    \
         if (xd_j > 0u) {{ xd_s{tag} = {buf}[xd_idx - xd_nx]; }} else {{ xd_s{tag} = xd_side{k}(xd_grid.bc.z, {centre}, {buf}[xd_idx + (xd_ny - 1u) * xd_nx], xd_run, x, xd_yb, t, xd_grid.dy); }}\n    \
         if (xd_j + 1u < xd_ny) {{ xd_n{tag} = {buf}[xd_idx + xd_nx]; }} else {{ xd_n{tag} = xd_side{k}(xd_grid.bc.w, {centre}, {buf}[xd_base + xd_i], xd_run, x, xd_yt, t, xd_grid.dy); }}\n"
    )
}

/// The RKL2 module: one super-time-step stage of the diffusion of one plane per dispatch
/// (entry point `xd_sts_main{k}` for plane k). Bindings: 3 Y0, 4 Y(j−1), 5 Y(j−2) (read),
/// 6 Yj (write). The stage record reuses `XdStep`: cx[0] = (μ, ν, μ̃·τ, γ̃·τ),
/// cy[0] = (1/dx², 1/dy², 0, 0).
pub fn sts_module(model: &Model) -> String {
    let mut g = Gen::new(model);
    for (b, name, access) in [
        (3, "xd_y0", "read"),
        (4, "xd_y1", "read"),
        (5, "xd_y2", "read"),
        (6, "xd_yj", "read_write"),
    ] {
        g.line(format!(
            "@group(0) @binding({b}) var<storage, {access}> {name}: array<vec4<f32>>;"
        ));
    }
    for s in &model.species {
        g.function(Role::Initial, &s.name, &s.initial.source);
    }
    side_functions(&mut g);
    for k in 0..g.planes {
        g.kernel_head(&format!("xd_sts_main{k}"));
        g.face_coords();
        g.line("    let xd_a = xd_y0[xd_idx];\n    let xd_b = xd_y1[xd_idx];");
        g.out.push_str(&neighbours("xd_y0", k, "a", "xd_a"));
        g.out.push_str(&neighbours("xd_y1", k, "b", "xd_b"));
        // Quasi-steady species do not diffuse in time: their solve is separate (qs module).
        let mask = g.plane_vec(k, |s| {
            if model.species[s].quasi_steady {
                "0.0".into()
            } else {
                "1.0".into()
            }
        });
        g.line(format!("    let xd_d = xd_runs.r[xd_run].d[{k}] * {mask};"));
        g.line("    let xd_h = xd_step.cy[0];\n    let xd_k = xd_step.cx[0];");
        g.line("    let xd_la = xd_d * ((xd_wa + xd_ea - 2.0 * xd_a) * xd_h.x + (xd_sa + xd_na - 2.0 * xd_a) * xd_h.y);");
        g.line("    let xd_lb = xd_d * ((xd_wb + xd_eb - 2.0 * xd_b) * xd_h.x + (xd_sb + xd_nb - 2.0 * xd_b) * xd_h.y);");
        g.line("    xd_yj[xd_idx] = xd_k.x * xd_b + xd_k.y * xd_y2[xd_idx] + (1.0 - xd_k.x - xd_k.y) * xd_a + xd_k.z * xd_lb + xd_k.w * xd_la;");
        g.line("}");
    }
    g.out
}

/// The IMEX reaction module: every species' reaction term applied pointwise, linearly
/// implicit in its own decay: c ← c + dt·R / (1 + dt·max(−∂R/∂c, 0)). Exact steady states,
/// unconditionally stable for decay, explicit Euler where the reaction grows.
pub fn react_module(model: &Model) -> String {
    let mut g = Gen::new(model);
    g.src_bindings();
    g.dst_bindings();
    for s in &model.species {
        if let Some(r) = &s.reaction {
            g.function(Role::Reaction, &s.name, &r.source);
        }
    }
    g.kernel_head("xd_react_main");
    g.species_lets();
    g.line("    let xd_dt = xd_step.react_dt;");
    let names: Vec<String> = model.species.iter().map(|s| s.name.clone()).collect();
    for (s, sp) in model.species.iter().enumerate() {
        let name = &names[s];
        match sp.reaction.as_ref().filter(|_| sp.is_dynamic()) {
            Some(_) => {
                let f = expr::fn_name(Role::Reaction, name);
                let mut bumped = names.clone();
                bumped[s] = format!("{name} + xd_h{s}");
                g.line(format!(
                    "    let xd_r{s} = {f}(xd_run, x, y, t, {});",
                    names.join(", ")
                ));
                g.line(format!("    let xd_h{s} = max(abs({name}) * 1e-3, 1e-6);"));
                g.line(format!(
                    "    let xd_j{s} = ({f}(xd_run, x, y, t, {}) - xd_r{s}) / xd_h{s};",
                    bumped.join(", ")
                ));
                g.line(format!("    let xd_n{s} = {name} + xd_dt * xd_r{s} / (1.0 + xd_dt * max(-xd_j{s}, 0.0));"));
            }
            None => g.line(format!("    let xd_n{s} = {name};")),
        }
    }
    for k in 0..g.planes {
        let v = g.plane_vec(k, |s| format!("xd_n{s}"));
        g.line(format!("    xd_dst{k}[xd_idx] = {v};"));
    }
    g.line("}");
    g.out
}

/// The error module (step doubling): per run and species, the largest |Y − X| between the
/// current state Y (two half steps, source planes) and X (one full step, bound where the
/// destination planes go), and the largest |Y|, as f32 bits in flag words 32 + s and 48 + s.
pub fn error_module(model: &Model) -> String {
    let mut g = Gen::new(model);
    g.src_bindings();
    g.dst_bindings();
    g.line(format!(
        "@group(0) @binding({}) var<storage, read_write> xd_flags: array<atomic<u32>>;",
        aux_binding(g.planes)
    ));
    g.kernel_head("xd_error_main");
    for k in 0..g.planes {
        g.line(format!("    let xd_y{k} = xd_src{k}[xd_idx];\n    let xd_e{k} = abs(xd_y{k} - xd_dst{k}[xd_idx]);"));
    }
    for s in 0..model.species.len() {
        let (k, c) = (s / 4, COMPONENTS[s % 4]);
        g.line(format!(
            "    atomicMax(&xd_flags[64u * xd_run + {}u], bitcast<u32>(xd_e{k}.{c}));",
            32 + s
        ));
        g.line(format!(
            "    atomicMax(&xd_flags[64u * xd_run + {}u], bitcast<u32>(abs(xd_y{k}.{c})));",
            48 + s
        ));
    }
    g.line("}");
    g.out
}

/// The quasi-steady module: one red-black SOR sweep (colour `xd_step.sel`, relaxation
/// `xd_step.react_dt`) of D ∇²q + R(q, others) = 0 for every quasi-steady species q, in place
/// on the destination planes, linearised pointwise (Newton in q): q ← q + ω·r/diag with the
/// residual r = D∇²q + R(q) and diag = 2D/dx² + 2D/dy² − J, J = min(∂R/∂q, 0).
///
/// Flag words 4 and 5 get the sweep's largest |Δq| and |q| (f32 bits) for the convergence test,
/// word 6 the largest share of the diagonal that is coupling to neighbours,
/// 2D(1/dx² + 1/dy²)/diag ≤ 1 (< 1 where the species decays), which sets the SOR ω.
pub fn qs_module(model: &Model) -> String {
    let mut g = Gen::new(model);
    g.dst_bindings();
    g.line(format!(
        "@group(0) @binding({}) var<storage, read_write> xd_flags: array<atomic<u32>>;",
        aux_binding(g.planes)
    ));
    for s in &model.species {
        g.function(Role::Initial, &s.name, &s.initial.source);
        if let Some(r) = s.reaction.as_ref().filter(|_| s.quasi_steady) {
            g.function(Role::Reaction, &s.name, &r.source);
        }
    }
    side_functions(&mut g);
    // Thread x covers only the cells of this sweep's colour, (i + j) % 2 == sel: a masked
    // full-grid dispatch would leave half of every SIMD lane group idle.
    g.kernel_head_mapped("xd_qs_main", "2u * xd_gid.x + ((xd_j + xd_step.sel) & 1u)");
    g.face_coords();
    for k in 0..g.planes {
        g.line(format!("    var xd_c{k} = xd_dst{k}[xd_idx];"));
    }
    let names: Vec<String> = model.species.iter().map(|s| s.name.clone()).collect();
    for (s, name) in names.iter().enumerate() {
        g.line(format!(
            "    let {name} = xd_c{}.{};",
            s / 4,
            COMPONENTS[s % 4]
        ));
    }
    g.line("    let xd_hx = 1.0 / (xd_grid.dx * xd_grid.dx);\n    let xd_hy = 1.0 / (xd_grid.dy * xd_grid.dy);\n    let xd_w = xd_step.react_dt;");
    g.line("    var xd_change = 0.0;\n    var xd_size = 0.0;\n    var xd_coupling = 0.0;");
    let planes_with_qs: Vec<usize> = (0..g.planes)
        .filter(|k| (4 * k..(4 * k + 4).min(names.len())).any(|s| model.species[s].quasi_steady))
        .collect();
    for &k in &planes_with_qs {
        g.out.push_str(&neighbours(
            &format!("xd_dst{k}"),
            k,
            &format!("q{k}"),
            &format!("xd_c{k}"),
        ));
        g.line(format!("    let xd_d{k} = xd_runs.r[xd_run].d[{k}];"));
    }
    for (s, sp) in model
        .species
        .iter()
        .enumerate()
        .filter(|(_, sp)| sp.quasi_steady)
    {
        let (k, c, name) = (s / 4, COMPONENTS[s % 4], &names[s]);
        let (r, jac) = match &sp.reaction {
            Some(_) => {
                let f = expr::fn_name(Role::Reaction, name);
                let mut bumped = names.clone();
                bumped[s] = format!("{name} + xd_qh{s}");
                g.line(format!("    let xd_qh{s} = max(abs({name}) * 1e-3, 1e-6);"));
                g.line(format!(
                    "    let xd_qr{s} = {f}(xd_run, x, y, t, {});",
                    names.join(", ")
                ));
                g.line(format!("    let xd_qj{s} = min(({f}(xd_run, x, y, t, {}) - xd_qr{s}) / xd_qh{s}, 0.0);", bumped.join(", ")));
                (format!("xd_qr{s}"), format!("xd_qj{s}"))
            }
            None => ("0.0".to_string(), "0.0".to_string()),
        };
        g.line(format!(
            "    {{\n        let d = xd_d{k}.{c};\n        let diag = 2.0 * d * (xd_hx + xd_hy) - {jac};\n        \
             let resid = d * ((xd_wq{k}.{c} + xd_eq{k}.{c} - 2.0 * {name}) * xd_hx + (xd_sq{k}.{c} + xd_nq{k}.{c} - 2.0 * {name}) * xd_hy) + {r};\n        \
             let dq = select(0.0, xd_w * resid / diag, diag > 0.0);\n        \
             xd_c{k}.{c} = {name} + dq;\n        xd_change = max(xd_change, abs(dq));\n        xd_size = max(xd_size, abs({name} + dq));\n        \
             xd_coupling = max(xd_coupling, select(0.0, 2.0 * d * (xd_hx + xd_hy) / diag, diag > 0.0));\n    }}"
        ));
    }
    for &k in &planes_with_qs {
        g.line(format!("    xd_dst{k}[xd_idx] = xd_c{k};"));
    }
    g.line("    atomicMax(&xd_flags[64u * xd_run + 4u], bitcast<u32>(xd_change));");
    g.line("    atomicMax(&xd_flags[64u * xd_run + 5u], bitcast<u32>(xd_size));");
    g.line("    atomicMax(&xd_flags[64u * xd_run + 6u], bitcast<u32>(xd_coupling));");
    g.line("}");
    g.out
}

/// The step module: initial condition and one explicit step.
pub fn step_module(model: &Model) -> String {
    step_module_for(model, true)
}

/// The step module; `batched = false` (a single run) reads no diffusion coefficients: the
/// stepper folds D into the step record's coefficients on the CPU, which saves a uniform load
/// per plane and cell (~15% on lavapipe).
pub fn step_module_for(model: &Model, batched: bool) -> String {
    let mut g = Gen::new(model);
    g.src_bindings();
    g.dst_bindings();
    for s in &model.species {
        g.function(Role::Initial, &s.name, &s.initial.source);
        if let Some(r) = &s.reaction {
            g.function(Role::Reaction, &s.name, &r.source);
        }
    }
    side_functions(&mut g);

    g.kernel_head("xd_init_main");
    g.line("    let xd_seed = xd_runs.r[xd_run].seed.x;");
    for k in 0..g.planes {
        let v = g.plane_vec(k, |s| {
            format!(
                "{}(xd_run, x, y, 0.0, xd_rand(xd_i, xd_j, {s}u, xd_seed))",
                expr::fn_name(Role::Initial, &model.species[s].name)
            )
        });
        g.line(format!("    xd_dst{k}[xd_idx] = {v};"));
    }
    g.line("}");

    g.kernel_head("xd_step_main");
    g.face_coords();
    g.species_lets();
    for k in 0..g.planes {
        g.out.push_str(&neighbours(
            &format!("xd_src{k}"),
            k,
            &k.to_string(),
            &format!("xd_c{k}"),
        ));
        g.line(format!("    var xd_r{k} = vec4<f32>(0.0);"));
    }
    g.line("    if (xd_step.react_dt != 0.0) {");
    let args = g.species_args();
    for k in 0..g.planes {
        let v = g.plane_vec(k, |s| {
            match &model.species[s]
                .reaction
                .as_ref()
                .filter(|_| model.species[s].is_dynamic())
            {
                Some(_) => format!(
                    "{}(xd_run, x, y, t, {args})",
                    expr::fn_name(Role::Reaction, &model.species[s].name)
                ),
                None => "0.0".into(),
            }
        });
        g.line(format!("        xd_r{k} = {v};"));
    }
    g.line("    }");
    for k in 0..g.planes {
        g.line(format!(
            "    let xd_d{k} = {};\n    xd_dst{k}[xd_idx] = xd_c{k} + (xd_step.cx[{k}] * xd_d{k}) * (xd_w{k} + xd_e{k} - 2.0 * xd_c{k}) + (xd_step.cy[{k}] * xd_d{k}) * (xd_s{k} + xd_n{k} - 2.0 * xd_c{k}) + xd_step.react_dt * xd_r{k};",
            if batched { format!("xd_runs.r[xd_run].d[{k}]") } else { "vec4<f32>(1.0)".to_string() }
        ));
    }
    g.line("}");
    g.out
}

/// The check module: per run (u32 words 4·run ..), flags species that are NaN/Inf (+0) or
/// runaway (+1) as bit masks, and the largest Gershgorin row sum of the reaction Jacobian
/// (+2, f32 bits) — the rate that bounds a stable explicit step.
pub fn check_module(model: &Model) -> String {
    let mut g = Gen::new(model);
    g.src_bindings();
    g.line(format!(
        "@group(0) @binding({}) var<storage, read_write> xd_flags: array<atomic<u32>>;",
        aux_binding(g.planes)
    ));
    let reacting: Vec<usize> = (0..model.species.len())
        .filter(|&s| model.species[s].reaction.is_some() && model.species[s].is_dynamic())
        .collect();
    for &s in &reacting {
        let sp = &model.species[s];
        g.function(
            Role::Reaction,
            &sp.name,
            &sp.reaction
                .as_ref()
                .map(|r| r.source.clone())
                .unwrap_or_default(),
        );
    }
    g.kernel_head("xd_check_main");
    g.species_lets();
    g.line("    var xd_bad = 0u;\n    var xd_big = 0u;");
    for s in 0..model.species.len() {
        let name = &model.species[s].name;
        g.line(format!(
            "    if ((bitcast<u32>({name}) & 0x7f800000u) == 0x7f800000u) {{ xd_bad |= {}u; }} else if (abs({name}) >= {RUNAWAY:e}) {{ xd_big |= {}u; }}",
            1u32 << s,
            1u32 << s
        ));
    }
    g.line("    if (xd_bad != 0u) { atomicOr(&xd_flags[64u * xd_run], xd_bad); }");
    g.line("    if (xd_big != 0u) { atomicOr(&xd_flags[64u * xd_run + 1u], xd_big); }");
    if !reacting.is_empty() {
        let names: Vec<String> = model.species.iter().map(|s| s.name.clone()).collect();
        let call = |s: usize, args: &[String]| {
            format!(
                "{}(xd_run, x, y, t, {})",
                expr::fn_name(Role::Reaction, &names[s]),
                args.join(", ")
            )
        };
        for &s in &reacting {
            g.line(format!("    let xd_base{s} = {};", call(s, &names)));
            g.line(format!("    var xd_row{s} = 0.0;"));
            g.line(format!("    var xd_soft{s} = 0.0;"));
        }
        for j in 0..names.len() {
            g.line(format!(
                "    let xd_h{j} = max(abs({}) * 1e-3, 1e-6);",
                names[j]
            ));
            let mut up = names.clone();
            up[j] = format!("{} + xd_h{j}", names[j]);
            let mut down = names.clone();
            down[j] = format!("{} - xd_h{j}", names[j]);
            for &s in &reacting {
                // The smaller of the forward and backward differences: equal to O(h) where R
                // is smooth, while a jump (a `select` on a species, e.g. "dose where n < 0.5")
                // shows up in one of them only, as jump/h — a stiffness that is not there.
                // A NaN backward difference (R undefined below the value) falls to forward.
                g.line(format!(
                    "    let xd_fw{s}_{j} = ({} - xd_base{s}) / xd_h{j};\n    \
                     let xd_bw{s}_{j} = (xd_base{s} - {}) / xd_h{j};\n    \
                     let xd_jac{s}_{j} = select(xd_fw{s}_{j}, xd_bw{s}_{j}, abs(xd_bw{s}_{j}) < abs(xd_fw{s}_{j}));",
                    call(s, &up),
                    call(s, &down)
                ));
                g.line(format!("    xd_row{s} += abs(xd_jac{s}_{j});"));
                // The part an implicit-in-decay (IMEX) step does not absorb: growth on the
                // diagonal and every coupling.
                let soft = if s == j {
                    format!("max(xd_jac{s}_{j}, 0.0)")
                } else {
                    format!("abs(xd_jac{s}_{j})")
                };
                g.line(format!("    xd_soft{s} += {soft};"));
            }
        }
        g.line("    var xd_rate = 0.0;\n    var xd_soft = 0.0;");
        for &s in &reacting {
            g.line(format!(
                "    xd_rate = max(xd_rate, xd_row{s});\n    xd_soft = max(xd_soft, xd_soft{s});"
            ));
        }
        // Positive finite f32 order like their bit patterns, so atomicMax on the bits works.
        g.line("    if (xd_rate > 0.0 && xd_rate < 3.0e38) { atomicMax(&xd_flags[64u * xd_run + 2u], bitcast<u32>(xd_rate)); }");
        g.line("    if (xd_soft > 0.0 && xd_soft < 3.0e38) { atomicMax(&xd_flags[64u * xd_run + 3u], bitcast<u32>(xd_soft)); }");
    }
    g.line("}");
    g.out
}

/// The metrics module: writes metric group `xd_step.sel` (4 metrics) of every cell of every
/// run to aux[runs + cell] (the first `runs` vec4s are the check flags).
pub fn metrics_module(model: &Model) -> String {
    let mut g = Gen::new(model);
    g.src_bindings();
    g.line(format!(
        "@group(0) @binding({}) var<storage, read_write> xd_aux: array<vec4<f32>>;",
        aux_binding(g.planes)
    ));
    for m in &model.metrics {
        g.function(Role::Metric, &m.name, &m.expr.source);
    }
    g.kernel_head("xd_metric_main");
    g.species_lets();
    let args = g.species_args();
    g.line("    var xd_m = vec4<f32>(0.0);\n    switch xd_step.sel {");
    for group in 0..model.metrics.len().div_ceil(4) {
        let comps: Vec<String> = (0..4)
            .map(|c| match model.metrics.get(4 * group + c) {
                Some(m) => format!(
                    "{}(xd_run, x, y, t, {args})",
                    expr::fn_name(Role::Metric, &m.name)
                ),
                None => "0.0".into(),
            })
            .collect();
        g.line(format!(
            "        case {group}u: {{ xd_m = vec4<f32>({}); }}",
            comps.join(", ")
        ));
    }
    g.line("        default: {}\n    }");
    g.line("    xd_aux[16u * xd_grid.runs + xd_idx] = xd_m;");
    g.line("}");
    g.out
}

/// Parses and validates an assembled module with naga, so a bad shader is reported before
/// any GPU work (and `cargo test` validates every built-in's shaders).
pub fn validate(label: &str, source: &str) -> crate::error::Result<wgpu::naga::Module> {
    use wgpu::naga;
    let module = naga::front::wgsl::parse_str(source).map_err(|e| {
        crate::error::Error::Internal(format!(
            "generated shader {label} does not parse: {}",
            e.emit_to_string(source)
        ))
    })?;
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::default(),
    )
    .validate(&module)
    .map_err(|e| {
        crate::error::Error::Internal(format!(
            "generated shader {label} is invalid: {}",
            e.emit_to_string(source)
        ))
    })?;
    Ok(module)
}
