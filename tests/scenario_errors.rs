//! Every mistake in a scenario gives one readable message naming file, line, field and fix.

use exoderm::Scenario;

const GRID: &str =
    "[grid]\nsize = [32, 32]\nextent = [\"4 mm\", \"4 mm\"]\n[time]\nend = \"1 h\"\n";

fn err(text: &str) -> String {
    match Scenario::parse(text, "bad.toml") {
        Ok(_) => panic!("scenario should have been rejected:\n{text}"),
        Err(e) => e.to_string(),
    }
}

fn species(extra: &str) -> String {
    format!("{GRID}[[species]]\nname = \"u\"\ndiffusion = 0.1\ninitial = \"0.0\"\n{extra}")
}

fn assert_has(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "message lacks {p:?}:\n{msg}");
    }
    assert!(msg.contains("fix:"), "message has no fix:\n{msg}");
}

#[test]
fn unknown_key() {
    let m = err(&format!(
        "{GRID}[[species]]\nname = \"u\"\ndifusion = 0.1\ninitial = \"0.0\"\n"
    ));
    assert_has(&m, &["bad.toml:8", "unknown field `difusion`", "diffusion"]);
}

#[test]
fn wrong_unit() {
    let m = err(&species("").replace("diffusion = 0.1", "diffusion = \"0.1 mm/h\""));
    assert_has(&m, &["bad.toml:8", "species[0].diffusion", "mm^2/h"]);
    let m = err(&GRID.replace("\"1 h\"", "\"1 fortnight\""));
    assert_has(
        &m,
        &["bad.toml:5", "time.end", "unknown unit \"fortnight\""],
    );
}

#[test]
fn negative_diffusion() {
    let m = err(&species("").replace("diffusion = 0.1", "diffusion = -0.1"));
    assert_has(
        &m,
        &["bad.toml:8", "species[0].diffusion", "negative", ">= 0"],
    );
}

#[test]
fn unknown_species_or_param_in_an_expression() {
    let m = err(&species("[reactions]\nu = \"-k * w\"\n[params]\nk = 1.0\n"));
    assert_has(&m, &["bad.toml:11", "reactions.u", "`-k * w`", "w"]);
    let m = err(&species("[reactions]\nu = \"-kk * u\"\n"));
    assert_has(
        &m,
        &[
            "bad.toml:11",
            "reactions.u",
            "`kk` is not a name this expression can use",
            "species u; params none; x, y, t",
        ],
    );
}

#[test]
fn wgsl_syntax_error_points_at_the_column() {
    let m = err(&species(
        "[reactions]\nu = \"r * (u - \"\n[params]\nr = 1\n",
    ));
    assert_has(
        &m,
        &["bad.toml:11", "reactions.u", "invalid expression", "column"],
    );
    let m = err(&species("").replace("initial = \"0.0\"", "initial = \"x > 1.0\""));
    assert_has(
        &m,
        &["bad.toml:9", "species[0].initial", "invalid expression"],
    );
}

#[test]
fn reaction_for_an_unknown_species() {
    let m = err(&species("[reactions]\nv = \"1.0\"\n"));
    assert_has(
        &m,
        &["bad.toml:11", "reactions.v", "`v` is not a species", "u"],
    );
}

#[test]
fn bad_names_and_builtins() {
    let m = err(&species("").replace("name = \"u\"", "name = \"loop\""));
    assert_has(&m, &["species[0].name", "keyword"]);
    let m = err(&species("").replace("name = \"u\"", "name = \"x\""));
    assert_has(&m, &["species[0].name", "built-in name"]);
    let m = err(&format!("[model]\nbuiltin = \"wound9\"\n{GRID}"));
    assert_has(&m, &["bad.toml:2", "model.builtin", "fisher", "gray_scott"]);
    let m = err(&format!(
        "[model]\nbuiltin = \"fisher\"\n{GRID}[[species]]\nname = \"q\"\n"
    ));
    assert_has(&m, &["species[0].name", "has no species `q`"]);
}

#[test]
fn grid_and_boundary_mistakes() {
    let m = err(&GRID.replace("[32, 32]", "[32]"));
    assert_has(&m, &["bad.toml:2", "grid.size"]);
    let m = err(&species("").replace(
        "extent = [\"4 mm\", \"4 mm\"]",
        "extent = [\"4 mm\", \"4 mm\"]\nboundary = { left = \"periodic\", right = \"no-flux\" }",
    ));
    assert_has(&m, &["grid.boundary", "pairs"]);
    let m = err(&species("").replace(
        "extent = [\"4 mm\", \"4 mm\"]",
        "extent = [\"4 mm\", \"4 mm\"]\nboundary = \"leaky\"",
    ));
    assert_has(
        &m,
        &["grid.boundary", "unknown boundary `leaky`", "no-flux"],
    );
    let m = err("[time]\nend = 1.0\n[[species]]\nname = \"u\"\ninitial = \"0.0\"\n");
    assert_has(&m, &["bad.toml", "grid", "[grid]"]);
}

#[test]
fn define_mistakes() {
    // Line 11 is the first define; the circle is named in the order it is walked.
    let m = err(&species(
        "[define]\na = \"b + 1.0\"\nb = \"2.0 * a\"\n[reactions]\nu = \"a\"\n",
    ));
    assert_has(&m, &["bad.toml:11", "define.a", "in a circle: a → b → a"]);
    let m = err(&species("[define]\nc = \"c * 2.0\"\n"));
    assert_has(&m, &["bad.toml:11", "define.c", "circle: c → c"]);
    let m = err(&species("[define]\nu = \"1.0\"\n"));
    assert_has(
        &m,
        &["bad.toml:11", "define.u", "both a species and a define"],
    );
    // A define that uses a species cannot be used where species are not visible.
    let m = err(&species("[define]\nhalf = \"0.5 * u\"\n")
        .replace("initial = \"0.0\"", "initial = \"half\""));
    assert_has(
        &m,
        &[
            "bad.toml:9",
            "species[0].initial",
            "`half` is a define that uses species",
        ],
    );
    let m = err(&species("[define]\ng = \"1.0 +\"\n"));
    assert_has(&m, &["bad.toml:11", "define.g", "invalid expression"]);
}

#[test]
fn param_units_mistakes() {
    let m = err(&species("[params]\nk = \"0.5 /fortnight\"\n"));
    assert_has(&m, &["bad.toml:11", "params.k", "fortnight"]);
    let m = err(&species(
        "[params]\nk = { value = \"0.5 /d\", range = [\"1 h\", \"2 h\"] }\n",
    ));
    assert_has(&m, &["bad.toml:11", "params.k", "same kind of unit"]);
}

#[test]
fn variable_diffusion_mistakes() {
    // An expression where a quantity was meant, with an unknown name: the line and the names.
    let m = err(&species("").replace("diffusion = 0.1", "diffusion = \"d0 * (1.0 + u)\""));
    assert_has(
        &m,
        &["bad.toml:8", "species[0].diffusion", "`d0` is not a name"],
    );
    // The teaching Euler step and quasi-steady species take one constant D.
    let varying = species("").replace("diffusion = 0.1", "diffusion = \"0.1 * (1.0 + u)\"");
    let m = err(&varying.replace("end = \"1 h\"\n", "end = \"1 h\"\nscheme = \"euler\"\n"));
    assert_has(
        &m,
        &[
            "bad.toml:9",
            "diffusion that varies",
            "scheme `euler`",
            "rkc",
        ],
    );
    let m = err(&format!("{varying}quasi_steady = true\n"));
    assert_has(&m, &["bad.toml:8", "quasi-steady species"]);
}

#[test]
fn taxis_and_velocity_mistakes() {
    let m = err(&species("taxis = { up = \"c\", chi = \"1.0\" }\n"));
    assert_has(
        &m,
        &[
            "bad.toml:10",
            "species[0].taxis",
            "taxis toward `c`, which is not a species",
            "one of u",
        ],
    );
    let m = err(&species("taxis = { up = \"u\", chi = \"1.0\" }\n"));
    assert_has(&m, &["bad.toml:10", "cannot move up its own gradient"]);
    let m = err(&species("taxis = { toward = \"u\", chi = \"1.0\" }\n"));
    assert_has(&m, &["bad.toml:10", "unknown taxis key `toward`", "up = "]);
    let m = err(&species("velocity = [\"1.0\"]\n"));
    assert_has(
        &m,
        &["bad.toml:10", "species[0].velocity", "two components"],
    );
    let m = err(&species("velocity = [\"1.0\", \"vy0\"]\n"));
    assert_has(
        &m,
        &[
            "bad.toml:10",
            "species[0].velocity[1]",
            "`vy0` is not a name",
        ],
    );
}

#[test]
fn map_mistakes() {
    let dir = std::env::temp_dir().join(format!("exoderm-badmaps-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let at = |text: &str| {
        let path = dir.join("bad.toml");
        std::fs::write(&path, text).unwrap();
        match Scenario::load(&path) {
            Ok(_) => panic!("should have been rejected:\n{text}"),
            Err(e) => e.to_string(),
        }
    };
    let m = at(&species("[maps]\nbed = \"missing.png\"\n"));
    assert_has(
        &m,
        &[
            "bad.toml:11",
            "maps.bed",
            "cannot read map file",
            "missing.png",
        ],
    );
    // A 2:1 picture on a square domain would be stretched.
    std::fs::write(
        dir.join("wide.npy"),
        exoderm::output::npy::encode_f32(&[0.0; 8], 2, 4),
    )
    .unwrap();
    let m = at(&species("[maps]\nbed = \"wide.npy\"\n"));
    assert_has(
        &m,
        &[
            "bad.toml:11",
            "maps.bed",
            "4×2 pixels",
            "stretched",
            "extent",
        ],
    );
    std::fs::write(dir.join("notpng.png"), b"hello").unwrap();
    let m = at(&species("[maps]\nbed = \"notpng.png\"\n"));
    assert_has(&m, &["bad.toml:11", "is not a PNG"]);
    let m = at(&species("[maps]\nu = \"wide.npy\"\n"));
    assert_has(&m, &["bad.toml:11", "both a map and a species"]);
}

#[test]
fn toml_syntax_error_names_the_line() {
    let m = err(&format!("{GRID}[[species]]\nname = \"u\ninitial = \"0\"\n"));
    assert_has(&m, &["bad.toml:7"]);
}

#[test]
fn grid_too_large_for_the_adapter() {
    let sc = Scenario::parse(&species("").replace("[32, 32]", "[8192, 8192]"), "big.toml").unwrap();
    let limits = wgpu::Limits {
        max_storage_buffer_binding_size: 128 << 20,
        ..wgpu::Limits::default()
    };
    let e = sc
        .locate(
            exoderm::engine::resources::check_limits(&sc.model, &sc.grid, 1, &limits, "TestGPU")
                .unwrap_err(),
        )
        .to_string();
    assert_has(
        &e,
        &[
            "big.toml:2",
            "grid.size",
            "1024 MiB per field plane",
            "TestGPU allows at most 128 MiB",
            "size = [2896, 2896]",
        ],
    );
}

#[test]
fn every_shipped_scenario_is_valid() {
    for (path, text) in exoderm::presets::SCENARIOS {
        let sc = Scenario::parse(text, path).unwrap_or_else(|e| panic!("{path}: {e}"));
        exoderm::engine::kernels::sources(&sc.model).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    // And every scenario under assets/ is shipped.
    let mut on_disk = vec![];
    for dir in ["assets/examples", "assets/presets"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let rd = std::fs::read_dir(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        on_disk.extend(
            rd.filter_map(|e| e.ok())
                .map(|e| format!("{dir}/{}", e.file_name().to_string_lossy())),
        );
    }
    let tomls = on_disk.iter().filter(|p| p.ends_with(".toml")).count();
    assert!(tomls >= 5, "the scenario folders were read: {on_disk:?}");
    for p in on_disk.iter().filter(|p| p.ends_with(".toml")) {
        assert!(
            exoderm::presets::SCENARIOS.iter().any(|(s, _)| s == p),
            "{p} is not listed in src/presets.rs"
        );
    }
    // Every model file and every map is shipped in the binary, and every model file parses.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let listed = |dir: &str| -> Vec<String> {
        std::fs::read_dir(root.join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .filter_map(|e| e.ok())
            .map(|e| format!("{dir}/{}", e.file_name().to_string_lossy()))
            .collect()
    };
    let models = listed("assets/models");
    assert!(!models.is_empty());
    for m in &models {
        assert!(
            exoderm::presets::MODELS.iter().any(|(_, p, _)| p == m),
            "{m} is not listed in presets::MODELS"
        );
    }
    for (_, path, text) in exoderm::presets::MODELS {
        Scenario::parse(text, path).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    let maps = listed("assets/examples/maps");
    assert!(!maps.is_empty());
    for m in &maps {
        assert!(
            exoderm::presets::FILES.iter().any(|(p, _)| p == m),
            "{m} is not listed in presets::FILES"
        );
    }
}

/// A built-in model shipped as a file: a scenario overrides a param (keeping its range and
/// doc), adds a species and a metric, inherits grid, time and view; an error inside the
/// model file points into it.
#[test]
fn a_model_file_is_extended_and_its_errors_point_into_it() {
    let sc = Scenario::parse(
        "[model]\nbuiltin = \"epidermal\"\n[params]\nk_exo = \"2 /d\"\n\
         [[species]]\nname = \"tracer\"\ndiffusion = 0.01\ninitial = \"0.0\"\n\
         [metrics]\ntracer_total = \"tracer\"\n",
        "mine.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let m = &sc.model;
    let k = &m.params[m.param_index("k_exo").unwrap()];
    assert!((k.value - 2.0 / 24.0).abs() < 1e-15, "{}", k.value);
    let [lo, hi] = k.range.unwrap();
    assert!(lo == 0.0 && (hi - 10.0 / 24.0).abs() < 1e-15, "{lo}..{hi}");
    assert!(k.doc.contains("exosomes"), "the model file's doc is kept");
    assert_eq!(m.species_names(), ["n", "c", "exo", "gel", "tracer"]);
    assert_eq!(
        m.metric_names(),
        ["wound_area", "exo_in_wound", "tracer_total", "closure_pct"]
    );
    assert_eq!((sc.grid.nx, sc.time.end), (160, 14.0 * 24.0));
    assert_eq!(sc.display.closure_of, Some(0));
    assert!(m.defines.iter().any(|d| d.name == "mitosis"));
    // A mistake in this file is this file's; an unknown model lists the model files too.
    let e = err("[model]\nbuiltin = \"epidermal\"\n[reactions]\nn = \"mitosis * q\"\n");
    assert_has(&e, &["bad.toml:4", "reactions.n", "`q` is not a name"]);
    let e = err("[model]\nbuiltin = \"wound9\"\n");
    assert_has(&e, &["bad.toml:2", "model.builtin", "epidermal"]);
}
