//! A shared storage system (parallel file system or object store) that checkpoints are written to and
//! restarts read from (docs/models.md §Storage and checkpoint size).
//!
//! A transfer (a checkpoint write, a checkpoint load) from `n` servers is limited by their links, `n · B_link`;
//! transfers in one direction share the aggregate bandwidth max-min fair ([`max_min_rates`]). Alone on the
//! system a transfer of `S` bytes takes `S / min(B, n · B_link)` ([`StorageConfig::write_s`]).

use serde::{Deserialize, Serialize};

use crate::check::{FieldError, in_range};

/// Bytes per parameter of a mixed-precision Adam checkpoint: bf16 weights (2) + fp32 master weights (4) +
/// Adam first and second moments (4 + 4) = 14. ZeRO (Rajbhandari et al., SC 2020, §3.1) counts 16 B/param of
/// training state including the bf16 gradients, which a checkpoint does not keep.
pub const DEFAULT_BYTES_PER_PARAM: f64 = 14.0;

/// The storage system.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// Aggregate write bandwidth, GB/s (10⁹ B/s). Llama 3's Tectonic: 2 TB/s sustained, 7 TB/s peak.
    pub write_gbs: f64,
    /// Aggregate read bandwidth, GB/s.
    pub read_gbs: f64,
    /// Each server's link to the storage system, GB/s. Default 50 (one 400 Gb/s front-end NIC) [eng].
    #[serde(default = "default_link_gbs")]
    pub server_link_gbs: f64,
    /// Power of the storage system, W, counted in IT power for the whole run. Default 0 (not counted).
    #[serde(default)]
    pub power_w: f64,
    /// Bytes of training data read per token trained. Default 4 (token ids stored as 32-bit integers) [eng].
    #[serde(default = "default_bytes_per_token")]
    pub dataset_bytes_per_token: f64,
}

fn default_bytes_per_token() -> f64 {
    4.0
}

fn default_link_gbs() -> f64 {
    50.0
}

impl StorageConfig {
    pub fn check(&self) -> Result<(), FieldError> {
        let why = "1 MB/s to 1 PB/s";
        in_range("write_gbs", self.write_gbs, 1e-3, 1e6, why)?;
        in_range("read_gbs", self.read_gbs, 1e-3, 1e6, why)?;
        in_range(
            "server_link_gbs",
            self.server_link_gbs,
            1e-3,
            1e4,
            "1 MB/s to 10 TB/s",
        )?;
        in_range("power_w", self.power_w, 0.0, 1e9, "up to 1 GW")?;
        in_range(
            "dataset_bytes_per_token",
            self.dataset_bytes_per_token,
            0.0,
            1e7,
            "text is 2–4 B per token; images and video up to MB",
        )
    }

    /// Seconds to write `bytes` from `servers` servers, alone on the system.
    pub fn write_s(&self, bytes: f64, servers: u64) -> f64 {
        bytes / (self.write_gbs.min(servers as f64 * self.server_link_gbs) * 1e9)
    }

    /// Seconds to read `bytes` into `servers` servers, alone on the system.
    pub fn read_s(&self, bytes: f64, servers: u64) -> f64 {
        bytes / (self.read_gbs.min(servers as f64 * self.server_link_gbs) * 1e9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_and_read_times() {
        let s = StorageConfig {
            write_gbs: 2000.0,
            read_gbs: 7000.0,
            server_link_gbs: 50.0,
            power_w: 0.0,
            dataset_bytes_per_token: 4.0,
        };
        // Llama 3 405B: 405e9 · 14 B = 5.67 TB. From 2,048 servers (102.4 TB/s of links) the 2 TB/s aggregate
        // binds: 2.835 s; from 8 servers the links do (400 GB/s): 14.2 s.
        let bytes = 405e9 * DEFAULT_BYTES_PER_PARAM;
        assert!((s.write_s(bytes, 2048) - 2.835).abs() < 1e-9);
        assert!((s.write_s(bytes, 8) - 14.175).abs() < 1e-9);
        assert!((s.read_s(bytes, 2048) - 0.81).abs() < 1e-9);
        s.check().unwrap();
        let bad = StorageConfig {
            write_gbs: 0.0,
            ..s
        };
        assert_eq!(bad.check().unwrap_err().path, "write_gbs");
    }
}

/// Max-min fair rates of transfers sharing one pool of `capacity` (B/s), each also limited by its own cap
/// (its servers' links), by progressive filling: transfers whose cap is below the fair share get their cap,
/// the rest share what is left equally. `rates[i]` gets transfer `i`'s rate; `order` is scratch space.
pub fn max_min_rates(capacity: f64, caps: &[f64], rates: &mut Vec<f64>, order: &mut Vec<usize>) {
    rates.clear();
    rates.resize(caps.len(), 0.0);
    order.clear();
    order.extend(0..caps.len());
    order.sort_by(|&a, &b| caps[a].total_cmp(&caps[b]).then(a.cmp(&b)));
    let mut left = capacity;
    let mut n = caps.len();
    for &i in order.iter() {
        let share = left / n as f64;
        let r = caps[i].min(share);
        rates[i] = r;
        left -= r;
        n -= 1;
    }
}

#[cfg(test)]
mod sharing_tests {
    use super::max_min_rates;

    #[test]
    fn progressive_filling() {
        let (mut r, mut o) = (Vec::new(), Vec::new());
        // 100 B/s among caps 10, 50, 80: 10; then 45 each for the other two.
        max_min_rates(100.0, &[50.0, 10.0, 80.0], &mut r, &mut o);
        assert_eq!(r, vec![45.0, 10.0, 45.0]);
        // Caps below the fair share all bind: the pool is not full.
        max_min_rates(100.0, &[10.0, 20.0], &mut r, &mut o);
        assert_eq!(r, vec![10.0, 20.0]);
        // Alone: min(cap, capacity).
        max_min_rates(100.0, &[500.0], &mut r, &mut o);
        assert_eq!(r, vec![100.0]);
        max_min_rates(100.0, &[], &mut r, &mut o);
        assert!(r.is_empty());
        // Sums never exceed the pool.
        max_min_rates(7.0, &[3.0, 3.0, 3.0, 3.0], &mut r, &mut o);
        assert!((r.iter().sum::<f64>() - 7.0).abs() < 1e-12);
    }
}
