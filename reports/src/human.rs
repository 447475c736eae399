//! Figures in the units a reader of `report.html` expects: MWh rather than joules, MW rather than watts, m³
//! rather than litres, t CO2e rather than kg, money in the tariff's currency, latencies in ms or s. Every
//! function takes the summary's SI value and returns display text; a non-finite value shows as `–`.

/// `x` with `sig` significant digits (at least one decimal below 10 when `sig` asks for it), thousands
/// separated by commas from 1,000 up, never in scientific notation.
pub fn sig(x: f64, sig: usize) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    let digits = a.log10().floor() as i64 + 1; // digits before the point
    let decimals = (sig as i64 - digits).max(0) as usize;
    let s = format!("{x:.decimals$}");
    let s = if s == "-0" || s.chars().all(|c| c == '-' || c == '0' || c == '.') {
        "0".to_string()
    } else {
        s
    };
    group(&s)
}

/// Inserts thousands separators into the integer part of a formatted number.
pub fn group(s: &str) -> String {
    let (sign, rest) = s.strip_prefix('-').map_or(("", s), |r| ("-", r));
    let (int, frac) = rest
        .split_once('.')
        .map_or((rest, None), |(i, f)| (i, Some(f)));
    let mut out = String::with_capacity(s.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{out}.{f}"),
        None => format!("{sign}{out}"),
    }
}

/// A whole number with thousands separators (`1,234,567`).
pub fn count(n: u64) -> String {
    group(&n.to_string())
}

/// `x` scaled to the largest of `units` (factor, name; ascending factors) it reaches, 3 significant digits.
fn scaled(x: f64, units: &[(f64, &str)]) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    let a = x.abs();
    let (f, u) = units
        .iter()
        .rev()
        .find(|(f, _)| a >= *f)
        .copied()
        .unwrap_or(units[0]);
    format!("{} {u}", sig(x / f, 3))
}

/// Energy from joules: Wh, kWh, MWh or GWh.
pub fn energy_j(j: f64) -> String {
    scaled(
        j / 3600.0,
        &[(1.0, "Wh"), (1e3, "kWh"), (1e6, "MWh"), (1e9, "GWh")],
    )
}

/// Power from watts: W, kW, MW or GW.
pub fn power_w(w: f64) -> String {
    scaled(w, &[(1.0, "W"), (1e3, "kW"), (1e6, "MW"), (1e9, "GW")])
}

/// Water from litres: L below 1 m³, m³ above.
pub fn water_l(l: f64) -> String {
    scaled(l, &[(1.0, "L"), (1e3, "m³")])
}

/// Mass of CO2-equivalent from kilograms: kg CO2e below a tonne, t CO2e above.
pub fn co2_kg(kg: f64) -> String {
    scaled(kg, &[(1.0, "kg CO2e"), (1e3, "t CO2e")])
}

/// An amount of money: the currency code, then the amount with thousands separators (cents below 1,000).
pub fn money(x: f64, currency: &str) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    let s = if x.abs() >= 1000.0 {
        group(&format!("{x:.0}"))
    } else {
        format!("{x:.2}")
    };
    format!("{currency} {s}")
}

/// A duration from seconds: µs, ms, s, min, h or days, 3 significant digits.
pub fn duration_s(s: f64) -> String {
    if !s.is_finite() {
        return "–".into();
    }
    let a = s.abs();
    if a == 0.0 {
        "0 s".into()
    } else if a < 1e-3 {
        format!("{} µs", sig(s * 1e6, 3))
    } else if a < 1.0 {
        format!("{} ms", sig(s * 1e3, 3))
    } else if a < 120.0 {
        format!("{} s", sig(s, 3))
    } else if a < 7200.0 {
        format!("{} min", sig(s / 60.0, 3))
    } else if a < 3.0 * 86_400.0 {
        format!("{} h", sig(s / 3600.0, 3))
    } else {
        format!("{} days", sig(s / 86_400.0, 3))
    }
}

/// A fraction (0.734) as a percentage (`73.4 %`).
pub fn percent(f: f64) -> String {
    if !f.is_finite() {
        return "–".into();
    }
    format!("{} %", sig(f * 100.0, 3))
}

/// A plain ratio (PUE, WUE) with `decimals` decimals.
pub fn fixed(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    group(&format!("{x:.decimals$}"))
}

/// A temperature in °C with one decimal.
pub fn celsius(c: f64) -> String {
    if !c.is_finite() {
        return "–".into();
    }
    format!("{c:.1} °C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_in_human_units() {
        assert_eq!(energy_j(4.32766e13), "12.0 GWh");
        assert_eq!(energy_j(2_044_252_301.0), "568 kWh");
        assert_eq!(energy_j(3.6e9 * 43.2), "43.2 MWh");
        assert_eq!(power_w(31_403.55), "31.4 kW");
        assert_eq!(power_w(1_234_567.0), "1.23 MW");
        assert_eq!(water_l(2.44418e7), "24,442 m³");
        assert_eq!(water_l(12.5), "12.5 L");
        assert_eq!(co2_kg(52_345.0), "52.3 t CO2e");
        assert_eq!(co2_kg(0.5), "0.500 kg CO2e");
        assert_eq!(money(1_234_567.4, "USD"), "USD 1,234,567");
        assert_eq!(money(12.345, "EUR"), "EUR 12.35");
        assert_eq!(duration_s(0.0853), "85.3 ms");
        assert_eq!(duration_s(1.5), "1.50 s");
        assert_eq!(duration_s(7200.0 * 2.0), "4.00 h");
        assert_eq!(percent(0.734), "73.4 %");
        assert_eq!(percent(1.0), "100 %");
        assert_eq!(fixed(1.2345, 2), "1.23");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(sig(-1234.6, 3), "-1,235");
        assert_eq!(energy_j(f64::NAN), "–");
    }
}
