//! Property tests (run briefly in CI): mutated scenario and sweep files and random WGSL-ish
//! expressions go through validation. Never a panic; a rejected file gets a scenario error
//! that names the file (and the line, unless what is wrong is something missing); an
//! accepted one compiles to shaders that naga validates.

use proptest::prelude::*;

use exoderm::error::Error;

/// Snippets a typo, a paste or a bad edit might leave in a TOML scenario.
const NOISE: &[&str] = &[
    "=",
    "[",
    "]",
    "\"",
    "{",
    "}",
    ",",
    "\n",
    "#",
    ".",
    "1e400",
    "-1",
    "nan",
    "inf",
    "0",
    "\"mm\"",
    "\"3 fortnight\"",
    "[[species]]",
    "[grid]",
    "name = \"u\"",
    "xd_",
    "fn",
    "initial = \"(\"",
    "diffusion = -2",
    "size = [0, 0]",
    "boundary = \"wobbly\"",
    "é",
];

/// Pieces of expressions: names that exist and do not, numbers, operators, functions.
const TOKENS: &[&str] = &[
    "u", "v", "r", "k", "x", "y", "t", "noise", "zz", "1.0", "0.5", "2", "1e-3", "-", "+", "*",
    "/", "(", ")", ",", "exp(", "sqrt(", "max(", "select(", "<", ">", "&&", "true", "abs(", "pow(",
    "1e39", "u * u", "u / 0.0", "%", "!", "==",
];

const BASE: &str = "[grid]\nsize = [16, 12]\nextent = [\"2 mm\", \"1.5 mm\"]\n[time]\nend = \"1 h\"\n\
    [[species]]\nname = \"u\"\ndiffusion = 0.1\ninitial = \"0.5\"\n\
    [[species]]\nname = \"v\"\ndiffusion = 0.2\ninitial = \"noise\"\n\
    [reactions]\nu = \"REACTION\"\n[params]\nr = 1.0\nk = 0.5\n";

/// The property every outcome must have.
fn check_outcome(text: &str, file: &str) -> Result<(), TestCaseError> {
    match exoderm::Scenario::parse(text, file) {
        Ok(sc) => {
            // Accepted: the whole model must compile (no expression that passes alone but
            // breaks the assembled shader).
            if let Err(e) = exoderm::engine::kernels::sources(&sc.model) {
                return Err(TestCaseError::fail(format!(
                    "accepted but does not compile: {e}\n{text}"
                )));
            }
        }
        Err(Error::Scenario { at, message, fix }) => {
            prop_assert_eq!(&at.file, file, "{}", message);
            prop_assert!(!fix.is_empty(), "every error says what to do: {}", message);
            let absent = message.contains(" has no ") || message.contains("no [");
            prop_assert!(
                at.line.is_some() || absent,
                "no line for `{}`: {}",
                at.field,
                message
            );
        }
        Err(other) => {
            return Err(TestCaseError::fail(format!(
                "not a scenario error: {other}\n{text}"
            )));
        }
    }
    Ok(())
}

/// A shipped scenario with `edits` applied: (position fraction, bytes to delete, noise index).
fn mutate(text: &str, edits: &[(f64, usize, usize)]) -> String {
    let mut s: Vec<char> = text.chars().collect();
    for &(at, del, noise) in edits {
        let i = ((at * s.len() as f64) as usize).min(s.len());
        let end = (i + del).min(s.len());
        s.splice(i..end, NOISE[noise % NOISE.len()].chars());
    }
    s.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_scenarios_are_errors_with_a_place_or_valid(
        which in 0usize..64,
        edits in prop::collection::vec((0.0f64..1.0, 0usize..12, 0usize..64), 1..4),
    ) {
        let (path, text) = exoderm::presets::SCENARIOS[which % exoderm::presets::SCENARIOS.len()];
        check_outcome(&mutate(text, &edits), path)?;
    }

    #[test]
    fn random_expressions_are_errors_with_a_place_or_compile(
        tokens in prop::collection::vec(0usize..64, 1..10),
    ) {
        let expr: Vec<&str> = tokens.iter().map(|&t| TOKENS[t % TOKENS.len()]).collect();
        let text = BASE.replace("REACTION", &expr.join(" ").replace('"', ""));
        check_outcome(&text, "fuzz.toml")?;
    }

    #[test]
    fn mutated_sweeps_are_errors_with_a_place_or_valid(
        edits in prop::collection::vec((0.0f64..1.0, 0usize..8, 0usize..64), 1..3),
    ) {
        let sweep = "base = \"fisher\"\ndesign = \"grid\"\nreplicates = 2\n\
            [[axis]]\nname = \"params.r\"\nvalues = [0.5, 1.0]\n\
            [[axis]]\nname = \"species.u.diffusion\"\nrange = [0.05, 0.2]\ncount = 2\n\
            [summary]\npeak = { column = \"u_max\", stat = \"max\" }\n";
        let text = mutate(sweep, &edits);
        match exoderm::batch::Sweep::parse(&text, "fuzz_sweep.toml", std::path::Path::new(".")) {
            Ok(s) => prop_assert_eq!(s.inputs.len(), s.runs.len()),
            Err(Error::Scenario { at, message, .. }) => {
                prop_assert!(
                    at.file == "fuzz_sweep.toml" || at.file.starts_with("assets/") || at.file.contains(" run "),
                    "{}: {}",
                    at.file,
                    message
                );
                prop_assert!(at.line.is_some() || message.contains(" has no "), "{}", message);
            }
            Err(other) => return Err(TestCaseError::fail(format!("not a scenario error: {other}\n{text}"))),
        }
    }
}
