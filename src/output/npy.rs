//! NumPy `.npy` (format 1.0): little-endian float32, C order, readable by `numpy.load`.

/// Encodes a (ny, nx) float32 array; `data` is row-major with row 0 at y min.
pub fn encode_f32(data: &[f32], ny: usize, nx: usize) -> Vec<u8> {
    assert_eq!(data.len(), nx * ny, "npy shape does not match the data");
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({ny}, {nx}), }}");
    // Magic (6) + version (2) + header length (2) + header, padded with spaces and ended by
    // '\n' so the data starts on a 64-byte boundary.
    let unpadded = 10 + dict.len() + 1;
    let pad = unpadded.div_ceil(64) * 64 - unpadded;
    let header_len = dict.len() + pad + 1;
    let mut out = Vec::with_capacity(10 + header_len + data.len() * 4);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header_len as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend(std::iter::repeat_n(b' ', pad));
    out.push(b'\n');
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Decodes what [`encode_f32`] wrote: ((ny, nx), data). For re-reading our own outputs.
pub fn decode_f32(bytes: &[u8]) -> Option<((usize, usize), Vec<f32>)> {
    if bytes.len() < 10 || &bytes[..8] != b"\x93NUMPY\x01\x00" {
        return None;
    }
    let hl = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(bytes.get(10..10 + hl)?).ok()?;
    if !header.contains("'descr': '<f4'") || !header.contains("'fortran_order': False") {
        return None;
    }
    let shape = header.split("'shape': (").nth(1)?.split(')').next()?;
    let dims: Vec<usize> = shape
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().ok())
        .collect::<Option<_>>()?;
    let [ny, nx] = dims[..] else { return None };
    let data: Vec<f32> = bytes[10 + hl..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (data.len() == nx * ny).then_some(((ny, nx), data))
}

#[cfg(test)]
mod tests {
    #[test]
    fn header_is_aligned_and_round_trips() {
        let data: Vec<f32> = (0..12).map(|i| i as f32 * 0.5).collect();
        let bytes = super::encode_f32(&data, 3, 4);
        let hl = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + hl) % 64, 0);
        assert_eq!(bytes[10 + hl - 1], b'\n');
        let (shape, back) = super::decode_f32(&bytes).unwrap();
        assert_eq!(shape, (3, 4));
        assert_eq!(back, data);
    }
}
