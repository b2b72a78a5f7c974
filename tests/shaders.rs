//! naga validates every built-in model's generated shaders (no GPU needed).

#[test]
fn every_builtin_model_shader_validates() {
    for name in exoderm::model::BUILTINS {
        let model = exoderm::model::builtin(name).unwrap();
        exoderm::model::expr::check_model(&model).unwrap_or_else(|e| panic!("{name}: {e}"));
        let sources =
            exoderm::engine::kernels::sources(&model).unwrap_or_else(|e| panic!("{name}: {e}"));
        let labels: Vec<&str> = sources.iter().map(|(l, _)| *l).collect();
        let mut want = vec!["step", "check"];
        if !model.metrics.is_empty() {
            want.push("metrics");
        }
        want.extend(["error", "rkc", "commit"]);
        assert_eq!(
            labels, want,
            "{name}: every kernel module, each validated once"
        );
        for (label, entry) in [
            ("step", "fn xd_step_main"),
            ("step", "fn xd_init_main"),
            ("check", "fn xd_check_main"),
            ("rkc", "fn xd_rkc_stage"),
            ("rkc", "fn xd_rkc_finish"),
            ("commit", "fn xd_rkc_commit"),
        ] {
            assert!(
                sources
                    .iter()
                    .any(|(l, s)| *l == label && s.contains(entry)),
                "{name}: {label} holds {entry}"
            );
        }
    }
}

/// A model of `species` species and `params` params (species s fed by param p(8s + 7), so
/// every plane and the last params are read).
pub fn sized_model(species: usize, params: usize) -> String {
    let mut text =
        String::from("[grid]\nsize = [8, 8]\nextent = [1.0, 1.0]\n[time]\nend = 1.0\n[params]\n");
    for p in 0..params {
        text.push_str(&format!("p{p} = {}\n", p as f64 * 0.001));
    }
    for s in 0..species {
        text.push_str(&format!(
            "[[species]]\nname = \"s{s}\"\ndiffusion = 0.1\ninitial = \"0.0\"\n"
        ));
    }
    text.push_str("[reactions]\n");
    for s in 0..species {
        text.push_str(&format!(
            "s{s} = \"p{} - 0.1 * s{s}\"\n",
            (8 * s + 7).min(params - 1)
        ));
    }
    text
}

#[test]
fn thirty_two_species_and_256_params_fit_and_no_more() {
    let sc = exoderm::Scenario::parse(&sized_model(32, 256), "t.toml").unwrap();
    assert_eq!(sc.model.planes(), 8);
    assert_eq!(sc.model.params.len(), 256);
    exoderm::engine::kernels::sources(&sc.model).unwrap();
    let e = exoderm::Scenario::parse(&sized_model(33, 256), "t.toml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("more than 32 species"), "{e}");
    let e = exoderm::Scenario::parse(&sized_model(32, 257), "t.toml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("more than 256 params"), "{e}");
}
