//! Concurrent jobs on one fabric: per-job communication time under contention, per-tier link
//! utilisation and switch power.
//!
//! **Model** (steady state, worst-case overlap): each job `j` issues a fixed list of collectives
//! per step ([`CommOp`], e.g. tensor-parallel all-reduces, pipeline sends, the data-parallel
//! gradient all-reduce). Its *background* is its heaviest inter-domain phase (most bytes leaving
//! scale-up domains per step). While job `i` runs one of its collectives, every other job's
//! background flows are present as never-ending flows; `i`'s collective is timed with the max-min
//! flow model against them ([`super::collective`]). Jobs that share no link are unaffected (max-min
//! components are independent). Assuming full overlap is pessimistic for jobs whose communication
//! phases interleave; it is exact for jobs that communicate continuously.
//!
//! **Utilisation** of link `l`: `u_l = Σ_j B_j(l) / T_j / c_l`, where `B_j(l)` is the bytes job `j`
//! moves over `l` per step (all its collectives, each counted `per_step` times) and `T_j` its step
//! time (its communication time when it has no training plan). Reported per tier as mean over the
//! tier's links and maximum. Ports of link pairs with `B > 0` are active for switch power.

use serde::Serialize;

use super::collective::{self, BACKGROUND_TAG, CollectiveKind, Phase, Routes, Timing, time_phase};
use super::config::AllReduceAlgo;
use super::fabric::{Fabric, GpuRef};
use super::flows::{FlowId, FlowSim};
use super::switch_power::switch_power_w;
use super::topology::{Tier, Topology};
use crate::catalog::GpuModel;
use crate::training::cost::{Collective, CommCost, CommGroup};
use crate::training::plan::{Recompute, TrainingPlan};
use crate::training::step::{StepTime, step_time_with};

/// One collective a job issues every step, on every group of `group_size` ranks at stride
/// `group_stride` (all such groups run it concurrently). Groups partition the job's ranks:
/// group `(b, o)` = ranks `b·size·stride + o + i·stride`, `i < size`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CommOp {
    pub kind: CollectiveKind,
    /// Size as nccl-tests defines it, bytes.
    pub bytes: f64,
    pub group_size: u32,
    pub group_stride: u32,
    /// Times it is issued per step (for utilisation and `comm_s`).
    pub per_step: f64,
}

/// A training job as the plan, GPU type and server size it was estimated with.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingContext {
    pub plan: TrainingPlan,
    pub gpu: GpuModel,
    pub gpus_per_server: u32,
}

/// One running job's traffic.
#[derive(Debug, Clone, PartialEq)]
pub struct JobTraffic {
    /// Its GPUs in rank order.
    pub gpus: Vec<GpuRef>,
    /// Collectives per step.
    pub ops: Vec<CommOp>,
    /// ECMP salt (e.g. the job id): the job's flows hash with it.
    pub salt: u64,
    /// Set for training jobs: the result then carries the step time.
    pub training: Option<TrainingContext>,
}

impl JobTraffic {
    /// The traffic of one step of `plan` (ranks ordered tp → dp → pp, Megatron's default, as in
    /// [`crate::training::Groups`]) with all-reduces run by `algo`. The byte counts are those of
    /// [`crate::training::step_time_with`]: tensor-parallel all-reduce of `b·s·h·β`
    /// (`m·⌈L/pp⌉·n_ar` per step; a reduce-scatter and an all-gather each under sequence parallelism), pipeline send of `b·s·h·β/tp` (`2m` per step), data-parallel
    /// all-reduce of `P/(tp·pp)·β` (once). Errors if `gpus` does not hold `tp·pp·dp` GPUs.
    pub fn training(
        plan: &TrainingPlan,
        gpu: &GpuModel,
        gpus_per_server: u32,
        gpus: Vec<GpuRef>,
        algo: AllReduceAlgo,
        salt: u64,
    ) -> Result<JobTraffic, String> {
        let p = &plan.parallelism;
        let m = &plan.model;
        if gpus.len() as u64 != p.gpus() {
            return Err(format!(
                "the placement has {} GPUs; the plan needs tp·pp·dp = {}",
                gpus.len(),
                p.gpus()
            ));
        }
        let micro = p.micro_batches as f64;
        let act_bytes = plan.micro_batch_sequences() as f64
            * m.seq_len as f64
            * m.hidden as f64
            * m.bytes_per_param;
        let ar_per_layer = match plan.recompute {
            Recompute::None | Recompute::Selective => 4.0,
            Recompute::Full => 6.0,
        };
        let mut ops = Vec::new();
        if p.tp > 1 {
            // Per step: `m · ⌈L/pp⌉ · n_ar` all-reduces, or as many reduce-scatter + all-gather pairs under
            // sequence parallelism.
            let per_step = micro * m.layers.div_ceil(p.pp.max(1)) as f64 * ar_per_layer;
            let kinds: &[CollectiveKind] = if p.sequence_parallel {
                &[CollectiveKind::ReduceScatter, CollectiveKind::AllGather]
            } else {
                &[CollectiveKind::AllReduce(algo)]
            };
            for &kind in kinds {
                ops.push(CommOp {
                    kind,
                    bytes: act_bytes,
                    group_size: p.tp,
                    group_stride: 1,
                    per_step,
                });
            }
        }
        if p.pp > 1 {
            ops.push(CommOp {
                kind: CollectiveKind::P2p,
                bytes: act_bytes / p.tp as f64,
                group_size: p.pp,
                group_stride: p.tp * p.dp,
                per_step: 2.0 * p.virtual_stages.max(1) as f64 * micro,
            });
        }
        if p.dp > 1 {
            ops.push(CommOp {
                kind: CollectiveKind::AllReduce(algo),
                bytes: m.params / (p.tp as f64 * p.pp as f64) * m.bytes_per_param,
                group_size: p.dp,
                group_stride: p.tp,
                per_step: plan.sharding.dp_volume_factor(),
            });
        }
        Ok(JobTraffic {
            gpus,
            ops,
            salt,
            training: Some(TrainingContext {
                plan: plan.clone(),
                gpu: gpu.clone(),
                gpus_per_server,
            }),
        })
    }

    /// The groups of `op` as global GPU ids.
    fn groups(&self, fabric: &Fabric, op: &CommOp) -> Result<Vec<Vec<u32>>, String> {
        let n = self.gpus.len() as u64;
        let (size, stride) = (op.group_size.max(1) as u64, op.group_stride.max(1) as u64);
        if !n.is_multiple_of(size * stride) {
            return Err(format!(
                "a job of {n} GPUs cannot be split into groups of {size} at stride {stride}"
            ));
        }
        let ids = self
            .gpus
            .iter()
            .map(|&g| fabric.gpu(g))
            .collect::<Result<Vec<u32>, String>>()?;
        let mut out = Vec::with_capacity((n / size) as usize);
        for b in 0..n / (size * stride) {
            for o in 0..stride {
                out.push(
                    (0..size)
                        .map(|i| ids[(b * size * stride + o + i * stride) as usize])
                        .collect(),
                );
            }
        }
        Ok(out)
    }
}

/// One collective's time, s.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OpTime {
    /// The job alone on the fabric.
    pub idle_s: f64,
    /// With the other jobs' traffic.
    pub contended_s: f64,
}

/// One job's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobComm {
    /// Per [`CommOp`], in order.
    pub ops: Vec<OpTime>,
    /// Serial communication per step under contention `Σ per_step · contended_s`, s (before any
    /// overlap with compute).
    pub comm_s: f64,
    /// The same with the job alone, s.
    pub idle_comm_s: f64,
    /// Training step under contention (training jobs only).
    pub step: Option<StepTime>,
    /// Training step with the job alone on the fabric.
    pub idle_step: Option<StepTime>,
}

/// Utilisation of one tier.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TierUse {
    pub tier: Tier,
    /// Directed links in the tier.
    pub links: u64,
    /// Links carrying traffic.
    pub active_links: u64,
    /// Mean utilisation over all the tier's links, 0..1.
    pub mean_utilization: f64,
    /// Highest link utilisation.
    pub max_utilization: f64,
    /// Traffic carried by the tier, bytes/s (summed over links).
    pub bytes_per_s: f64,
}

/// What [`Fabric::contended_step_comm`] returns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContentionResult {
    /// Per job, in input order.
    pub jobs: Vec<JobComm>,
    /// Per tier (scale-up, NIC, leaf–spine, spine–core), tiers without links omitted.
    pub tiers: Vec<TierUse>,
    /// Switch ports carrying traffic.
    pub active_ports: u64,
    /// Scale-out switch and optics power, W.
    pub switch_power_w: f64,
    /// Completion batches simulated (cost indicator).
    pub events: u64,
}

/// Replays the fabric's collective times into [`step_time_with`]: each call is matched to the
/// job's op of the same kind with the nearest byte count.
struct Replay<'a> {
    ops: &'a [CommOp],
    times: Vec<f64>,
}

impl Replay<'_> {
    fn find(&self, want: Collective, bytes: f64) -> f64 {
        let mut best: Option<(f64, f64)> = None;
        for (op, &t) in self.ops.iter().zip(&self.times) {
            if op.kind.nccl() != want {
                continue;
            }
            let d = (op.bytes - bytes).abs() / bytes.abs().max(1e-300);
            if best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, t));
            }
        }
        debug_assert!(best.is_some(), "no {want:?} op recorded");
        best.map_or(0.0, |(_, t)| t)
    }
}

impl CommCost for Replay<'_> {
    fn all_reduce_s(&self, bytes: f64, _group: &CommGroup) -> f64 {
        self.find(Collective::AllReduce, bytes)
    }
    fn reduce_scatter_s(&self, bytes: f64, _group: &CommGroup) -> f64 {
        self.find(Collective::ReduceScatter, bytes)
    }
    fn all_gather_s(&self, bytes: f64, _group: &CommGroup) -> f64 {
        self.find(Collective::AllGather, bytes)
    }
    fn p2p_s(&self, bytes: f64, _group: &CommGroup) -> f64 {
        self.find(Collective::SendRecv, bytes)
    }
}

/// A lowered, routed op of one job.
struct Prepared {
    phases: Vec<(Phase, Routes)>,
}

impl Fabric {
    /// Communication time per step of each job in `jobs` when they run concurrently, per-tier
    /// utilisation and switch power (module docs: [`super::contention`]). Errors name a GPU that is
    /// not in the fabric or a placement that does not fit the job's groups.
    pub fn contended_step_comm(&self, jobs: &[JobTraffic]) -> Result<ContentionResult, String> {
        let topo = self.topology();
        let prepared = self.prepare(jobs)?;
        let background = backgrounds(topo, jobs, &prepared);
        let mut timer = Timer {
            sim: FlowSim::new(topo.goodput_bytes_per_s.clone()),
            done: Vec::new(),
            events: 0,
        };
        let mut results = Vec::with_capacity(jobs.len());
        for (i, job) in jobs.iter().enumerate() {
            // Idle: the job alone.
            let idle = timer.op_times(&prepared[i]);
            // Contended: with the other jobs' backgrounds.
            let mut bg_ids = Vec::new();
            for (j, bg) in background.iter().enumerate() {
                let Some((k, q)) = *bg else { continue };
                if j == i {
                    continue;
                }
                let (ph, routes) = &prepared[j][k].phases[q];
                for f in 0..ph.flows.len() {
                    let path = routes.path(f);
                    if leaves_domain(topo, path) {
                        bg_ids.push(timer.sim.start(path, f64::INFINITY, BACKGROUND_TAG));
                    }
                }
            }
            let contended: Vec<f64> = if bg_ids.is_empty() {
                idle.clone()
            } else {
                timer.sim.update();
                timer.op_times(&prepared[i])
            };
            for id in bg_ids {
                timer.sim.cancel(id);
            }
            timer.sim.update();
            results.push(job_comm(job, &idle, &contended));
        }

        let load = link_loads(topo, jobs, &prepared, &results);
        let tiers = tier_use(topo, &load);
        let active_ports: u64 = (0..topo.links())
            .step_by(2)
            .filter(|&l| load[l] > 0.0 || load[l + 1] > 0.0)
            .map(|l| topo.ports[l] as u64)
            .sum();
        Ok(ContentionResult {
            jobs: results,
            tiers,
            active_ports,
            switch_power_w: switch_power_w(
                self.switches(),
                active_ports,
                &self.config().switch_power,
            ),
            events: timer.events,
        })
    }

    /// Every op of every job lowered to phases and routed, once.
    fn prepare(&self, jobs: &[JobTraffic]) -> Result<Vec<Vec<Prepared>>, String> {
        let topo = self.topology();
        let mut prepared: Vec<Vec<Prepared>> = Vec::with_capacity(jobs.len());
        for (j, job) in jobs.iter().enumerate() {
            let mut ops = Vec::with_capacity(job.ops.len());
            for op in &job.ops {
                let groups = job.groups(self, op).map_err(|e| format!("job {j}: {e}"))?;
                let phases = collective::lower(topo, op.kind, op.bytes, &groups)
                    .into_iter()
                    .map(|ph| {
                        let r = Routes::of(topo, &ph, job.salt);
                        (ph, r)
                    })
                    .collect();
                ops.push(Prepared { phases });
            }
            prepared.push(ops);
        }
        Ok(prepared)
    }
}

/// Each job's background: (op, phase) of its phase with the most inter-domain bytes per step, or
/// `None` when nothing it sends leaves a scale-up domain.
fn backgrounds(
    topo: &Topology,
    jobs: &[JobTraffic],
    prepared: &[Vec<Prepared>],
) -> Vec<Option<(usize, usize)>> {
    prepared
        .iter()
        .zip(jobs)
        .map(|(ops, job)| {
            let mut best: Option<((usize, usize), f64)> = None;
            for (k, op) in ops.iter().enumerate() {
                for (q, (ph, routes)) in op.phases.iter().enumerate() {
                    let bytes: f64 = ph
                        .flows
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| leaves_domain(topo, routes.path(*i)))
                        .map(|(_, f)| f.bytes)
                        .sum::<f64>()
                        * ph.steps as f64
                        * job.ops[k].per_step;
                    if bytes > 0.0 && best.is_none_or(|(_, b)| bytes > b) {
                        best = Some(((k, q), bytes));
                    }
                }
            }
            best.map(|(kq, _)| kq)
        })
        .collect()
}

/// The flow simulation collectives are timed on, its scratch list and the completion batches so far.
struct Timer {
    sim: FlowSim,
    done: Vec<FlowId>,
    events: u64,
}

impl Timer {
    /// The time of each op of one job (its phases, aggregated, one after the other) against the
    /// flows now on the fabric.
    fn op_times(&mut self, ops: &[Prepared]) -> Vec<f64> {
        ops.iter()
            .map(|op| {
                op.phases
                    .iter()
                    .map(|(ph, r)| {
                        let t =
                            time_phase(&mut self.sim, ph, r, Timing::Aggregated, &mut self.done);
                        self.events += t.events;
                        t.total_s
                    })
                    .sum()
            })
            .collect()
    }
}

/// A job's result from its op times alone (`idle`) and under contention: communication per step and,
/// for a training job, its step time.
fn job_comm(job: &JobTraffic, idle: &[f64], contended: &[f64]) -> JobComm {
    let comm =
        |times: &[f64]| -> f64 { job.ops.iter().zip(times).map(|(o, t)| o.per_step * t).sum() };
    let step_of = |times: &[f64]| {
        job.training.as_ref().map(|c| {
            let replay = Replay {
                ops: &job.ops,
                times: times.to_vec(),
            };
            step_time_with(&c.plan, &c.gpu, c.gpus_per_server, &replay)
        })
    };
    JobComm {
        ops: idle
            .iter()
            .zip(contended)
            .map(|(&a, &b)| OpTime {
                idle_s: a,
                contended_s: b,
            })
            .collect(),
        comm_s: comm(contended),
        idle_comm_s: comm(idle),
        step: step_of(contended),
        idle_step: step_of(idle),
    }
}

/// Bytes/s on each link: every job's bytes per step over its step time (its communication time
/// without a training plan).
fn link_loads(
    topo: &Topology,
    jobs: &[JobTraffic],
    prepared: &[Vec<Prepared>],
    results: &[JobComm],
) -> Vec<f64> {
    let mut load = vec![0.0f64; topo.links()];
    for (j, job) in jobs.iter().enumerate() {
        let r = &results[j];
        let period = r.step.map_or(r.comm_s, |s| s.total_s);
        if period <= 0.0 {
            continue;
        }
        for (k, op) in prepared[j].iter().enumerate() {
            let per = job.ops[k].per_step / period;
            for (ph, routes) in &op.phases {
                for (f, flow) in ph.flows.iter().enumerate() {
                    let b = flow.bytes * ph.steps as f64 * per;
                    for &l in routes.path(f) {
                        load[l as usize] += b;
                    }
                }
            }
        }
    }
    load
}

/// Utilisation per tier from the link loads; tiers without links omitted.
fn tier_use(topo: &Topology, load: &[f64]) -> Vec<TierUse> {
    let mut tiers = Vec::new();
    for tier in Tier::ALL {
        let mut t = TierUse {
            tier,
            links: 0,
            active_links: 0,
            mean_utilization: 0.0,
            max_utilization: 0.0,
            bytes_per_s: 0.0,
        };
        for ((&b, &cap), _) in load
            .iter()
            .zip(&topo.cap_bytes_per_s)
            .zip(&topo.tier)
            .filter(|(_, t)| **t == tier)
        {
            let u = b / cap;
            t.links += 1;
            t.active_links += (b > 0.0) as u64;
            t.mean_utilization += u;
            t.max_utilization = t.max_utilization.max(u);
            t.bytes_per_s += b;
        }
        if t.links > 0 {
            t.mean_utilization /= t.links as f64;
            tiers.push(t);
        }
    }
    tiers
}

/// Whether a route leaves the scale-up domain (uses a NIC).
fn leaves_domain(topo: &Topology, path: &[u32]) -> bool {
    path.first()
        .is_some_and(|&l| topo.tier[l as usize] != Tier::ScaleUp)
}
