//! The realistic skin view without a window: the app's `skin` shader (shaders/view.wgsl)
//! computed on the CPU from saved fields, for `skin_<k>.png` beside the snapshots. Keep the
//! two in step — same roles, constants and hash — so a picture in a report looks like the
//! app's view of the same state.

pub use crate::scenario::SkinRoles as Roles;

fn hash(i: u32, j: u32) -> f32 {
    let mut h = i
        .wrapping_mul(374761393)
        .wrapping_add(j.wrapping_mul(668265263));
    h = (h ^ (h >> 13)).wrapping_mul(1274126177);
    h ^= h >> 16;
    (h & 65535) as f32 / 65535.0
}

fn mix(a: f32, b: f32, t: f32) -> f32 {
    a + (b - a) * t
}

fn mix3(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [mix(a[0], b[0], t), mix(a[1], b[1], t), mix(a[2], b[2], t)]
}

fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

fn noise(x: f32, y: f32, scale: f32) -> f32 {
    let (px, py) = (x / scale, y / scale);
    let (fx, fy) = (px - px.floor(), py - py.floor());
    let (cx, cy) = ((px.floor() + 4096.0) as u32, (py.floor() + 4096.0) as u32);
    let (ux, uy) = (fx * fx * (3.0 - 2.0 * fx), fy * fy * (3.0 - 2.0 * fy));
    let a = hash(cx, cy);
    let b = hash(cx + 1, cy);
    let d = hash(cx, cy + 1);
    let e = hash(cx + 1, cy + 1);
    mix(mix(a, b, ux), mix(d, e, ux), uy)
}

/// nx × ny RGB pixels in field order (row 0 at y min, as the snapshots take them).
pub fn render(fields: &[Vec<f32>], nx: usize, ny: usize, roles: &Roles) -> Vec<u8> {
    let role = |k: usize, i: usize, j: usize, none: f32| -> f32 {
        let Some(s) = roles.species[k] else {
            return none;
        };
        let v = fields[s][j * nx + i];
        if !v.is_finite() {
            return none;
        }
        (v / roles.full[k].max(1e-30)).clamp(0.0, 1.0)
    };
    let mut rgb = vec![0u8; nx * ny * 3];
    for j in 0..ny {
        for i in 0..nx {
            let e = role(0, i, j, 1.0);
            let scab = role(1, i, j, 0.0);
            let infl = role(2, i, j, 0.0);
            let coll = role(3, i, j, 1.0);
            let (fx, fy) = (i as f32, j as f32);
            let grain = noise(fx, fy, 2.0);
            let bed = [0.55, 0.09, 0.11].map(|c| c * (0.8 + 0.4 * grain));
            let pores = noise(fx, fy, 3.0) * 0.5 + noise(fx, fy, 11.0) * 0.5;
            let tone = [0.90, 0.72, 0.61].map(|c| c * (0.94 + 0.08 * pores));
            let fresh = [0.93, 0.60, 0.58];
            let covered = smoothstep(0.15, 0.85, e);
            let mut c = mix3(bed, mix3(fresh, tone, smoothstep(0.6, 1.0, e)), covered);
            let wrinkle = (fy * 0.35 + 3.0 * noise(fx, fy, 17.0)).sin().abs();
            let w = 1.0 - 0.25 * (1.0 - coll) * smoothstep(0.85, 1.0, wrinkle);
            c = c.map(|v| v * w);
            c = mix3(
                c,
                [c[0] * 1.04, c[1] * 0.97, c[2] * 0.95],
                (1.0 - coll) * 0.5,
            );
            c = mix3(c, [0.86, 0.30, 0.28], 0.55 * infl);
            let crust = [0.33, 0.17, 0.09].map(|v| v * (0.7 + 0.5 * noise(fx, fy, 1.5)));
            c = mix3(c, crust, smoothstep(0.05, 0.6, scab));
            let (il, ir) = (i.saturating_sub(1), (i + 1).min(nx - 1));
            let (jd, ju) = (j.saturating_sub(1), (j + 1).min(ny - 1));
            let gx = (role(0, ir, j, 1.0) - role(0, il, j, 1.0))
                + 0.6 * (role(1, ir, j, 0.0) - role(1, il, j, 0.0));
            let gy = (role(0, i, ju, 1.0) - role(0, i, jd, 1.0))
                + 0.6 * (role(1, i, ju, 0.0) - role(1, i, jd, 0.0));
            let n = [-gx * 3.0, -gy * 3.0, 1.0];
            let nl = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
            let l = [-0.5f32, 0.5, 0.8];
            let ll = (l[0] * l[0] + l[1] * l[1] + l[2] * l[2]).sqrt();
            let dot = (n[0] * l[0] + n[1] * l[1] + n[2] * l[2]) / (nl * ll);
            let shade = 0.55 + 0.45 * dot.max(0.0) / 0.8;
            for (k, v) in c.iter().enumerate() {
                rgb[(j * nx + i) * 3 + k] = ((v * shade).clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        }
    }
    rgb
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intact_skin_open_bed_and_redness_have_their_colours() {
        // 8 × 1 cells: epidermis 1 on the left half, 0 on the right; inflammation 1 at the end.
        let (nx, ny) = (8, 1);
        let e: Vec<f32> = (0..nx).map(|i| if i < 4 { 1.0 } else { 0.0 }).collect();
        let infl: Vec<f32> = (0..nx).map(|i| if i == 7 { 1.0 } else { 0.0 }).collect();
        let roles = Roles {
            species: [Some(0), None, Some(1), None],
            full: [1.0; 4],
        };
        let rgb = render(&[e, infl], nx, ny, &roles);
        let px = |i: usize| [rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2]];
        // Intact (flat, lit at 0.55 + 0.45·cos/0.8): a skin tone, red > green > blue.
        let s = px(1);
        assert!(s[0] > 180 && s[0] > s[1] && s[1] > s[2], "{s:?}");
        // Open bed: dark red.
        let b = px(5);
        assert!(b[0] > 3 * b[1] && b[0] < 180, "{b:?}");
        // Erythema makes the bed lighter red.
        assert!(px(7)[0] > b[0] && px(7)[1] > b[1], "{:?}", px(7));
    }
}
