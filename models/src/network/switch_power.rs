//! Switch and optics power of the scale-out fabric.
//!
//! `P = switches · idle_w + active_ports · per_active_port_w` \[W\] — a switch draws its idle power
//! whenever it is on; each port carrying traffic adds its transceiver and SerDes power (an optical
//! module is 15–17 W at 400/800G, `../shared/reference/models.md` §5). A link pair (both directions
//! of one cable bundle) is active when either direction carries traffic; a NIC ↔ leaf link has one
//! switch port, a switch ↔ switch bundle two per physical link (`⌈capacity / port speed⌉` links).

use super::config::SwitchPowerConfig;

/// Fabric switch power, W.
pub fn switch_power_w(switches: u64, active_ports: u64, cfg: &SwitchPowerConfig) -> f64 {
    switches as f64 * cfg.idle_w + active_ports as f64 * cfg.per_active_port_w
}
