//! The difference view of compare mode: B − A of the shown species, on a diverging colour
//! map centred on zero, made on the GPU from both simulations' fields each frame — where
//! the treatment acts, and how much, at a glance.

use eframe::egui;
use eframe::egui_wgpu::RenderState;
use eframe::wgpu;

use super::view::{FieldView, Probe, ProbeResult};
use crate::engine::Simulation;

/// The diverging map the difference is drawn with: negative red, zero white, positive blue.
pub const COLORMAP: &str = "rdbu";

pub struct DeltaView {
    view: FieldView,
    probe: Probe,
    pub tex: egui::TextureId,
    /// The last range (±max |B − A|) the probe brought back.
    pub probed: ProbeResult,
}

impl DeltaView {
    pub fn new(rs: &RenderState, a: &Simulation) -> DeltaView {
        let view = FieldView::new(&rs.device, a);
        let tex = rs.renderer.write().register_native_texture(
            &rs.device,
            &view.sample_view,
            wgpu::FilterMode::Nearest,
        );
        DeltaView {
            probe: Probe::new(&rs.device, a),
            view,
            tex,
            probed: ProbeResult::default(),
        }
    }

    pub fn release(&self, rs: &RenderState) {
        rs.renderer.write().free_texture(&self.tex);
    }

    /// Encodes B − A of `species` (range None: ±the largest difference) and, when none is in
    /// flight, a probe of the range. Returns whether one was requested.
    #[allow(clippy::too_many_arguments)]
    pub fn encode(
        &mut self,
        rs: &RenderState,
        enc: &mut wgpu::CommandEncoder,
        a: &Simulation,
        b: &Simulation,
        species: usize,
        range: Option<[f32; 2]>,
    ) -> bool {
        self.view
            .encode_difference(&rs.device, &rs.queue, enc, a, b, species, COLORMAP, range);
        self.probe.request(enc, &self.view, a, 0, None)
    }

    pub fn after_submit(&mut self, requested: bool) {
        if requested {
            self.probe.submitted();
        }
    }

    pub fn poll(&mut self, device: &wgpu::Device) {
        if let Some(r) = self.probe.poll(device) {
            self.probed = r;
        }
    }
}
