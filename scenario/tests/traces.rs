//! Trace readers: fixtures in `tests/fixtures/`, bad inputs with exact error positions, the real Alibaba
//! GPU 2023 trace in `../shared/` (tests run with the crate directory as working directory, so it is
//! `../../shared/` from here), and never-panic properties.

use std::path::{Path, PathBuf};

use models::workload::JobSpec;
use proptest::prelude::*;
use scenario::trace::{
    parse_alibaba_nodes, parse_alibaba_pods, parse_native, read_alibaba_nodes, read_alibaba_pods,
    read_native,
};
use scenario::{InputError, Location};
use sim::{SimDuration, SimTime};

fn fixture(name: &str) -> PathBuf {
    Path::new("tests/fixtures").join(name)
}

const REAL: &str = "../../shared/traces/alibaba-gpu-2023";

fn real(name: &str) -> PathBuf {
    let p = Path::new(REAL).join(name);
    assert!(
        p.exists(),
        "{} is missing: the shared traces must sit beside the checkout (see ../shared/README.md)",
        p.display()
    );
    p
}

fn secs(s: u64) -> SimTime {
    SimTime::from_secs(s)
}

fn dur(s: u64) -> SimDuration {
    SimDuration::from_secs(s)
}

/// Asserts a cell error: the line, the column, and that the message contains `needle`.
#[track_caller]
fn assert_cell(err: &InputError, line: usize, field: &str, needle: &str) {
    assert_eq!(
        err.location,
        Location::LineField {
            line,
            field: field.to_string()
        },
        "wrong location for: {err}"
    );
    assert!(
        err.message.contains(needle),
        "message of `{err}` lacks `{needle}`"
    );
}

/// Asserts a whole-line error.
#[track_caller]
fn assert_line(err: &InputError, line: usize, needle: &str) {
    assert_eq!(
        err.location,
        Location::Line(line),
        "wrong location for: {err}"
    );
    assert!(
        err.message.contains(needle),
        "message of `{err}` lacks `{needle}`"
    );
}

/// Asserts a whole-file error.
#[track_caller]
fn assert_file(err: &InputError, needle: &str) {
    assert_eq!(err.location, Location::File, "wrong location for: {err}");
    assert!(
        err.message.contains(needle),
        "message of `{err}` lacks `{needle}`"
    );
}

fn native_err(text: &str) -> InputError {
    parse_native(text.as_bytes(), Path::new("jobs.csv")).expect_err("expected an error")
}

fn pods_err(text: &str) -> InputError {
    parse_alibaba_pods(text.as_bytes(), Path::new("pods.csv")).expect_err("expected an error")
}

fn nodes_err(text: &str) -> InputError {
    parse_alibaba_nodes(text.as_bytes(), Path::new("nodes.csv")).expect_err("expected an error")
}

// ---------------------------------------------------------------------------------------------------------
// Native job trace

#[test]
fn native_fixture_maps_every_column() {
    let jobs = read_native(&fixture("native_jobs.csv")).unwrap();
    assert_eq!(jobs.len(), 5);
    assert_eq!(
        jobs[0],
        JobSpec {
            name: Some("train-a".into()),
            submit: secs(0),
            duration: dur(3600),
            gpus: 8,
            gpu_milli: 1000,
            cpu_milli: 64000,
            memory_mib: 524288,
            gpu_models: vec!["H100".into()],
            priority: 0,
        }
    );
    assert_eq!(jobs[1].name.as_deref(), Some("notebook, shared"));
    assert_eq!(jobs[1].duration, SimDuration::from_nanos(600_500_000_000));
    assert!(jobs[1].gpu_models.is_empty());
    assert_eq!((jobs[1].cpu_milli, jobs[1].memory_mib), (0, 0));
    // CPU-only job: no GPU share.
    assert_eq!((jobs[2].gpus, jobs[2].gpu_milli), (0, 0));
    assert_eq!(jobs[2].submit, SimTime::from_nanos(12_250_000_000));
    // A quoted name spanning two lines, after an empty line; `|`-separated models; exponent notation.
    assert_eq!(jobs[3].name.as_deref(), Some("multi\nline"));
    assert_eq!(
        jobs[3].gpu_models,
        vec!["A100".to_string(), "H100".to_string()]
    );
    assert_eq!(jobs[3].duration, dur(1000));
    // Empty name → none; 1 ns is the shortest legal duration.
    assert_eq!(jobs[4].name, None);
    assert_eq!(jobs[4].duration, SimDuration::from_nanos(1));
}

#[test]
fn native_minimal_columns_any_order() {
    let jobs = read_native(&fixture("native_minimal.csv")).unwrap();
    assert_eq!(
        jobs,
        vec![
            JobSpec::whole_gpus(secs(0), dur(10), 1),
            JobSpec::whole_gpus(secs(5), dur(20), 2)
        ]
    );
}

#[test]
fn native_trims_cells_and_accepts_equal_submit_times() {
    let jobs = parse_native(
        b" submit_s , gpus ,duration_s\n 1 , 2 , 3 \n1,0,4\n   \n",
        Path::new("x.csv"),
    )
    .unwrap();
    assert_eq!(jobs.len(), 2);
    assert_eq!(
        (jobs[0].submit, jobs[0].gpus, jobs[0].duration),
        (secs(1), 2, dur(3))
    );
    assert_eq!((jobs[1].submit, jobs[1].gpus), (secs(1), 0));
}

#[test]
fn native_bad_seconds() {
    let h = "submit_s,gpus,duration_s\n0,1,10\n";
    assert_cell(
        &native_err(&format!("{h}abc,1,10\n")),
        3,
        "submit_s",
        "expected a non-negative number of seconds, found `abc`",
    );
    assert_cell(
        &native_err(&format!("{h}-1,1,10\n")),
        3,
        "submit_s",
        "expected a non-negative number of seconds, found `-1`",
    );
    assert_cell(
        &native_err(&format!("{h}NaN,1,10\n")),
        3,
        "submit_s",
        "found `NaN`",
    );
    assert_cell(
        &native_err(&format!("{h}5,1,inf\n")),
        3,
        "duration_s",
        "(finite), found `inf`",
    );
    assert_cell(
        &native_err(&format!("{h}1e300,1,10\n")),
        3,
        "submit_s",
        "within the simulated time range",
    );
    assert_cell(
        &native_err(&format!("{h}5,1,\n")),
        3,
        "duration_s",
        "expected a non-negative number of seconds, found an empty cell",
    );
}

#[test]
fn native_zero_and_overflowing_durations() {
    let h = "submit_s,gpus,duration_s\n";
    assert_cell(
        &native_err(&format!("{h}0,1,0\n")),
        2,
        "duration_s",
        "expected a positive number of seconds, found `0`",
    );
    assert_cell(
        &native_err(&format!("{h}0,1,1e-12\n")),
        2,
        "duration_s",
        "rounds to 0 ns",
    );
    // Each fits, their sum does not.
    assert_cell(
        &native_err(&format!("{h}1.8e10,1,1.8e10\n")),
        2,
        "duration_s",
        "would end beyond the simulated time range",
    );
}

#[test]
fn native_bad_integers() {
    let h = "submit_s,gpus,duration_s,cpu_milli,memory_mib\n";
    assert_cell(
        &native_err(&format!("{h}0,1.5,10,,\n")),
        2,
        "gpus",
        "expected a non-negative integer, found `1.5`",
    );
    assert_cell(
        &native_err(&format!("{h}0,-2,10,,\n")),
        2,
        "gpus",
        "found `-2`",
    );
    assert_cell(
        &native_err(&format!("{h}0,4294967296,10,,\n")),
        2,
        "gpus",
        "at most 4294967295, found `4294967296`",
    );
    assert_cell(
        &native_err(&format!("{h}0,,10,,\n")),
        2,
        "gpus",
        "found an empty cell",
    );
    assert_cell(
        &native_err(&format!("{h}0,1,10,x,\n0,1,1,1,1\n")),
        2,
        "cpu_milli",
        "found `x`",
    );
    assert_cell(
        &native_err(&format!("{h}0,1,10,1,99999999999999999999\n")),
        2,
        "memory_mib",
        "at most 18446744073709551615",
    );
}

#[test]
fn native_submit_order() {
    let err = native_err("submit_s,gpus,duration_s\n5,1,10\n\n7,1,10\n6.5,1,10\n");
    assert_cell(&err, 5, "submit_s", "non-decreasing submit_s order");
    assert!(
        err.message
            .contains("at least 7 (the submit_s of line 4), found `6.5`"),
        "{err}"
    );
}

#[test]
fn native_bad_gpu_model_list() {
    assert_cell(
        &native_err("submit_s,gpus,duration_s,gpu_model\n0,1,1,A100||H100\n"),
        2,
        "gpu_model",
        "found an empty name in `A100||H100`",
    );
}

#[test]
fn native_lines_count_multiline_cells_blank_lines_and_crlf() {
    // A quoted name spans lines 3-5; the bad `gpus` cell is on line 6 after an empty line... of record 3.
    let err = native_err("submit_s,name,gpus,duration_s\n0,a,1,1\n1,\"x\ny\nz\",1,1\n\n2,b,?,1\n");
    assert_cell(&err, 7, "gpus", "found `?`");
    // The bad cell itself follows a multi-line cell of the same row: it is on the row's last line.
    let err = native_err("name,submit_s,gpus,duration_s\n\"x\ny\",0,1,bad\n");
    assert_cell(&err, 3, "duration_s", "found `bad`");
    // CRLF line ends, blank CRLF lines and a CRLF inside a quoted cell (fixture kept byte-exact).
    let err = read_native(&fixture("native_crlf_bad.csv")).unwrap_err();
    assert_cell(&err, 7, "gpus", "found `x`");
    assert!(
        err.to_string().ends_with(
            "native_crlf_bad.csv:7: column `gpus`: expected a non-negative integer, found `x`"
        ),
        "{err}"
    );
    // A UTF-8 byte-order mark does not shift anything.
    let err = native_err("\u{feff}submit_s,gpus,duration_s\n0,1,1\n0,1,z\n");
    assert_cell(&err, 3, "duration_s", "found `z`");
}

#[test]
fn native_header_problems() {
    let err = native_err("submit_s,gpus,duration_s,queue\n0,1,1,5\n");
    assert_cell(&err, 1, "queue", "unknown column `queue`");
    for col in [
        "`submit_s`",
        "`gpus`",
        "`duration_s`",
        "`name`",
        "`gpu_model`",
        "`cpu_milli`",
        "`memory_mib`",
        "`priority`",
    ] {
        assert!(err.message.contains(col), "{err} should list {col}");
    }
    let err = native_err("Submit_s,gpus,duration_s\n0,1,1\n");
    assert_cell(&err, 1, "Submit_s", "did you mean `submit_s`?");
    let err = native_err("submit_s,gpus,duration_s,gpus\n0,1,1,1\n");
    assert_cell(
        &err,
        1,
        "gpus",
        "appears twice in the header (columns 2 and 4)",
    );
    assert_line(
        &native_err("submit_s,name\n0,a\n"),
        1,
        "lacks required columns `gpus`, `duration_s`",
    );
    assert_line(
        &native_err("submit_s,gpus,duration_s,\n0,1,1,\n"),
        1,
        "header column 4 has no name",
    );
    // Blank lines before the header count.
    assert_cell(
        &native_err("\n\nsubmit_s,gpu,duration_s\n"),
        3,
        "gpu",
        "unknown column `gpu`",
    );
}

#[test]
fn native_shape_and_file_problems() {
    assert_line(
        &native_err("submit_s,gpus,duration_s\n0,1,1\n1,1\n"),
        3,
        "expected 3 fields as in the header, found 2",
    );
    assert_line(
        &native_err("submit_s,gpus,duration_s\n0,1,1,9\n"),
        2,
        "expected 3 fields as in the header, found 4",
    );
    assert_file(&native_err(""), "the file is empty");
    assert_file(&native_err("\n\n"), "the file is empty");
    assert_file(
        &native_err("submit_s,gpus,duration_s\n"),
        "has a header but no jobs",
    );
    let err = read_native(Path::new("tests/fixtures/does-not-exist.csv")).unwrap_err();
    assert_file(&err, "cannot open the native job trace");
    assert!(err.message.contains("os error 2"), "{err}");
    assert_eq!(err.file, Path::new("tests/fixtures/does-not-exist.csv"));
    // A directory: opening works on Unix, reading does not.
    assert_file(
        &read_native(Path::new("tests/fixtures")).unwrap_err(),
        "native job trace",
    );
    // Invalid UTF-8 anywhere: the line and column (in characters) of the first bad byte.
    let err = parse_native(
        b"submit_s,gpus,duration_s,name\n0,1,1,\xff\xfe\n",
        Path::new("j.csv"),
    )
    .unwrap_err();
    assert_eq!(err.location, Location::LineCol { line: 2, col: 7 }, "{err}");
    assert!(
        err.message
            .contains("not valid UTF-8 text: invalid byte 0xFF"),
        "{err}"
    );
    // The same streamed from a file, after rows with multi-byte characters.
    let dir = std::env::temp_dir().join(format!("dctwin-utf8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("j.csv");
    let mut bytes = b"submit_s,gpus,duration_s,name\n".to_vec();
    for _ in 0..5000 {
        bytes.extend_from_slice("0,1,1,é€\n".as_bytes());
    }
    bytes.extend_from_slice(b"0,1,1,\xc3\xa9x\xc3\n");
    std::fs::write(&file, &bytes).unwrap();
    let err = read_native(&file).unwrap_err();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        err.location,
        Location::LineCol { line: 5002, col: 9 },
        "{err}"
    );
    // A bad cell before the invalid byte is reported first.
    let err = parse_native(
        b"submit_s,gpus,duration_s,name\n0,x,1,a\n0,1,1,\xff\n",
        Path::new("j.csv"),
    )
    .unwrap_err();
    assert_cell(&err, 2, "gpus", "found `x`");
}

// ---------------------------------------------------------------------------------------------------------
// Alibaba pods

const POD_HEADER: &str = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n";

fn pods(rows: &str) -> String {
    format!("{POD_HEADER}p0,1000,1024,1,1000,,LS,Running,10,20,10\n{rows}")
}

#[test]
fn alibaba_pods_fixture() {
    let pods = read_alibaba_pods(&fixture("alibaba_pods.csv")).unwrap();
    assert_eq!(pods.len(), 7);
    assert_eq!(
        pods[1],
        JobSpec {
            name: Some("pod-1".into()),
            submit: secs(427061),
            duration: dur(12902960 - 427061),
            gpus: 1,
            gpu_milli: 460,
            cpu_milli: 6000,
            memory_mib: 12288,
            gpu_models: vec![],
            priority: 0,
        }
    );
    // Run time = deletion − scheduled (the 100 s queueing delay is not part of it).
    assert_eq!((pods[2].submit, pods[2].duration), (secs(500000), dur(800)));
    assert_eq!(
        pods[2].gpu_models,
        vec!["V100M16".to_string(), "V100M32".to_string()]
    );
    assert_eq!((pods[2].gpus, pods[2].gpu_milli), (8, 1000));
    // CPU-only pod.
    assert_eq!(
        (pods[3].gpus, pods[3].gpu_milli, pods[3].duration),
        (0, 0, dur(990))
    );
    // Pending pods (empty scheduled_time): deletion − creation; zero is legal.
    assert_eq!(pods[4].duration, dur(125));
    assert_eq!(pods[5].duration, SimDuration::ZERO);
    // Scheduled pod with zero run time.
    assert_eq!(
        (pods[6].duration, pods[6].gpu_models.as_slice()),
        (SimDuration::ZERO, &["G2".to_string()][..])
    );
}

#[test]
fn alibaba_pods_optional_columns_any_order() {
    let pods = parse_alibaba_pods(
        b"scheduled_time,deletion_time,creation_time,gpu_milli,num_gpu,memory_mib,cpu_milli,name\n5,9,1,250,1,2,3,\n",
        Path::new("p.csv"),
    )
    .unwrap();
    assert_eq!(
        pods,
        vec![JobSpec {
            name: None,
            submit: secs(1),
            duration: dur(4),
            gpus: 1,
            gpu_milli: 250,
            cpu_milli: 3,
            memory_mib: 2,
            gpu_models: vec![],
            priority: 0,
        }]
    );
}

#[test]
fn alibaba_pods_bad_times() {
    assert_cell(
        &pods_err(&pods("p1,1,1,1,1000,,LS,Running,12.5,20,13\n")),
        3,
        "creation_time",
        "expected a non-negative whole number of seconds, found `12.5`",
    );
    assert_cell(
        &pods_err(&pods("p1,1,1,1,1000,,LS,Running,11,15,16\n")),
        3,
        "deletion_time",
        "expected a time no earlier than scheduled_time 16, found 15",
    );
    assert_cell(
        &pods_err(&pods("p1,1,1,1,1000,,BE,Pending,11,10,\n")),
        3,
        "deletion_time",
        "no earlier than creation_time (the pod was never scheduled) 11, found 10",
    );
    assert_cell(
        &pods_err(&pods("p1,1,1,1,1000,,LS,Running,11,20,9\n")),
        3,
        "scheduled_time",
        "expected a time no earlier than creation_time 11, found 9",
    );
    assert_cell(
        &pods_err(&pods("p1,1,1,1,1000,,LS,Running,11,,11\n")),
        3,
        "deletion_time",
        "found an empty cell",
    );
    let err = pods_err(&pods("p1,1,1,1,1000,,LS,Running,9,20,10\n"));
    assert_cell(
        &err,
        3,
        "creation_time",
        "non-decreasing creation_time order",
    );
    assert!(
        err.message
            .contains("at least 10 (the creation_time of line 2), found 9"),
        "{err}"
    );
    // 18446744074 s is just beyond u64 nanoseconds.
    assert_cell(
        &pods_err(&pods(
            "p1,1,1,1,1000,,LS,Running,18446744074,18446744074,\n",
        )),
        3,
        "creation_time",
        "at most 18446744073",
    );
    // The largest representable time is fine.
    let ok = parse_alibaba_pods(
        pods("p1,1,1,1,1000,,LS,Running,10,18446744073,10\n").as_bytes(),
        Path::new("p.csv"),
    );
    assert_eq!(ok.unwrap()[1].duration, dur(18446744073 - 10));
}

#[test]
fn alibaba_pods_bad_resources() {
    assert_cell(
        &pods_err(&pods("p1,1,1,1,1001,,LS,Running,10,20,10\n")),
        3,
        "gpu_milli",
        "expected 1 to 1000 thousandths of the pod's GPU (num_gpu 1), found `1001`",
    );
    assert_cell(
        &pods_err(&pods("p1,1,1,1,0,,LS,Running,10,20,10\n")),
        3,
        "gpu_milli",
        "found `0`",
    );
    assert_cell(
        &pods_err(&pods("p1,1,1,4,500,,LS,Running,10,20,10\n")),
        3,
        "gpu_milli",
        "expected 1000 (whole GPUs) for a pod with num_gpu 4, found `500`",
    );
    assert_cell(
        &pods_err(&pods("p1,1,1,0,100,,LS,Running,10,20,10\n")),
        3,
        "gpu_milli",
        "expected 0 for a CPU-only pod (num_gpu 0), found `100`",
    );
    assert_cell(
        &pods_err(&pods("p1,1,1,-1,1000,,LS,Running,10,20,10\n")),
        3,
        "num_gpu",
        "found `-1`",
    );
    assert_cell(
        &pods_err(&pods("p1,,1,1,1000,,LS,Running,10,20,10\n")),
        3,
        "cpu_milli",
        "found an empty cell",
    );
    assert_cell(
        &pods_err(&pods("p1,1,1,1,1000,V100M16|,LS,Running,10,20,10\n")),
        3,
        "gpu_spec",
        "an empty name in `V100M16|`",
    );
    assert_line(
        &pods_err(&pods("p1,1,1,1,1000,,LS,Running,10,20\n")),
        3,
        "expected 11 fields",
    );
}

#[test]
fn alibaba_pods_without_times_are_refused() {
    let err = read_alibaba_pods(&fixture("alibaba_pods_no_times.csv")).unwrap_err();
    assert_line(
        &err,
        1,
        "lacks required columns `creation_time`, `deletion_time`, `scheduled_time`",
    );
    assert!(err.message.contains("cannot be replayed"), "{err}");
    assert_cell(
        &pods_err("name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_type\n"),
        1,
        "gpu_type",
        "unknown column",
    );
    assert_file(&pods_err(POD_HEADER), "has a header but no pods");
}

// ---------------------------------------------------------------------------------------------------------
// Alibaba nodes

#[test]
fn alibaba_nodes_fixture() {
    let nodes = read_alibaba_nodes(&fixture("alibaba_nodes.csv")).unwrap();
    assert_eq!(nodes.len(), 4);
    assert_eq!(nodes[1].name, "node-1");
    assert_eq!(
        (nodes[1].cpu_milli, nodes[1].memory_mib, nodes[1].gpus),
        (96000, 786432, 8)
    );
    assert_eq!(nodes[1].model, "V100M32");
    // A node without GPUs may leave the model empty.
    assert_eq!((nodes[3].gpus, nodes[3].model.as_str()), (0, ""));
}

#[test]
fn alibaba_nodes_bad_input() {
    let h = "sn,cpu_milli,memory_mib,gpu,model\nn0,1,1,1,T4\n";
    assert_cell(
        &nodes_err(&format!("{h}n1,1,1,x,T4\n")),
        3,
        "gpu",
        "expected a non-negative integer, found `x`",
    );
    let err = nodes_err(&format!("{h}n1,1,1,1,T4\nn0,1,1,1,T4\n"));
    assert_cell(&err, 4, "sn", "`n0` is already on line 2");
    assert_cell(
        &nodes_err(&format!("{h}n1,1,1,2,\n")),
        3,
        "model",
        "GPU model of the node's 2 GPUs",
    );
    assert_cell(
        &nodes_err(&format!("{h},1,1,2,T4\n")),
        3,
        "sn",
        "expected a node name",
    );
    assert_cell(
        &nodes_err(&format!("{h}n1,1,-5,2,T4\n")),
        3,
        "memory_mib",
        "found `-5`",
    );
    assert_line(
        &nodes_err("sn,cpu_milli,memory_mib,gpu\nn0,1,1,1\n"),
        1,
        "lacks required column `model`",
    );
}

// ---------------------------------------------------------------------------------------------------------
// The real Alibaba GPU 2023 trace

#[test]
fn real_alibaba_default_pod_list() {
    let pods = read_alibaba_pods(&real("openb_pod_list_default.csv")).unwrap();
    // Expected values computed independently with awk on the file (header skipped with NR>1, -F,):
    //   rows                                   awk 'NR>1' | wc -l                               → 8152
    //   Σ num_gpu                              '{s+=$4}'                                        → 7433
    //   CPU-only pods                          '$4==0'                                          → 1088
    //   shared-GPU pods                        '$4==1 && $5<1000'                               → 3078
    //   Σ cpu_milli, Σ memory_mib              '{c+=$2; m+=$3}'                                 → 85436012, 303546211
    //   Σ num_gpu × gpu_milli                  '{s+=$4*$5}'                                     → 6086800
    //   Σ duration (s)                         '{d=($11=="") ? $10-$9 : $10-$11; s+=d}'         → 210197755
    //   Σ duration of empty-scheduled pods     '$11==""{s+=$10-$9}' (897 rows, all Pending)     → 169413
    //   zero durations                         1 (openb-pod-7285, Pending, line 7287)
    //   last creation_time                     12901761; gpu_spec empty on all rows
    assert_eq!(pods.len(), 8152);
    assert_eq!(pods.iter().map(|p| p.gpus as u64).sum::<u64>(), 7433);
    assert_eq!(pods.iter().filter(|p| p.gpus == 0).count(), 1088);
    assert_eq!(
        pods.iter()
            .filter(|p| p.gpus == 1 && p.gpu_milli < 1000)
            .count(),
        3078
    );
    assert_eq!(pods.iter().map(|p| p.cpu_milli).sum::<u64>(), 85_436_012);
    assert_eq!(pods.iter().map(|p| p.memory_mib).sum::<u64>(), 303_546_211);
    assert_eq!(
        pods.iter().map(JobSpec::gpu_milli_total).sum::<u64>(),
        6_086_800
    );
    let total = pods.iter().map(|p| p.duration.as_nanos()).sum::<u64>();
    assert_eq!(total, 210_197_755 * 1_000_000_000);
    let zero: Vec<_> = pods.iter().filter(|p| p.duration.is_zero()).collect();
    assert_eq!(zero.len(), 1);
    assert_eq!(zero[0].name.as_deref(), Some("openb-pod-7285"));
    assert!(pods.windows(2).all(|w| w[0].submit <= w[1].submit));
    assert_eq!(pods.last().unwrap().submit, secs(12_901_761));
    assert!(pods.iter().all(|p| p.gpu_models.is_empty()));
    assert_eq!(pods[0].name.as_deref(), Some("openb-pod-0000"));
    assert_eq!(pods[1].duration, dur(12902960 - 427061));
}

#[test]
fn real_alibaba_node_list() {
    let nodes = read_alibaba_nodes(&real("openb_node_list_gpu_node.csv")).unwrap();
    // awk -F, 'NR>1{c++; g+=$4; cpu+=$2; m+=$3} END{print c, g, cpu, m}'  → 1213 6212 107018000 503828480
    // awk -F, 'NR>1{print $5}' | sort | uniq -c  → G2 549, T4 404, P100 134, V100M16 55, G3 39, V100M32 30, A10 2
    assert_eq!(nodes.len(), 1213);
    assert_eq!(nodes.iter().map(|n| n.gpus as u64).sum::<u64>(), 6212);
    assert_eq!(nodes.iter().map(|n| n.cpu_milli).sum::<u64>(), 107_018_000);
    assert_eq!(nodes.iter().map(|n| n.memory_mib).sum::<u64>(), 503_828_480);
    let count = |m: &str| nodes.iter().filter(|n| n.model == m).count();
    assert_eq!(
        ["G2", "T4", "P100", "V100M16", "G3", "V100M32", "A10"].map(count),
        [549, 404, 134, 55, 39, 30, 2]
    );
    assert_eq!(nodes[0].name, "openb-node-0000");
}

#[test]
fn real_alibaba_multigpu50_lacks_times() {
    let err = read_alibaba_pods(&real("openb_pod_list_multigpu50.csv")).unwrap_err();
    assert_line(
        &err,
        1,
        "`creation_time`, `deletion_time`, `scheduled_time`",
    );
}

// ---------------------------------------------------------------------------------------------------------
// Never panic; lines stay exact under random layouts

/// Calls every reader on `data`; only `Result`s may come back.
fn read_all(data: &[u8]) {
    let p = Path::new("fuzz.csv");
    let _ = parse_native(data, p);
    let _ = parse_alibaba_pods(data, p);
    let _ = parse_alibaba_nodes(data, p);
}

/// Bytes that make CSV interesting.
fn csv_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(b",\"\r\n|-.e0123456789 ".to_vec()),
            1 => any::<u8>(),
        ],
        0..200,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..300)) {
        read_all(&data);
    }

    #[test]
    fn random_rows_after_valid_headers_never_panic(body in csv_bytes(), which in 0..3usize) {
        let header: &[u8] = match which {
            0 => b"submit_s,gpus,duration_s,name,gpu_model,cpu_milli,memory_mib\n",
            1 => POD_HEADER.as_bytes(),
            _ => b"sn,cpu_milli,memory_mib,gpu,model\n",
        };
        let mut data = header.to_vec();
        data.extend_from_slice(&body);
        read_all(&data);
    }

    /// Valid rows separated by random blank lines and line ends, with one bad cell: the error names the
    /// line a person would count.
    #[test]
    fn error_line_is_exact(
        layout in prop::collection::vec((0..3usize, any::<bool>(), any::<bool>()), 1..20),
        nl in prop::sample::select(vec!["\n", "\r\n", "\r"]),
    ) {
        let mut text = format!("name,submit_s,gpus,duration_s{nl}");
        let mut line = 2;
        for (blanks, multiline, _) in &layout {
            for _ in 0..*blanks {
                text.push_str(nl);
                line += 1;
            }
            if *multiline {
                text.push_str(&format!("\"a{nl}b\",0,1,1{nl}"));
                line += 2;
            } else {
                text.push_str(&format!("a,0,1,1{nl}"));
                line += 1;
            }
        }
        let bad_is_multiline = layout.last().unwrap().2;
        if bad_is_multiline {
            text.push_str(&format!("\"x{nl}y\",0,oops,1{nl}"));
            line += 1; // the bad cell is on the row's second line
        } else {
            text.push_str(&format!("x,0,oops,1{nl}"));
        }
        let err = parse_native(text.as_bytes(), Path::new("j.csv")).unwrap_err();
        prop_assert_eq!(err.location, Location::LineField { line, field: "gpus".into() });
    }

    /// Whatever valid numbers go in come back out.
    #[test]
    fn native_round_trip(rows in prop::collection::vec((0u64..1_000_000, 0u32..64, 1u64..1_000_000), 1..30)) {
        let mut submit = 0;
        let mut text = String::from("submit_s,gpus,duration_s\n");
        let mut expected = Vec::new();
        for (ds, gpus, ms) in rows {
            submit += ds;
            text.push_str(&format!("{}.{:03},{gpus},{}.{:03}\n", submit / 1000, submit % 1000, ms / 1000, ms % 1000));
            expected.push(JobSpec::whole_gpus(
                SimTime::from_nanos(submit * 1_000_000),
                SimDuration::from_nanos(ms * 1_000_000),
                gpus,
            ));
        }
        prop_assert_eq!(parse_native(text.as_bytes(), Path::new("j.csv")).unwrap(), expected);
    }
}
