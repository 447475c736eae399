//! Sweep files: a base scenario, axes of `--set` values (a grid or zipped), replicates and a master
//! seed, expanded into runs. Run `k = point × replicates + replicate` (point-major); its seed depends
//! only on the master seed and `k` (or the replicate, with `seeds: PerReplicate`), and its overrides
//! are the sweep's `set` followed by the point's axis values. Executing a sweep is not done here
//! (the `study` crate runs it). Format and contract: `docs/sweeps.md`.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sim::rand::Rng as _;

use crate::echo::excerpt;
use crate::error::{InputError, Location};
use crate::load::{LoadedScenario, Override, load_scenario, parse_ron};

/// Most runs one sweep may have.
pub const MAX_RUNS: u64 = 10_000_000;
/// Most values one range axis may have.
pub const MAX_RANGE_VALUES: u64 = 1_000_000;
/// Longest sweep name, in bytes: it names a directory, and file systems allow 255.
pub const MAX_NAME_BYTES: usize = 200;

/// A sweep file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename = "Sweep")]
struct SweepFile {
    /// Base scenario, relative to the sweep file.
    scenario: PathBuf,
    /// Names the default output directory `out/<name>/` (default: the sweep file's stem).
    #[serde(default)]
    name: Option<String>,
    /// `--set` overrides applied to every run before the axes (`"horizon_s=86400"`).
    #[serde(default)]
    set: Vec<String>,
    #[serde(default)]
    axes: Vec<AxisSpec>,
    #[serde(default)]
    mode: Mode,
    #[serde(default = "one")]
    replicates: u64,
    /// Master seed.
    seed: u64,
    #[serde(default)]
    seeds: SeedScheme,
    #[serde(default)]
    plot: Plot,
}

fn one() -> u64 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AxisSpec {
    /// Dotted field path, as for `--set`.
    path: String,
    #[serde(default)]
    values: Option<Vec<f64>>,
    #[serde(default)]
    words: Option<Vec<String>>,
    #[serde(default)]
    range: Option<RangeSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeSpec {
    start: f64,
    stop: f64,
    step: f64,
}

/// How the axes combine into points.
#[derive(Debug, Default, Clone, Copy, PartialEq, Deserialize, Serialize)]
pub enum Mode {
    /// The cartesian product, the last axis varying fastest.
    #[default]
    Grid,
    /// The i-th values of every axis together (axes of equal length).
    Zip,
}

/// How runs get their seeds.
#[derive(Debug, Default, Clone, Copy, PartialEq, Deserialize, Serialize)]
pub enum SeedScheme {
    /// Every run its own seed, from (master seed, k).
    #[default]
    PerRun,
    /// Replicate r has the same seed at every point (common random numbers), from (master seed, r).
    PerReplicate,
}

/// The `plot` choice of a sweep file: which figures its charts show (`None`: the default).
#[derive(Debug, Default, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Plot {
    /// The figure of `sweep_figure.svg`.
    #[serde(default)]
    pub figure: Option<String>,
    /// The two figures of `sweep_tradeoff.svg`.
    #[serde(default)]
    pub tradeoff: Option<(String, String)>,
}

/// A parsed, checked sweep: its points and how each run is set up.
#[derive(Debug, Clone)]
pub struct Sweep {
    file: PathBuf,
    scenario: PathBuf,
    name: String,
    sweep_hash: String,
    set: Vec<Override>,
    /// Axis paths.
    axes: Vec<String>,
    /// Axis values of each point, in point order.
    points: Vec<Vec<String>>,
    replicates: u64,
    runs: u64,
    seed: u64,
    seeds: SeedScheme,
    plot: Plot,
}

/// The FNV-1a-64 hash of the sweep file's bytes, a zero byte and the base scenario's bytes, as
/// `fnv1a64:<16 hex digits>`.
fn sweep_hash(sweep_text: &[u8], scenario_text: &[u8]) -> String {
    let mut bytes = sweep_text.to_vec();
    bytes.push(0);
    bytes.extend_from_slice(scenario_text);
    format!("fnv1a64:{:016x}", sim::fnv1a64(&bytes))
}

/// Formats an axis value as `--set` text: Rust's shortest round-trip form (`90`, `0.25`).
fn value_text(v: f64) -> String {
    v.to_string()
}

fn range_values(r: &RangeSpec) -> Result<Vec<String>, String> {
    let RangeSpec { start, stop, step } = *r;
    if !(start.is_finite() && stop.is_finite() && step.is_finite()) {
        return Err("start, stop and step must be finite numbers".into());
    }
    if step == 0.0 || (stop - start) * step < 0.0 {
        return Err(format!(
            "step {step} never reaches stop {stop} from start {start}"
        ));
    }
    let count = ((stop - start) / step + 1e-9).floor() + 1.0;
    if count > MAX_RANGE_VALUES as f64 {
        return Err(format!("more than {MAX_RANGE_VALUES} values"));
    }
    Ok((0..count as u64)
        .map(|i| {
            // start + i·step (not repeated addition), rounded to 10 decimals so 0.1-steps read well.
            let v = start + i as f64 * step;
            let r: f64 = format!("{v:.10}").parse().unwrap_or(v);
            value_text(r)
        })
        .collect())
}

/// A field of the sweep file and what is wrong with it.
type Problem = (String, String);

/// The values of one axis (`values`, `words` or `range`), checked; `f` is the axis' field name.
fn axis_values(a: &AxisSpec, f: &str) -> Result<Vec<String>, Problem> {
    let v = match (&a.values, &a.words, &a.range) {
        (Some(v), None, None) => {
            if let Some(bad) = v.iter().find(|x| !x.is_finite()) {
                return Err((f.into(), format!("value {bad} is not finite")));
            }
            v.iter().map(|&x| value_text(x)).collect()
        }
        (None, Some(w), None) => w.clone(),
        (None, None, Some(r)) => range_values(r).map_err(|m| (format!("{f}.range"), m))?,
        _ => {
            return Err((
                f.into(),
                "give exactly one of `values: [..]`, `words: [..]` or `range: (start, stop, step)`"
                    .into(),
            ));
        }
    };
    if v.is_empty() {
        return Err((f.into(), "has no values".into()));
    }
    Ok(v)
}

/// The axis paths and the values of each, checked.
fn axes_of(specs: &[AxisSpec]) -> Result<(Vec<String>, Vec<Vec<String>>), Problem> {
    let mut axes = Vec::new();
    let mut values: Vec<Vec<String>> = Vec::new();
    for (i, a) in specs.iter().enumerate() {
        let f = format!("axes[{i}]");
        if a.path.is_empty() || a.path.split('.').any(str::is_empty) {
            return Err((f, format!("`{}` is not a dotted field path", a.path)));
        }
        if axes.contains(&a.path) {
            return Err((f, format!("`{}` is swept twice", a.path)));
        }
        values.push(axis_values(a, &f)?);
        axes.push(a.path.clone());
    }
    Ok((axes, values))
}

/// The points: axis values combined by `mode`.
fn points_of(mode: Mode, values: &[Vec<String>]) -> Result<Vec<Vec<String>>, Problem> {
    match mode {
        Mode::Zip => {
            let n = values.first().map_or(1, Vec::len);
            if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| v.len() != n) {
                return Err((
                    format!("axes[{i}]"),
                    format!(
                        "has {} values but axes[0] has {n}: zipped axes must be the same length",
                        v.len()
                    ),
                ));
            }
            Ok((0..n)
                .map(|p| values.iter().map(|v| v[p].clone()).collect())
                .collect())
        }
        Mode::Grid => {
            let total: u64 = values
                .iter()
                .try_fold(1u64, |acc, v| acc.checked_mul(v.len() as u64))
                .filter(|&t| t <= MAX_RUNS)
                .ok_or_else(|| ("axes".to_string(), format!("more than {MAX_RUNS} points")))?;
            // Cartesian product, the last axis varying fastest.
            Ok((0..total)
                .map(|mut p| {
                    let mut row = vec![String::new(); values.len()];
                    for (j, v) in values.iter().enumerate().rev() {
                        let n = v.len() as u64;
                        row[j] = v[(p % n) as usize].clone();
                        p /= n;
                    }
                    row
                })
                .collect())
        }
    }
}

/// The sweep's name: given, or the file stem; checked to be usable as a directory name.
fn name_of(given: &Option<String>, file: &Path) -> Result<String, String> {
    let name = match given {
        Some(n) => n.clone(),
        None => file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "sweep".into()),
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        return Err(format!(
            "`{name}`: use letters, digits, `-`, `_` and `.` only"
        ));
    }
    // `.` and `..` would put the outputs in `out/` itself or beside it, mixed with other runs'.
    if name == "." || name == ".." {
        return Err(format!(
            "`{name}` names no directory of its own under out/: use letters or digits"
        ));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(format!(
            "{} bytes: at most {MAX_NAME_BYTES} (it names the output directory)",
            name.len()
        ));
    }
    Ok(name)
}

impl Sweep {
    /// Reads and checks a sweep file: syntax errors by file, line and column, semantic ones by field.
    pub fn load(file: &Path) -> Result<Sweep, InputError> {
        let text =
            fs::read(file).map_err(|e| InputError::file(file, format!("cannot read file: {e}")))?;
        let text_str = crate::utf8::as_text(file, "sweep file", &text)?;
        let spec: SweepFile = parse_ron(file, text_str)?;
        let field = |f: &str, m: String| InputError::field(file, f, m);

        let scenario = match file.parent() {
            Some(d) if spec.scenario.is_relative() => d.join(&spec.scenario),
            _ => spec.scenario.clone(),
        };
        let scenario_text = fs::read(&scenario).map_err(|e| {
            field(
                "scenario",
                format!("cannot read {}: {e}", scenario.display()),
            )
        })?;
        let set = spec
            .set
            .iter()
            .enumerate()
            .map(|(i, s)| Override::parse(s).map_err(|m| field(&format!("set[{i}]"), m)))
            .collect::<Result<Vec<_>, _>>()?;
        let (axes, values) = axes_of(&spec.axes).map_err(|(f, m)| field(&f, m))?;
        let points = points_of(spec.mode, &values).map_err(|(f, m)| field(&f, m))?;
        if spec.replicates == 0 {
            return Err(field("replicates", "must be at least 1".into()));
        }
        let runs = (points.len() as u64)
            .checked_mul(spec.replicates)
            .filter(|&r| r <= MAX_RUNS)
            .ok_or_else(|| field("replicates", format!("more than {MAX_RUNS} runs in all")))?;
        let name = name_of(&spec.name, file).map_err(|m| field("name", m))?;
        // An axis path `--set` cannot take (e.g. padded with spaces) fails whatever its value.
        for (i, (path, v)) in axes.iter().zip(&values).enumerate() {
            Override::parse(&format!("{path}={}", v[0]))
                .map_err(|m| field(&format!("axes[{i}]"), m))?;
        }
        Ok(Sweep {
            file: file.to_path_buf(),
            scenario,
            name,
            sweep_hash: sweep_hash(&text, &scenario_text),
            set,
            axes,
            points,
            replicates: spec.replicates,
            runs,
            seed: spec.seed,
            seeds: spec.seeds,
            plot: spec.plot,
        })
    }

    /// The sweep file.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The base scenario file (resolved against the sweep file's directory).
    pub fn scenario(&self) -> &Path {
        &self.scenario
    }

    /// The sweep's name (`name`, or the sweep file's stem).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// FNV-1a-64 of the sweep file's bytes, a zero byte and the base scenario's bytes
    /// (`fnv1a64:<16 hex digits>`): editing either makes a new sweep.
    pub fn sweep_hash(&self) -> &str {
        &self.sweep_hash
    }

    /// The axis paths, in order.
    pub fn axes(&self) -> &[String] {
        &self.axes
    }

    /// The `plot` choice of the file.
    pub fn plot(&self) -> &Plot {
        &self.plot
    }

    /// Number of points.
    pub fn points(&self) -> u64 {
        self.points.len() as u64
    }

    /// Runs per point.
    pub fn replicates(&self) -> u64 {
        self.replicates
    }

    /// Number of runs: points × replicates.
    pub fn runs(&self) -> u64 {
        self.runs
    }

    /// The point of run `k`.
    pub fn point_of(&self, k: u64) -> usize {
        (k / self.replicates) as usize
    }

    /// The replicate of run `k` within its point.
    pub fn replicate_of(&self, k: u64) -> u64 {
        k % self.replicates
    }

    /// The axis values of `point` (`--set` text), in axis order.
    pub fn params(&self, point: usize) -> &[String] {
        &self.points[point]
    }

    /// The scenario seed of run `k`: the first `u64` of substream `("sweep", i)` of the master
    /// seed's streams, with `i = k` (or the replicate index, with `seeds: PerReplicate`).
    pub fn seed_of(&self, k: u64) -> u64 {
        let i = match self.seeds {
            SeedScheme::PerRun => k,
            SeedScheme::PerReplicate => k % self.replicates,
        };
        sim::RngStreams::new(self.seed)
            .substream("sweep", i)
            .next_u64()
    }

    /// The overrides of `point`: the sweep's `set`, then `axis=value` for each axis.
    pub fn overrides(&self, point: usize) -> Vec<Override> {
        let mut o = self.set.clone();
        for (path, v) in self.axes.iter().zip(&self.points[point]) {
            o.push(Override::parse(&format!("{path}={v}")).expect("axis paths checked at load"));
        }
        o
    }

    /// `a=1, b=2` for `point` (`no axes` without axes); a long value is cut ([`excerpt`]).
    pub fn describe_point(&self, p: usize) -> String {
        if self.axes.is_empty() {
            return "no axes".into();
        }
        self.axes
            .iter()
            .zip(&self.points[p])
            .map(|(a, v)| format!("{a}={}", excerpt(v)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The scenario of run `k`: the base scenario with the run's overrides and seed.
    pub fn load_run(&self, k: u64) -> Result<LoadedScenario, InputError> {
        load_scenario(
            &self.scenario,
            &self.overrides(self.point_of(k)),
            Some(self.seed_of(k)),
        )
    }

    /// Loads every point once (with its first run's seed) so bad axis values fail before any run,
    /// reporting the first bad point (at [`Location::Point`] of the sweep file).
    pub fn check_points(&self) -> Result<(), InputError> {
        self.check_points_with(&mut |_| Ok(()))
    }

    /// [`check_points`](Self::check_points), and `check` on every point's loaded scenario (e.g. the
    /// cost guard, which needs the simulator): its error, placed at the point, fails the sweep before
    /// any run.
    pub fn check_points_with(
        &self,
        check: &mut dyn FnMut(&LoadedScenario) -> Result<(), InputError>,
    ) -> Result<(), InputError> {
        for p in 0..self.points.len() {
            let k = p as u64 * self.replicates;
            let at = |e: InputError| {
                InputError::new(
                    &self.file,
                    Location::Point {
                        index: p,
                        values: self.describe_point(p),
                    },
                    e.to_string(),
                )
            };
            let loaded = load_scenario(&self.scenario, &self.overrides(p), Some(self.seed_of(k)))
                .map_err(at)?;
            check(&loaded).map_err(at)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a sweep file over the shipped quickstart scenario into a fresh directory.
    fn sweep_file(tag: &str, body: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dctwin-sweep-{tag}-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/quickstart.ron");
        let file = dir.join("s.ron");
        fs::write(
            &file,
            format!(
                "Sweep(scenario: {:?}, {body})",
                scenario.display().to_string()
            ),
        )
        .unwrap();
        file
    }

    #[test]
    fn grid_and_zip_expand_into_points_and_runs() {
        let grid = Sweep::load(&sweep_file(
            "grid",
            r#"axes: [(path: "a.b", values: [1, 2.5]), (path: "c", words: ["x", "y", "z"])],
               replicates: 2, seed: 3"#,
        ))
        .unwrap();
        assert_eq!((grid.points(), grid.runs(), grid.name()), (6, 12, "s"));
        // The last axis varies fastest; runs are point-major.
        assert_eq!(grid.params(1), ["1", "y"]);
        assert_eq!(grid.params(3), ["2.5", "x"]);
        assert_eq!((grid.point_of(7), grid.replicate_of(7)), (3, 1));
        assert_eq!(grid.describe_point(5), "a.b=2.5, c=z");
        let o = grid.overrides(4);
        assert_eq!((o[0].path.as_str(), o[0].value.as_str()), ("a.b", "2.5"));
        assert_eq!((o[1].path.as_str(), o[1].value.as_str()), ("c", "y"));
        // Seeds per run are distinct; per replicate they repeat at every point.
        assert_ne!(grid.seed_of(0), grid.seed_of(2));
        let crn = Sweep::load(&sweep_file(
            "crn",
            r#"axes: [(path: "a", range: (start: 0, stop: 1, step: 0.5)), (path: "b", values: [7, 8, 9])],
               mode: Zip, replicates: 2, seed: 3, seeds: PerReplicate"#,
        ))
        .unwrap();
        assert_eq!((crn.points(), crn.runs()), (3, 6));
        assert_eq!(crn.params(2), ["1", "9"]);
        assert_eq!(crn.seed_of(1), crn.seed_of(5));
        assert_eq!(crn.seed_of(0), grid.seed_of(0));
    }

    #[test]
    fn bad_sweeps_name_the_field_or_the_point() {
        let e = Sweep::load(&sweep_file(
            "zip",
            r#"axes: [(path: "a", values: [1, 2]), (path: "b", values: [1])], mode: Zip, seed: 1"#,
        ))
        .unwrap_err();
        assert_eq!(e.location, Location::Field("axes[1]".into()), "{e}");
        // A path `--set` cannot take fails at load, as the axis' field.
        let e = Sweep::load(&sweep_file(
            "pad",
            r#"axes: [(path: " ", values: [1])], seed: 1"#,
        ))
        .unwrap_err();
        assert_eq!(e.location, Location::Field("axes[0]".into()), "{e}");
        let e = Sweep::load(&sweep_file("syntax", "seed: 1, nope: 2")).unwrap_err();
        assert!(
            matches!(e.location, Location::LineCol { line: 1, .. }),
            "{e}"
        );
        let s = Sweep::load(&sweep_file(
            "point",
            r#"axes: [(path: "horizon_s", values: [60, -1])], seed: 1"#,
        ))
        .unwrap();
        let e = s.check_points().unwrap_err();
        assert_eq!(
            e.location,
            Location::Point {
                index: 1,
                values: "horizon_s=-1".into()
            }
        );
        assert!(
            e.to_string()
                .starts_with(&format!("{}: point 1 (horizon_s=-1): ", s.file().display())),
            "{e}"
        );
    }

    #[test]
    fn names_must_name_a_directory_of_their_own() {
        let f = Path::new("s.ron");
        assert_eq!(name_of(&None, f).unwrap(), "s");
        for bad in [".", "..", "a/b", ""] {
            assert!(name_of(&Some(bad.into()), f).is_err(), "{bad}");
        }
        assert!(name_of(&Some("x".repeat(201)), f).is_err());
        assert!(name_of(&None, Path::new("..ron")).is_err());
    }

    #[test]
    fn ranges_include_stop_and_read_well() {
        let r = |start, stop, step| range_values(&RangeSpec { start, stop, step }).unwrap();
        assert_eq!(r(0.0, 1.0, 0.25), ["0", "0.25", "0.5", "0.75", "1"]);
        assert_eq!(r(0.1, 0.3, 0.1), ["0.1", "0.2", "0.3"]);
        assert_eq!(r(10.0, 0.0, -5.0), ["10", "5", "0"]);
        assert!(
            range_values(&RangeSpec {
                start: 0.0,
                stop: 1.0,
                step: -1.0
            })
            .is_err()
        );
        assert!(
            range_values(&RangeSpec {
                start: 0.0,
                stop: 1.0,
                step: 0.0
            })
            .is_err()
        );
    }
}
