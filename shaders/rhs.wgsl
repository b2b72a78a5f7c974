// F(Y) = D∇²Y + R(Y) of every species at a cell, for Y = hi + E: hi from xd_hi, E read by
// $get(k, idx). Instantiated per E source by `//@rhs NAME GET` in a kernel template.
// Transport comes from differences, (hi_n − hi_c) + (E_n − E_c): a small deviation on a large
// value keeps its precision (no f32 stall), which a Laplacian of f32 totals would round
// away; the sides' rules are differences too (xd_side_diff). Quasi-steady species get F = 0
// (their values are the solver's).
fn xd_dif_w_$name(k: u32, cx: XdCtx, hc: vec4<f32>, ec: vec4<f32>, t: f32) -> vec4<f32> {
    if (cx.i > 0u) {
        let i = cx.idx - 1u;
        return (xd_hi[xd_at(k, i)] - hc) + ($get(k, i) - ec);
    }
    let w = cx.idx + xd_grid.nx - 1u;
    return xd_side_diff(k, xd_grid.bc.x, hc, ec, xd_hi[xd_at(k, w)], $get(k, w), cx.run, xd_grid.x0, cx.y, t, xd_grid.dx);
}
fn xd_dif_e_$name(k: u32, cx: XdCtx, hc: vec4<f32>, ec: vec4<f32>, t: f32) -> vec4<f32> {
    if (cx.i + 1u < xd_grid.nx) {
        let i = cx.idx + 1u;
        return (xd_hi[xd_at(k, i)] - hc) + ($get(k, i) - ec);
    }
    let w = cx.idx + 1u - xd_grid.nx;
    return xd_side_diff(k, xd_grid.bc.y, hc, ec, xd_hi[xd_at(k, w)], $get(k, w), cx.run, xd_grid.x0 + f32(xd_grid.nx) * xd_grid.dx, cx.y, t, xd_grid.dx);
}
fn xd_dif_s_$name(k: u32, cx: XdCtx, hc: vec4<f32>, ec: vec4<f32>, t: f32) -> vec4<f32> {
    if (cx.j > 0u) {
        let i = cx.idx - xd_grid.nx;
        return (xd_hi[xd_at(k, i)] - hc) + ($get(k, i) - ec);
    }
    let w = cx.idx + (xd_grid.ny - 1u) * xd_grid.nx;
    return xd_side_diff(k, xd_grid.bc.z, hc, ec, xd_hi[xd_at(k, w)], $get(k, w), cx.run, cx.x, xd_grid.y0, t, xd_grid.dy);
}
fn xd_dif_n_$name(k: u32, cx: XdCtx, hc: vec4<f32>, ec: vec4<f32>, t: f32) -> vec4<f32> {
    if (cx.j + 1u < xd_grid.ny) {
        let i = cx.idx + xd_grid.nx;
        return (xd_hi[xd_at(k, i)] - hc) + ($get(k, i) - ec);
    }
    let w = cx.run * xd_grid.nx * xd_grid.ny + cx.i;
    return xd_side_diff(k, xd_grid.bc.w, hc, ec, xd_hi[xd_at(k, w)], $get(k, w), cx.run, cx.x, xd_grid.y0 + f32(xd_grid.ny) * xd_grid.dy, t, xd_grid.dy);
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
    //@each k
    {
        let d = xd_run_d(cx.run, $ku) * xd_stepped($ku);
        let lw = xd_dif_w_$name($ku, cx, h[$k], e[$k], t);
        let le = xd_dif_e_$name($ku, cx, h[$k], e[$k], t);
        let ls = xd_dif_s_$name($ku, cx, h[$k], e[$k], t);
        let ln = xd_dif_n_$name($ku, cx, h[$k], e[$k], t);
        f[$k] = f[$k] + d * ((lw + le) * hx + (ls + ln) * hy);
    }
    //@end
    return f;
}
