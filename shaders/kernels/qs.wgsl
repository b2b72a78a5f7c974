// Kernel template: one red-black SOR sweep (colour xd_step.sel, relaxation xd_step.react_dt)
// of D ∇²q + R(q, others) = 0 for every quasi-steady species q, in place on xd_dst,
// linearised pointwise (Newton in q): q ← q + ω·r/diag with the residual r = D∇²q + R(q)
// and diag = 2D/dx² + 2D/dy² − J, J = min(∂R/∂q, 0). Every species of a cell is updated
// from the cell's values before the sweep.
//
// q̇ tracking: a step's predictor was q_n + τ q̇; after the solve, q̇ + Σ dq/τ = (q_{n+1} − q_n)/τ.
//
// Flags: the sweep's largest |Δq| and |q| for the convergence test, and the largest share
// of the diagonal that is coupling to neighbours, 2D(1/dx² + 1/dy²)/diag ≤ 1 (< 1 where
// the species decays), which sets the SOR ω.

@group(0) @binding(4) var<storage, read_write> xd_dst: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> xd_flags: array<atomic<u32>>;
// The stabilized schemes keep each quasi-steady species' rate q̇ here (their F's slot); a
// sweep adds its change / τ (xd_step.cx[0].x = 1/τ; 0: no rate is kept, e.g. Euler).
@group(0) @binding(6) var<storage, read_write> xd_rate: array<vec4<f32>>;

//@neighbours xd_dst

// Thread x covers only the cells of this sweep's colour, (i + j) % 2 == sel: a masked
// full-grid dispatch would leave half of every SIMD lane group idle.
@compute @workgroup_size(64, 4, 1)
fn xd_qs_main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let cx = xd_ctx(gid, 2u * gid.x + ((gid.y + xd_step.sel) & 1u));
    if (!xd_inside(cx)) { return; }
    let t = xd_step.t;
    var c: XdCell;
    //@each k
    c[$k] = xd_dst[xd_at($ku, cx.idx)];
    //@end
    let hx = 1.0 / (xd_grid.dx * xd_grid.dx);
    let hy = 1.0 / (xd_grid.dy * xd_grid.dy);
    let omega = xd_step.react_dt;
    var change = 0.0;
    var size = 0.0;
    var coupling = 0.0;
    var out = c;
    //@each k
    if (xd_has_qs($ku)) {
        let w = xd_w_xd_dst($ku, cx, c[$k], t);
        let e = xd_e_xd_dst($ku, cx, c[$k], t);
        let s = xd_s_xd_dst($ku, cx, c[$k], t);
        let n = xd_n_xd_dst($ku, cx, c[$k], t);
        let dk = xd_run_d(cx.run, $ku);
        for (var m = 0u; m < 4u; m++) {
            let sp = 4u * $ku + m;
            if (sp >= XD_SPECIES || !xd_is_qs(sp)) { continue; }
            let q = c[$k][m];
            var r = 0.0;
            var jac = 0.0;
            if (xd_has_reaction(sp)) {
                let h = max(abs(q) * 1e-3, 1e-6);
                r = xd_rate_of(sp, cx.run, cx.x, cx.y, t, c);
                var bumped = c;
                bumped[$k][m] = q + h;
                jac = min((xd_rate_of(sp, cx.run, cx.x, cx.y, t, bumped) - r) / h, 0.0);
            }
            let d = dk[m];
            let diag = 2.0 * d * (hx + hy) - jac;
            let resid = d * ((w[m] + e[m] - 2.0 * q) * hx + (s[m] + n[m] - 2.0 * q) * hy) + r;
            let dq = select(0.0, omega * resid / diag, diag > 0.0);
            out[$k][m] = q + dq;
            change = max(change, abs(dq));
            size = max(size, abs(q + dq));
            coupling = max(coupling, select(0.0, 2.0 * d * (hx + hy) / diag, diag > 0.0));
        }
        let i = xd_at($ku, cx.idx);
        xd_dst[i] = out[$k];
        let inv_tau = xd_step.cx[0].x;
        if (inv_tau != 0.0) {
            xd_rate[i] = xd_rate[i] + (out[$k] - c[$k]) * inv_tau;
        }
    }
    //@end
    atomicMax(&xd_flags[xd_flag(cx.run, XD_FLAG_QS_CHANGE)], bitcast<u32>(change));
    atomicMax(&xd_flags[xd_flag(cx.run, XD_FLAG_QS_SIZE)], bitcast<u32>(size));
    atomicMax(&xd_flags[xd_flag(cx.run, XD_FLAG_QS_COUPLING)], bitcast<u32>(coupling));
}
