//! Deterministic sampling for sweep designs: the same sweep file always expands to the same
//! runs, on every machine and in every shard.

/// SplitMix64: tiny, fast, and good enough to place sample points.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

/// `n` points in [0,1)^`dims`, uniformly at random.
pub fn random(n: usize, dims: usize, rng: &mut Rng) -> Vec<Vec<f64>> {
    (0..n)
        .map(|_| (0..dims).map(|_| rng.uniform()).collect())
        .collect()
}

/// `n` points in [0,1)^`dims` as a Latin hypercube: along every axis each of the `n` equal
/// strata holds exactly one point.
pub fn latin_hypercube(n: usize, dims: usize, rng: &mut Rng) -> Vec<Vec<f64>> {
    let mut pts = vec![vec![0.0; dims]; n];
    for d in 0..dims {
        let mut strata: Vec<usize> = (0..n).collect();
        rng.shuffle(&mut strata);
        for (p, s) in pts.iter_mut().zip(strata) {
            p[d] = (s as f64 + rng.uniform()) / n as f64;
        }
    }
    pts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_hypercube_fills_every_stratum_once() {
        let pts = latin_hypercube(10, 3, &mut Rng::new(7));
        for d in 0..3 {
            let mut seen: Vec<usize> = pts.iter().map(|p| (p[d] * 10.0) as usize).collect();
            seen.sort();
            assert_eq!(seen, (0..10).collect::<Vec<_>>());
        }
        assert_eq!(
            pts,
            latin_hypercube(10, 3, &mut Rng::new(7)),
            "deterministic"
        );
        assert_ne!(pts, latin_hypercube(10, 3, &mut Rng::new(8)));
    }
}
