//! Replay of the Alibaba GPU 2023 trace on its own node list: conservation checks.
use scenario::load_scenario;

use crate::common::root;

#[test]
fn alibaba_default_trace_replay_conserves_pods_and_gpu_time() {
    let loaded = load_scenario(&root().join("scenarios/alibaba-gpu-2023.ron"), &[], None).unwrap();
    assert_eq!(loaded.site.servers.len(), 1213);
    let jobs = loaded.trace_jobs.as_ref().unwrap();
    assert_eq!(jobs.len(), 8152);
    let out = twin::run(&loaded, &mut |_| {}).expect("run");
    let s = &out.summary;
    let j = &s.jobs;
    // Every pod is completed, running or queued at the horizon, or arrives after it; none counted twice.
    assert_eq!(j.submitted + j.not_arrived, 8152);
    assert_eq!(
        j.submitted,
        j.completed + j.running_at_end + j.queued_at_end
    );
    assert_eq!(j.wait_s.count, j.completed + j.running_at_end);
    // GPU time used never exceeds GPU time available.
    assert!(s.gpu_hours.busy > 0.0);
    assert!(s.gpu_hours.busy <= s.gpu_hours.available);
    // The sampled busy GPUs never exceed the site's GPUs.
    let total: u64 = s.site.gpus_by_model.values().sum();
    assert_eq!(total, s.gpus.total);
    assert!(
        out.timeseries
            .iter()
            .all(|x| x.busy_gpus <= total as f64 + 1e-9)
    );
    // Energy bounded by idle and board power.
    assert!(s.energy.gpu_j > 0.0 && s.energy.gpu_j < s.energy.it_j);
    println!(
        "alibaba replay: submitted {} completed {} running {} queued {} not-arrived {} busy {:.0} GPU-h of {:.0}; wait p50 {:.0} s p99 {:.0} s; IT {:.1} MWh",
        j.submitted,
        j.completed,
        j.running_at_end,
        j.queued_at_end,
        j.not_arrived,
        s.gpu_hours.busy,
        s.gpu_hours.available,
        j.wait_s.p50,
        j.wait_s.p99,
        s.energy.it_j / 3.6e9
    );
}
