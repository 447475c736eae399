//! Psychrometrics: wet-bulb temperature from dry-bulb and relative humidity (Stull 2011), and relative
//! humidity from dew point (Magnus formula). Plain functions of `f64`, no allocation.

/// Stull's fit is stated valid for relative humidity 5 %–99 % and dry-bulb −20 °C to 50 °C, except where
/// both humidity and temperature are low (Stull 2011, abstract and Fig. 1).
pub const STULL_RH_RANGE_PCT: (f64, f64) = (5.0, 99.0);
/// See [`STULL_RH_RANGE_PCT`].
pub const STULL_T_RANGE_C: (f64, f64) = (-20.0, 50.0);
/// The largest errors Stull reports inside the valid range, °C: from −1 to +0.65.
pub const STULL_ERROR_C: (f64, f64) = (-1.0, 0.65);

/// Wet-bulb temperature, °C, from dry-bulb `t_c` (°C) and relative humidity `rh_pct` (%, 0–100), at
/// standard sea-level pressure:
///
/// `Tw = T·atan(0.151977·(RH + 8.313659)^½) + atan(T + RH) − atan(RH − 1.676331)
///       + 0.00391838·RH^{3/2}·atan(0.023101·RH) − 4.686035`
///
/// Source: R. Stull, "Wet-Bulb Temperature from Relative Humidity and Air Temperature", J. Appl.
/// Meteor. Climatol. 50, 2267–2269 (2011), eq. 1. Check: 20 °C, 50 % → 13.7 °C (Stull's example).
///
/// Valid range: see [`stull_valid`]. Outside it the formula is still evaluated (RH is clamped to
/// 0–100 % first), and the result is capped at the dry-bulb temperature, which a wet bulb can never exceed
/// (the fit gives e.g. −17.6 °C at −20 °C, 5 %).
pub fn wet_bulb_stull_c(t_c: f64, rh_pct: f64) -> f64 {
    let rh = rh_pct.clamp(0.0, 100.0);
    let t = t_c;
    let tw = t * (0.151977 * (rh + 8.313659).sqrt()).atan() + (t + rh).atan()
        - (rh - 1.676331).atan()
        + 0.00391838 * rh.powf(1.5) * (0.023101 * rh).atan()
        - 4.686035;
    tw.min(t)
}

/// Whether (`t_c`, `rh_pct`) is inside Stull's stated validity range (RH 5–99 %, T −20–50 °C). The
/// exception for "low humidity and low temperature" is not a sharp boundary in the paper and is not tested
/// here; [`wet_bulb_stull_c`] caps the result at the dry bulb instead.
pub fn stull_valid(t_c: f64, rh_pct: f64) -> bool {
    (STULL_RH_RANGE_PCT.0..=STULL_RH_RANGE_PCT.1).contains(&rh_pct)
        && (STULL_T_RANGE_C.0..=STULL_T_RANGE_C.1).contains(&t_c)
}

/// Magnus coefficient `a` (dimensionless) of Alduchov & Eskridge (1996), over water.
pub const MAGNUS_A: f64 = 17.625;
/// Magnus coefficient `b`, °C.
pub const MAGNUS_B_C: f64 = 243.04;
/// Magnus coefficient `c`: saturation vapour pressure at 0 °C, Pa.
pub const MAGNUS_C_PA: f64 = 610.94;

/// Saturation vapour pressure over water, Pa: `e_s(T) = 610.94 · exp(17.625·T / (T + 243.04))`, T in °C.
/// Source: O. Alduchov & R. Eskridge, "Improved Magnus form approximation of saturation vapor pressure",
/// J. Appl. Meteor. 35, 601–609 (1996), eq. 21 (AERK coefficients); error < 0.4 % from −40 to 50 °C.
pub fn saturation_vapour_pressure_pa(t_c: f64) -> f64 {
    MAGNUS_C_PA * (MAGNUS_A * t_c / (t_c + MAGNUS_B_C)).exp()
}

/// Relative humidity, % (0–100), from dry-bulb `t_c` and dew point `td_c` (°C): `RH = 100 · e_s(Td) /
/// e_s(T)` with the Magnus form of [`saturation_vapour_pressure_pa`]. A dew point above the dry bulb
/// (measurement noise) gives 100 %.
pub fn rh_from_dew_point_pct(t_c: f64, td_c: f64) -> f64 {
    let ratio = (MAGNUS_A * td_c / (td_c + MAGNUS_B_C) - MAGNUS_A * t_c / (t_c + MAGNUS_B_C)).exp();
    (100.0 * ratio).clamp(0.0, 100.0)
}

/// Dew point, °C, from dry bulb and relative humidity: the inverse of [`rh_from_dew_point_pct`],
/// `γ = ln(RH/100) + a·T/(b + T)`, `Td = b·γ / (a − γ)`. RH ≤ 0 gives −∞.
pub fn dew_point_c(t_c: f64, rh_pct: f64) -> f64 {
    let g = (rh_pct.clamp(0.0, 100.0) / 100.0).ln() + MAGNUS_A * t_c / (MAGNUS_B_C + t_c);
    MAGNUS_B_C * g / (MAGNUS_A - g)
}

/// Fahrenheit to Celsius: `(F − 32) · 5/9`.
pub fn f_to_c(f: f64) -> f64 {
    (f - 32.0) * 5.0 / 9.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stull_example() {
        // Stull (2011): "T = 20 °C and RH = 50 % … Tw = 13.7 °C".
        let tw = wet_bulb_stull_c(20.0, 50.0);
        assert!((tw - 13.7).abs() < 0.005, "{tw}");
        assert!(stull_valid(20.0, 50.0));
    }

    #[test]
    fn stull_limits() {
        // Saturated air: wet bulb = dry bulb within Stull's error band.
        for t in [-20.0, 0.0, 20.0, 30.0, 50.0] {
            let tw = wet_bulb_stull_c(t, 99.0);
            assert!(tw <= t && t - tw < 1.0, "{t} {tw}");
        }
        // Never above the dry bulb, even outside the valid range.
        assert_eq!(wet_bulb_stull_c(-20.0, 5.0), -20.0);
        assert!(!stull_valid(-25.0, 50.0));
        assert!(!stull_valid(20.0, 100.0));
        assert!(!stull_valid(20.0, 2.0));
        // Monotone in RH at fixed T inside the range.
        let mut prev = f64::NEG_INFINITY;
        for rh in 5..=99 {
            let tw = wet_bulb_stull_c(25.0, rh as f64);
            assert!(tw > prev);
            prev = tw;
        }
    }

    #[test]
    fn magnus() {
        assert_eq!(rh_from_dew_point_pct(20.0, 20.0), 100.0);
        assert_eq!(rh_from_dew_point_pct(20.0, 25.0), 100.0);
        // exp(17.625·10/253.04 − 17.625·20/263.04) = 0.52541…
        let rh = rh_from_dew_point_pct(20.0, 10.0);
        assert!((rh - 52.54).abs() < 0.01, "{rh}");
        assert!((dew_point_c(20.0, rh) - 10.0).abs() < 1e-9);
        // e_s(0 °C) = 610.94 Pa; e_s(100 °C) ≈ 1 atm (+2.7 %: outside the fit's −40–50 °C range).
        assert_eq!(saturation_vapour_pressure_pa(0.0), 610.94);
        assert!((saturation_vapour_pressure_pa(100.0) / 101_325.0 - 1.0).abs() < 0.03);
        assert!((f_to_c(212.0) - 100.0).abs() < 1e-12);
    }
}
