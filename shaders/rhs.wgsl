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
// The face coefficients toward one neighbour: harmonic means of this cell's D and the
// neighbour's (its state read from hi + $get); at a non-periodic edge, the cell's own.
fn xd_dface_$name(cx: XdCtx, t: f32, dc: XdCell, inside: bool, rule: u32, n: u32, xn: f32, yn: f32) -> XdCell {
    if (!inside && rule != 1u) { return dc; }
    var y: XdCell;
    //@each k
    y[$k] = xd_hi[xd_at($ku, n)] + $get($ku, n);
    //@end
    let dn = xd_dcell(cx.run, xn, yn, t, y);
    var out: XdCell;
    //@each k
    out[$k] = xd_harm(dc[$k], dn[$k]);
    //@end
    return out;
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
    let hx = 1.0 / (xd_grid.dx * xd_grid.dx);
    let hy = 1.0 / (xd_grid.dy * xd_grid.dy);
    if (XD_VAR_D) {
        let g = xd_grid;
        let dc = xd_dcell(cx.run, cx.x, cx.y, t, y);
        // Neighbour cells (the periodic partner at an edge) and their centres.
        let in_w = cx.i > 0u;
        let in_e = cx.i + 1u < g.nx;
        let in_s = cx.j > 0u;
        let in_n = cx.j + 1u < g.ny;
        let dw = xd_dface_$name(cx, t, dc, in_w, g.bc.x, select(cx.idx + g.nx - 1u, cx.idx - 1u, in_w), select(g.x0 + (f32(g.nx) - 0.5) * g.dx, cx.x - g.dx, in_w), cx.y);
        let de = xd_dface_$name(cx, t, dc, in_e, g.bc.y, select(cx.idx + 1u - g.nx, cx.idx + 1u, in_e), select(g.x0 + 0.5 * g.dx, cx.x + g.dx, in_e), cx.y);
        let ds = xd_dface_$name(cx, t, dc, in_s, g.bc.z, select(cx.idx + (g.ny - 1u) * g.nx, cx.idx - g.nx, in_s), cx.x, select(g.y0 + (f32(g.ny) - 0.5) * g.dy, cx.y - g.dy, in_s));
        let dn = xd_dface_$name(cx, t, dc, in_n, g.bc.w, select(cx.run * g.nx * g.ny + cx.i, cx.idx + g.nx, in_n), cx.x, select(g.y0 + 0.5 * g.dy, cx.y + g.dy, in_n));
        //@each k
        {
            let lw = xd_dif_w_$name($ku, cx, h[$k], e[$k], t, dw[$k]);
            let le = xd_dif_e_$name($ku, cx, h[$k], e[$k], t, de[$k]);
            let ls = xd_dif_s_$name($ku, cx, h[$k], e[$k], t, ds[$k]);
            let ln = xd_dif_n_$name($ku, cx, h[$k], e[$k], t, dn[$k]);
            f[$k] = f[$k] + xd_stepped($ku) * ((dw[$k] * lw + de[$k] * le) * hx + (ds[$k] * ls + dn[$k] * ln) * hy);
        }
        //@end
        return f;
    }
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
