//! The model-specific part of every shader. A module is `shaders/common.wgsl` + this part +
//! one kernel template (`shaders/kernels/*.wgsl`); the templates hold every kernel body and
//! call what this part defines:
//!
//! - constants: `XD_PLANES`, `XD_SPECIES`, `XD_ANY_REACTS`, `XD_FOLD_D` and the aux layout
//!   (`layout::wgsl_consts`); `XdCell`, a cell's species as `array<vec4<f32>, XD_PLANES>`;
//! - the params (`model::expr::PARAMS_DECL`) and the user's expressions as functions
//!   (spelled by `model::expr`): initial values, reaction terms, boundary values, metrics;
//! - `xd_side`, the ghost value across a side under its rule (per plane, since boundary
//!   values are per species); `xd_initial`, `xd_rates`, `xd_rate_of`, `xd_metric_group`;
//! - per-species and per-plane masks (`xd_reacts`, `xd_is_qs`, `xd_has_qs`, `xd_stepped`…).
//!
//! Bindings (see `kernels.rs`): 0 grid, 1 step record (dynamic offset), 2 per-run params,
//! 3.. buffers as each template declares them.

use std::fmt::Write;

use crate::model::Model;
use crate::model::expr::{self, Role};

/// Workgroup shape (the templates' `@workgroup_size`): wide in x so neighbouring threads
/// read neighbouring cells; 64×4 ran at twice the speed of 8×8 on an H200 (issue #2).
pub const WORKGROUP: (u32, u32) = (64, 4);

const COMMON: &str = include_str!("../../shaders/common.wgsl");
/// The neighbour reader, instantiated per buffer by `//@neighbours BUF`.
const NEIGHBOURS: &str = include_str!("../../shaders/neighbours.wgsl");
/// The right-hand side F = D∇²Y + R(Y), instantiated by `//@rhs NAME GET`.
const RHS: &str = include_str!("../../shaders/rhs.wgsl");

/// The kernel templates, by module label.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("step", include_str!("../../shaders/kernels/step.wgsl")),
    ("check", include_str!("../../shaders/kernels/check.wgsl")),
    (
        "metrics",
        include_str!("../../shaders/kernels/metrics.wgsl"),
    ),
    ("error", include_str!("../../shaders/kernels/error.wgsl")),
    ("qs", include_str!("../../shaders/kernels/qs.wgsl")),
    ("rkc", include_str!("../../shaders/kernels/rkc.wgsl")),
    ("commit", include_str!("../../shaders/kernels/commit.wgsl")),
    ("dose", include_str!("../../shaders/kernels/dose.wgsl")),
];

const COMPONENTS: [&str; 4] = ["x", "y", "z", "w"];

/// The full module `label` for `model`: common + model part + template. `fold_d`: a single
/// run's explicit step reads no diffusion coefficients (the stepper folds D into the step
/// record on the CPU, which saves a uniform load per plane and cell, ~15% on lavapipe).
pub fn module(model: &Model, label: &str, fold_d: bool) -> Option<String> {
    let template = TEMPLATES.iter().find(|(l, _)| *l == label)?.1;
    let body = expand(template, model.planes(), model.species.len());
    Some(format!("{COMMON}{}{body}", model_part(model, fold_d)))
}

/// Unrolls a template's per-plane and per-species blocks: the lines between `//@each k`
/// and `//@end` repeat once per plane with `$k` its index; `//@each s` (and, nested inside
/// it, `//@each j`) repeat once per species, with `$s` (`$j`) the species' index, `$p` (`$q`)
/// its plane and `$c` (`$d`) its vec4 component; `//@neighbours BUF` becomes the neighbour
/// readers of buffer BUF (`xd_w_BUF` … `xd_n_BUF`) and `//@rhs NAME GET` the right-hand side
/// `xd_rhs_NAME` reading deviations through `GET` (shaders/rhs.wgsl). Unrolled code with constant indices is
/// what drivers optimise best (loops over private arrays ran at half speed on lavapipe).
pub fn expand(template: &str, planes: usize, species: usize) -> String {
    let lines: Vec<&str> = template.lines().collect();
    let mut out = String::with_capacity(template.len() * 2);
    expand_lines(&lines, planes, species, &mut out);
    out
}

fn expand_lines(lines: &[&str], planes: usize, species: usize, out: &mut String) {
    let mut i = 0;
    while i < lines.len() {
        let marker = lines[i].trim();
        let macro_text = if let Some(buf) = marker.strip_prefix("//@neighbours ") {
            Some(NEIGHBOURS.replace("$buf", buf.trim()))
        } else if let Some(args) = marker.strip_prefix("//@rhs ") {
            let mut words = args.split_whitespace();
            let (name, get) = (
                words.next().unwrap_or("x"),
                words.next().unwrap_or("xd_get_x"),
            );
            Some(RHS.replace("$name", name).replace("$get", get))
        } else {
            None
        };
        // `//@if_species_at_most N` … `//@else` … `//@endif`: the first block for models
        // of at most N species, the second for larger ones (not nested).
        if let Some(n) = marker.strip_prefix("//@if_species_at_most ") {
            let limit: usize = n.trim().parse().unwrap_or(0);
            let rest = &lines[i + 1..];
            let els = rest
                .iter()
                .position(|l| l.trim() == "//@else")
                .unwrap_or(rest.len());
            let end = rest
                .iter()
                .position(|l| l.trim() == "//@endif")
                .unwrap_or(rest.len());
            let chosen = if species <= limit {
                &rest[..els.min(end)]
            } else {
                &rest[(els + 1).min(end)..end]
            };
            expand_lines(chosen, planes, species, out);
            i += end + 2;
            continue;
        }
        if let Some(text) = macro_text {
            let lines: Vec<&str> = text.lines().collect();
            expand_lines(&lines, planes, species, out);
            i += 1;
            continue;
        }
        let Some(var) = marker.strip_prefix("//@each ") else {
            out.push_str(lines[i]);
            out.push('\n');
            i += 1;
            continue;
        };
        // The block up to the matching `//@end`.
        let mut depth = 1;
        let mut end = i + 1;
        while end < lines.len() {
            let t = lines[end].trim();
            if t.starts_with("//@each ") {
                depth += 1;
            } else if t == "//@end" {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            end += 1;
        }
        let body = &lines[i + 1..end.min(lines.len())];
        let (count, [index, plane, comp]) = match var.trim() {
            "s" => (species, ["$s", "$p", "$c"]),
            "j" => (species, ["$j", "$q", "$d"]),
            _ => (planes, ["$k", "$k", "$k"]),
        };
        for n in 0..count {
            let replaced: Vec<String> = body
                .iter()
                .map(|l| {
                    l.replace(index, &n.to_string())
                        .replace(plane, &(n / 4).to_string())
                        .replace(comp, COMPONENTS[n % 4])
                })
                .collect();
            let refs: Vec<&str> = replaced.iter().map(String::as_str).collect();
            expand_lines(&refs, planes, species, out);
        }
        i = end + 1;
    }
}

/// The model's part of every module.
pub fn model_part(model: &Model, fold_d: bool) -> String {
    let mut g = Gen::new(model);
    g.consts(fold_d);
    g.masks();
    for s in &model.species {
        g.function(Role::Initial, &s.name, &s.initial.source);
        if let Some(r) = &s.reaction {
            g.function(Role::Reaction, &s.name, &r.source);
        }
        if let Some(d) = &s.diffusion_expr {
            g.function(Role::Diffusion, &s.name, &d.source);
        }
        for (m, t) in s.taxis.iter().enumerate() {
            g.function(Role::Taxis, &expr::taxis_owner(&s.name, m), &t.chi.source);
        }
        if let Some([vx, vy]) = &s.velocity {
            g.function(Role::VelocityX, &s.name, &vx.source);
            g.function(Role::VelocityY, &s.name, &vy.source);
        }
    }
    for m in &model.metrics {
        g.function(Role::Metric, &m.name, &m.expr.source);
        if let Some(r) = &m.region {
            g.function(Role::Region, &expr::metric_region_owner(&m.name), &r.source);
        }
    }
    for (d, dose) in model.doses.iter().enumerate() {
        g.function(Role::Region, &d.to_string(), &dose.region.source);
        g.function(Role::Amount, &d.to_string(), &dose.amount.source);
    }
    side_functions(&mut g);
    g.doses();
    g.initial();
    g.diffusion_cell();
    g.face_velocity(0);
    g.face_velocity(1);
    g.rates();
    g.rate_of();
    g.metric_group();
    g.out
}

struct Gen<'a> {
    model: &'a Model,
    planes: usize,
    out: String,
}

impl<'a> Gen<'a> {
    fn new(model: &'a Model) -> Self {
        let mut out = crate::engine::layout::wgsl_consts();
        out.push_str(expr::PARAMS_DECL);
        out.push_str(crate::engine::maps::WGSL);
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

    fn function(&mut self, role: Role, owner: &str, source: &str) {
        let (f, _) = expr::function(self.model, role, owner, source);
        self.out.push_str(&f);
    }

    fn names(&self) -> Vec<String> {
        self.model.species.iter().map(|s| s.name.clone()).collect()
    }

    /// `let <species> = xd_c[k].<comp>;` for every species.
    fn unpack(&mut self) {
        for (s, name) in self.names().iter().enumerate() {
            self.line(format!(
                "    let {name} = xd_c[{}].{};",
                s / 4,
                COMPONENTS[s % 4]
            ));
        }
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

    /// An XdCell literal from one vec4 per plane.
    fn cell(&self, f: impl Fn(usize) -> String) -> String {
        let planes: Vec<String> = (0..self.planes).map(f).collect();
        format!("array<vec4<f32>, {}>({})", self.planes, planes.join(", "))
    }

    fn consts(&mut self, fold_d: bool) {
        let m = self.model;
        let reacts = m.species.iter().any(reacts);
        self.line(format!(
            "const XD_PLANES: u32 = {}u;\nconst XD_SPECIES: u32 = {}u;\nconst XD_ANY_REACTS: bool = {reacts};\nconst XD_FOLD_D: bool = {fold_d};\nconst XD_VAR_D: bool = {};\nconst XD_ADVECT: bool = {};\nalias XdCell = array<vec4<f32>, {}>;",
            self.planes,
            m.species.len(),
            m.has_variable_transport(),
            m.advects(),
            self.planes
        ));
    }

    /// Boolean masks over species (`s`) or planes (`k`), as switch functions (naga cannot
    /// index a const array at run time); the templates' loops unroll them away.
    fn masks(&mut self) {
        let m = self.model;
        let species_mask = |g: &mut Gen, name: &str, f: &dyn Fn(&crate::model::Species) -> bool| {
            let on: Vec<String> = m
                .species
                .iter()
                .enumerate()
                .filter(|(_, s)| f(s))
                .map(|(i, _)| format!("{i}u"))
                .collect();
            let body = if on.is_empty() {
                "return false;".to_string()
            } else {
                format!(
                    "switch s {{ case {}: {{ return true; }} default: {{ return false; }} }}",
                    on.join(", ")
                )
            };
            g.line(format!("fn {name}(s: u32) -> bool {{ {body} }}"));
        };
        // Stepped in time and with a reaction term.
        species_mask(self, "xd_reacts", &reacts);
        species_mask(self, "xd_has_reaction", &|s| s.reaction.is_some());
        species_mask(self, "xd_is_qs", &|s| s.quasi_steady);
        let mut has_qs = vec![];
        let mut stepped = vec![];
        for k in 0..self.planes {
            let any = (4 * k..(4 * k + 4).min(m.species.len())).any(|s| m.species[s].quasi_steady);
            if any {
                has_qs.push(format!("{k}u"));
            }
            stepped.push(format!(
                "case {k}u: {{ return {}; }}",
                self.plane_vec(k, |s| if m.species[s].quasi_steady {
                    "0.0".into()
                } else {
                    "1.0".into()
                })
            ));
        }
        let has_qs = if has_qs.is_empty() {
            "return false;".to_string()
        } else {
            format!(
                "switch k {{ case {}: {{ return true; }} default: {{ return false; }} }}",
                has_qs.join(", ")
            )
        };
        self.line(format!("fn xd_has_qs(k: u32) -> bool {{ {has_qs} }}"));
        self.line(format!(
            "// 1 for species stepped in time, 0 for quasi-steady ones.\nfn xd_stepped(k: u32) -> vec4<f32> {{ switch k {{ {} default: {{ return vec4<f32>(0.0); }} }} }}",
            stepped.join(" ")
        ));
        self.line(
            "// A run's diffusion coefficients of plane k (mm²/h).\n\
             fn xd_run_d(run: u32, k: u32) -> vec4<f32> { return xd_runs.r[run].d[k]; }\n\
             // What the explicit step multiplies its record's dt/dx² by: D, or 1 where the\n\
             // stepper folded D into the record (a single run).\n\
             fn xd_diffusion(run: u32, k: u32) -> vec4<f32> { if (XD_FOLD_D) { return vec4<f32>(1.0); } return xd_run_d(run, k); }",
        );
    }

    /// `xd_initial`: every species' initial value at a cell (`noise` drawn per species).
    fn initial(&mut self) {
        let m = self.model;
        let cell = self.cell(|k| {
            self.plane_vec(k, |s| {
                format!(
                    "{}(xd_run, x, y, 0.0, xd_rand(xd_i, xd_j, {s}u, xd_seed))",
                    expr::fn_name(Role::Initial, &m.species[s].name)
                )
            })
        });
        self.line(format!(
            "fn xd_initial(xd_run: u32, x: f32, y: f32, xd_i: u32, xd_j: u32) -> XdCell {{\n    let xd_seed = xd_runs.r[xd_run].seed.x;\n    return {cell};\n}}"
        ));
    }

    /// `xd_dcell`: every species' diffusion coefficient at a cell (mm²/h): the run's
    /// constant, or the species' expression of position, time and state.
    fn diffusion_cell(&mut self) {
        let m = self.model;
        let args = self.names().join(", ");
        self.line("fn xd_dcell(xd_run: u32, x: f32, y: f32, t: f32, xd_c: XdCell) -> XdCell {");
        self.unpack();
        let cell = self.cell(|k| {
            self.plane_vec(k, |s| match &m.species[s].diffusion_expr {
                // Never negative: a negative coefficient would be anti-diffusion.
                Some(_) => format!(
                    "max({}(xd_run, x, y, t, {args}), 0.0)",
                    expr::fn_name(Role::Diffusion, &m.species[s].name)
                ),
                None => format!("xd_runs.r[xd_run].d[{k}].{}", COMPONENTS[s % 4]),
            })
        });
        self.line(format!("    return {cell};\n}}"));
        self.line(
            "// The face coefficient between two cells: the harmonic mean (exact flux for a layered\n\
             // medium with the interface on the face; 0 where either side does not diffuse).\n\
             fn xd_harm(a: vec4<f32>, b: vec4<f32>) -> vec4<f32> { return select(vec4<f32>(0.0), 2.0 * a * b / (a + b), a * b > vec4<f32>(0.0)); }",
        );
    }

    /// `xd_vface{axis}`: every species' velocity across the face between cell a and its
    /// neighbour b along `axis` (0: x, 1: y), positive from a to b (`sgn` = +1 when b lies
    /// in the axis' positive direction): taxis χ̄ (b_up − a_up) / h with χ̄ the mean of
    /// the two cells' sensitivities, plus the mean drift. 0 for species that do not advect.
    fn face_velocity(&mut self, axis: usize) {
        let m = self.model;
        let args = |cell: &str| -> String {
            (0..m.species.len())
                .map(|s| format!("{cell}[{}].{}", s / 4, COMPONENTS[s % 4]))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (aa, ab) = (args("ca"), args("cb"));
        self.line(format!(
            "fn xd_vface{axis}(xd_run: u32, t: f32, xa: f32, ya: f32, ca: XdCell, xb: f32, yb: f32, cb: XdCell, sgn: f32, h: f32) -> XdCell {{"
        ));
        let cell = self.cell(|k| {
            self.plane_vec(k, |s| {
                let sp = &m.species[s];
                let mut terms = vec![];
                for (i, tx) in sp.taxis.iter().enumerate() {
                    let f = expr::fn_name(Role::Taxis, &expr::taxis_owner(&sp.name, i));
                    let u = m.species_index(&tx.up).unwrap_or(0);
                    let (p, c) = (u / 4, COMPONENTS[u % 4]);
                    terms.push(format!(
                        "0.5 * ({f}(xd_run, xa, ya, t, {aa}) + {f}(xd_run, xb, yb, t, {ab})) * (cb[{p}].{c} - ca[{p}].{c}) / h"
                    ));
                }
                if sp.velocity.is_some() {
                    let role = if axis == 0 { Role::VelocityX } else { Role::VelocityY };
                    let f = expr::fn_name(role, &sp.name);
                    terms.push(format!(
                        "sgn * 0.5 * ({f}(xd_run, xa, ya, t, {aa}) + {f}(xd_run, xb, yb, t, {ab}))"
                    ));
                }
                if terms.is_empty() {
                    "0.0".into()
                } else {
                    terms.join(" + ")
                }
            })
        });
        self.line(format!("    return {cell};\n}}"));
    }

    /// The doses by index: `xd_dose_where` (its region at a cell), `xd_dose_amount`, and
    /// `xd_dose_slot` (plane, component, mode: 0 set, 1 add, 2 total).
    fn doses(&mut self) {
        let m = self.model;
        let args = self.names().join(", ");
        for (ret, role, func, default) in [
            ("bool", Role::Region, "xd_dose_where", "false"),
            ("f32", Role::Amount, "xd_dose_amount", "0.0"),
        ] {
            self.line(format!(
                "fn {func}(xd_d: u32, xd_run: u32, x: f32, y: f32, t: f32, xd_c: XdCell) -> {ret} {{"
            ));
            self.unpack();
            self.line("    switch xd_d {");
            for d in 0..m.doses.len() {
                self.line(format!(
                    "        case {d}u: {{ return {}(xd_run, x, y, t, {args}); }}",
                    expr::fn_name(role, &d.to_string())
                ));
            }
            self.line(format!(
                "        default: {{ return {default}; }}\n    }}\n}}"
            ));
        }
        let cases: String = m
            .doses
            .iter()
            .enumerate()
            .map(|(d, dose)| {
                let mode = match dose.mode {
                    crate::model::DoseMode::Set => 0,
                    crate::model::DoseMode::Add => 1,
                    crate::model::DoseMode::Total => 2,
                };
                format!(
                    "case {d}u: {{ return vec3<u32>({}u, {}u, {mode}u); }} ",
                    dose.species / 4,
                    dose.species % 4
                )
            })
            .collect();
        self.line(format!(
            "fn xd_dose_slot(xd_d: u32) -> vec3<u32> {{ switch xd_d {{ {cases}default: {{ return vec3<u32>(0u, 0u, 1u); }} }} }}"
        ));
    }

    /// `xd_rates`: the reaction term of every stepped species (0 for the others).
    fn rates(&mut self) {
        let m = self.model;
        let args = self.names().join(", ");
        self.line("fn xd_rates(xd_run: u32, x: f32, y: f32, t: f32, xd_c: XdCell) -> XdCell {");
        self.unpack();
        let cell = self.cell(|k| {
            self.plane_vec(k, |s| {
                if reacts(&m.species[s]) {
                    format!(
                        "{}(xd_run, x, y, t, {args})",
                        expr::fn_name(Role::Reaction, &m.species[s].name)
                    )
                } else {
                    "0.0".into()
                }
            })
        });
        self.line(format!("    return {cell};\n}}"));
    }

    /// `xd_rate_of`: species s's reaction term (0 without one).
    fn rate_of(&mut self) {
        let m = self.model;
        let args = self.names().join(", ");
        self.line(
            "fn xd_rate_of(xd_s: u32, xd_run: u32, x: f32, y: f32, t: f32, xd_c: XdCell) -> f32 {",
        );
        self.unpack();
        self.line("    switch xd_s {");
        for (i, s) in m.species.iter().enumerate() {
            if s.reaction.is_some() {
                self.line(format!(
                    "        case {i}u: {{ return {}(xd_run, x, y, t, {args}); }}",
                    expr::fn_name(Role::Reaction, &s.name)
                ));
            }
        }
        self.line("        default: { return 0.0; }\n    }\n}");
    }

    /// `xd_metric_group`: metrics 4g .. 4g + 3 at a cell.
    fn metric_group(&mut self) {
        let m = self.model;
        let args = self.names().join(", ");
        self.line(
            "fn xd_metric_group(xd_g: u32, xd_run: u32, x: f32, y: f32, t: f32, xd_c: XdCell) -> vec4<f32> {",
        );
        self.unpack();
        self.line("    switch xd_g {");
        for group in 0..m.metrics.len().div_ceil(4) {
            let comps: Vec<String> = (0..4)
                .map(|c| match m.metrics.get(4 * group + c) {
                    // Outside its region a metric's cell is NaN, which the reduction skips.
                    Some(metric) => {
                        let value = format!(
                            "{}(xd_run, x, y, t, {args})",
                            expr::fn_name(Role::Metric, &metric.name)
                        );
                        match &metric.region {
                            Some(_) => format!(
                                "select(bitcast<f32>(0x7fc00000u), {value}, {}(xd_run, x, y, t, {args}))",
                                expr::fn_name(
                                    Role::Region,
                                    &expr::metric_region_owner(&metric.name)
                                )
                            ),
                            None => value,
                        }
                    }
                    None => "0.0".into(),
                })
                .collect();
            self.line(format!(
                "        case {group}u: {{ return vec4<f32>({}); }}",
                comps.join(", ")
            ));
        }
        self.line("        default: { return vec4<f32>(0.0); }\n    }\n}");
    }
}

/// Stepped in time and with a reaction term.
fn reacts(s: &crate::model::Species) -> bool {
    s.reaction.is_some() && s.is_dynamic()
}

/// Per plane, the boundary functions of its species and `xd_side{k}`: the value of the
/// missing neighbour across a side under that side's rule (common.wgsl's codes), and the
/// dispatcher `xd_side(k, ..)`. `wrap` is the cell on the opposite side; (x, y) the face
/// centre; `h` the cell size across the face.
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
    let mut cases = String::new();
    let mut diff_cases = String::new();
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
             case 3u: {{\n            let d = xd_run_d(xd_run, {k}u);\n            \
             // Inward flux q = D (ghost - c) / h.\n            \
             return select(c, c + {flux} * h / d, d > vec4<f32>(0.0));\n        }}\n        \
             case 4u: {{\n            let d = xd_run_d(xd_run, {k}u) / h;\n            let k = {rate};\n            \
             // D (ghost - c) / h = k (outside - (c + ghost) / 2).\n            \
             return select(c, (c * (d - 0.5 * k) + k * {outside}) / (d + 0.5 * k), d > vec4<f32>(0.0));\n        }}\n        \
             default: {{ return c; }}\n    }}\n}}"
        );
        // The same rules as a difference ghost − c, for a state held as hi + e: each
        // difference taken before the small parts are added, so a deviation far below one
        // ulp of the state is not rounded away at the edges either.
        let _ = writeln!(
            g.out,
            "fn xd_sided{k}(rule: u32, hc: vec4<f32>, ec: vec4<f32>, hw: vec4<f32>, ew: vec4<f32>, xd_run: u32, x: f32, y: f32, t: f32, h: f32, dface: vec4<f32>) -> vec4<f32> {{\n    \
             switch rule {{\n        \
             case 1u: {{ return (hw - hc) + (ew - ec); }}\n        \
             case 2u: {{ return 2.0 * (({face} - hc) - ec); }}\n        \
             case 3u: {{\n            let d = dface;\n            \
             return select(vec4<f32>(0.0), {flux} * h / d, d > vec4<f32>(0.0));\n        }}\n        \
             case 4u: {{\n            let d = dface / h;\n            let k = {rate};\n            \
             return select(vec4<f32>(0.0), k * (({outside} - hc) - ec) / (d + 0.5 * k), d > vec4<f32>(0.0));\n        }}\n        \
             default: {{ return vec4<f32>(0.0); }}\n    }}\n}}"
        );
        let _ = write!(
            cases,
            "case {k}u: {{ return xd_side{k}(rule, c, wrap, xd_run, x, y, t, h); }} "
        );
        let _ = write!(
            diff_cases,
            "case {k}u: {{ return xd_sided{k}(rule, hc, ec, hw, ew, xd_run, x, y, t, h, dface); }} "
        );
    }
    let _ = writeln!(
        g.out,
        "fn xd_side(k: u32, rule: u32, c: vec4<f32>, wrap: vec4<f32>, xd_run: u32, x: f32, y: f32, t: f32, h: f32) -> vec4<f32> {{\n    switch k {{ {cases}default: {{ return c; }} }}\n}}"
    );
    let _ = writeln!(
        g.out,
        "fn xd_side_diff(k: u32, rule: u32, hc: vec4<f32>, ec: vec4<f32>, hw: vec4<f32>, ew: vec4<f32>, xd_run: u32, x: f32, y: f32, t: f32, h: f32, dface: vec4<f32>) -> vec4<f32> {{\n    switch k {{ {diff_cases}default: {{ return vec4<f32>(0.0); }} }}\n}}"
    );
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
