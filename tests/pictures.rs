//! Pictures people would rather look at (#15): annotated snapshots — colour bar following
//! the map, the time changing between outputs, a scale bar, the title — raw pictures on
//! request, and no pictures at all when none are asked for.

use exoderm::output::annotate::{layout, scale_bar};

use crate::common::scenario;
use crate::gpu_or_skip;

const SCENARIO: &str = "[grid]\nsize = [40, 20]\nextent = [\"4 mm\", \"2 mm\"]\n\
    [time]\nend = \"2 h\"\noutput_every = \"1 h\"\n\
    [[species]]\nname = \"u\"\ndiffusion = 0.05\ninitial = \"select(0.0, 1.0, x < -1.0)\"\n\
    range = [0.0, 1.0]\nunits = \"fraction\"\n\
    [reactions]\nu = \"u * (1.0 - u)\"\n\
    [explain]\ntitle = \"A front\"\nwhat = \"w\"\ntry = \"t\"\nwatch = \"w\"\n";

fn run(extra: &str) -> tempfile::TempDir {
    let ctx = crate::common::gpu().expect("GPU");
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(&format!("{SCENARIO}{extra}"));
    exoderm::run::run(
        ctx,
        &sc,
        &exoderm::run::RunOptions {
            out: dir.path().to_path_buf(),
            quiet: true,
            checkpoint_every: None,
        },
    )
    .unwrap();
    dir
}

/// (width, height, RGB) of a PNG.
fn decode(path: &std::path::Path) -> (u32, u32, Vec<u8>) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut r = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

fn px(img: &(u32, u32, Vec<u8>), x: u32, y: u32) -> [u8; 3] {
    let i = ((y * img.0 + x) * 3) as usize;
    [img.2[i], img.2[i + 1], img.2[i + 2]]
}

/// The pixels of a rectangle, to compare regions of two pictures.
fn region(img: &(u32, u32, Vec<u8>), [x, y, w, h]: [u32; 4]) -> Vec<[u8; 3]> {
    (y..y + h)
        .flat_map(|yy| (x..x + w).map(move |xx| (xx, yy)))
        .map(|(xx, yy)| px(img, xx, yy))
        .collect()
}

#[test]
fn snapshots_carry_a_colour_bar_the_time_a_scale_bar_and_the_title() {
    let _ = gpu_or_skip!();
    let dir = run("");
    let (w, h, field, bar) = layout([4.0, 2.0], "A front", "fraction");
    let a = decode(&dir.path().join("u_0.png"));
    let b = decode(&dir.path().join("u_2.png"));
    assert_eq!((a.0, a.1), (w, h), "readable size");
    // The colour bar follows viridis from the bottom (0) to the top (1).
    let g = exoderm::colormap::gradient("viridis");
    for k in 0..5 {
        let y = bar[1] + (k * (bar[3] - 1)) / 4;
        let f = 1.0 - (y - bar[1]) as f64 / bar[3] as f64;
        let c = g.eval_continuous(f);
        let p = px(&a, bar[0] + bar[2] / 2, y);
        for (got, want) in p.iter().zip([c.r, c.g, c.b]) {
            assert!(
                got.abs_diff(want) <= 3,
                "bar at {y}: {p:?} vs {:?}",
                [c.r, c.g, c.b]
            );
        }
    }
    // Title line the same, time line different, field different (the front moved).
    let title = [16, 4, 200, 22];
    let time = [16, 28, 260, 22];
    assert_eq!(region(&a, title), region(&b, title));
    assert_ne!(region(&a, time), region(&b, time), "the time text changes");
    assert!(region(&a, time).iter().any(|p| p[0] < 100), "there is text");
    assert_ne!(region(&a, field), region(&b, field));
    // The field's left cells are u = 1 (yellow), drawn right way up and enlarged.
    let left = px(&a, field[0] + 2, field[1] + field[3] / 2);
    let c = g.eval_continuous(1.0);
    assert_eq!(left, [c.r, c.g, c.b]);
    // The scale bar: 1 mm of 4 mm, a quarter of the field's width, black.
    assert_eq!(scale_bar(4.0).0, 1.0);
    let y = field[1] + field[3] + 16;
    let black = (field[0]..field[0] + field[2] / 4 - 1)
        .filter(|&x| px(&a, x, y) == [0, 0, 0])
        .count() as u32;
    assert!(black >= field[2] / 4 - 3, "scale bar: {black} black pixels");
    assert_ne!(
        px(&a, field[0] + field[2] / 2, y),
        [0, 0, 0],
        "and no longer"
    );
    // The raw data stays available.
    assert!(dir.path().join("fields/u_2.npy").exists());
}

#[test]
fn raw_pictures_on_request_and_none_when_not_asked() {
    let _ = gpu_or_skip!();
    let dir = run("[output]\nannotate = false\n");
    let raw = decode(&dir.path().join("u_1.png"));
    assert_eq!((raw.0, raw.1), (40, 20), "one pixel per cell");
    let dir = run("[output]\npng = false\n");
    let pngs = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "png"))
        })
        .count();
    assert_eq!(pngs, 0);
    assert!(dir.path().join("fields/u_2.npy").exists());
    assert!(dir.path().join("metrics.csv").exists());
}
