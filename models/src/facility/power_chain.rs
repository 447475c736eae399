//! Power delivery from the utility to the IT load: transformer → UPS → PDU → IT, each level losing
//! `P_loss = P_rated · (c0 + c1·L + c2·L²)` with `L` = its output / rating (Schneider Electric White
//! Paper 113 form; `../shared/reference/models.md` §2), and rack/row/feed rating checks.
//!
//! Each level's input is its output plus its loss, and its output is the input of the level below, so
//! the chain conserves power by construction: `utility input = IT + Σ losses`.

use serde::{Deserialize, Serialize};

use crate::check::{FieldError, in_range, non_negative, positive};

/// One loss level's coefficients, each a fraction of the level's rating.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LossCoeffs {
    /// No-load loss (transformer magnetising, control, fans), fraction of rating.
    pub c0: f64,
    /// Loss proportional to load, fraction of rating per unit load.
    pub c1: f64,
    /// Resistive (I²R) loss, fraction of rating per unit load squared.
    pub c2: f64,
}

impl LossCoeffs {
    /// Modern double-conversion UPS: c0 = 0.01, c1 = 0.015, c2 = 0.01 [eng, models.md §2].
    pub const UPS_MODERN: LossCoeffs = LossCoeffs {
        c0: 0.01,
        c1: 0.015,
        c2: 0.01,
    };
    /// Legacy double-conversion UPS: c0 = 0.02, c1 = 0.02, c2 = 0.01 — efficiency 90.7 % at 25 % load,
    /// 93.9 % at 50 %, 95.2 % at 100 % [models.md §2, form: Schneider Electric WP 113].
    pub const UPS_LEGACY: LossCoeffs = LossCoeffs {
        c0: 0.02,
        c1: 0.02,
        c2: 0.01,
    };
    /// Transformer + PDU: c0 = 0.003, c1 = 0, c2 = 0.012 [eng, models.md §2].
    pub const TRANSFORMER_PDU: LossCoeffs = LossCoeffs {
        c0: 0.003,
        c1: 0.0,
        c2: 0.012,
    };

    /// Loss of a level rated `rating_w` delivering `out_w`: `rating·(c0 + c1·L + c2·L²)`, `L = out/rating`.
    /// A level rated 0 (or less) is absent and loses nothing.
    pub fn loss_w(&self, out_w: f64, rating_w: f64) -> f64 {
        if rating_w <= 0.0 {
            return 0.0;
        }
        let l = out_w / rating_w;
        rating_w * (self.c0 + self.c1 * l + self.c2 * l * l)
    }

    /// Efficiency `out / (out + loss)` at load fraction `l` (for docs and tests).
    pub fn efficiency_at(&self, l: f64) -> f64 {
        l / (l + self.c0 + self.c1 * l + self.c2 * l * l)
    }

    fn check(&self) -> Result<(), FieldError> {
        non_negative("c0", self.c0)?;
        non_negative("c1", self.c1)?;
        non_negative("c2", self.c2)
    }
}

/// UPS redundancy: how many modules are installed for the `N` the load needs. Load is shared equally by
/// all installed modules (2N = two systems of N modules, each carrying half), so redundancy lowers the
/// per-module load fraction and raises the no-load share of the loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Redundancy {
    N,
    NPlus1,
    TwoN,
}

impl Redundancy {
    /// Installed modules for `n` needed.
    pub fn installed(self, n: u32) -> u32 {
        match self {
            Redundancy::N => n,
            Redundancy::NPlus1 => n.saturating_add(1),
            Redundancy::TwoN => n.saturating_mul(2),
        }
    }
}

/// The most UPS modules a chain may name (N, before redundancy).
pub const MAX_UPS_MODULES: u32 = 1_000_000;

/// The UPS system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpsConfig {
    /// Rating of one module, W. Default: sized to the site ([`ups_module_for`]: the smallest standard module
    /// of 10 kW to 1 MW with which at most 8 modules carry the design IT load) [eng].
    #[serde(default)]
    pub module_rating_w: Option<f64>,
    /// Modules needed to carry the design IT load (N). Default: `⌈design IT power / module rating⌉`.
    #[serde(default)]
    pub modules: Option<u32>,
    /// Default `NPlus1` \[eng\].
    #[serde(default = "default_redundancy")]
    pub redundancy: Redundancy,
    /// Default [`LossCoeffs::UPS_MODERN`].
    #[serde(default = "default_ups_coeffs")]
    pub loss: LossCoeffs,
}

/// Standard UPS module (power-module or frame) sizes, W, small rooms to halls [eng: vendor ranges of modular
/// UPS systems, 10 kW modules for server rooms to 1 MW frames for data halls].
pub const UPS_MODULE_SIZES_W: [f64; 19] = [
    10e3, 20e3, 25e3, 30e3, 40e3, 50e3, 60e3, 80e3, 100e3, 125e3, 150e3, 200e3, 250e3, 300e3,
    400e3, 500e3, 600e3, 800e3, 1e6,
];

/// The default module for a design IT load of `design_w`: the smallest standard size with which at most 8
/// modules carry it (1 MW beyond 8 MW), so a small room is not fed by a hall-sized UPS idling at a few percent
/// load.
pub fn ups_module_for(design_w: f64) -> f64 {
    UPS_MODULE_SIZES_W
        .iter()
        .copied()
        .find(|&m| design_w <= 8.0 * m)
        .unwrap_or(1e6)
}
fn default_redundancy() -> Redundancy {
    Redundancy::NPlus1
}
fn default_ups_coeffs() -> LossCoeffs {
    LossCoeffs::UPS_MODERN
}

impl Default for UpsConfig {
    fn default() -> Self {
        UpsConfig {
            module_rating_w: None,
            modules: None,
            redundancy: default_redundancy(),
            loss: default_ups_coeffs(),
        }
    }
}

/// A lumped distribution level (all PDUs, or the medium-voltage transformers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageConfig {
    /// Total rating, W. Default: the site's design IT power (so `L` = IT load / nameplate) \[eng\].
    #[serde(default)]
    pub rating_w: Option<f64>,
    /// Default [`LossCoeffs::TRANSFORMER_PDU`].
    #[serde(default = "default_pdu_coeffs")]
    pub loss: LossCoeffs,
}

fn default_pdu_coeffs() -> LossCoeffs {
    LossCoeffs::TRANSFORMER_PDU
}

impl Default for StageConfig {
    fn default() -> Self {
        StageConfig {
            rating_w: None,
            loss: default_pdu_coeffs(),
        }
    }
}

impl StageConfig {
    fn check(&self) -> Result<(), FieldError> {
        if let Some(r) = self.rating_w {
            positive("rating_w", r)?;
        }
        self.loss.check().map_err(|e| e.within("loss"))
    }
}

/// Ratings that flag over-load (none checked by default). Reference rack densities: 40 kW (H100,
/// air), 120–132 kW (GB200 NVL72, liquid) [models.md §2].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Ratings {
    /// Per rack, W.
    #[serde(default)]
    pub rack_w: Option<f64>,
    /// Per row, W.
    #[serde(default)]
    pub row_w: Option<f64>,
    /// The utility feed (facility input), W.
    #[serde(default)]
    pub feed_w: Option<f64>,
}

/// The power chain's parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PowerChainConfig {
    /// PDUs with their step-down transformers (models.md's "Transformer + PDU").
    #[serde(default)]
    pub pdu: StageConfig,
    #[serde(default)]
    pub ups: UpsConfig,
    /// A medium-voltage transformer ahead of the UPS; default none (models.md lumps transformer losses
    /// with the PDU's).
    #[serde(default)]
    pub transformer: Option<StageConfig>,
    #[serde(default)]
    pub ratings: Ratings,
}

impl PowerChainConfig {
    /// Checks the values; paths like `ups.loss.c0`.
    pub fn check(&self) -> Result<(), FieldError> {
        self.pdu.check().map_err(|e| e.within("pdu"))?;
        if let Some(r) = self.ups.module_rating_w {
            in_range(
                "ups.module_rating_w",
                r,
                1e3,
                1e8,
                "a UPS module of 1 kW to 100 MW",
            )?;
        }
        if let Some(m) = self.ups.modules
            && !(1..=MAX_UPS_MODULES).contains(&m)
        {
            return Err(FieldError::new(
                "ups.modules",
                format!("must lie in [1, {MAX_UPS_MODULES}], found {m}"),
            ));
        }
        self.ups.loss.check().map_err(|e| e.within("ups.loss"))?;
        if let Some(t) = &self.transformer {
            t.check().map_err(|e| e.within("transformer"))?;
        }
        for (name, v) in [
            ("ratings.rack_w", self.ratings.rack_w),
            ("ratings.row_w", self.ratings.row_w),
            ("ratings.feed_w", self.ratings.feed_w),
        ] {
            if let Some(v) = v {
                positive(name, v)?;
            }
        }
        Ok(())
    }

    /// The chain sized for a site of design IT power `design_it_w` (W).
    pub fn resolve(&self, design_it_w: f64) -> PowerChain {
        let design = design_it_w.max(0.0);
        let module = self
            .ups
            .module_rating_w
            .unwrap_or_else(|| ups_module_for(design));
        let n = self
            .ups
            .modules
            .unwrap_or_else(|| ((design / module).ceil() as u32).max(1));
        let installed = self.ups.redundancy.installed(n.max(1));
        PowerChain {
            pdu: Level {
                rating_w: self.pdu.rating_w.unwrap_or(design),
                loss: self.pdu.loss,
            },
            ups: Level {
                rating_w: f64::from(installed) * module,
                loss: self.ups.loss,
            },
            ups_modules: installed,
            transformer: self.transformer.as_ref().map(|t| Level {
                rating_w: t.rating_w.unwrap_or(design),
                loss: t.loss,
            }),
            ratings: self.ratings,
        }
    }
}

/// One resolved loss level: its total rating and coefficients.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Level {
    pub rating_w: f64,
    pub loss: LossCoeffs,
}

impl Level {
    /// The flow through this level delivering `out_w`.
    pub fn flow(&self, out_w: f64) -> LevelFlow {
        let loss_w = self.loss.loss_w(out_w, self.rating_w);
        LevelFlow {
            output_w: out_w,
            loss_w,
            input_w: out_w + loss_w,
        }
    }
}

/// Power through one level, W: `input_w = output_w + loss_w`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LevelFlow {
    pub input_w: f64,
    pub output_w: f64,
    pub loss_w: f64,
}

/// A resolved chain. Equal sharing over `ups_modules` modules is the same as one level rated
/// `modules · module rating`: `Σ r·(c0 + c1·P/(m·r) + c2·(P/(m·r))²) = (m·r)·(c0 + c1·L + c2·L²)`.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerChain {
    pub pdu: Level,
    pub ups: Level,
    /// Installed UPS modules (N, N+1 or 2N).
    pub ups_modules: u32,
    pub transformer: Option<Level>,
    pub ratings: Ratings,
}

/// Every level's flow for one IT power.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ChainFlow {
    pub pdu: LevelFlow,
    pub ups: LevelFlow,
    /// Zero flow when there is no separate transformer level.
    pub transformer: LevelFlow,
}

impl ChainFlow {
    /// The power the chain draws from the utility, W.
    pub fn input_w(&self) -> f64 {
        if self.transformer.input_w > 0.0 {
            self.transformer.input_w
        } else {
            self.ups.input_w
        }
    }
    /// All losses, W.
    pub fn loss_w(&self) -> f64 {
        self.pdu.loss_w + self.ups.loss_w + self.transformer.loss_w
    }
    /// Heat released indoors (IT + PDU + UPS losses; the MV transformer is outdoors) \[eng\], W.
    pub fn heat_indoors_w(&self) -> f64 {
        self.pdu.output_w + self.pdu.loss_w + self.ups.loss_w
    }
}

impl PowerChain {
    /// The flow at IT power `it_w`: PDU output = IT, UPS output = PDU input, transformer output = UPS
    /// input. O(1), no allocation.
    pub fn flow(&self, it_w: f64) -> ChainFlow {
        let pdu = self.pdu.flow(it_w);
        let ups = self.ups.flow(pdu.input_w);
        let transformer = match &self.transformer {
            Some(t) => t.flow(ups.input_w),
            None => LevelFlow::default(),
        };
        ChainFlow {
            pdu,
            ups,
            transformer,
        }
    }

    /// Per-module UPS load fraction at IT power `it_w`.
    pub fn ups_load_fraction(&self, it_w: f64) -> f64 {
        let out = self.pdu.flow(it_w).input_w;
        if self.ups.rating_w > 0.0 {
            out / self.ups.rating_w
        } else {
            0.0
        }
    }

    /// Flags loads above their ratings: `rack_w` per rack, `row_w` per row (IT power, W) and the utility
    /// feed `feed_w` (facility input, W). Allocation-free.
    pub fn check_ratings(&self, rack_w: &[f64], row_w: &[f64], feed_w: f64) -> OverRating {
        over_rating(&self.ratings, rack_w, row_w, feed_w)
    }
}

/// What exceeded its rating.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct OverRating {
    /// Racks above `rack_w`.
    pub racks: usize,
    /// Rows above `row_w`.
    pub rows: usize,
    /// Whether the feed is above `feed_w`.
    pub feed: bool,
    /// The largest load / rating among checked items (0 when none is checked).
    pub worst_ratio: f64,
}

impl OverRating {
    /// Whether anything is over its rating.
    pub fn any(&self) -> bool {
        self.racks > 0 || self.rows > 0 || self.feed
    }
}

/// [`PowerChain::check_ratings`] for given ratings.
pub fn over_rating(r: &Ratings, rack_w: &[f64], row_w: &[f64], feed_w: f64) -> OverRating {
    let mut o = OverRating::default();
    let mut count = |loads: &[f64], rating: Option<f64>| -> usize {
        let Some(rating) = rating else { return 0 };
        loads
            .iter()
            .filter(|&&p| {
                o.worst_ratio = o.worst_ratio.max(p / rating);
                p > rating
            })
            .count()
    };
    let racks = count(rack_w, r.rack_w);
    let rows = count(row_w, r.row_w);
    let feed = count(&[feed_w], r.feed_w) > 0;
    o.racks = racks;
    o.rows = rows;
    o.feed = feed;
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_ups_efficiency_matches_reference() {
        let c = LossCoeffs::UPS_LEGACY;
        assert!((c.efficiency_at(0.25) - 0.907).abs() < 5e-4);
        assert!((c.efficiency_at(0.5) - 0.939).abs() < 5e-4);
        assert!((c.efficiency_at(1.0) - 0.952).abs() < 5e-4);
    }

    #[test]
    fn redundancy_lowers_module_load() {
        let mut cfg = PowerChainConfig::default();
        cfg.ups.modules = Some(4);
        cfg.ups.module_rating_w = Some(500e3);
        let at = |r: Redundancy| {
            let mut c = cfg.clone();
            c.ups.redundancy = r;
            c.resolve(2e6)
        };
        let (n, n1, n2) = (
            at(Redundancy::N),
            at(Redundancy::NPlus1),
            at(Redundancy::TwoN),
        );
        assert_eq!((n.ups_modules, n1.ups_modules, n2.ups_modules), (4, 5, 8));
        let it = 1.5e6;
        assert!(n.ups_load_fraction(it) > n1.ups_load_fraction(it));
        assert!((n.ups_load_fraction(it) / n2.ups_load_fraction(it) - 2.0).abs() < 1e-12);
        // More idle modules: more no-load loss.
        assert!(n2.flow(it).ups.loss_w > n1.flow(it).ups.loss_w);
        assert!(n1.flow(it).ups.loss_w > n.flow(it).ups.loss_w);
    }

    #[test]
    fn hand_case() {
        // 1 MW IT, PDU rated 1 MW: loss = 1e6·(0.003 + 0.012) = 15 kW.
        // UPS 2 modules of 500 kW + 1 = 1.5 MW; out 1.015 MW, L = 0.676̅: loss = 1.5e6·(0.01 + 0.015·L + 0.01·L²).
        let mut cfg = PowerChainConfig::default();
        cfg.ups.module_rating_w = Some(500e3);
        let ch = cfg.resolve(1e6);
        assert_eq!(ch.ups_modules, 3);
        let f = ch.flow(1e6);
        assert!((f.pdu.loss_w - 15_000.0).abs() < 1e-6);
        let l = 1.015e6 / 1.5e6;
        let ups = 1.5e6 * (0.01 + 0.015 * l + 0.01 * l * l);
        assert!((f.ups.loss_w - ups).abs() < 1e-6);
        assert_eq!(f.input_w(), f.ups.input_w);
        assert!((f.input_w() - (1e6 + 15_000.0 + ups)).abs() < 1e-6);
    }

    #[test]
    fn ratings_flag() {
        let r = Ratings {
            rack_w: Some(40_000.0),
            row_w: None,
            feed_w: Some(1e6),
        };
        let o = over_rating(&r, &[10e3, 41e3, 40e3], &[1e9], 0.9e6);
        assert_eq!((o.racks, o.rows, o.feed), (1, 0, false));
        assert!((o.worst_ratio - 41.0 / 40.0).abs() < 1e-12);
        assert!(o.any());
        assert!(!over_rating(&Ratings::default(), &[1e9], &[1e9], 1e9).any());
    }
}

#[cfg(test)]
mod sizing_tests {
    use super::*;

    #[test]
    fn ups_modules_scale_with_the_design_load() {
        // A 38 kW room: 10 kW modules (4 + 1), not a 500 kW frame at 4% load.
        assert_eq!(ups_module_for(37_900.0), 10e3);
        let chain = PowerChainConfig::default().resolve(37_900.0);
        assert_eq!((chain.ups_modules, chain.ups.rating_w), (5, 50e3));
        // A 2.4 MW hall: 300 kW modules; beyond 8 MW: 1 MW modules.
        assert_eq!(ups_module_for(2.4e6), 300e3);
        assert_eq!(ups_module_for(20e6), 1e6);
        // At most 8 modules up to 8 MW.
        for d in [1.0, 9e3, 81e3, 1.1e6, 7.99e6] {
            assert!((d / ups_module_for(d)).ceil() <= 8.0, "{d}");
        }
        // An explicit module size wins.
        let mut cfg = PowerChainConfig::default();
        cfg.ups.module_rating_w = Some(500e3);
        assert_eq!(cfg.resolve(37_900.0).ups.rating_w, 1e6);
    }
}
