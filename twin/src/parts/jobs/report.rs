//! The cluster part's sections of the summary: `jobs`, `training` and (shared fleet) `shared_fleet`.

use bevy_ecs::world::World;
use models::power::gpu_power_w;
use sim::SimTime;

use super::state::Jobs;
use output::{
    JobsSummary, SharedFleetSummary, Stats, Summary, TrainingJobSummary, TrainingSummary,
};

impl Jobs {
    pub(crate) fn write_summary(&mut self, world: &mut World, horizon: SimTime, out: &mut Summary) {
        out.training = self.training_summary(horizon);
        let c = &mut self.counters;
        if let Some(log) = c.log.take() {
            world.insert_resource(super::job::JobLog(log));
        }
        let samples = self.frag.2;
        out.jobs = JobsSummary {
            submitted: c.submitted,
            completed: c.completed,
            running_at_end: c.running,
            queued_at_end: self.queue.len() as u64,
            not_arrived: self.source.jobs.remaining(),
            wait_s: Stats::from_values(&mut c.waits_s),
            turnaround_s: Stats::from_values(&mut c.turnarounds_s),
            fragmented_gpus_mean: if samples == 0 {
                0.0
            } else {
                self.frag.0 / samples as f64
            },
            fragmented_gpus_max: self.frag.1,
            backfilled: self.sched.backfilled,
            backfill_late_heads: self.sched.late_heads,
            preemptions: c.preemptions,
            lost_gpu_h: c.lost_milli_ns as f64 / 1000.0 / 1e9 / 3600.0,
            interrupted: c.interrupted,
            restart_gpu_h: c.restart_milli_ns as f64 / 1000.0 / 1e9 / 3600.0,
        };
        if let Some(h) = &mut self.holdings {
            h.advance(horizon);
            let replica_gpu_h = h.held_gpu_ns as f64 * 1e-9 / 3600.0;
            let available_gpu_h = out.gpu_hours.available;
            out.shared_fleet = Some(SharedFleetSummary {
                make_room: format!("{:?}", h.make_room),
                replica_gpu_h,
                replica_gpu_share: if available_gpu_h > 0.0 {
                    replica_gpu_h / available_gpu_h
                } else {
                    0.0
                },
                jobs_preempted: h.preemptions,
                replica_waits: h.waited,
            });
        }
    }

    /// The `training` section (model-driven training workloads): the model's prediction per job and what
    /// happened to it in the run.
    pub(crate) fn training_summary(&self, horizon: SimTime) -> Option<TrainingSummary> {
        let info = self.training.as_ref()?;
        let times = self.counters.times.as_ref()?;
        // Training jobs running at the horizon: their current run so far.
        let mut running_ns = vec![0u64; info.len()];
        let mut restarting_ns = vec![0u64; info.len()];
        for &slot in &self.running {
            let j = self.jobs.get(slot);
            if let Some(s) = j.start {
                let ns = (horizon - s).as_nanos();
                running_ns[j.id as usize] = ns;
                restarting_ns[j.id as usize] = match j.cycle {
                    // A checkpoint cycle books its restarts as they end; one in progress counts so far.
                    Some(c)
                        if matches!(
                            c.phase,
                            super::job::Phase::Restart | super::job::Phase::Load
                        ) =>
                    {
                        (horizon - c.phase_since).as_nanos()
                    }
                    Some(_) => 0,
                    None => ns.min(j.restart.as_nanos()),
                };
            }
        }
        let jobs = info
            .iter()
            .zip(times)
            .zip(running_ns.iter().zip(&restarting_ns))
            .map(|((m, jt), (&running, &restarting))| {
                let t = &m.info;
                let (start, finish) = (jt.start, jt.finish);
                let a = t.activity_milli as f64 / 1000.0;
                let p_w = t.gpus as f64 * gpu_power_w(m.idle_w, m.board_w, a, 1.0);
                let ran_s = (jt.ran_ns + running) as f64 * 1e-9;
                let e = &t.estimate;
                let gpu_energy_j = p_w * ran_s;
                let restart_s = (jt.restart_ns + restarting) as f64 * 1e-9;
                TrainingJobSummary {
                    name: t.name.clone(),
                    gpu_model: t.gpu_model.clone(),
                    gpus: t.gpus,
                    steps: e.steps,
                    tokens: e.tokens,
                    step_s: e.step.total_s,
                    compute_s: e.step.compute_s,
                    gemm_s: e.step.gemm_s,
                    attention_s: e.step.attention_s,
                    elementwise_s: e.step.elementwise_s,
                    bubble_s: e.step.bubble_s,
                    comm_exposed_s: e.step.comm_exposed_s,
                    optimizer_s: e.step.optimizer_s,
                    node_power_peak_w: t.node_power.peak_w,
                    node_power_mean_w: t.node_power.mean_w,
                    node_power_trough_w: t.node_power.trough_w,
                    comm_share: e.step.comm_exposed_s / e.step.total_s,
                    achieved_mfu: e.achieved_mfu,
                    tokens_per_s: e.tokens_per_s,
                    time_to_finish_s: e.time_to_finish_s,
                    gpu_activity: a,
                    submit_s: m.submit_s,
                    start_s: start.map(|s| s.as_secs_f64()),
                    finish_s: finish.map(|s| s.as_secs_f64()),
                    gpu_energy_j,
                    gpu_energy_per_token_j: finish.map(|_| gpu_energy_j / e.tokens as f64),
                    ran_s,
                    preemptions: jt.preemptions,
                    lost_s: jt.lost_ns as f64 * 1e-9,
                    lost_steps: jt.lost_steps,
                    checkpoint_every_s: t.checkpoint.as_ref().map(|c| c.every_s),
                    checkpoint_bytes: t
                        .checkpoint
                        .as_ref()
                        .map(|c| t.plan.model.params * c.bytes_per_param),
                    checkpoint_write_s: t.checkpoint.as_ref().map(|c| c.write_s()),
                    restart_s,
                    checkpoints_written: jt.checkpoints,
                    checkpoint_stall_s: jt.write_ns as f64 * 1e-9,
                    useful_s: {
                        // Training kept: run time less lost work, restarts and checkpoint stalls.
                        let kept_s = (ran_s - jt.lost_ns as f64 * 1e-9 - restart_s).max(0.0);
                        if t.checkpoint.is_some() {
                            (kept_s - jt.write_ns as f64 * 1e-9).max(0.0)
                        } else {
                            kept_s
                        }
                    },
                    ettr: None,
                    wall_s: start.map(|s0| (finish.unwrap_or(horizon) - s0).as_secs_f64()),
                    run_step_s: None,
                    run_comm_exposed_s: None,
                }
            })
            .collect::<Vec<TrainingJobSummary>>();
        let mut jobs = jobs;
        for j in &mut jobs {
            j.ettr = j.wall_s.map(|w| if w > 0.0 { j.useful_s / w } else { 1.0 });
        }
        // Over all training jobs that started, weighted by their GPUs.
        let gpu_h = |f: &dyn Fn(&TrainingJobSummary) -> f64| {
            jobs.iter().map(|j| j.gpus as f64 * f(j)).sum::<f64>() / 3600.0
        };
        let wall_gpu_h = gpu_h(&|j| j.wall_s.unwrap_or(0.0));
        let useful_gpu_h = gpu_h(&|j| j.useful_s);
        Some(TrainingSummary {
            ettr: (wall_gpu_h > 0.0).then(|| useful_gpu_h / wall_gpu_h),
            useful_gpu_h,
            lost_gpu_h: gpu_h(&|j| j.lost_s),
            restart_gpu_h: gpu_h(&|j| j.restart_s),
            checkpoint_stall_gpu_h: gpu_h(&|j| j.checkpoint_stall_s),
            jobs,
        })
    }
}
