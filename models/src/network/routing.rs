//! Deterministic routing: the links a flow from GPU `a` to GPU `b` crosses.
//!
//! - same scale-up domain: `[scale-up up(a), scale-up down(b)]`;
//! - same leaf: `[nic up(a), nic down(b)]`;
//! - same pod: `[nic up(a), leaf→spine s, spine s→leaf, nic down(b)]`;
//! - across pods: `[nic up(a), leaf→spine s, spine s→core c, core c→spine s, spine s→leaf, nic down(b)]`.
//!
//! ECMP picks `s = h mod S` and `c = ⌊h / S⌋ mod C` from `h = splitmix64(a, b, salt)` — a pure
//! function of the flow's endpoints and a per-flow salt (e.g. the job and channel), the way switch
//! hardware hashes a flow's 5-tuple. No hash-map iteration is involved, so routes are identical on
//! every run and platform. Hash collisions (two flows on one spine while another idles) are real
//! ECMP behaviour and are kept.

use super::topology::Topology;

/// SplitMix64 finaliser (Steele et al., OOPSLA 2014): a fast, well-mixed 64-bit hash.
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// ECMP hash of a flow.
pub fn ecmp_hash(src: u32, dst: u32, salt: u64) -> u64 {
    splitmix64(((src as u64) << 32 | dst as u64) ^ splitmix64(salt))
}

impl Topology {
    /// Appends the links of the route from GPU `a` to GPU `b` to `out` (nothing when `a == b`).
    pub fn route(&self, a: u32, b: u32, salt: u64, out: &mut Vec<u32>) {
        if a == b {
            return;
        }
        let (ai, bi) = (a as usize, b as usize);
        if self.domain[ai] == self.domain[bi] {
            out.extend([self.su_up(a), self.su_down(b)]);
            return;
        }
        let (la, lb) = (self.leaf[ai], self.leaf[bi]);
        if la == lb {
            out.extend([self.nic_up(a), self.nic_down(b)]);
            return;
        }
        let h = ecmp_hash(a, b, salt);
        let s_count = self.spines_per_pod as u64;
        let (pa, pb) = (la / self.leaves_per_pod, lb / self.leaves_per_pod);
        let s = self.pick_spine(h, pa, pb);
        if pa == pb {
            out.extend([
                self.nic_up(a),
                self.leaf_up(la, s),
                self.leaf_down(lb, s),
                self.nic_down(b),
            ]);
        } else {
            let c = ((h / s_count) % self.cores_per_plane.max(1) as u64) as u32;
            out.extend([
                self.nic_up(a),
                self.leaf_up(la, s),
                self.spine_up(pa, s, c),
                self.spine_down(pb, s, c),
                self.leaf_down(lb, s),
                self.nic_down(b),
            ]);
        }
    }

    /// One-way latency of the route from `a` to `b`, s (0 when `a == b`).
    pub fn route_latency_s(&self, a: u32, b: u32, salt: u64, scratch: &mut Vec<u32>) -> f64 {
        scratch.clear();
        self.route(a, b, salt, scratch);
        scratch.iter().map(|&l| self.latency_s[l as usize]).sum()
    }
}
