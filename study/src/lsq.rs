//! Bounded nonlinear least squares: Levenberg–Marquardt (Marquardt's diagonal scaling) with a
//! forward-difference Jacobian and every trial step projected onto the box of bounds.
//!
//! Hand-written rather than a dependency: a calibration fits a handful of parameters, so each step solves
//! a few-by-few linear system by Gaussian elimination. Deterministic: a fixed start, a fixed order of
//! evaluations and fixed stopping rules, no randomness.
//!
//! Parameters are solved for in unit coordinates `u = (x − lo)/(hi − lo)` ∈ [0, 1], so parameters of very
//! different magnitudes (a latency of 10 µs and a bandwidth of 50 GB/s) are equally well conditioned. A
//! parameter whose Jacobian column is zero at the start (the residuals do not depend on it) is *not
//! identifiable*: it keeps its start value and is reported as such.

/// Stopping rules (all in unit coordinates of the parameters).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LsqOptions {
    /// Most iterations (Jacobian evaluations).
    pub max_iterations: usize,
    /// Stop when an accepted step lowers the cost by less than this fraction of it.
    pub cost_rtol: f64,
    /// Stop when an accepted step moves no parameter by more than this (of its range).
    pub step_tol: f64,
    /// Stop when the cost (½ Σ r²) is below this: the residuals are zero to rounding.
    pub cost_floor: f64,
    /// Forward-difference step, of each parameter's range.
    pub fd_step: f64,
}

impl Default for LsqOptions {
    fn default() -> Self {
        LsqOptions {
            max_iterations: 200,
            cost_rtol: 1e-12,
            step_tol: 1e-12,
            cost_floor: 1e-26,
            fd_step: 1e-7,
        }
    }
}

/// Why the solver stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The residuals are zero to rounding.
    ZeroResidual,
    /// An accepted step lowered the cost by less than `cost_rtol` of it.
    CostConverged,
    /// An accepted step moved the parameters by less than `step_tol`.
    StepConverged,
    /// No free parameter can move: every identifiable one sits on a bound the gradient pushes against, or
    /// none is identifiable.
    Bounded,
    /// No damped step lowers the cost any more: a minimum to numerical precision.
    NoDescent,
    /// `max_iterations` reached.
    MaxIterations,
}

impl Stop {
    /// Whether the fit reached a minimum (everything but `MaxIterations`).
    pub fn converged(self) -> bool {
        self != Stop::MaxIterations
    }

    /// A short phrase for reports.
    pub fn describe(self) -> &'static str {
        match self {
            Stop::ZeroResidual => "the residuals are zero to rounding",
            Stop::CostConverged => "the cost stopped falling",
            Stop::StepConverged => "the parameters stopped moving",
            Stop::Bounded => "no parameter can move (each is held by a bound or not identifiable)",
            Stop::NoDescent => "no step lowers the cost further",
            Stop::MaxIterations => "the iteration limit was reached (not converged)",
        }
    }
}

/// A solved problem.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    pub x: Vec<f64>,
    /// Residuals at `x`.
    pub residuals: Vec<f64>,
    /// ½ Σ r² at `x`.
    pub cost: f64,
    /// Iterations (Jacobians evaluated).
    pub iterations: usize,
    /// Evaluations of the residual function.
    pub evaluations: usize,
    /// Per parameter: whether the residuals depend on it (non-zero Jacobian column at the start).
    pub identifiable: Vec<bool>,
    pub stop: Stop,
}

/// Jacobian columns with a norm at most this are zero (residuals are relative errors, parameters in unit
/// coordinates: an identifiable parameter's column is many orders larger).
const ZERO_COLUMN: f64 = 1e-12;

/// Minimises ½ Σ rᵢ(x)² over `lo ≤ x ≤ hi` from `start` (clamped into the box). `residuals` may fail
/// (e.g. the model rejects a parameter value); the first error is returned as is.
pub fn solve<E, F: FnMut(&[f64]) -> Result<Vec<f64>, E>>(
    mut residuals: F,
    start: &[f64],
    lo: &[f64],
    hi: &[f64],
    opts: &LsqOptions,
) -> Result<Fit, E> {
    let n = start.len();
    assert!(lo.len() == n && hi.len() == n, "bounds per parameter");
    assert!(
        lo.iter().zip(hi).all(|(l, h)| l < h),
        "lower bounds below upper bounds"
    );
    let to_x = |u: &[f64]| -> Vec<f64> {
        (0..n)
            .map(|j| (lo[j] + u[j] * (hi[j] - lo[j])).clamp(lo[j], hi[j]))
            .collect()
    };
    let mut u: Vec<f64> = (0..n)
        .map(|j| ((start[j] - lo[j]) / (hi[j] - lo[j])).clamp(0.0, 1.0))
        .collect();
    let mut evaluations = 1;
    let mut r = residuals(&to_x(&u))?;
    let mut cost = half_sum_squares(&r);
    let mut lambda = 1e-3;
    let mut identifiable: Option<Vec<bool>> = None;
    let mut iterations = 0;
    let stop = loop {
        if cost <= opts.cost_floor {
            break Stop::ZeroResidual;
        }
        if iterations == opts.max_iterations {
            break Stop::MaxIterations;
        }
        iterations += 1;
        // Forward differences (backward at the upper bound), one parameter at a time in order.
        let m = r.len();
        let mut jac = vec![vec![0.0; n]; m];
        for j in 0..n {
            let h = if u[j] + opts.fd_step <= 1.0 {
                opts.fd_step
            } else {
                -opts.fd_step
            };
            let mut uh = u.clone();
            uh[j] += h;
            evaluations += 1;
            let rh = residuals(&to_x(&uh))?;
            for i in 0..m {
                jac[i][j] = (rh[i] - r[i]) / h;
            }
        }
        let col_norm: Vec<f64> = (0..n)
            .map(|j| jac.iter().map(|row| row[j] * row[j]).sum::<f64>().sqrt())
            .collect();
        let ident = identifiable
            .get_or_insert_with(|| col_norm.iter().map(|&c| c > ZERO_COLUMN).collect())
            .clone();
        // Gradient Jᵀr and Gauss–Newton matrix JᵀJ.
        let g: Vec<f64> = (0..n)
            .map(|j| (0..m).map(|i| jac[i][j] * r[i]).sum())
            .collect();
        let a: Vec<Vec<f64>> = (0..n)
            .map(|j| {
                (0..n)
                    .map(|k| (0..m).map(|i| jac[i][j] * jac[i][k]).sum())
                    .collect()
            })
            .collect();
        // Free: identifiable, with a non-zero column here, and not held by a bound the descent pushes on.
        let free: Vec<usize> = (0..n)
            .filter(|&j| {
                ident[j]
                    && col_norm[j] > ZERO_COLUMN
                    && !(u[j] <= 0.0 && g[j] > 0.0)
                    && !(u[j] >= 1.0 && g[j] < 0.0)
            })
            .collect();
        if free.is_empty() {
            break Stop::Bounded;
        }
        // Damped steps until one lowers the cost.
        let accepted = loop {
            let k = free.len();
            let mut sys: Vec<Vec<f64>> = free
                .iter()
                .map(|&j| free.iter().map(|&l| a[j][l]).collect())
                .collect();
            for (d, &j) in free.iter().enumerate() {
                sys[d][d] += lambda * a[j][j];
            }
            let rhs: Vec<f64> = free.iter().map(|&j| -g[j]).collect();
            let step = solve_linear(sys, rhs);
            let mut trial = u.clone();
            if let Some(step) = step {
                for d in 0..k {
                    trial[free[d]] = (u[free[d]] + step[d]).clamp(0.0, 1.0);
                }
            }
            let moved = (0..n).map(|j| (trial[j] - u[j]).abs()).fold(0.0, f64::max);
            if moved > 0.0 {
                evaluations += 1;
                let rt = residuals(&to_x(&trial))?;
                let ct = half_sum_squares(&rt);
                if ct < cost {
                    let fell = cost - ct;
                    let prev = cost;
                    u = trial;
                    r = rt;
                    cost = ct;
                    lambda = (lambda / 10.0).max(1e-12);
                    break Some((fell <= opts.cost_rtol * prev, moved <= opts.step_tol));
                }
            }
            lambda *= 10.0;
            if lambda > 1e12 {
                break None;
            }
        };
        match accepted {
            None => break Stop::NoDescent,
            Some((_, true)) => break Stop::StepConverged,
            Some((true, _)) => break Stop::CostConverged,
            Some(_) => {}
        }
    };
    let identifiable = match identifiable {
        Some(i) => i,
        // Stopped before any Jacobian (zero residuals at the start): nothing was learnt about them.
        None => vec![true; n],
    };
    Ok(Fit {
        x: to_x(&u),
        residuals: r,
        cost,
        iterations,
        evaluations,
        identifiable,
        stop,
    })
}

fn half_sum_squares(r: &[f64]) -> f64 {
    0.5 * r.iter().map(|v| v * v).sum::<f64>()
}

/// Solves `a·x = b` by Gaussian elimination with partial pivoting; `None` when singular.
fn solve_linear(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for c in 0..n {
        let p = (c..n).max_by(|&i, &k| a[i][c].abs().total_cmp(&a[k][c].abs()))?;
        if a[p][c] == 0.0 || !a[p][c].is_finite() {
            return None;
        }
        a.swap(c, p);
        b.swap(c, p);
        let pivot = a[c].clone();
        for i in c + 1..n {
            let f = a[i][c] / pivot[c];
            for (x, p) in a[i][c..].iter_mut().zip(&pivot[c..]) {
                *x -= f * p;
            }
            b[i] -= f * b[c];
        }
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| a[i][k] * x[k]).sum();
        x[i] = (b[i] - s) / a[i][i];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Relative residuals of `y = a·exp(−b·t) + c` against data made with `truth`.
    fn exp_problem(truth: [f64; 3]) -> impl FnMut(&[f64]) -> Result<Vec<f64>, ()> {
        let ts: Vec<f64> = (0..12).map(|i| i as f64 * 0.5).collect();
        let model = |p: &[f64], t: f64| p[0] * (-p[1] * t).exp() + p[2];
        let ys: Vec<f64> = ts.iter().map(|&t| model(&truth, t)).collect();
        move |p: &[f64]| {
            Ok(ts
                .iter()
                .zip(&ys)
                .map(|(&t, &y)| (model(p, t) - y) / y)
                .collect())
        }
    }

    #[test]
    fn recovers_known_parameters() {
        let truth = [3.0, 0.7, 0.5];
        let mut f = exp_problem(truth);
        let fit = solve(
            &mut f,
            &[1.0, 0.1, 2.0],
            &[0.1, 0.01, 0.0],
            &[10.0, 5.0, 5.0],
            &LsqOptions::default(),
        )
        .unwrap();
        assert!(fit.stop.converged(), "{:?}", fit.stop);
        for (x, t) in fit.x.iter().zip(truth) {
            assert!((x - t).abs() / t < 1e-6, "{:?} vs {truth:?}", fit.x);
        }
        assert_eq!(fit.identifiable, vec![true; 3]);
    }

    #[test]
    fn a_bound_holds_a_parameter_whose_truth_is_outside() {
        // True b = 0.7, but b ≤ 0.5: the fit ends on the bound.
        let mut f = exp_problem([3.0, 0.7, 0.5]);
        let fit = solve(
            &mut f,
            &[1.0, 0.1, 2.0],
            &[0.1, 0.01, 0.0],
            &[10.0, 0.5, 5.0],
            &LsqOptions::default(),
        )
        .unwrap();
        assert_eq!(fit.x[1], 0.5);
        assert!(fit.cost > 0.0);
    }

    #[test]
    fn a_parameter_the_model_ignores_is_not_identifiable_and_keeps_its_start() {
        let mut inner = exp_problem([3.0, 0.7, 0.5]);
        let mut f = |p: &[f64]| inner(&p[..3]);
        let fit = solve(
            &mut f,
            &[1.0, 0.1, 2.0, 7.0],
            &[0.1, 0.01, 0.0, 0.0],
            &[10.0, 5.0, 5.0, 10.0],
            &LsqOptions::default(),
        )
        .unwrap();
        assert_eq!(fit.identifiable, vec![true, true, true, false]);
        assert_eq!(fit.x[3], 7.0);
        assert!((fit.x[0] - 3.0).abs() < 1e-6);
    }

    #[test]
    fn solving_twice_gives_identical_bits() {
        let run = || {
            let mut f = exp_problem([2.0, 1.3, 0.2]);
            solve(
                &mut f,
                &[5.0, 0.5, 1.0],
                &[0.1, 0.01, 0.0],
                &[10.0, 5.0, 5.0],
                &LsqOptions::default(),
            )
            .unwrap()
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn errors_from_the_model_pass_through() {
        let mut f = |_: &[f64]| -> Result<Vec<f64>, &str> { Err("rejected") };
        assert_eq!(
            solve(&mut f, &[1.0], &[0.0], &[2.0], &LsqOptions::default()),
            Err("rejected")
        );
    }
}
