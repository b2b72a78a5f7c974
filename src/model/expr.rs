//! Expressions written by people (initial conditions, reaction terms, boundary values,
//! metrics) become WGSL functions. This module is the single place that decides what each
//! expression can see and how its function is spelled, and it checks every expression on its
//! own with naga *before* the whole shader is assembled — so an error points at one field of
//! the scenario, not at line 400 of generated code.

use wgpu::naga;

use super::Model;
use crate::error::{Error, Location, Result};

/// Prefix of every identifier exoderm generates; user names may not start with it.
pub const RESERVED_PREFIX: &str = "xd_";

/// Names every expression of a given kind may use besides the params (and species, where
/// allowed). Kept in one place so docs, checks and codegen agree.
pub const COORDS: &[&str] = &["x", "y", "t"];

/// What an expression is for; decides its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// x, y, t, noise, params.
    Initial,
    /// x, y, t, params.
    Boundary,
    /// Inward flux on `flux` sides: x, y, t, params.
    Flux,
    /// Exchange rate on `robin` sides: x, y, t, params.
    Exchange,
    /// Outside value on `robin` sides: x, y, t, params.
    Outside,
    /// x, y, t, species, params.
    Reaction,
    /// x, y, t, species, params.
    Metric,
    /// A `[define]`: x, y, t, species, params, the defines before it.
    Define,
    /// A diffusion coefficient that varies: x, y, t, species, params.
    Diffusion,
    /// A taxis sensitivity: x, y, t, species, params.
    Taxis,
    /// A drift velocity component (x, then y): x, y, t, species, params.
    VelocityX,
    VelocityY,
    /// A dose's region (a bool): x, y, t, species, params.
    Region,
    /// A dose's amount: x, y, t, species, params.
    Amount,
}

impl Role {
    fn sees_species(self) -> bool {
        matches!(
            self,
            Role::Reaction
                | Role::Metric
                | Role::Define
                | Role::Diffusion
                | Role::Taxis
                | Role::VelocityX
                | Role::VelocityY
                | Role::Region
                | Role::Amount
        )
    }

    fn prefix(self) -> &'static str {
        match self {
            Role::Initial => "xd_init_",
            Role::Boundary => "xd_bval_",
            Role::Flux => "xd_flux_",
            Role::Exchange => "xd_xrate_",
            Role::Outside => "xd_out_",
            Role::Reaction => "xd_react_",
            Role::Metric => "xd_metric_",
            Role::Define => "xd_def_",
            Role::Diffusion => "xd_diff_",
            Role::Taxis => "xd_chi_",
            Role::VelocityX => "xd_vx_",
            Role::VelocityY => "xd_vy_",
            Role::Region => "xd_region_",
            Role::Amount => "xd_amount_",
        }
    }

    fn hint(self) -> &'static str {
        match self {
            Role::Initial => {
                "initial expressions may use x, y (mm), t (h), noise (uniform in [0,1) per cell) and the params"
            }
            Role::Boundary | Role::Flux | Role::Exchange | Role::Outside => {
                "boundary expressions may use x, y (mm), t (h) and the params"
            }
            Role::Reaction => "reaction terms may use the species, x, y (mm), t (h) and the params",
            Role::Metric => "metrics may use the species, x, y (mm), t (h) and the params",
            Role::Define => {
                "defines may use the species, x, y (mm), t (h), the params and other defines"
            }
            Role::Diffusion => {
                "a diffusion expression (mm^2/h) may use the species, x, y (mm), t (h), the params and the defines"
            }
            Role::Taxis | Role::VelocityX | Role::VelocityY => {
                "taxis sensitivities and velocities may use the species, x, y (mm), t (h), the params and the defines"
            }
            Role::Region => {
                "a dose's `where` is a true/false expression (e.g. `wound > 0.5 && n < 0.5`) of the species, x, y (mm), t (h), the params, maps and defines"
            }
            Role::Amount => {
                "a dose's amount may use the species, x, y (mm), t (h), the params, maps and defines"
            }
        }
    }
}

/// The owner name of metric `name`'s region (its function's suffix).
pub fn metric_region_owner(name: &str) -> String {
    format!("metric_{name}")
}

/// The owner name of species `species`'s `m`-th taxis term (its function's suffix).
pub fn taxis_owner(species: &str, m: usize) -> String {
    format!("{species}_{m}")
}

/// The name of the generated function for `role` and the thing it belongs to.
pub fn fn_name(role: Role, owner: &str) -> String {
    format!("{}{owner}", role.prefix())
}

/// Per-run data (params, diffusion coefficients, seed) for up to `MAX_BATCH` batched runs,
/// then the maps (one f32 per cell, four maps to a vec4 plane, shared by every run): one
/// read-only storage buffer, so a model may have 256 params and the stabilized kernels
/// still use no more than 8 storage buffers. Shared by the full shader and the
/// one-expression checks. Mirrors `engine::uniforms::RunUniform` — keep in sync.
pub const PARAMS_DECL: &str = "struct XdRun { p: array<vec4<f32>, 64>, d: array<vec4<f32>, 8>, atol: array<vec4<f32>, 8>, seed: vec4<u32> }\n\
     struct XdRuns { r: array<XdRun, 128>, maps: array<vec4<f32>> }\n\
     @group(0) @binding(2) var<storage, read> xd_runs: XdRuns;\n";

/// The common declarations every module starts with (grid, step record, neighbours).
const COMMON: &str = include_str!("../../shaders/common.wgsl");

/// Most runs one simulation can batch (the size of the per-run uniform array above).
pub const MAX_BATCH: usize = 128;

/// The WGSL function computing `source` in `role` for `owner` (a species or metric name).
/// Returns the function text and the byte range of the user's expression inside it.
pub fn function(
    model: &Model,
    role: Role,
    owner: &str,
    source: &str,
) -> (String, std::ops::Range<usize>) {
    let mut args: Vec<String> = vec!["xd_run: u32".into()];
    args.extend(COORDS.iter().map(|c| format!("{c}: f32")));
    if role == Role::Initial {
        args.push("noise: f32".into());
    }
    if role.sees_species() {
        args.extend(model.species.iter().map(|s| format!("{}: f32", s.name)));
    }
    let ty = if role == Role::Region { "bool" } else { "f32" };
    let mut text = format!(
        "fn {}({}) -> {ty} {{\n",
        fn_name(role, owner),
        args.join(", ")
    );
    // Only the params, maps and defines the expression (or its defines) mentions: a model
    // of 256 params would otherwise declare all of them in every function, which costs
    // the driver's compiler minutes.
    let defines = needed_defines(model, source);
    let mut mentioned: Vec<&str> = identifiers(source);
    for &d in &defines {
        mentioned.extend(identifiers(&model.defines[d].expr.source));
    }
    for (i, p) in model.params.iter().enumerate() {
        if !mentioned.contains(&p.name.as_str()) {
            continue;
        }
        let comp = ["x", "y", "z", "w"][i % 4];
        text.push_str(&format!(
            "    let {} = xd_runs.r[xd_run].p[{}].{comp};\n",
            p.name,
            i / 4
        ));
    }
    for (m, map) in model.maps.iter().enumerate() {
        if mentioned.contains(&map.name.as_str()) {
            text.push_str(&format!("    let {} = xd_map({m}u, x, y);\n", map.name));
        }
    }
    for d in defines {
        let d = &model.defines[d];
        // A define that uses species exists only where species do; elsewhere its name is
        // unknown and `check` says why.
        if role.sees_species() || !d.uses_species {
            text.push_str(&format!("    let {} = ({});\n", d.name, d.expr.source));
        }
    }
    text.push_str("    return (");
    let start = text.len();
    text.push_str(source);
    let end = text.len();
    text.push_str(");\n}\n");
    (text, start..end)
}

/// The names an expression mentions, in order (not member accesses such as `v.x`).
pub fn identifiers(source: &str) -> Vec<&str> {
    let bytes = source.as_bytes();
    let mut out = vec![];
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let member = source[..start].trim_end().ends_with('.');
            if !member {
                out.push(&source[start..i]);
            }
        } else if c.is_ascii_digit() {
            // A number, with its exponent and suffix (1e-3, 2.0f, 4u), is not a name.
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.') {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    out
}

/// The defines `source` uses, directly or through each other, as indices in model order
/// (which is dependency order).
pub fn needed_defines(model: &Model, source: &str) -> Vec<usize> {
    let mut need = vec![false; model.defines.len()];
    let mut stack: Vec<usize> = identifiers(source)
        .into_iter()
        .filter_map(|n| model.define_index(n))
        .collect();
    while let Some(d) = stack.pop() {
        if !need[d] {
            need[d] = true;
            stack.extend(
                identifiers(&model.defines[d].expr.source)
                    .into_iter()
                    .filter_map(|n| model.define_index(n)),
            );
        }
    }
    (0..need.len()).filter(|&d| need[d]).collect()
}

/// Checks that `name` can be a species/param/metric name: a WGSL identifier that is not a
/// keyword and does not shadow what expressions already see.
pub fn check_name(name: &str, at: &Location) -> Result<()> {
    let fix = "use letters, digits and '_' (not first a digit), e.g. `egf`, `tgf_beta`, `O2`";
    if name.is_empty()
        || name.starts_with(|c: char| c.is_ascii_digit())
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(Error::scenario(
            at.clone(),
            format!("`{name}` is not a valid name"),
            fix,
        ));
    }
    if name.starts_with(RESERVED_PREFIX) || name.starts_with("__") {
        return Err(Error::scenario(
            at.clone(),
            format!(
                "`{name}` starts with `{RESERVED_PREFIX}` or `__`, which exoderm keeps for itself"
            ),
            fix,
        ));
    }
    if COORDS.contains(&name) || name == "noise" {
        return Err(Error::scenario(
            at.clone(),
            format!("`{name}` is already a built-in name in expressions (x, y, t, noise)"),
            "choose another name",
        ));
    }
    // WGSL keywords, reserved words and type names are rejected by naga itself.
    let probe = format!("fn xd_probe() {{ let {name} = 1.0; }}");
    if naga::front::wgsl::parse_str(&probe).is_err() {
        return Err(Error::scenario(
            at.clone(),
            format!("`{name}` is a WGSL keyword or reserved word"),
            format!("choose another name (e.g. add a suffix: `{name}_c`)"),
        ));
    }
    Ok(())
}

/// Compiles one expression on its own with naga and turns any error into a scenario error
/// that quotes the expression and points at the offending column.
pub fn check(model: &Model, role: Role, owner: &str, expr: &super::Expr) -> Result<()> {
    let (func, range) = function(model, role, owner, &expr.source);
    // The same declarations the kernels see before the model's functions.
    let prelude = format!("{COMMON}{PARAMS_DECL}{}", crate::engine::maps::WGSL);
    let module_src = format!("{prelude}{func}");
    let offset = prelude.len();
    let expr_range = (range.start + offset)..(range.end + offset);
    let fail = |message: String, span: Option<naga::Span>| {
        let column = span
            .and_then(|s| s.to_range())
            .filter(|r| r.start >= expr_range.start && r.start <= expr_range.end)
            .map(|r| r.start - expr_range.start + 1);
        let pointer = match column {
            Some(c) => format!(" (at column {c})"),
            None => String::new(),
        };
        // An unknown name is the commonest mistake: say which names there are.
        let unknown = message
            .split("no definition in scope for identifier: `")
            .nth(1)
            .and_then(|rest| rest.split('`').next());
        let species_define = unknown
            .and_then(|n| model.define_index(n))
            .filter(|&d| model.defines[d].uses_species && !role.sees_species());
        let fix = match unknown {
            Some(name) if species_define.is_some() => format!(
                "`{name}` is a define that uses species, and {}; write this expression without it, or make the define not depend on species",
                role.hint()
            ),
            Some(name) => format!(
                "`{name}` is not a name this expression can use; {}: {}",
                role.hint(),
                visible_names(model, role)
            ),
            None => format!(
                "{}; write a WGSL f32 expression, e.g. `r * u * (1.0 - u)`",
                role.hint()
            ),
        };
        Error::scenario(
            expr.at.clone(),
            format!("invalid expression `{}`{pointer}: {message}", expr.source),
            fix,
        )
    };
    let module = naga::front::wgsl::parse_str(&module_src).map_err(|e| {
        let mut msg = e.message().to_string();
        let mut span = None;
        for (s, label) in e.labels() {
            span.get_or_insert(s);
            if !label.is_empty() && !msg.contains(label) {
                msg.push_str(&format!(" ({label})"));
            }
        }
        fail(msg, span)
    })?;
    let mut validator = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all(),
    );
    validator.validate(&module).map_err(|e| {
        let span = e.spans().next().map(|(s, _)| *s);
        fail(error_chain(e.as_inner()), span)
    })?;
    Ok(())
}

/// The names an expression in `role` sees, for messages: "species u, v; params r, k; x, y, t".
fn visible_names(model: &Model, role: Role) -> String {
    let list = |v: Vec<&str>| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    let mut parts = vec![];
    if role.sees_species() {
        parts.push(format!("species {}", list(model.species_names())));
    }
    parts.push(format!(
        "params {}",
        list(model.params.iter().map(|p| p.name.as_str()).collect())
    ));
    let defines: Vec<&str> = model
        .defines
        .iter()
        .filter(|d| role.sees_species() || !d.uses_species)
        .map(|d| d.name.as_str())
        .collect();
    if !defines.is_empty() {
        parts.push(format!("defines {}", defines.join(", ")));
    }
    if !model.maps.is_empty() {
        let names: Vec<&str> = model.maps.iter().map(|m| m.name.as_str()).collect();
        parts.push(format!("maps {}", names.join(", ")));
    }
    let mut coords = COORDS.join(", ");
    if role == Role::Initial {
        coords += ", noise";
    }
    parts.push(coords);
    parts.join("; ")
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

/// Checks every name and expression of a model.
pub fn check_model(model: &Model) -> Result<()> {
    for d in &model.defines {
        check(model, Role::Define, &d.name, &d.expr)?;
    }
    for s in &model.species {
        check(model, Role::Initial, &s.name, &s.initial)?;
        if let Some(b) = &s.boundary_value {
            check(model, Role::Boundary, &s.name, b)?;
        }
        for (role, e) in [
            (Role::Flux, &s.boundary_flux),
            (Role::Exchange, &s.exchange_rate),
            (Role::Outside, &s.outside),
        ] {
            if let Some(e) = e {
                check(model, role, &s.name, e)?;
            }
        }
        if let Some(r) = &s.reaction {
            check(model, Role::Reaction, &s.name, r)?;
        }
        if let Some(d) = &s.diffusion_expr {
            check(model, Role::Diffusion, &s.name, d)?;
        }
        for (m, tx) in s.taxis.iter().enumerate() {
            check(model, Role::Taxis, &taxis_owner(&s.name, m), &tx.chi)?;
        }
        if let Some([vx, vy]) = &s.velocity {
            check(model, Role::VelocityX, &s.name, vx)?;
            check(model, Role::VelocityY, &s.name, vy)?;
        }
    }
    for m in &model.metrics {
        check(model, Role::Metric, &m.name, &m.expr)?;
        if let Some(r) = &m.region {
            check(model, Role::Region, &metric_region_owner(&m.name), r)?;
        }
    }
    for (d, dose) in model.doses.iter().enumerate() {
        check(model, Role::Region, &d.to_string(), &dose.region)?;
        check(model, Role::Amount, &d.to_string(), &dose.amount)?;
    }
    Ok(())
}
