//! The field views: each live simulation's colour map and/or skin texture, with zoom (scroll),
//! pan (drag with the pan tool, or the right button), the brush (left button), a hover
//! read-out of every species at the cell under the pointer, and a colour legend in the
//! species' units.

use eframe::egui::{self, Color32, Rect, Sense, Vec2, pos2, vec2};

use super::settings::ViewMode;
use super::{Command, ExoApp, Tool};

/// What a tile shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Colour,
    Skin,
    /// B − A (compare mode); `side` is A for the hover read-out.
    Delta,
}

/// One tile: which side, and what of it.
#[derive(Clone, Copy)]
struct Tile {
    side: usize,
    kind: Kind,
}

const LEGEND_H: f32 = 34.0;
const LABEL_H: f32 = 20.0;

/// Draws every view; returns the area they cover (for recordings) and the hovered cell.
pub fn views_ui(app: &mut ExoApp, ui: &mut egui::Ui) -> (Option<Rect>, Option<[u32; 2]>) {
    let sides = 1 + app.session.b.is_some() as usize;
    let mode = app.view_mode();
    let mut tiles = vec![];
    for side in 0..sides {
        if mode != ViewMode::Skin {
            tiles.push(Tile {
                side,
                kind: Kind::Colour,
            });
        }
        if mode != ViewMode::Colormap {
            tiles.push(Tile {
                side,
                kind: Kind::Skin,
            });
        }
        // B − A ends side A's row, above nothing: the rows stay A over B.
        if side == 0 && app.settings.show_delta && app.session.delta.is_some() {
            tiles.push(Tile {
                side: 0,
                kind: Kind::Delta,
            });
        }
    }
    let grid = app.session.scenario.grid.clone();
    let aspect = (grid.extent[1] / grid.extent[0]) as f32;
    let avail = ui.available_rect_before_wrap();
    let gap = 8.0;
    // One row, or one row per side in compare mode: whichever gives bigger pictures.
    let layout = |rows: usize| {
        let cols = tiles.len().div_ceil(rows);
        let w_max = (avail.width() - gap * (cols as f32 - 1.0)) / cols as f32;
        let h_max = (avail.height() - rows as f32 * (LEGEND_H + LABEL_H)) / rows as f32;
        (w_max.min(h_max / aspect).max(32.0), cols)
    };
    let (w, cols) = [1, sides]
        .into_iter()
        .map(layout)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap_or((32.0, 1));
    let h = w * aspect;
    let total_w = w * cols as f32 + gap * (cols as f32 - 1.0);
    let x0 = avail.min.x + (avail.width() - total_w) / 2.0;
    let mut hover = None;
    let mut covered: Option<Rect> = None;
    for (k, tile) in tiles.iter().enumerate() {
        let (row, col) = (k / cols, k % cols);
        let left = x0 + col as f32 * (w + gap);
        let top = avail.min.y + LABEL_H + row as f32 * (h + LEGEND_H + LABEL_H);
        let image_rect = Rect::from_min_size(pos2(left, top), vec2(w, h));
        covered = Some(match covered {
            Some(c) => c.union(image_rect),
            None => image_rect,
        });
        if let Some(cell) = tile_ui(app, ui, *tile, image_rect) {
            hover = Some(cell);
        }
    }
    ui.allocate_rect(avail, Sense::hover());
    (covered, hover)
}

/// The visible part of the texture for the current zoom and centre.
fn uv_rect(app: &ExoApp) -> Rect {
    let half = 0.5 / app.ui.zoom;
    let c = vec2(
        app.ui.center.x.clamp(half, 1.0 - half),
        app.ui.center.y.clamp(half, 1.0 - half),
    );
    Rect::from_center_size(pos2(c.x, c.y), Vec2::splat(2.0 * half))
}

fn tile_ui(app: &mut ExoApp, ui: &mut egui::Ui, tile: Tile, rect: Rect) -> Option<[u32; 2]> {
    let grid = app.session.scenario.grid.clone();
    let live = app.session.live(tile.side)?;
    let species = &app.session.scenario.model.species[app.ui.species];
    let title = match tile.kind {
        Kind::Skin => format!("{} · skin", live.label),
        Kind::Colour => format!("{} · {}", live.label, species.name),
        Kind::Delta => format!(
            "{} − {} · {}",
            app.session.live(1)?.label,
            live.label,
            species.name
        ),
    };
    let title_rect = Rect::from_min_max(
        pos2(rect.left(), rect.top() - LABEL_H),
        pos2(rect.right(), rect.top()),
    );
    ui.put(
        title_rect,
        egui::Label::new(egui::RichText::new(title).strong()).truncate(),
    );
    let tex = match tile.kind {
        Kind::Skin => live.skin_tex?,
        Kind::Colour => live.color_tex,
        Kind::Delta => app.session.delta.as_ref()?.tex,
    };
    let uv = uv_rect(app);
    egui::Image::from_texture((tex, rect.size()))
        .uv(uv)
        .paint_at(ui, rect);
    if let Some(msg) = &live.stopped {
        ui.painter()
            .rect_filled(rect, 0.0, Color32::from_black_alpha(140));
        ui.painter().text(
            rect.center(),
            egui::Align2::CENTER_CENTER,
            format!("stopped: {msg}"),
            egui::FontId::proportional(13.0),
            Color32::from_rgb(255, 120, 120),
        );
    }
    match tile.kind {
        Kind::Colour => legend_ui(app, ui, tile.side, rect),
        Kind::Delta => delta_legend_ui(app, ui, rect),
        Kind::Skin => {}
    }
    let id = ui.make_persistent_id(("field", tile.side, tile.kind as u8));
    let response = ui.interact(rect, id, Sense::click_and_drag());
    // Zoom about the pointer.
    if response.hovered() {
        let scroll = ui.input(|i| i.smooth_scroll_delta.y);
        if scroll != 0.0
            && let Some(p) = response.hover_pos()
        {
            let before = uv.min + (p - rect.min) / rect.size() * uv.size();
            app.ui.zoom = (app.ui.zoom * (scroll * 0.003).exp()).clamp(1.0, 32.0);
            let half = 0.5 / app.ui.zoom;
            let after_min = before - (p - rect.min) / rect.size() * (2.0 * half);
            app.ui.center = after_min.to_vec2() + Vec2::splat(half);
        }
    }
    let pan = response.dragged_by(egui::PointerButton::Secondary)
        || response.dragged_by(egui::PointerButton::Middle)
        || (app.ui.tool == Tool::Pan && response.dragged_by(egui::PointerButton::Primary));
    if pan {
        app.ui.center -= response.drag_delta() / rect.size() * uv.size();
    }
    let pos = response.hover_pos().or(response.interact_pointer_pos())?;
    let t = uv.min + (pos - rect.min) / rect.size() * uv.size();
    if !(0.0..1.0).contains(&t.x) || !(0.0..1.0).contains(&t.y) {
        return None;
    }
    let i = ((t.x * grid.nx as f32) as u32).min(grid.nx - 1);
    let j = grid.ny - 1 - ((t.y * grid.ny as f32) as u32).min(grid.ny - 1);
    let origin = grid.origin();
    let mm = [
        origin[0] + t.x as f64 * grid.extent[0],
        origin[1] + (1.0 - t.y as f64) * grid.extent[1],
    ];
    let painting = app.ui.tool != Tool::Pan
        && (response.clicked()
            || (response.dragged_by(egui::PointerButton::Primary)
                && response.drag_delta() != Vec2::ZERO)
            || response.drag_started_by(egui::PointerButton::Primary));
    if app.ui.tool != Tool::Pan {
        let r = (app.settings.brush_radius / uv.width() as f64) as f32 * rect.width();
        ui.painter()
            .circle_stroke(pos, r, egui::Stroke::new(1.5, Color32::WHITE));
    }
    if painting {
        let side = app.ui.side;
        app.queue(Command::Paint { at: mm, side });
    }
    hover_tooltip(app, &response, [i, j], mm);
    Some([i, j])
}

/// Every species at the hovered cell; in compare mode both sides and B − A in columns
/// (the probes of both sides read the same cell).
fn hover_tooltip(app: &ExoApp, response: &egui::Response, cell: [u32; 2], mm: [f64; 2]) {
    if !response.hovered() {
        return;
    }
    let species = &app.session.scenario.model.species;
    let sides: Vec<(&str, Option<&Vec<f32>>)> = app
        .session
        .lives()
        .map(|l| {
            let values = (l.probed.cell == Some(cell)).then_some(&l.probed.values);
            (l.label.as_str(), values)
        })
        .collect();
    response.clone().on_hover_ui_at_pointer(|ui| {
        ui.label(format!(
            "x = {:.3} mm, y = {:.3} mm  (cell {}, {})",
            mm[0], mm[1], cell[0], cell[1]
        ));
        egui::Grid::new("hover_values").show(ui, |ui| {
            let compare = sides.len() == 2;
            if compare {
                ui.label("");
                for (label, _) in &sides {
                    ui.strong(*label);
                }
                ui.strong("B − A");
                ui.end_row();
            }
            for (k, s) in species.iter().enumerate() {
                ui.label(&s.name);
                let at = |side: usize| sides[side].1.and_then(|v| v.get(k)).copied();
                for side in 0..sides.len() {
                    match at(side) {
                        Some(v) => ui.monospace(format!("{v:.4}")),
                        None => ui.weak("…"),
                    };
                }
                if compare {
                    match (at(0), at(1)) {
                        (Some(a), Some(b)) => ui.monospace(format!("{:+.4}", b - a)),
                        _ => ui.weak("…"),
                    };
                }
                ui.weak(&s.units);
                ui.end_row();
            }
        });
    });
}

fn legend_ui(app: &ExoApp, ui: &egui::Ui, side: usize, image: Rect) {
    let Some(live) = app.session.live(side) else {
        return;
    };
    let super::view::Look::Colormap {
        colormap, range, ..
    } = app.look()
    else {
        return;
    };
    let [lo, hi] = range.unwrap_or(live.probed.range);
    let units = &app.session.scenario.model.species[app.ui.species].units;
    draw_legend(ui, image, &colormap, [lo, hi], units);
}

/// The B − A legend: the diverging map over ±the largest difference.
fn delta_legend_ui(app: &ExoApp, ui: &egui::Ui, image: Rect) {
    let Some(d) = &app.session.delta else {
        return;
    };
    let units = &app.session.scenario.model.species[app.ui.species].units;
    draw_legend(
        ui,
        image,
        super::delta::COLORMAP,
        d.probed.range,
        &format!("difference, {units}"),
    );
}

/// A colour bar under `image` with its two ends and the units between them.
fn draw_legend(ui: &egui::Ui, image: Rect, colormap: &str, [lo, hi]: [f32; 2], units: &str) {
    let bar = Rect::from_min_size(
        pos2(image.left(), image.bottom() + 4.0),
        vec2(image.width(), 10.0),
    );
    let lut = crate::colormap::lut(colormap);
    let steps = 64;
    for k in 0..steps {
        let c = lut[k * 255 / (steps - 1)].to_le_bytes();
        let x0 = bar.left() + bar.width() * k as f32 / steps as f32;
        let x1 = bar.left() + bar.width() * (k + 1) as f32 / steps as f32 + 0.5;
        ui.painter().rect_filled(
            Rect::from_x_y_ranges(x0..=x1, bar.y_range()),
            0.0,
            Color32::from_rgb(c[0], c[1], c[2]),
        );
    }
    let text = ui.visuals().text_color();
    let font = egui::FontId::proportional(12.0);
    ui.painter().text(
        pos2(bar.left(), bar.bottom() + 2.0),
        egui::Align2::LEFT_TOP,
        format!("{lo:.4}"),
        font.clone(),
        text,
    );
    ui.painter().text(
        pos2(bar.right(), bar.bottom() + 2.0),
        egui::Align2::RIGHT_TOP,
        format!("{hi:.4}"),
        font.clone(),
        text,
    );
    // The units between the numbers when there is room for them.
    if image.width() >= 280.0 {
        ui.painter().text(
            pos2(bar.center().x, bar.bottom() + 2.0),
            egui::Align2::CENTER_TOP,
            units,
            font,
            ui.visuals().weak_text_color(),
        );
    }
}
