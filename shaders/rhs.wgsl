// F(Y) = ∇·(D∇Y) + R(Y) of every species at a cell, for Y = hi + E: hi from xd_hi, E read
// by $get(k, idx). Instantiated per E source by `//@rhs NAME GET` in a kernel template.
// Constant D: D∇²Y. Variable D (XD_VAR_D): a flux form, each face's D the harmonic mean of
// the two cells' (mass conserving: what leaves one cell enters the other).
// Transport comes from differences, (hi_n − hi_c) + (E_n − E_c): a small deviation on a large
// value keeps its precision (no f32 stall), which a Laplacian of f32 totals would round
// away; the sides' rules are differences too (xd_side_diff). Quasi-steady species get F = 0
// (their values are the solver's).
fn xd_dif_w_$name(k: u32, cx: XdCtx, hc: vec4<f32>, ec: vec4<f32>, t: f32, d: vec4<f32>) -> vec4<f32> {
    if (cx.i > 0u) {
        let i = cx.idx - 1u;
        return (xd_hi[xd_at(k, i)] - hc) + ($get(k, i) - ec);
    }
    let w = cx.idx + xd_grid.nx - 1u;
    return xd_side_diff(k, xd_grid.bc.x, hc, ec, xd_hi[xd_at(k, w)], $get(k, w), cx.run, xd_grid.x0, cx.y, t, xd_grid.dx, d);
}
fn xd_dif_e_$name(k: u32, cx: XdCtx, hc: vec4<f32>, ec: vec4<f32>, t: f32, d: vec4<f32>) -> vec4<f32> {
    if (cx.i + 1u < xd_grid.nx) {
        let i = cx.idx + 1u;
        return (xd_hi[xd_at(k, i)] - hc) + ($get(k, i) - ec);
    }
    let w = cx.idx + 1u - xd_grid.nx;
    return xd_side_diff(k, xd_grid.bc.y, hc, ec, xd_hi[xd_at(k, w)], $get(k, w), cx.run, xd_grid.x0 + f32(xd_grid.nx) * xd_grid.dx, cx.y, t, xd_grid.dx, d);
}
fn xd_dif_s_$name(k: u32, cx: XdCtx, hc: vec4<f32>, ec: vec4<f32>, t: f32, d: vec4<f32>) -> vec4<f32> {
    if (cx.j > 0u) {
        let i = cx.idx - xd_grid.nx;
        return (xd_hi[xd_at(k, i)] - hc) + ($get(k, i) - ec);
    }
    let w = cx.idx + (xd_grid.ny - 1u) * xd_grid.nx;
    return xd_side_diff(k, xd_grid.bc.z, hc, ec, xd_hi[xd_at(k, w)], $get(k, w), cx.run, cx.x, xd_grid.y0, t, xd_grid.dy, d);
}
fn xd_dif_n_$name(k: u32, cx: XdCtx, hc: vec4<f32>, ec: vec4<f32>, t: f32, d: vec4<f32>) -> vec4<f32> {
    if (cx.j + 1u < xd_grid.ny) {
        let i = cx.idx + xd_grid.nx;
        return (xd_hi[xd_at(k, i)] - hc) + ($get(k, i) - ec);
    }
    let w = cx.run * xd_grid.nx * xd_grid.ny + cx.i;
    return xd_side_diff(k, xd_grid.bc.w, hc, ec, xd_hi[xd_at(k, w)], $get(k, w), cx.run, cx.x, xd_grid.y0 + f32(xd_grid.ny) * xd_grid.dy, t, xd_grid.dy, d);
}
// A neighbour's state (hi + $get), or `fallback` where there is none (beyond a
// non-periodic side).
fn xd_state_$name(n: XdNb, fallback: XdCell) -> XdCell {
    if (!n.ok) { return fallback; }
    var y: XdCell;
    //@each k
    y[$k] = xd_hi[xd_at($ku, n.idx)] + $get($ku, n.idx);
    //@end
    return y;
}
// The face coefficients toward neighbour n (state yn): harmonic means of this cell's D and
// the neighbour's; at a non-periodic side, the cell's own.
fn xd_dface_$name(cx: XdCtx, t: f32, dc: XdCell, n: XdNb, yn: XdCell) -> XdCell {
    if (!n.ok) { return dc; }
    let dn = xd_dcell(cx.run, n.x, n.y, t, yn);
    var out: XdCell;
    //@each k
    out[$k] = xd_harm(dc[$k], dn[$k]);
    //@end
    return out;
}
// Flux form, for diffusion that varies and for advection (taxis, drift): what crosses each
// face leaves one cell and enters the other, so mass is conserved to rounding.
fn xd_flux_form_$name(cx: XdCtx, t: f32, h: XdCell, e: XdCell, y: XdCell) -> XdCell {
    let g = xd_grid;
    let hx = 1.0 / (g.dx * g.dx);
    let hy = 1.0 / (g.dy * g.dy);
    let nw = xd_nb(cx, -1, 0);
    let ne = xd_nb(cx, 1, 0);
    let ns = xd_nb(cx, 0, -1);
    let nn = xd_nb(cx, 0, 1);
    let yw = xd_state_$name(nw, y);
    let ye = xd_state_$name(ne, y);
    let ys = xd_state_$name(ns, y);
    let yn = xd_state_$name(nn, y);
    let dc = xd_dcell(cx.run, cx.x, cx.y, t, y);
    let dw = xd_dface_$name(cx, t, dc, nw, yw);
    let de = xd_dface_$name(cx, t, dc, ne, ye);
    let ds = xd_dface_$name(cx, t, dc, ns, ys);
    let dn = xd_dface_$name(cx, t, dc, nn, yn);
    var f: XdCell;
    //@each k
    {
        let lw = xd_dif_w_$name($ku, cx, h[$k], e[$k], t, dw[$k]);
        let le = xd_dif_e_$name($ku, cx, h[$k], e[$k], t, de[$k]);
        let ls = xd_dif_s_$name($ku, cx, h[$k], e[$k], t, ds[$k]);
        let ln = xd_dif_n_$name($ku, cx, h[$k], e[$k], t, dn[$k]);
        f[$k] = (dw[$k] * lw + de[$k] * le) * hx + (ds[$k] * ls + dn[$k] * ln) * hy;
    }
    //@end
    if (XD_ADVECT) {
        // Velocities out of this cell across each face (0 at non-periodic sides), and the
        // cells two away for the limiter (the neighbour itself where there is none).
        var vw: XdCell;
        var ve: XdCell;
        var vs: XdCell;
        var vn: XdCell;
        if (nw.ok) { vw = xd_vface0(cx.run, t, cx.x, cx.y, y, nw.x, nw.y, yw, -1.0, g.dx); }
        if (ne.ok) { ve = xd_vface0(cx.run, t, cx.x, cx.y, y, ne.x, ne.y, ye, 1.0, g.dx); }
        if (ns.ok) { vs = xd_vface1(cx.run, t, cx.x, cx.y, y, ns.x, ns.y, ys, -1.0, g.dy); }
        if (nn.ok) { vn = xd_vface1(cx.run, t, cx.x, cx.y, y, nn.x, nn.y, yn, 1.0, g.dy); }
        let yww = xd_state_$name(xd_nb(cx, -2, 0), yw);
        let yee = xd_state_$name(xd_nb(cx, 2, 0), ye);
        let yss = xd_state_$name(xd_nb(cx, 0, -2), ys);
        let ynn = xd_state_$name(xd_nb(cx, 0, 2), yn);
        //@each k
        {
            let o = vec4<f32>(0.0);
            let fw = max(vw[$k], o) * xd_limited(y[$k], yw[$k], ye[$k]) + min(vw[$k], o) * xd_limited(yw[$k], y[$k], yww[$k]);
            let fe = max(ve[$k], o) * xd_limited(y[$k], ye[$k], yw[$k]) + min(ve[$k], o) * xd_limited(ye[$k], y[$k], yee[$k]);
            let fs = max(vs[$k], o) * xd_limited(y[$k], ys[$k], yn[$k]) + min(vs[$k], o) * xd_limited(ys[$k], y[$k], yss[$k]);
            let fn_ = max(vn[$k], o) * xd_limited(y[$k], yn[$k], ys[$k]) + min(vn[$k], o) * xd_limited(yn[$k], y[$k], ynn[$k]);
            f[$k] = f[$k] - (fw + fe) / g.dx - (fs + fn_) / g.dy;
        }
        //@end
    }
    return f;
}
fn xd_rhs_$name(cx: XdCtx, t: f32) -> XdCell {
    var y: XdCell;
    var h: XdCell;
    var e: XdCell;
    //@each k
    h[$k] = xd_hi[xd_at($ku, cx.idx)];
    e[$k] = $get($ku, cx.idx);
    y[$k] = h[$k] + e[$k];
    //@end
    var f = xd_rates(cx.run, cx.x, cx.y, t, y);
    if (XD_VAR_D) {
        let tr = xd_flux_form_$name(cx, t, h, e, y);
        //@each k
        f[$k] = f[$k] + xd_stepped($ku) * tr[$k];
        //@end
        return f;
    }
    let hx = 1.0 / (xd_grid.dx * xd_grid.dx);
    let hy = 1.0 / (xd_grid.dy * xd_grid.dy);
    //@each k
    {
        let dr = xd_run_d(cx.run, $ku);
        let d = dr * xd_stepped($ku);
        let lw = xd_dif_w_$name($ku, cx, h[$k], e[$k], t, dr);
        let le = xd_dif_e_$name($ku, cx, h[$k], e[$k], t, dr);
        let ls = xd_dif_s_$name($ku, cx, h[$k], e[$k], t, dr);
        let ln = xd_dif_n_$name($ku, cx, h[$k], e[$k], t, dr);
        f[$k] = f[$k] + d * ((lw + le) * hx + (ls + ln) * hy);
    }
    //@end
    return f;
}
