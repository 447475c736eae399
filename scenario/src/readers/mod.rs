//! Data files: weather (TMY3, EPW, a simple CSV, NYC 2013) and grid carbon intensity, read into the series
//! the facility models replay; failure traces; measured telemetry for `dctwin calibrate`. Every problem is
//! an [`InputError`](crate::error::InputError) naming the file, the 1-based line and the column.

pub mod carbon;
pub mod failures;
pub mod telemetry;
mod text;
pub mod weather;

pub use carbon::{load_carbon, parse_carbon_csv, read_carbon_csv};
pub use failures::{parse_failure_trace, read_failure_trace};
pub use telemetry::{
    CollectiveMeasure, PointKind, PowerMeasure, TelemetryPoint, measured_label, parse_telemetry,
    read_telemetry,
};
pub use weather::{
    load_weather, parse_epw, parse_nyc_weather, parse_tmy3, parse_weather_csv, read_epw,
    read_nyc_weather, read_tmy3, read_weather_csv,
};
