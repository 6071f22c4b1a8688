//! A small seeded generator (SplitMix64) for the randomized suites: the seed comes from
//! `TEST_SEED` when set, else from the clock, and every failure message names it, so any failing
//! sequence can be replayed exactly with `TEST_SEED=<seed> make test`.

pub struct Seeded {
    pub seed: u64,
    state: u64,
}

impl Seeded {
    pub fn from_env() -> Self {
        let seed = std::env::var("TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
        });
        eprintln!("seeded suite: TEST_SEED={seed}");
        Self { seed, state: seed }
    }

    /// The sequence of shard `k` of a suite split into shards: seed `seed + k`.
    pub fn shard(self, k: u64) -> Self {
        let seed = self.seed.wrapping_add(k);
        Self { seed, state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}
