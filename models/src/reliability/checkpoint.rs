//! Checkpoint/restart closed forms for a job whose failures are a Poisson process of mean time between
//! failures `M`, that writes a checkpoint costing `C` after every `τ` of work and pays a restart `R` after
//! each failure (failures can strike during checkpoints and restarts too). All times in seconds.

/// Young's first-order optimum checkpoint interval `τ = √(2·C·M)` (Young 1974, CACM 17(9)).
pub fn young_interval_s(checkpoint_s: f64, mtbf_s: f64) -> f64 {
    (2.0 * checkpoint_s * mtbf_s).sqrt()
}

/// Daly's higher-order optimum interval (Daly 2006, FGCS 22(3)):
/// `τ = √(2CM)·[1 + ⅓·√(C/2M) + ⅑·(C/2M)] − C` for `C < 2M`, else `τ = M`.
pub fn daly_interval_s(checkpoint_s: f64, mtbf_s: f64) -> f64 {
    let (c, m) = (checkpoint_s, mtbf_s);
    if c < 2.0 * m {
        let x = c / (2.0 * m);
        (2.0 * c * m).sqrt() * (1.0 + x.sqrt() / 3.0 + x / 9.0) - c
    } else {
        m
    }
}

/// Daly's expected wall time to finish `work_s` of work (Daly 2006):
/// `T = M·e^(R/M)·(e^((τ+C)/M) − 1)·work/τ`. Each segment of `τ + C` must run without a failure; every failure
/// costs the time since the segment began plus a restart `R` that a failure also restarts.
pub fn daly_expected_wall_s(
    work_s: f64,
    interval_s: f64,
    checkpoint_s: f64,
    restart_s: f64,
    mtbf_s: f64,
) -> f64 {
    let m = mtbf_s;
    m * (restart_s / m).exp() * (((interval_s + checkpoint_s) / m).exp() - 1.0) * work_s
        / interval_s
}
