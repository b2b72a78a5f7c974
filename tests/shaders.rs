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

#[test]
fn sixteen_species_fit_and_seventeen_do_not() {
    let mut text = String::from("[grid]\nsize = [8, 8]\nextent = [1.0, 1.0]\n[time]\nend = 1.0\n");
    for s in 0..16 {
        text.push_str(&format!(
            "[[species]]\nname = \"s{s}\"\ndiffusion = 0.1\ninitial = \"0.0\"\n"
        ));
    }
    text.push_str("[reactions]\ns15 = \"s0 - s15\"\n");
    let sc = exoderm::Scenario::parse(&text, "t.toml").unwrap();
    assert_eq!(sc.model.planes(), 4);
    exoderm::engine::kernels::sources(&sc.model).unwrap();
    let more = text.replace(
        "[reactions]",
        "[[species]]\nname = \"s16\"\ninitial = \"0.0\"\n[reactions]",
    );
    let e = exoderm::Scenario::parse(&more, "t.toml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("more than 16 species"), "{e}");
}
