//! What a run's `report.html` needs from its scenario beyond the outputs ([`reports::pages::RunContext`]):
//! the tariff's currency and price, the calendar date of run time 0 (from the weather), and the racks of the
//! site for the site diagram.

use models::facility::weather::WeatherConfig;
use reports::calendar::Calendar;
use reports::pages::RunContext;
use reports::svg::RackCell;
use scenario::LoadedScenario;

/// The page context of a run of `loaded`.
///
/// - Currency and energy price: `facility.tariff` (`currency`, default `USD`); the price only for runs with a
///   facility.
/// - Calendar: a weather series with an absolute start (NYC hourly) gives real dates; a typical year (TMY3,
///   EPW) starts on 1 January at its `start_hour`, year not shown; a CSV series or no weather gives none.
/// - Racks: every rack of the site with its servers and GPUs. `rack_value` stays `None`: the page shades
///   the racks by the peak IT power of the run's racks table (`racks.csv`), or by GPUs installed when the
///   run kept no table (a context may set [`RackCell::value`] and `rack_value` to shade by another figure).
pub fn report_context(loaded: &LoadedScenario) -> RunContext<'_> {
    let mut ctx = RunContext::default();
    if let Some(f) = &loaded.facility {
        let tariff = &f.config.tariff;
        ctx.currency = tariff.currency.trim().to_string();
        ctx.energy_price = Some(Box::new(move |t| tariff.price_at(t)));
        ctx.calendar = match (&f.config.weather, f.weather.info().start_unix_s) {
            (_, Some(start)) => Some(Calendar::absolute(start)),
            (
                Some(
                    WeatherConfig::Tmy3 { start_hour, .. } | WeatherConfig::Epw { start_hour, .. },
                ),
                None,
            ) => Some(Calendar::typical_year(f64::from(*start_hour))),
            _ => None,
        };
    }
    let mut racks: std::collections::BTreeMap<(u32, u32, u32), RackCell> = Default::default();
    for s in &loaded.site.servers {
        let r = racks.entry((s.hall, s.row, s.rack)).or_insert(RackCell {
            hall: s.hall,
            row: s.row,
            rack: s.rack,
            servers: 0,
            gpus: 0,
            value: None,
        });
        r.servers += 1;
        r.gpus += s.gpus;
    }
    ctx.racks = racks.into_values().collect();
    ctx
}
