//! The scenarios shipped under `assets/`, compiled into the binary so `exoderm presets` and
//! `exoderm run NAME` work from any folder.

/// (path under the repository, text).
pub const SCENARIOS: &[(&str, &str)] = &[
    (
        "assets/presets/ageing_intrinsic.toml",
        include_str!("../assets/presets/ageing_intrinsic.toml"),
    ),
    (
        "assets/presets/ageing_photoaged.toml",
        include_str!("../assets/presets/ageing_photoaged.toml"),
    ),
    (
        "assets/presets/burn_full_thickness.toml",
        include_str!("../assets/presets/burn_full_thickness.toml"),
    ),
    (
        "assets/presets/burn_partial_thickness.toml",
        include_str!("../assets/presets/burn_partial_thickness.toml"),
    ),
    (
        "assets/examples/chemotaxis.toml",
        include_str!("../assets/examples/chemotaxis.toml"),
    ),
    (
        "assets/examples/delay_chain.toml",
        include_str!("../assets/examples/delay_chain.toml"),
    ),
    (
        "assets/examples/fisher.toml",
        include_str!("../assets/examples/fisher.toml"),
    ),
    (
        "assets/examples/gradient.toml",
        include_str!("../assets/examples/gradient.toml"),
    ),
    (
        "assets/examples/gray_scott.toml",
        include_str!("../assets/examples/gray_scott.toml"),
    ),
    (
        "assets/examples/heat.toml",
        include_str!("../assets/examples/heat.toml"),
    ),
    (
        "assets/examples/irregular_wound.toml",
        include_str!("../assets/examples/irregular_wound.toml"),
    ),
    (
        "assets/examples/layered_skin.toml",
        include_str!("../assets/examples/layered_skin.toml"),
    ),
    (
        "assets/presets/epidermal_wound.toml",
        include_str!("../assets/presets/epidermal_wound.toml"),
    ),
    (
        "assets/presets/gray_scott_mitosis.toml",
        include_str!("../assets/presets/gray_scott_mitosis.toml"),
    ),
    (
        "assets/presets/scratch_assay.toml",
        include_str!("../assets/presets/scratch_assay.toml"),
    ),
    (
        "assets/presets/turing_spots.toml",
        include_str!("../assets/presets/turing_spots.toml"),
    ),
    (
        "assets/presets/wound_db_engineered.toml",
        include_str!("../assets/presets/wound_db_engineered.toml"),
    ),
    (
        "assets/presets/wound_db_hydrogel.toml",
        include_str!("../assets/presets/wound_db_hydrogel.toml"),
    ),
    (
        "assets/presets/wound_db_injection.toml",
        include_str!("../assets/presets/wound_db_injection.toml"),
    ),
    (
        "assets/presets/wound_db_microneedle.toml",
        include_str!("../assets/presets/wound_db_microneedle.toml"),
    ),
    (
        "assets/presets/wound_db_repeated.toml",
        include_str!("../assets/presets/wound_db_repeated.toml"),
    ),
    (
        "assets/presets/wound_diabetic_healer.toml",
        include_str!("../assets/presets/wound_diabetic_healer.toml"),
    ),
    (
        "assets/presets/wound_diabetic_nonhealer.toml",
        include_str!("../assets/presets/wound_diabetic_nonhealer.toml"),
    ),
    (
        "assets/presets/wound_human_acute.toml",
        include_str!("../assets/presets/wound_human_acute.toml"),
    ),
    (
        "assets/presets/wound_mouse_control.toml",
        include_str!("../assets/presets/wound_mouse_control.toml"),
    ),
    (
        "assets/presets/wound_mouse_db.toml",
        include_str!("../assets/presets/wound_mouse_db.toml"),
    ),
    (
        "assets/examples/wound_stiff.toml",
        include_str!("../assets/examples/wound_stiff.toml"),
    ),
];

/// A shipped scenario by name: "fisher", "examples/fisher" or its full path.
pub fn find(name: &str) -> Option<(&'static str, &'static str)> {
    let name = name.trim_end_matches(".toml");
    SCENARIOS.iter().copied().find(|(path, _)| {
        let p = path.trim_end_matches(".toml");
        p == name || p.ends_with(&format!("/{name}"))
    })
}

/// Short name of a shipped scenario ("fisher").
pub fn short_name(path: &str) -> &str {
    path.rsplit('/')
        .next()
        .unwrap_or(path)
        .trim_end_matches(".toml")
}

/// A scenario by file path, or by the name of a shipped one when no such file exists.
pub fn load(name: &str) -> crate::Result<crate::Scenario> {
    let path = std::path::Path::new(name);
    if !path.exists()
        && let Some((p, text)) = find(name)
    {
        return crate::Scenario::parse(text, &format!("{p} (built in)"));
    }
    crate::Scenario::load(path)
}

/// The classroom presets (`assets/presets/`), the app's menu, default first.
pub fn classroom() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = SCENARIOS
        .iter()
        .copied()
        .filter(|(p, _)| p.starts_with("assets/presets/"))
        .collect();
    out.sort_by_key(|(p, _)| (short_name(p) != DEFAULT, *p));
    out
}

/// The scenario the app opens first: a real wound (the `wound` model's 6 mm punch biopsy),
/// untreated vs exosome-treated ready to compare (#13).
pub const DEFAULT: &str = "wound_human_acute";

/// Files the shipped scenarios read (maps), by path under the repository.
pub const FILES: &[(&str, &[u8])] = &[(
    "assets/examples/maps/irregular_wound.png",
    include_bytes!("../assets/examples/maps/irregular_wound.png"),
)];

/// Built-in models shipped as scenario files: (name, path under the repository, text).
/// `[model] builtin = "NAME"` loads one; the scenario overrides and adds to it.
pub const MODELS: &[(&str, &str, &str)] = &[
    (
        "ageing",
        "assets/models/ageing.toml",
        include_str!("../assets/models/ageing.toml"),
    ),
    (
        "epidermal",
        "assets/models/epidermal.toml",
        include_str!("../assets/models/epidermal.toml"),
    ),
    (
        "wound",
        "assets/models/wound.toml",
        include_str!("../assets/models/wound.toml"),
    ),
];

/// The model file called `name`: (path, text).
pub fn model_file(name: &str) -> Option<(&'static str, &'static str)> {
    MODELS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, p, t)| (*p, *t))
}

/// Every built-in model's name: the code models, then the model files.
pub fn builtin_names() -> Vec<&'static str> {
    let mut names = crate::model::BUILTINS.to_vec();
    names.extend(MODELS.iter().map(|(n, _, _)| *n));
    names
}
