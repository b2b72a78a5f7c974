use std::sync::OnceLock;

use exoderm::{GpuContext, Scenario, Simulation};

/// The shared device, or None (loudly) when no adapter exists and the GPU is not required.
pub fn gpu() -> Option<&'static GpuContext> {
    static CTX: OnceLock<Option<GpuContext>> = OnceLock::new();
    CTX.get_or_init(|| match GpuContext::headless() {
        Ok(c) => Some(c),
        Err(e) => {
            if std::env::var("EXODERM_REQUIRE_GPU").as_deref() == Ok("1") {
                panic!("EXODERM_REQUIRE_GPU=1 but no GPU adapter could be opened: {e}");
            }
            eprintln!("\n*** GPU TESTS SKIPPED: no adapter ({e}). Set EXODERM_REQUIRE_GPU=1 to make this an error. ***\n");
            None
        }
    })
    .as_ref()
}

/// The GPU or an early, loud return from the test.
#[macro_export]
macro_rules! gpu_or_skip {
    () => {
        match $crate::common::gpu() {
            Some(c) => c,
            None => {
                eprintln!("SKIPPED {}: no GPU adapter", module_path!());
                return;
            }
        }
    };
}

pub fn scenario(text: &str) -> Scenario {
    Scenario::parse(text, "test.toml").unwrap_or_else(|e| panic!("scenario should parse: {e}"))
}

pub fn simulation(ctx: &GpuContext, sc: &Scenario) -> Simulation {
    Simulation::new(ctx, &sc.problem()).unwrap_or_else(|e| panic!("simulation: {}", sc.locate(e)))
}

pub fn advance(sim: &mut Simulation, t: f64) {
    sim.advance(t, &mut |_| {})
        .unwrap_or_else(|e| panic!("advance: {e}"));
}

/// Sum over cells (f64).
pub fn sum(f: &[f32]) -> f64 {
    f.iter().map(|&v| v as f64).sum()
}

pub fn max_abs_diff(a: &[f32], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 - y).abs())
        .fold(0.0, f64::max)
}

/// The (first) run's fields in f64, to start a CPU reference from the GPU's initial state.
pub fn fields_f64(sim: &Simulation) -> Vec<Vec<f64>> {
    sim.read_fields()
        .unwrap()
        .iter()
        .map(|f| f.iter().map(|&v| v as f64).collect())
        .collect()
}

/// A private 0700 XDG_RUNTIME_DIR for child processes (Mesa complains without one).
#[cfg_attr(not(feature = "gui"), allow(dead_code))]
pub fn runtime_dir() -> std::path::PathBuf {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("exoderm-test-xdg-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        d
    })
    .clone()
}

/// Every href/src of `dir/file` that is not a data: URI names a file that exists; every
/// data: URI decodes to a PNG or GIF. Returns (links, embedded pictures).
pub fn check_links(dir: &std::path::Path, file: &str) -> (Vec<String>, usize) {
    let html = std::fs::read_to_string(dir.join(file)).unwrap();
    let base = dir.join(file).parent().unwrap().to_path_buf();
    let (mut links, mut embedded) = (vec![], 0);
    for attr in ["href=\"", "src=\""] {
        for part in html.split(attr).skip(1) {
            let target = &part[..part.find('"').unwrap()];
            if let Some(data) = target.strip_prefix("data:") {
                let b64 = &data[data.find("base64,").unwrap() + 7..];
                let bytes = decode_base64(b64);
                assert!(
                    bytes.starts_with(b"\x89PNG") || bytes.starts_with(b"GIF89a"),
                    "{file}: embedded picture is neither PNG nor GIF"
                );
                embedded += 1;
            } else {
                assert!(
                    base.join(target).exists(),
                    "{file}: link {target} does not resolve"
                );
                links.push(target.to_string());
            }
        }
    }
    (links, embedded)
}

fn decode_base64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {}", c as char),
    };
    let bytes: Vec<u8> = s.bytes().filter(|&c| c != b'=').collect();
    let mut out = vec![];
    for chunk in bytes.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &c)| n | (val(c) as u32) << (18 - 6 * i));
        out.extend(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}
