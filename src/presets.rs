//! The scenarios shipped under `assets/`, compiled into the binary so `exoderm presets` and
//! `exoderm run NAME` work from any folder.

/// (path under the repository, text).
pub const SCENARIOS: &[(&str, &str)] = &[
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
