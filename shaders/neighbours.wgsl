// The neighbours of a cell in plane k of buffer $buf, one function per side: inside the
// domain the adjacent cell, at an edge the side's rule applied to the centre `c` (with the
// cell on the opposite side, the periodic neighbour, as `wrap`). Instantiated per buffer by
// `//@neighbours BUF` in a kernel template. The edge value is read and computed only inside
// the edge branch, so interior cells never evaluate boundary expressions (hoisted into
// selects they halved lavapipe's throughput); small per-side functions inline where one
// switch over the sides did not.
fn xd_w_$buf(k: u32, cx: XdCtx, c: vec4<f32>, t: f32) -> vec4<f32> {
    if (cx.i > 0u) { return $buf[xd_at(k, cx.idx - 1u)]; }
    return xd_side(k, xd_grid.bc.x, c, $buf[xd_at(k, cx.idx + xd_grid.nx - 1u)], cx.run, xd_grid.x0, cx.y, t, xd_grid.dx);
}
fn xd_e_$buf(k: u32, cx: XdCtx, c: vec4<f32>, t: f32) -> vec4<f32> {
    if (cx.i + 1u < xd_grid.nx) { return $buf[xd_at(k, cx.idx + 1u)]; }
    return xd_side(k, xd_grid.bc.y, c, $buf[xd_at(k, cx.idx + 1u - xd_grid.nx)], cx.run, xd_grid.x0 + f32(xd_grid.nx) * xd_grid.dx, cx.y, t, xd_grid.dx);
}
fn xd_s_$buf(k: u32, cx: XdCtx, c: vec4<f32>, t: f32) -> vec4<f32> {
    if (cx.j > 0u) { return $buf[xd_at(k, cx.idx - xd_grid.nx)]; }
    return xd_side(k, xd_grid.bc.z, c, $buf[xd_at(k, cx.idx + (xd_grid.ny - 1u) * xd_grid.nx)], cx.run, cx.x, xd_grid.y0, t, xd_grid.dy);
}
fn xd_n_$buf(k: u32, cx: XdCtx, c: vec4<f32>, t: f32) -> vec4<f32> {
    if (cx.j + 1u < xd_grid.ny) { return $buf[xd_at(k, cx.idx + xd_grid.nx)]; }
    return xd_side(k, xd_grid.bc.w, c, $buf[xd_at(k, cx.run * xd_grid.nx * xd_grid.ny + cx.i)], cx.run, cx.x, xd_grid.y0 + f32(xd_grid.ny) * xd_grid.dy, t, xd_grid.dy);
}
