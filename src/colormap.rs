//! Colour maps, in one place for every picture exoderm makes: PNG snapshots, sweep plots
//! and the app's GPU views (a 256-entry table). The names and their order are the ones the
//! app's menu lists.

/// The colour maps offered, in menu order.
pub const COLORMAPS: &[&str] = &[
    "viridis", "magma", "inferno", "plasma", "cividis", "greys", "rdbu",
];

/// The canonical name of a colour map, accepting the aliases `diverging` and `grey`.
pub fn canonical(name: &str) -> Option<&'static str> {
    let name = match name {
        "diverging" => "rdbu",
        "grey" | "gray" | "grays" => "greys",
        other => other,
    };
    COLORMAPS.iter().copied().find(|c| *c == name)
}

/// The gradient of a named map (viridis for an unknown name).
pub fn gradient(name: &str) -> colorous::Gradient {
    match name {
        "magma" => colorous::MAGMA,
        "inferno" => colorous::INFERNO,
        "plasma" => colorous::PLASMA,
        "cividis" => colorous::CIVIDIS,
        "greys" => colorous::GREYS,
        "rdbu" => colorous::RED_BLUE,
        _ => colorous::VIRIDIS,
    }
}

/// 256 sRGB colours of a named map, packed RGBA8 (r in the low byte), for GPU views.
pub fn lut(name: &str) -> [u32; 256] {
    let g = gradient(name);
    let mut out = [0u32; 256];
    for (k, c) in out.iter_mut().enumerate() {
        let rgb = g.eval_rational(k, 256);
        *c = u32::from_le_bytes([rgb.r, rgb.g, rgb.b, 255]);
    }
    out
}

/// The colour of `t` in 0..=1 on a named map.
pub fn rgb(name: &str, t: f64) -> [u8; 3] {
    let c = gradient(name).eval_continuous(t.clamp(0.0, 1.0));
    [c.r, c.g, c.b]
}
