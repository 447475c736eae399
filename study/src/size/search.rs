//! The search of `dctwin size`, apart from any simulation: bracketing and k-section (bisection with
//! `per_round` interior points a round) over one integer or real field, for the smallest (or largest)
//! value whose verdict is "pass". The search is a pure function of the verdicts it is given, so it is
//! replayed from scratch over whatever evaluations exist: resuming, sharding and merging need no state
//! of their own.

use statrs::distribution::{Beta, ContinuousCDF};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Whether the field takes whole numbers (the search ends on adjacent integers) or reals (it ends when
/// the interval is at most the tolerance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum Kind {
    Integer,
    Real,
}

/// Which end of the feasible values is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum Goal {
    /// The smallest passing value: passing is assumed to hold from some value upwards.
    Smallest,
    /// The largest passing value: passing is assumed to hold from some value downwards.
    Largest,
}

/// The range and how to search it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    pub kind: Kind,
    pub goal: Goal,
    pub lo: f64,
    pub hi: f64,
    /// Real fields: the search stops when the passing and failing values are at most this far apart.
    pub tolerance: f64,
    /// Interior points evaluated together in a round (1: bisection).
    pub per_round: usize,
}

/// How a search ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Outcome {
    /// The boundary: `answer` passes, `failing` (the next value evaluated towards the other end) fails.
    Found { answer: f64, failing: f64 },
    /// Even the end that should pass most easily fails: no value in the range passes.
    NotFeasible,
    /// The end that should pass least easily passes: the whole range passes (as far as evaluated).
    WholeRange { answer: f64 },
}

/// What the search needs next, or how it ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Evaluate these values (one round; every one of them is needed before the search goes on).
    Evaluate(Vec<f64>),
    Done(Done),
}

/// A finished search: its outcome and every value it evaluated, round by round.
#[derive(Debug, Clone, PartialEq)]
pub struct Done {
    pub outcome: Outcome,
    pub rounds: Vec<Vec<f64>>,
}

impl Plan {
    /// The end where passing is easiest (`hi` for the smallest value, `lo` for the largest) and the
    /// other one.
    fn ends(&self) -> (f64, f64) {
        match self.goal {
            Goal::Smallest => (self.hi, self.lo),
            Goal::Largest => (self.lo, self.hi),
        }
    }

    /// Whether the bracket between a failing and a passing value is closed.
    fn closed(&self, fail: f64, pass: f64) -> bool {
        let gap = (pass - fail).abs();
        match self.kind {
            Kind::Integer => gap <= 1.0,
            Kind::Real => gap <= self.tolerance,
        }
    }

    /// The interior points of a round between `fail` and `pass` (exclusive), from the failing side,
    /// distinct; integers rounded down.
    fn interior(&self, fail: f64, pass: f64) -> Vec<f64> {
        let m = self.per_round.max(1);
        let mut out: Vec<f64> = Vec::with_capacity(m);
        for i in 1..=m {
            let t = i as f64 / (m + 1) as f64;
            let mut v = fail + (pass - fail) * t;
            if self.kind == Kind::Integer {
                v = v.floor();
            }
            let inside = if fail < pass {
                v > fail && v < pass
            } else {
                v < fail && v > pass
            };
            if inside && !out.contains(&v) {
                out.push(v);
            }
        }
        out
    }

    /// Replays the search over the verdicts known so far (`verdict(v)`: `Some(pass)` once every seed
    /// of `v` is evaluated). Returns the next round to evaluate (only what the search needs now), or
    /// the outcome.
    pub fn step(&self, verdict: &dyn Fn(f64) -> Option<bool>) -> Step {
        let (easy, hard) = self.ends();
        let mut rounds = vec![vec![hard, easy]];
        if self.lo == self.hi {
            rounds[0].truncate(1);
        }
        let (Some(pass_easy), Some(pass_hard)) = (verdict(easy), verdict(hard)) else {
            return Step::Evaluate(rounds.pop().expect("round 0"));
        };
        if !pass_easy {
            return Step::Done(Done {
                outcome: Outcome::NotFeasible,
                rounds,
            });
        }
        if pass_hard {
            return Step::Done(Done {
                outcome: Outcome::WholeRange { answer: hard },
                rounds,
            });
        }
        let (mut fail, mut pass) = (hard, easy);
        while !self.closed(fail, pass) {
            let round = self.interior(fail, pass);
            if round.is_empty() {
                // No number lies between them (a tolerance below the resolution of doubles, which the
                // size file's check refuses): the bracket cannot narrow, so it is as closed as it gets.
                break;
            }
            let mut verdicts = Vec::with_capacity(round.len());
            for &v in &round {
                match verdict(v) {
                    Some(p) => verdicts.push(p),
                    None => return Step::Evaluate(round),
                }
            }
            // The passing value nearest the failing side, then the failing value nearest it.
            if let Some((v, _)) = round.iter().zip(&verdicts).find(|(_, p)| **p) {
                pass = *v;
            }
            if let Some((v, _)) = round
                .iter()
                .zip(&verdicts)
                .rfind(|(v, p)| !**p && (**v - fail).abs() < (pass - fail).abs())
            {
                fail = *v;
            }
            rounds.push(round);
        }
        Step::Done(Done {
            outcome: Outcome::Found {
                answer: pass,
                failing: fail,
            },
            rounds,
        })
    }

    /// Runs the search to the end with `evaluate` giving each round's verdicts (in order), for tests
    /// and closed-form use.
    pub fn run(&self, evaluate: &mut dyn FnMut(&[f64]) -> Vec<bool>) -> Done {
        let mut known: BTreeMap<u64, bool> = BTreeMap::new();
        loop {
            let step = self.step(&|v| known.get(&v.to_bits()).copied());
            match step {
                Step::Done(d) => return d,
                Step::Evaluate(round) => {
                    let verdicts = evaluate(&round);
                    for (v, p) in round.iter().zip(verdicts) {
                        known.insert(v.to_bits(), p);
                    }
                }
            }
        }
    }
}

/// A pair of evaluated values at odds with a single threshold: `pass` passes although it lies on the
/// failing side of `fail`, which fails.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Violation {
    pub pass: f64,
    pub fail: f64,
}

/// Checks that the evaluated `(value, pass)` points are consistent with one threshold in the
/// direction of `goal` (for the smallest value: nothing fails above a passing value). Returns every
/// failing value with a passing value on its wrong side, paired with the passing value farthest
/// from the threshold side (empty: monotone on the evaluated points).
pub fn violations(goal: Goal, points: &[(f64, bool)]) -> Vec<Violation> {
    let mut sorted: Vec<(f64, bool)> = points.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    if goal == Goal::Largest {
        sorted.reverse();
    }
    // Walking from the end where passing is hardest, a failing value after a passing one is a
    // violation; it is paired with the first passing value met.
    let mut first_pass: Option<f64> = None;
    let mut out = Vec::new();
    for &(v, p) in &sorted {
        match (p, first_pass) {
            (true, None) => first_pass = Some(v),
            (false, Some(pass)) => out.push(Violation { pass, fail: v }),
            _ => {}
        }
    }
    out
}

/// One-sided Clopper–Pearson bounds on the probability that a fresh seed passes, from `passed` of `n`
/// seeds, at `confidence`: (lower, upper). The lower bound is 0 when none passed, the upper 1 when all
/// did. Through the beta quantiles (`statrs`): lower = B(α; x, n − x + 1), upper = B(1 − α; x + 1, n − x)
/// with α = 1 − confidence — the p with P(X ≥ x | p) = α and the p with P(X ≤ x | p) = α.
pub fn clopper_pearson(passed: u64, n: u64, confidence: f64) -> (f64, f64) {
    let alpha = 1.0 - confidence;
    let quantile = |a: u64, b: u64, q: f64| {
        Beta::new(a as f64, b as f64)
            .expect("positive shapes")
            .inverse_cdf(q)
    };
    let lower = if passed == 0 {
        0.0
    } else {
        quantile(passed, n - passed + 1, alpha)
    };
    let upper = if passed >= n {
        1.0
    } else {
        quantile(passed + 1, n - passed, 1.0 - alpha)
    };
    (lower, upper)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(kind: Kind, goal: Goal, lo: f64, hi: f64, per_round: usize) -> Plan {
        Plan {
            kind,
            goal,
            lo,
            hi,
            tolerance: 0.01,
            per_round,
        }
    }

    /// A tolerance finer than doubles can split the range (refused by the size file's check) still ends
    /// the search, on two neighbouring doubles, instead of asking for empty rounds for ever.
    #[test]
    fn a_tolerance_below_the_resolution_of_doubles_ends_the_search() {
        let mut p = plan(Kind::Real, Goal::Smallest, 1000.0, 3600.0, 1);
        p.tolerance = 1e-300;
        let threshold = 2000.0 + 1.0 / 3.0;
        let mut rounds = 0;
        let d = p.run(&mut |r| {
            rounds += 1;
            assert!(rounds < 200, "the search does not end");
            r.iter().map(|&v| v >= threshold).collect()
        });
        let Outcome::Found { answer, failing } = d.outcome else {
            panic!("{:?}", d.outcome)
        };
        assert!(answer >= threshold && failing < threshold);
        assert_eq!(
            answer.to_bits() - failing.to_bits(),
            1,
            "{failing} .. {answer}"
        );
    }

    /// Every integer threshold of a monotone figure is found exactly, at any number of points a round,
    /// for both goals.
    #[test]
    fn bisection_finds_the_exact_integer_boundary() {
        for per_round in [1, 2, 3, 7] {
            for t in 1..=40 {
                let p = plan(Kind::Integer, Goal::Smallest, 0.0, 40.0, per_round);
                let d = p.run(&mut |r| r.iter().map(|&v| v * v >= (t * t) as f64).collect());
                assert_eq!(
                    d.outcome,
                    Outcome::Found {
                        answer: t as f64,
                        failing: (t - 1) as f64
                    },
                    "t={t} per_round={per_round}"
                );
                let pts: Vec<(f64, bool)> = d
                    .rounds
                    .iter()
                    .flatten()
                    .map(|&v| (v, v >= t as f64))
                    .collect();
                assert!(violations(Goal::Smallest, &pts).is_empty());
                // Largest value with v ≤ t − 1, i.e. t − 1.
                let p = plan(Kind::Integer, Goal::Largest, 0.0, 40.0, per_round);
                let d = p.run(&mut |r| r.iter().map(|&v| v < t as f64).collect());
                assert_eq!(
                    d.outcome,
                    Outcome::Found {
                        answer: (t - 1) as f64,
                        failing: t as f64
                    },
                    "largest t={t} per_round={per_round}"
                );
            }
        }
    }

    #[test]
    fn bisection_uses_few_evaluations_and_reals_stop_at_the_tolerance() {
        let p = plan(Kind::Integer, Goal::Smallest, 1.0, 1024.0, 1);
        let mut evals = 0;
        let d = p.run(&mut |r| {
            evals += r.len();
            r.iter().map(|&v| v >= 700.0).collect()
        });
        assert_eq!(
            d.outcome,
            Outcome::Found {
                answer: 700.0,
                failing: 699.0
            }
        );
        assert!(evals <= 2 + 11, "{evals} evaluations");
        let threshold = std::f64::consts::PI;
        let p = plan(Kind::Real, Goal::Smallest, 0.0, 10.0, 3);
        let d = p.run(&mut |r| r.iter().map(|&v| v >= threshold).collect());
        let Outcome::Found { answer, failing } = d.outcome else {
            panic!("{:?}", d.outcome)
        };
        assert!(failing < threshold && answer >= threshold && answer - failing <= 0.01);
    }

    #[test]
    fn ends_decide_infeasible_and_whole_range() {
        let p = plan(Kind::Integer, Goal::Smallest, 2.0, 9.0, 1);
        let d = p.run(&mut |r| r.iter().map(|_| false).collect());
        assert_eq!((d.outcome, d.rounds.len()), (Outcome::NotFeasible, 1));
        let d = p.run(&mut |r| r.iter().map(|_| true).collect());
        assert_eq!(d.outcome, Outcome::WholeRange { answer: 2.0 });
        let p = plan(Kind::Integer, Goal::Largest, 2.0, 9.0, 1);
        let d = p.run(&mut |r| r.iter().map(|_| true).collect());
        assert_eq!(d.outcome, Outcome::WholeRange { answer: 9.0 });
    }

    /// A figure that passes from 5 up except on 18..=22: the round at 10, 20, 30 sees 20 fail between
    /// passing values, and the check reports it.
    #[test]
    fn a_non_monotone_field_is_reported() {
        let pass = |v: f64| v >= 5.0 && !(18.0..=22.0).contains(&v);
        let p = plan(Kind::Integer, Goal::Smallest, 0.0, 40.0, 3);
        let d = p.run(&mut |r| r.iter().map(|&v| pass(v)).collect());
        assert_eq!(d.rounds[1], vec![10.0, 20.0, 30.0]);
        let pts: Vec<(f64, bool)> = d.rounds.iter().flatten().map(|&v| (v, pass(v))).collect();
        let bad = violations(Goal::Smallest, &pts);
        assert_eq!(
            bad,
            vec![Violation {
                pass: 5.0,
                fail: 20.0
            }]
        );
        // The search still brackets a boundary (the lowest one it saw).
        assert_eq!(
            d.outcome,
            Outcome::Found {
                answer: 5.0,
                failing: 4.0
            }
        );
    }

    #[test]
    fn clopper_pearson_matches_closed_forms() {
        // All n pass: lower = α^(1/n); none pass: upper = 1 − α^(1/n).
        let (lo, hi) = clopper_pearson(3, 3, 0.95);
        assert!((lo - 0.05f64.powf(1.0 / 3.0)).abs() < 1e-9 && hi == 1.0);
        let (lo, hi) = clopper_pearson(0, 5, 0.9);
        assert!(lo == 0.0 && (hi - (1.0 - 0.1f64.powf(0.2))).abs() < 1e-9);
        // 1 of 2 at 95%: upper solves (1 − p)² + 2p(1 − p) = 0.05, i.e. p² = 0.95.
        let (_, hi) = clopper_pearson(1, 2, 0.95);
        assert!((hi - 0.95f64.sqrt()).abs() < 1e-9, "{hi}");
    }
}
