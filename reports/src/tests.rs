use super::*;
use output::{EnergySummary, GpuSummary, JobsSummary, PowerSummary, SiteSummary, Stats};

/// A fresh, empty directory under the workspace's `target/test-tmp/`.
fn test_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/test-tmp")
        .join(format!("reports-{name}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn dir_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn sample_summary() -> Summary {
    Summary {
        dctwin_version: "0.1.0".into(),
        scenario: "unit-test".into(),
        seed: 42,
        horizon_s: 7.0 * 86_400.0,
        events_processed: 123_456,
        wall_time_s: 1.25,
        site: SiteSummary {
            halls: 1,
            rows: 2,
            racks: 8,
            servers: 32,
            gpus_by_model: [("H100-SXM".to_string(), 256)].into_iter().collect(),
            description: "1 hall, 2 rows, 8 racks, 32 servers, 256 GPUs (256 × H100-SXM)".into(),
        },
        energy: EnergySummary {
            it_j: 7.2e10,
            gpu_j: 5.4e10,
            server_overhead_j: 1.8e10,
            ..EnergySummary::default()
        },
        power: PowerSummary {
            it_peak_w: 180_000.0,
            it_mean_w: 119_047.6,
            it_min_w: 40_000.0,
        },
        jobs: JobsSummary {
            submitted: 1000,
            completed: 950,
            running_at_end: 30,
            queued_at_end: 20,
            not_arrived: 5,
            wait_s: Stats::from_values(&mut [0.0, 10.0, 20.0, 3600.0]),
            turnaround_s: Stats::from_values(&mut [100.0, 200.0]),
            ..Default::default()
        },
        gpus: GpuSummary {
            total: 256,
            utilization_mean: 0.634,
        },
        gpu_hours: output::GpuHoursSummary {
            busy: 27_267.0,
            available: 43_008.0,
        },
        training: None,
        inference: None,
        facility: None,
        shared_fleet: None,
        network: None,
        failures: None,
        storage: None,
        not_modelled: vec![
            "facility overhead (cooling, PUE)".into(),
            "network fabric".into(),
        ],
    }
}

fn samples(n: usize) -> Vec<Sample> {
    (0..n)
        .map(|i| Sample {
            time_s: i as f64 * 60.0,
            it_power_w: 40_000.0 + (i % 97) as f64 * 1234.5,
            busy_gpus: (i % 256) as f64 * 0.5,
            running_jobs: (i % 13) as u64,
            queued_jobs: (i % 29) as u64,
            failures: None,
            facility: None,
            serving: None,
        })
        .collect()
}

fn constant(n: usize) -> Vec<Sample> {
    (0..n)
        .map(|_| Sample {
            time_s: 0.0,
            it_power_w: 5000.0,
            busy_gpus: 3.0,
            running_jobs: 1,
            queued_jobs: 0,
            failures: None,
            facility: None,
            serving: None,
        })
        .collect()
}

fn run_output(n: usize) -> RunOutput {
    RunOutput {
        summary: sample_summary(),
        timeseries: samples(n),
        ..RunOutput::default()
    }
}

#[test]
fn csv_has_exact_header_and_one_row_per_sample() {
    let csv = timeseries_csv(&samples(100));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "time_s,it_power_w,busy_gpus,running_jobs,queued_jobs"
    );
    assert_eq!(lines.len(), 101);
    assert!(csv.ends_with('\n'));
    assert_eq!(lines[1], "0,40000,0,0,0");
    assert_eq!(lines[2], "60,41234.5,0.5,1,1");
    assert!(lines[1..].iter().all(|l| l.split(',').count() == 5));

    assert_eq!(timeseries_csv(&[]), format!("{TIMESERIES_HEADER}\n"));
}

#[test]
fn csv_floats_round_trip() {
    let tricky = [
        0.1 + 0.2,
        1e-7,
        123_456_789.123_456_79,
        1e21,
        f64::MIN_POSITIVE,
    ];
    let rows: Vec<Sample> = tricky
        .iter()
        .map(|&v| Sample {
            time_s: v,
            it_power_w: v,
            busy_gpus: v,
            running_jobs: u64::MAX,
            queued_jobs: 0,
            failures: None,
            facility: None,
            serving: None,
        })
        .collect();
    let csv = timeseries_csv(&rows);
    for (line, &v) in csv.lines().skip(1).zip(&tricky) {
        let fields: Vec<&str> = line.split(',').collect();
        for f in &fields[..3] {
            assert!(!f.contains('e'), "no exponent notation: {f}");
            assert_eq!(f.parse::<f64>().unwrap().to_bits(), v.to_bits());
        }
        assert_eq!(fields[3], u64::MAX.to_string());
    }
}

#[test]
fn summary_json_is_pretty_and_contains_every_field() {
    let s = sample_summary();
    let json = summary_json(&s);
    assert!(json.ends_with("}\n"));
    assert!(json.contains("\n  \"scenario\": \"unit-test\""));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["scenario"], "unit-test");
    assert_eq!(v["seed"], 42);
    assert_eq!(v["horizon_s"], 604_800.0);
    assert_eq!(v["events_processed"], 123_456);
    assert_eq!(v["wall_time_s"], 1.25);
    assert_eq!(v["site"]["servers"], 32);
    assert_eq!(v["site"]["gpus_by_model"]["H100-SXM"], 256);
    assert_eq!(v["energy"]["it_j"], 7.2e10);
    assert_eq!(v["energy"]["gpu_j"], 5.4e10);
    assert_eq!(v["energy"]["server_overhead_j"], 1.8e10);
    assert_eq!(v["power"]["it_peak_w"], 180_000.0);
    assert_eq!(v["power"]["it_min_w"], 40_000.0);
    assert_eq!(v["jobs"]["not_arrived"], 5);
    assert_eq!(v["jobs"]["wait_s"]["count"], 4);
    assert_eq!(v["jobs"]["wait_s"]["p99"], 3600.0);
    assert_eq!(v["jobs"]["turnaround_s"]["max"], 200.0);
    assert_eq!(v["gpus"]["total"], 256);
    assert_eq!(v["gpus"]["utilization_mean"], 0.634);
    assert_eq!(v["gpu_hours"]["busy"], 27_267.0);
    assert_eq!(v["gpu_hours"]["available"], 43_008.0);
    assert_eq!(v["not_modelled"][1], "network fabric");

    let top: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(top.len(), 13, "top-level fields: {top:?}");
    // Deterministic: same input, same bytes.
    assert_eq!(json, summary_json(&s));
}

#[test]
fn summary_json_writes_non_finite_as_null() {
    let mut s = sample_summary();
    s.power.it_mean_w = f64::NAN;
    let v: serde_json::Value = serde_json::from_str(&summary_json(&s)).unwrap();
    assert!(v["power"]["it_mean_w"].is_null());
}

#[test]
fn write_atomic_creates_and_replaces_without_leaving_temp_files() {
    let dir = test_dir("atomic");
    let path = dir.join("out.txt");
    write_atomic(&path, b"first version, rather long\n").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"first version, rather long\n");
    write_atomic(&path, b"second\n").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"second\n");
    write_atomic(&path, b"").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"");
    assert_eq!(dir_entries(&dir), ["out.txt"]);
}

#[test]
fn write_atomic_reports_path_and_cleans_up_on_failure() {
    let dir = test_dir("atomic-fail");
    // The target is an existing non-empty directory: the rename over it must fail.
    let target = dir.join("occupied");
    fs::create_dir_all(target.join("inner")).unwrap();
    let err = write_atomic(&target, b"data").unwrap_err();
    assert_eq!(err.path(), target);
    let msg = err.to_string();
    assert!(msg.contains("occupied"), "{msg}");
    assert!(msg.contains(&err.io_error().to_string()), "{msg}");
    assert!(std::error::Error::source(&err).is_some());
    assert_eq!(dir_entries(&dir), ["occupied"], "temporary file removed");

    // A missing directory fails while writing the temporary file.
    let err = write_atomic(&dir.join("missing/out.txt"), b"data").unwrap_err();
    assert_eq!(err.io_error().kind(), io::ErrorKind::NotFound);
    assert!(err.to_string().contains("missing"));
}

#[test]
fn write_atomic_rejects_paths_without_a_file_name() {
    let err = write_atomic(Path::new("/"), b"x").unwrap_err();
    assert_eq!(err.io_error().kind(), io::ErrorKind::InvalidInput);
}

/// The standalone charts share the page's time axes: hours or days since the start without a calendar, dates
/// and months on one (the weather's year).
#[test]
fn standalone_charts_have_calendar_time_axes() {
    // A week of 10-minute samples.
    let week: Vec<Sample> = samples(1009)
        .into_iter()
        .map(|s| Sample {
            time_s: s.time_s * 10.0,
            ..s
        })
        .collect();
    // The texts of an SVG's <text> elements.
    let texts = |svg: &str| -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| t.split_once('>').map(|(_, r)| r))
            .map(|r| r.split('<').next().unwrap_or("").trim().to_string())
            .collect()
    };
    let has = |svg: &str, label: &str| texts(svg).iter().any(|t| t == label);
    let plain = it_power_svg(&week, None).unwrap();
    assert!(
        has(&plain, "days since the start") && has(&plain, "day 3"),
        "{:?}",
        texts(&plain)
    );
    assert!(!has(&plain, "time (h)"));
    let cal = crate::calendar::Calendar::typical_year(0.0);
    let dated = utilization_queue_svg(&week, Some(8), Some(&cal)).unwrap();
    assert!(
        has(&dated, "date") && has(&dated, "3 Jan"),
        "{:?}",
        texts(&dated)
    );
    // A year: month starts.
    let year: Vec<Sample> = (0..=365)
        .map(|d| Sample {
            time_s: d as f64 * 86_400.0,
            ..Sample::default()
        })
        .collect();
    let months = it_power_svg(&year, Some(&cal)).unwrap();
    assert!(
        has(&months, "month") && has(&months, "Jul"),
        "{:?}",
        texts(&months)
    );
    // A day without a calendar: hours.
    let hours = it_power_svg(&samples(1441), None).unwrap();
    assert!(
        has(&hours, "hours since the start") && has(&hours, "6 h"),
        "{:?}",
        texts(&hours)
    );
}

#[test]
fn charts_render_for_normal_series_and_are_deterministic() {
    let s = samples(500);
    let a = it_power_svg(&s, None).unwrap();
    let b = it_power_svg(&s, None).unwrap();
    assert_eq!(a, b);
    assert!(a.starts_with("<svg"));
    assert!(a.trim_end().ends_with("</svg>"));
    assert!(a.contains("<polyline"));
    assert!(a.contains("IT power (kW)"));
    assert!(!a.contains("no samples"));

    let u = utilization_queue_svg(&s, Some(256), None).unwrap();
    assert_eq!(u, utilization_queue_svg(&s, Some(256), None).unwrap());
    assert!(u.contains("busy GPUs"));
    assert!(u.contains("queued jobs"));
    assert!(u.contains("GPUs installed"));
    assert!(u.matches("<polyline").count() >= 2);
    assert!(
        !utilization_queue_svg(&s, None, None)
            .unwrap()
            .contains("GPUs installed")
    );
}

#[test]
fn charts_render_for_empty_constant_single_and_non_finite_series() {
    let nan = vec![
        Sample {
            time_s: f64::NAN,
            it_power_w: f64::INFINITY,
            busy_gpus: f64::NAN,
            running_jobs: 0,
            queued_jobs: 0,
            failures: None,
            facility: None,
            serving: None,
        },
        Sample {
            time_s: 60.0,
            it_power_w: f64::NAN,
            busy_gpus: 1.0,
            running_jobs: 0,
            queued_jobs: 3,
            failures: None,
            facility: None,
            serving: None,
        },
    ];
    let cases: [(&str, Vec<Sample>); 5] = [
        ("empty", vec![]),
        ("single", constant(1)),
        ("constant", constant(50)),
        ("zeros", vec![Sample::default(); 10]),
        ("non-finite", nan),
    ];
    for (name, series) in &cases {
        for total in [None, Some(0), Some(8)] {
            let u = utilization_queue_svg(series, total, None)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(u.trim_end().ends_with("</svg>"), "{name}");
            assert_eq!(
                u,
                utilization_queue_svg(series, total, None).unwrap(),
                "{name}"
            );
        }
        let p = it_power_svg(series, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(p.trim_end().ends_with("</svg>"), "{name}");
        assert_eq!(p, it_power_svg(series, None).unwrap(), "{name}");
        assert!(
            !p.contains("NaN") && !p.contains("inf"),
            "{name}: no non-finite coordinates"
        );
    }
    assert!(it_power_svg(&[], None).unwrap().contains("no samples"));
}

#[test]
fn long_series_charts_stay_small() {
    let s = samples(200_000);
    let svg = it_power_svg(&s, None).unwrap();
    assert!(svg.len() < 200_000, "{} bytes", svg.len());
}

#[test]
fn write_run_writes_the_four_files_in_order() {
    let dir = test_dir("write-run").join("nested/out");
    let out = run_output(300);
    let paths = write_run(&dir, &out).unwrap();
    let names: Vec<_> = paths
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "summary.json",
            "timeseries.csv",
            "it_power.svg",
            "utilization_queue.svg"
        ]
    );
    assert!(paths.iter().all(|p| p.starts_with(&dir)));
    assert_eq!(
        fs::read_to_string(&paths[0]).unwrap(),
        summary_json(&out.summary)
    );
    assert_eq!(
        fs::read_to_string(&paths[1]).unwrap(),
        timeseries_csv(&out.timeseries)
    );
    assert_eq!(
        fs::read_to_string(&paths[2]).unwrap(),
        it_power_svg(&out.timeseries, None).unwrap()
    );
    assert_eq!(
        fs::read_to_string(&paths[3]).unwrap(),
        utilization_queue_svg(&out.timeseries, Some(256), None).unwrap()
    );
    let mut expected: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(dir_entries(&dir), expected, "no temporary files left");

    // A second run replaces every file, byte for byte the same.
    let before: Vec<Vec<u8>> = paths.iter().map(|p| fs::read(p).unwrap()).collect();
    assert_eq!(write_run(&dir, &out).unwrap(), paths);
    let after: Vec<Vec<u8>> = paths.iter().map(|p| fs::read(p).unwrap()).collect();
    assert_eq!(before, after);
    assert_eq!(dir_entries(&dir), expected);
}

#[test]
fn write_run_handles_an_empty_run() {
    let dir = test_dir("write-run-empty");
    let paths = write_run(&dir, &RunOutput::default()).unwrap();
    assert_eq!(paths.len(), 4);
    assert_eq!(
        fs::read_to_string(&paths[1]).unwrap(),
        format!("{TIMESERIES_HEADER}\n")
    );
}

#[test]
fn write_run_reports_an_uncreatable_directory() {
    let dir = test_dir("write-run-fail");
    let file = dir.join("a-file");
    fs::write(&file, b"").unwrap();
    let err = write_run(&file.join("sub"), &RunOutput::default()).unwrap_err();
    assert!(err.to_string().starts_with("creating directory"), "{err}");
    assert!(err.to_string().contains("a-file"), "{err}");
}

#[test]
fn stdout_table_lists_the_headline_numbers_aligned() {
    let t = stdout_table(&sample_summary());
    for needle in [
        "Run summary (dctwin 0.1.0)",
        "unit-test",
        "42",
        "256 × H100-SXM",
        "168.00 h",
        "123456",
        "1.25 s",
        "20.000 MWh",
        "15.000 MWh",
        "180.0 / 119.0 kW",
        "1000",
        "950",
        "10.0 / 3600.0 s",
        "63.4 % of 256 GPUs",
        "facility overhead (cooling, PUE)",
        "network fabric",
    ] {
        assert!(t.contains(needle), "missing {needle:?} in\n{t}");
    }
    assert!(t.ends_with('\n'));
    // Every value starts in the same column.
    let col = |line: &str| {
        let leading = line.len() - line.trim_start().len();
        if leading > 2 {
            return leading; // a wrapped continuation line
        }
        let gap = line[2..].find("  ").expect("label and value separated") + 2;
        gap + line[gap..].len() - line[gap..].trim_start().len()
    };
    let cols: Vec<_> = t.lines().skip(1).map(col).collect();
    assert!(cols.windows(2).all(|w| w[0] == w[1]), "{t}");
    assert_eq!(t, stdout_table(&sample_summary()));
}

#[test]
fn stdout_table_handles_an_empty_summary() {
    let t = stdout_table(&Summary::default());
    assert!(t.starts_with("Run summary\n"));
    assert!(t.contains("not modelled"));
}

#[test]
fn report_error_display_names_action_path_and_cause() {
    let e = ReportError::new(
        "writing",
        Path::new("out/summary.json"),
        io::Error::new(io::ErrorKind::PermissionDenied, "denied"),
    );
    assert_eq!(e.to_string(), "writing out/summary.json: denied");
}

fn facility_samples(n: usize) -> Vec<Sample> {
    // 10-minute samples; IT 1 MW + 0.1 MW per hour index, PUE 1.2 in hour h even, 1.3 odd.
    let mut it_j = 0.0;
    let mut fac_j = 0.0;
    (0..n)
        .map(|i| {
            let t = i as f64 * 600.0;
            let h = (t / 3600.0).floor();
            let it_w = 1e6 + 1e5 * h;
            let pue = if h as i64 % 2 == 0 { 1.2 } else { 1.3 };
            let s = Sample {
                time_s: t,
                it_power_w: it_w,
                busy_gpus: 1.0,
                running_jobs: 1,
                queued_jobs: 0,
                failures: None,
                facility: Some(output::FacilitySample {
                    facility_power_w: it_w * pue,
                    it_power_w: it_w,
                    power_chain_loss_w: it_w * 0.05,
                    cooling_power_w: it_w * (pue - 1.06),
                    chiller_w: it_w * (pue - 1.06),
                    misc_w: it_w * 0.01,
                    pue_interval: pue,
                    outdoor_dry_bulb_c: h,
                    outdoor_wet_bulb_c: h - 2.0,
                    inlet_c: 25.0,
                    carbon_intensity_g_per_kwh: if i == 1 { None } else { Some(56.0) },
                    it_energy_j: it_j,
                    facility_energy_j: fac_j,
                    ..Default::default()
                }),
                serving: None,
            };
            it_j += it_w * 600.0;
            fac_j += it_w * pue * 600.0;
            s
        })
        .collect()
}

#[test]
fn facility_columns_appear_only_with_a_facility() {
    let plain = timeseries_csv(&samples(3));
    assert!(!plain.contains("facility_power_w"));
    let s = facility_samples(13);
    let csv = timeseries_csv(&s);
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert_eq!(
        header,
        format!("{TIMESERIES_HEADER},{TIMESERIES_FACILITY_COLUMNS}")
    );
    let n = header.split(',').count();
    assert_eq!(n, 5 + 16);
    for (i, l) in lines.enumerate() {
        let cells: Vec<&str> = l.split(',').collect();
        assert_eq!(cells.len(), n, "{l}");
        let ci = &cells[5 + 13];
        assert_eq!(ci.is_empty(), i == 1, "{l}");
    }
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .starts_with("0,1000000,1,1,0,1200000,50000,")
    );
}

#[test]
fn hourly_pue_is_the_exact_energy_ratio_per_hour() {
    let s = facility_samples(6 * 5 + 1); // five full hours
    let pts = facility_chart::hourly_pue_points(&s);
    assert_eq!(pts.len(), 5);
    for (h, (wb, pue)) in pts.iter().enumerate() {
        assert_eq!(*wb, h as f64 - 2.0);
        let want = if h % 2 == 0 { 1.2 } else { 1.3 };
        assert!((pue - want).abs() < 1e-12, "hour {h}: {pue}");
    }
    let fp = facility_power_svg(&s, None).unwrap();
    assert!(fp.starts_with("<svg") && fp.contains("chillers") && fp.contains("IT"));
    assert!(
        !fp.contains("dry coolers"),
        "all-zero layers stay out of the legend"
    );
    let sc = pue_wet_bulb_svg(&s).unwrap();
    assert_eq!(sc.matches("<circle").count(), 5);
    assert_eq!(facility_charts(&s, None).unwrap().len(), 2);
    assert!(facility_charts(&samples(3), None).unwrap().is_empty());
    assert_eq!(facility_power_svg(&s, None).unwrap(), fp, "deterministic");
}

fn failures_summary() -> output::FailuresSummary {
    let class = |component: &str, domain: &str, units: u64, failures: u64, mtbf_h: f64| {
        output::FailureClassSummary {
            component: component.into(),
            domain: domain.into(),
            units,
            failures,
            exposure_unit_h: units as f64 * 168.0,
            mtbf_h,
            observed_mtbf_h: (failures > 0).then(|| units as f64 * 168.0 / failures as f64),
            interrupting: failures.min(2),
            work_interrupted: failures.min(2),
            servers_taken_down: failures * if domain == "rack" { 4 } else { 1 },
            repairs_completed: failures,
            repair_mean_h: if failures > 0 { 36.5 } else { 0.0 },
        }
    };
    output::FailuresSummary {
        source: "drawn".into(),
        failures: 6,
        interrupting_failures: 4,
        work_interrupted: 5,
        classes: vec![
            class("gpu", "server", 256, 4, 10_000.0),
            class("host", "server", 32, 2, 5_000.0),
            class("pdu", "rack", 8, 0, 1e6),
        ],
        domains: vec![
            output::FailureDomainSummary {
                domain: "server".into(),
                failures: 6,
                work_interrupted: 5,
            },
            output::FailureDomainSummary {
                domain: "rack".into(),
                failures: 0,
                work_interrupted: 0,
            },
        ],
        server_down_h: 12.25,
        gpu_down_h: 98.0,
        servers_down_max: 3,
        repairs: output::RepairSummary {
            crews: Some(2),
            completed: 5,
            open_at_end: 1,
            wait_mean_h: 1.5,
            wait_max_h: 4.0,
            queue_max: 2,
        },
        spares: output::SparesSummary {
            initial: 4,
            swaps: 3,
            stockouts: 2,
            min_available: 0,
        },
    }
}

fn training_summary() -> output::TrainingSummary {
    output::TrainingSummary {
        jobs: vec![output::TrainingJobSummary {
            name: "pretrain".into(),
            gpu_model: "H100-SXM".into(),
            gpus: 128,
            step_s: 10.0,
            start_s: Some(0.0),
            preemptions: 4,
            lost_s: 5400.0,
            restart_s: 2400.0,
            ettr: Some(0.9125),
            checkpoint_every_s: Some(1234.4),
            checkpoint_bytes: Some(9.8e11),
            checkpoint_write_s: Some(4.9),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// `sample_summary` with failures, storage and a training job that was interrupted.
fn failures_run() -> Summary {
    let mut s = sample_summary();
    s.failures = Some(failures_summary());
    s.storage = Some(output::StorageSummary {
        write_gbs: 100.0,
        read_gbs: 250.5,
        server_link_gbs: 50.0,
        power_w: 20_000.0,
        energy_j: 20_000.0 * 7.0 * 86_400.0,
        ..Default::default()
    });
    s.training = Some(training_summary());
    s.jobs.interrupted = 4;
    s.jobs.lost_gpu_h = 192.0;
    s.jobs.restart_gpu_h = 85.3;
    s
}

fn failure_samples(n: usize) -> Vec<Sample> {
    samples(n)
        .into_iter()
        .enumerate()
        .map(|(i, mut s)| {
            s.failures = Some(output::FailureSample {
                servers_failed: (i % 5 == 0) as u64 + (i % 17 == 0) as u64,
                failures_total: (i / 7) as u64,
            });
            s
        })
        .collect()
}

#[test]
fn stdout_table_shows_failures_repairs_spares_and_storage() {
    let t = stdout_table(&failures_run());
    for needle in [
        "failures ",
        "6, 4 interrupting (5 work item(s) stopped)",
        "by class: gpu 4, host 2",
        "5 repaired, 1 open at end; 2 crew(s), wait mean 1.5 h, max 4.0 h",
        "spares: 4 at start, 3 swaps, 2 stockouts, fewest on hand 0",
        "98.0 GPU-h (12.2 server-h); at most 3 server(s) at once",
        "4 job interruption(s); GPU-h lost 192.0, restarting 85.3",
        "pretrain: ETTR 0.912, 4 interruptions, 1.5 h lost, 0.7 h restarting",
        "pretrain: 0.98 TB every 1234 s, 4.9 s write",
        "write 100 / read 250.5 GB/s, server links 50 GB/s; 20.0 kW, 3.36 MWh",
    ] {
        assert!(t.contains(needle), "missing {needle:?} in\n{t}");
    }
    assert!(
        !t.contains("pdu"),
        "classes without failures are left out:\n{t}"
    );
    // The new rows come before GPU utilization and not modelled, which stay last.
    let at = |needle: &str| t.find(needle).unwrap_or_else(|| panic!("{needle} in\n{t}"));
    assert!(at("training jobs") < at("by class") && at("  storage") < at("GPU utilization"));
    assert!(at("GPU utilization") < at("not modelled"));
    // A replayed trace says so.
    let mut s = failures_run();
    s.failures.as_mut().unwrap().source = "trace".into();
    assert!(stdout_table(&s).contains("6 (replayed trace), 4 interrupting"));
    // Unlimited crews: nothing waits for one.
    s.failures.as_mut().unwrap().repairs.crews = None;
    let t = stdout_table(&s);
    assert!(
        t.contains("5 repaired, 1 open at end; unlimited crews\n"),
        "{t}"
    );
    assert!(!t.contains("request(s) rerouted"));
    // An inference run: requests instead of jobs.
    s.inference = Some(output::InferenceSummary {
        requests: output::RequestCounts {
            rerouted: 7,
            dropped: 1,
            ..Default::default()
        },
        ..Default::default()
    });
    let t = stdout_table(&s);
    assert!(t.contains("7 request(s) rerouted, 1 dropped"), "{t}");
    assert!(!t.contains("job interruption(s)"), "{t}");
}

#[test]
fn stdout_table_without_failures_or_storage_has_no_failure_rows() {
    let mut s = sample_summary();
    s.training = Some(training_summary());
    let t = stdout_table(&s);
    for absent in [
        "failures ",
        "repairs",
        "spares",
        "down for failures",
        "work interrupted",
        "ETTR",
        "checkpoints",
        "storage",
    ] {
        assert!(!t.contains(absent), "{absent:?} in\n{t}");
    }
    // The table of a plain run, byte for byte (the failures and storage rows add to it, never change it).
    assert_eq!(
        stdout_table(&sample_summary()),
        "Run summary (dctwin 0.1.0)
  scenario              unit-test
  seed                  42
  site                  1 hall, 2 rows, 8 racks, 32 servers, 256 GPUs (256 × H100-SXM)
  horizon               168.00 h
  events processed      123456
  wall time             1.25 s
  IT energy             20.000 MWh
  GPU energy            15.000 MWh
  IT power peak / mean  180.0 / 119.0 kW
  jobs submitted        1000
  jobs completed        950
  jobs running at end   30
  jobs queued at end    20
  jobs not arrived      5
  job wait p50 / p99    10.0 / 3600.0 s
  GPU utilization       63.4 % of 256 GPUs
  not modelled          facility overhead (cooling, PUE)
                        network fabric
"
    );
    // Storage alone: the storage row and the jobs' ETTR and checkpoints, no failure rows.
    s.storage = failures_run().storage;
    let t = stdout_table(&s);
    assert!(t.contains("  storage ") && t.contains("ETTR 0.912") && t.contains("checkpoints"));
    assert!(!t.contains("down for failures") && !t.contains("spares"));
}

#[test]
fn run_page_has_a_failures_section_only_with_failures() {
    let out = RunOutput {
        summary: failures_run(),
        timeseries: failure_samples(300),
        ..RunOutput::default()
    };
    let page = pages::run_page(&out).unwrap();
    for needle in [
        "<h2>Failures</h2>",
        "<h3>Failures by class</h3>",
        "<th>MTBF observed (h)</th><th>MTBF configured (h)</th>",
        // gpu: 256 units, 4 failures, observed 256·168/4 = 10752 h against 10000 h, 2 interrupting, 4
        // servers taken down, mean repair 36.5 h.
        "<tr><td>gpu</td><td>server</td><td>256</td><td>4</td><td>10752</td><td>10000</td><td>2</td>\
         <td>4</td><td>36.5</td></tr>",
        "<tr><td>pdu</td><td>rack</td><td>8</td><td>0</td><td>–</td><td>1000000</td><td>0</td><td>0</td>\
         <td>–</td></tr>",
        "<h3>Failures by domain</h3>",
        "<tr><td>server</td><td>6</td><td>5</td></tr>",
        "<h3>Repairs and spares</h3>",
        "<tr><td>repair crews</td><td>2</td></tr>",
        "<tr><td>stockouts</td><td>2</td></tr>",
        "<tr><td>spare swaps</td><td>3</td></tr>",
        "<tr><td>open at end</td><td>1</td></tr>",
        "Down for failures: 12.2 server-h, 98.0 GPU-h; at most 3 server(s) at once.",
        "192.0 GPU-h of work lost since the last checkpoints, 85.3 GPU-h spent restarting.",
        "<tr><td>pretrain</td><td>128</td><td>0.912</td><td>4</td><td>1.5</td><td>0.7</td><td>1234</td>\
         <td>0.98</td><td>4.9</td></tr>",
        "<h2>Storage</h2>",
        "Write 100 GB/s, read 250.5 GB/s, 50 GB/s per server link; 20.0 kW drawn, 3.36 MWh",
        "Hardware failures",
        "servers down (failures)",
        "<figcaption>Servers down for failures and failures so far</figcaption>",
        "expected at the configured MTBFs",
    ] {
        assert!(page.contains(needle), "missing {needle:?}");
    }
    // Headline figures in human units first; every figure by its machine name only in the appendix.
    assert!(page.contains("<h2>Headline figures</h2>"));
    assert!(page.contains("<div class=\"label\">Hardware failures</div>"));
    assert!(page.contains("<td>energy.it_j</td>") && page.contains("<details>"));
    assert!(page.find("<td>energy.it_j</td>").unwrap() > page.find("<details>").unwrap());
    let at = |needle: &str| page.find(needle).unwrap();
    assert!(at("<h2>Headline figures</h2>") < at("<h2>Timeline</h2>"));
    assert!(at("<h2>Timeline</h2>") < at("<h2>Energy and power</h2>"));
    assert!(at("<h2>Energy and power</h2>") < at("<h2>Failures</h2>"));
    assert!(at("<h2>Failures</h2>") < at("<h2>Storage</h2>"));
    assert!(at("<h2>Storage</h2>") < at("<details>"));
    assert_eq!(page, pages::run_page(&out).unwrap(), "deterministic");

    // Without failures or storage: no such sections, no failures chart.
    let plain = pages::run_page(&run_output(300)).unwrap();
    for absent in [
        "<h2>Failures</h2>",
        "<h2>Storage</h2>",
        "Hardware failures",
        "Failures over time",
    ] {
        assert!(
            !plain.contains(absent),
            "{absent:?} on a page without failures"
        );
    }
    assert!(plain.contains("<h2>Headline figures</h2>"));
    assert!(
        plain.contains("<h2>Jobs</h2>"),
        "a batch run has its jobs section"
    );
}

#[test]
fn failures_chart_steps_servers_down_and_counts_failures() {
    let s = failure_samples(500);
    let f = failures_summary();
    let svg = failures_svg(&s, Some(&f), None).unwrap();
    assert_eq!(
        svg,
        failures_svg(&s, Some(&f), None).unwrap(),
        "deterministic"
    );
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    for needle in [
        "Hardware failures",
        "servers down (failures)",
        "failures so far",
        "expected at the configured MTBFs",
    ] {
        assert!(svg.contains(needle), "missing {needle:?}");
    }
    assert!(svg.matches("<polyline").count() >= 2);
    // No expected line for a replayed trace or without the summary.
    let mut trace = f.clone();
    trace.source = "trace".into();
    assert!(
        !failures_svg(&s, Some(&trace), None)
            .unwrap()
            .contains("expected at")
    );
    assert!(
        !failures_svg(&s, None, None)
            .unwrap()
            .contains("expected at")
    );
    // Samples without failure columns, empty, constant and non-finite series render.
    assert!(
        failures_svg(&samples(10), Some(&f), None)
            .unwrap()
            .contains("no samples")
    );
    assert!(
        failures_svg(&[], None, None)
            .unwrap()
            .contains("no samples")
    );
    let mut nan = failure_samples(3);
    nan[1].time_s = f64::NAN;
    let n = failures_svg(&nan, Some(&f), None).unwrap();
    assert!(!n.contains("NaN") && !n.contains("inf"));
}

#[test]
fn write_run_writes_the_failures_chart_only_with_failures() {
    let dir = test_dir("write-run-failures");
    let out = RunOutput {
        summary: failures_run(),
        timeseries: failure_samples(50),
        ..RunOutput::default()
    };
    let paths = write_run(&dir, &out).unwrap();
    let names: Vec<_> = paths
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "summary.json",
            "timeseries.csv",
            "it_power.svg",
            "utilization_queue.svg",
            "failures.svg"
        ]
    );
    assert_eq!(
        fs::read_to_string(&paths[4]).unwrap(),
        failures_svg(&out.timeseries, out.summary.failures.as_ref(), None).unwrap()
    );
    assert!(RUN_FILES.contains(&FAILURES_SVG));
}

/// A run with a facility: the green-chiller-trip figures (two days, 1,664 H100, chillers tripped for an hour).
fn facility_run() -> Summary {
    let mut s = sample_summary();
    s.energy.it_j = 236_352_978_600.0;
    s.energy.facility_j = Some(288_105_174_755.0);
    s.energy.cooling_j = Some(output::CoolingEnergy {
        total: 37_361_290_987.0,
        ..Default::default()
    });
    s.energy.power_chain_loss_j = Some(output::ChainLoss {
        total: 12_027_375_381.0,
        ..Default::default()
    });
    s.energy.misc_j = Some(2_363_529_786.0);
    s.facility = Some(output::FacilitySummary {
        pue: 1.2189614722,
        wue_l_per_kwh: 2.1236,
        cue_kg_per_kwh: 0.4705,
        facility_peak_w: 2_234_969.65,
        carbon: output::CarbonSummary {
            operational_kg: 30_891.277,
            embodied_kg: 655.95,
            intensity_mean_g_per_kwh: 386.0,
        },
        water: output::WaterSummary {
            site_l: 139_423.43,
            evaporation_l: 111_538.74,
            blowdown_l: 27_884.69,
        },
        cost: output::CostSummary {
            energy: 6_402.34,
            demand: 22_349.70,
            total: 28_752.03,
        },
        cooling: output::CoolingSummary {
            hours_by_mode: output::ModeHours {
                mechanical: 48.0,
                ..Default::default()
            },
        },
        thermal: output::ThermalSummary {
            max_inlet_c: 43.0526,
            throttled_gpu_s: 5_810_949.3,
            above_limit_s: 3_487.64,
            above_recommended_s: 3_623.4,
            limit_c: 32.0,
            cooling_failures: 1,
            throttle_episodes: 1,
            ..Default::default()
        },
        breakers: Some(output::BreakerSummary {
            trips: vec![
                output::TripRecord {
                    time_s: 9000.0,
                    level: output::TripLevel::Rack(3),
                },
                output::TripRecord {
                    time_s: 12600.0,
                    level: output::TripLevel::Feed,
                },
            ],
            servers_down: 4,
            gpus_down: 32,
            jobs_interrupted: 6,
        }),
        ..Default::default()
    });
    s
}

#[test]
fn stdout_table_of_a_facility_run_shows_the_facility_in_human_units() {
    let t = stdout_table_priced(&facility_run(), "EUR");
    for needle in [
        "  PUE                   1.219\n",
        "  facility energy       80.029 MWh (IT 65.654 MWh, cooling 10.378 MWh, power-chain losses 3.341 MWh,",
        "other 656.5 kWh)",
        "  facility power peak   2.23 MW\n",
        "  cooling modes         mechanical 48.0 h\n",
        "  water                 139.4 m³ (evaporation 111.5 m³, blowdown 27.9 m³); WUE 2.12 L/kWh\n",
        "30.89 t CO2e operational (grid mean 386 g/kWh) + 656.0 kg CO2e embodied",
        "  electricity cost      28,752 EUR (energy 6,402 + demand charge 22,350)\n",
        "  breaker trips         2 (rack 1, row 0, feed 1), first at 2.50 h; 4 server(s) / 32 GPU(s) down at\n",
        "max 43.1 °C (limit 32.0 °C): 0.97 h above the limit, 1.01 h above",
        "  throttling            1 episode(s), 1614.2 GPU-h throttled\n",
        // A job workload keeps its job rows.
        "  jobs queued at end    20\n",
    ] {
        assert!(t.contains(needle), "missing {needle:?} in\n{t}");
    }
    // The facility rows follow the IT rows; GPU utilization and not modelled stay last.
    let at = |needle: &str| t.find(needle).unwrap_or_else(|| panic!("{needle} in\n{t}"));
    assert!(at("IT power peak") < at("  PUE") && at("throttling") < at("jobs submitted"));
    assert!(at("GPU utilization") < at("not modelled"));
    // Without a currency (no tariff at hand) the amount stands alone; without a facility no facility row.
    assert!(stdout_table(&facility_run()).contains("  electricity cost      28,752 (energy"));
    let plain = stdout_table(&sample_summary());
    for absent in [
        "  PUE ",
        "facility energy",
        "  water",
        "  carbon",
        "breaker",
        "throttling",
    ] {
        assert!(!plain.contains(absent), "{absent:?} in\n{plain}");
    }
    // No trips, no throttling: said plainly.
    let mut s = facility_run();
    let f = s.facility.as_mut().unwrap();
    f.breakers = None;
    f.thermal.throttled_gpu_s = 0.0;
    f.thermal.throttle_episodes = 0;
    let t = stdout_table(&s);
    assert!(
        t.contains("  breaker trips         none\n")
            && t.contains("  throttling            none\n"),
        "{t}"
    );
}

#[test]
fn stdout_table_of_a_serving_run_speaks_of_requests_and_replicas() {
    let mut s = sample_summary();
    s.scenario = "inference-day".into();
    s.inference = Some(output::InferenceSummary {
        model: "llama-2-70b".into(),
        requests: output::RequestCounts {
            arrived: 301_873,
            completed: 301_871,
            in_service_at_end: 2,
            ..Default::default()
        },
        ttft_s: Stats::from_values(&mut [0.05, 0.06, 0.3]),
        tpot_s: Stats::from_values(&mut [0.0139, 0.0140, 0.018]),
        slo: output::SloSummary {
            ttft_target_s: 2.0,
            tpot_target_s: 0.1,
            attainment: 0.997,
        },
        replicas: output::ReplicaSummary {
            count: 4,
            gpus_per_replica: 8,
            serving_mean: 4.0,
            utilization_mean: 0.89,
            scale_ups: 1,
            scale_downs: 2,
            ..Default::default()
        },
        ..Default::default()
    });
    let t = stdout_table(&s);
    for needle in [
        "  requests                     301873 arrived: 301871 done, 2 in service, 0 queued at end\n",
        "  replicas                     4 × 8 GPU(s) for llama-2-70b, 4.0 serving on average; 1 scale-up(s),\n",
        "                               2 scale-down(s)\n",
        "TTFT p50 / p90 / p99",
        "TPOT p50 / p90 / p99",
        "  SLO attainment               99.7 % (TTFT ≤ 2 s, TPOT ≤ 0.1 s)\n",
        "  replica utilization          89.0 % of serving time busy\n",
    ] {
        assert!(t.contains(needle), "missing {needle:?} in\n{t}");
    }
    // No job vocabulary on an inference run.
    for absent in ["jobs ", "job wait", "job"] {
        assert!(!t.contains(absent), "{absent:?} in\n{t}");
    }
}

#[test]
fn run_page_with_a_calendar_has_months_dates_and_the_site() {
    let mut summary = sample_summary();
    summary.horizon_s = 70.0 * 86_400.0;
    let out = RunOutput {
        summary,
        timeseries: facility_samples(70 * 144 + 1),
        tables: Default::default(),
    };
    let ctx = pages::RunContext {
        calendar: Some(crate::calendar::Calendar::typical_year(0.0)),
        racks: (0..8)
            .map(|i| crate::svg::RackCell {
                hall: 0,
                row: i / 4,
                rack: i,
                servers: 4,
                gpus: 32,
                value: None,
            })
            .collect(),
        ..pages::RunContext::default()
    };
    let page = pages::run_page_with(&out, &ctx).unwrap();
    for needle in [
        "<h2>Month by month</h2>",
        "<tr><td>Jan</td>",
        "<tr><td>Mar</td>",
        "<td>whole run</td>",
        ">1 Jan</text>",
        "<dd>1 Jan – 11 Mar · 70.0 days</dd>",
        "Hall 1 · 2 rows · 8 racks",
        "racks shaded by GPUs installed",
        "<h3>Where the power goes</h3>",
    ] {
        assert!(page.contains(needle), "missing {needle:?}");
    }
    assert!(!page.contains("<tr><td>Apr</td>"));
    assert_eq!(
        page,
        pages::run_page_with(&out, &ctx).unwrap(),
        "deterministic"
    );
    // Without a calendar: 30-day periods, hours or days since the start.
    let plain = pages::run_page(&out).unwrap();
    assert!(plain.contains("<tr><td>days 1–30</td>") && plain.contains("days since the start"));
    assert!(
        !plain.contains("Hall 1"),
        "no site diagram without the racks"
    );
}
