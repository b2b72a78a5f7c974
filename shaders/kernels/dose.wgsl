// Kernel template: doses (model::Dose) — an amount of one species in a region, both
// expressions of the state, position, time, params and maps, evaluated with the run's own
// params. Record: t, sel = the dose's index, pad0 = the run. A `total` dose is spread over
// its region's area: a counting pass first (XD_FLAG_DOSE_CELLS), then the apply pass.
// The state is read from its high part (the low part is below its resolution).

@group(0) @binding(3) var<storage, read_write> xd_state: array<vec4<f32>>;
// The state's low part (stabilized schemes; for Euler the idle ping-pong set): a `set`
// clears it, so the value set is exact.
@group(0) @binding(4) var<storage, read_write> xd_low: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> xd_flags: array<atomic<u32>>;

fn xd_dose_cell(cx: XdCtx) -> XdCell {
    var c: XdCell;
    //@each k
    c[$k] = xd_state[xd_at($ku, cx.idx)];
    //@end
    return c;
}

@compute @workgroup_size(64, 4, 1)
fn xd_dose_count(@builtin(global_invocation_id) gid: vec3<u32>) {
    let cx = xd_ctx(gid, gid.x);
    if (!xd_inside(cx) || cx.run != xd_step.pad0) { return; }
    if (xd_dose_where(xd_step.sel, cx.run, cx.x, cx.y, xd_step.t, xd_dose_cell(cx))) {
        atomicAdd(&xd_flags[xd_flag(cx.run, XD_FLAG_DOSE_CELLS)], 1u);
    }
}

@compute @workgroup_size(64, 4, 1)
fn xd_dose_apply(@builtin(global_invocation_id) gid: vec3<u32>) {
    let cx = xd_ctx(gid, gid.x);
    if (!xd_inside(cx) || cx.run != xd_step.pad0) { return; }
    let d = xd_step.sel;
    let c = xd_dose_cell(cx);
    if (!xd_dose_where(d, cx.run, cx.x, cx.y, xd_step.t, c)) { return; }
    let slot = xd_dose_slot(d);
    var a = xd_dose_amount(d, cx.run, cx.x, cx.y, xd_step.t, c);
    if (slot.z == 2u) {
        // Per unit area: the total over the region's area (cells × cell area).
        let cells = atomicLoad(&xd_flags[xd_flag(cx.run, XD_FLAG_DOSE_CELLS)]);
        a = a / (f32(max(cells, 1u)) * xd_grid.dx * xd_grid.dy);
    }
    let i = xd_at(slot.x, cx.idx);
    var v = xd_state[i];
    if (slot.z == 0u) {
        v[slot.y] = a;
        var l = xd_low[i];
        l[slot.y] = 0.0;
        xd_low[i] = l;
    } else {
        v[slot.y] = v[slot.y] + a;
    }
    xd_state[i] = v;
}
