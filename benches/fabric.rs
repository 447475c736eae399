//! One simulated hour of a data-parallel training job (ring all-reduce of the gradients every step:
//! a compute phase, then a communication phase) on a 2-tier Clos, driven by the `sim` engine, with a
//! smaller background job starting and stopping every 5 minutes on servers that share the main job's
//! leaves, so the fabric re-prices both jobs under contention at every start and finish.
//!
//! Site: racks of 5 eight-GPU servers, one leaf per rack, 16 spines, `FABRIC_OVERSUB` (default 1);
//! the main job on the first 4 servers of every rack (N GPUs), the background job (N/4 GPUs) on the
//! 5th. Model: GPT-3 XL-class (1.3B parameters, 24 layers, hidden 2048, 2,048-token sequences), pure
//! data parallelism, one sequence per GPU per step. Prints wall times, simulated steps, fabric
//! re-pricings and their flow events. Env: `FABRIC_GPUS` (comma list, default `4096,16384`),
//! `FABRIC_HOURS` (default 1).
//!
//!     cargo bench --bench fabric

use std::time::Instant;

use models::network::{Fabric, FabricConfig, FabricServer, GpuRef, JobTraffic, TopologyConfig};
use models::training::{
    Attention, Budget, Parallelism, Recompute, Sharding, StepTime, TrainingPlan, TransformerModel,
};
use sim::bevy_ecs::prelude::*;
use sim::{Engine, Scheduler, SimDuration, SimTime};

#[derive(Clone, Copy)]
enum Ev {
    ComputeDone(usize),
    CommDone(usize),
    Background(bool),
}

#[derive(Resource)]
struct Cluster {
    fabric: Fabric,
    /// Main job (0) and background job (1).
    traffic: [JobTraffic; 2],
    running: [bool; 2],
    /// Step under the current contention, per job.
    step: [Option<StepTime>; 2],
    /// Steps whose communication phase started under an older pricing finish at the old price.
    steps: [u64; 2],
    repricings: u64,
    flow_events: u64,
    price_wall_s: f64,
    /// Simulated communication-phase time, both jobs, s.
    comm_s: f64,
}

impl Cluster {
    fn reprice(&mut self) {
        let t = Instant::now();
        let active: Vec<usize> = (0..2).filter(|&j| self.running[j]).collect();
        let jobs: Vec<JobTraffic> = active.iter().map(|&j| self.traffic[j].clone()).collect();
        let res = self.fabric.contended_step_comm(&jobs).expect("valid jobs");
        self.step = [None, None];
        for (k, &j) in active.iter().enumerate() {
            self.step[j] = res.jobs[k].step;
        }
        self.repricings += 1;
        self.flow_events += res.events;
        self.price_wall_s += t.elapsed().as_secs_f64();
    }
}

fn plan(dp: u32) -> TrainingPlan {
    TrainingPlan {
        model: TransformerModel {
            params: 1.3e9,
            layers: 24,
            hidden: 2048,
            seq_len: 2048,
            bytes_per_param: 2.0,
            heads: None,
            kv_heads: None,
            ffn_hidden: None,
            gated_mlp: false,
            vocab: None,
        },
        parallelism: Parallelism {
            tp: 1,
            pp: 1,
            dp,
            micro_batches: 1,
            virtual_stages: 1,
            sequence_parallel: false,
        },
        global_batch_tokens: dp as u64 * 2048,
        budget: Budget::Steps(1_000_000),
        recompute: Recompute::None,
        attention: Attention::Flash,
        overlap: Some(0.0),
        sharding: Sharding::None,
        checkpoint: None,
    }
}

fn dur(s: f64) -> SimDuration {
    SimDuration::from_secs_f64(s).expect("finite duration")
}

fn run(gpus: u32, hours: f64, oversub: f64) {
    let wall = Instant::now();
    let racks = gpus / 32;
    let servers: Vec<FabricServer> = (0..racks * 5)
        .map(|i| FabricServer {
            rack: i / 5,
            gpus: 8,
        })
        .collect();
    let mut cfg = FabricConfig::default();
    if let TopologyConfig::TwoTierClos(c) = &mut cfg.topology {
        c.oversubscription = oversub;
    }
    let fabric = Fabric::new(&cfg, &servers).expect("valid fabric");
    let build_s = wall.elapsed().as_secs_f64();
    let gpu = models::catalog::GpuModel {
        name: "H100".into(),
        board_power_w: 700.0,
        idle_power_w: 70.0,
        peak_tflops: 989.0,
        precision: models::catalog::Precision::Bf16,
        memory_gb: 80.0,
        memory_bandwidth_tbs: 3.35,
        scaleup_link_gbs: 900.0,
        scaleup_reduction: true,
        activity: Default::default(),
        kernels: Default::default(),
        source: String::new(),
    };
    let place = |server_of: &dyn Fn(u32) -> u32, n: u32| -> Vec<GpuRef> {
        (0..n)
            .map(|r| GpuRef {
                server: server_of(r / 8),
                slot: r % 8,
            })
            .collect()
    };
    let main_gpus = place(&|k| (k / 4) * 5 + k % 4, gpus);
    let bg_gpus = place(&|k| k * 5 + 4, gpus / 4);
    let main = JobTraffic::training(&plan(gpus), &gpu, 8, main_gpus, cfg.all_reduce, 1).unwrap();
    let bg = JobTraffic::training(&plan(gpus / 4), &gpu, 8, bg_gpus, cfg.all_reduce, 2).unwrap();
    let mut world = World::new();
    world.insert_resource(Cluster {
        fabric,
        traffic: [main, bg],
        running: [true, false],
        step: [None, None],
        steps: [0, 0],
        repricings: 0,
        flow_events: 0,
        price_wall_s: 0.0,
        comm_s: 0.0,
    });
    world.resource_mut::<Cluster>().reprice();
    let first = world.resource::<Cluster>().step[0].unwrap();
    let mut engine = Engine::new(world);
    engine.schedule(SimTime::ZERO + dur(first.compute_s), Ev::ComputeDone(0));
    engine.schedule(SimTime::ZERO + dur(150.0), Ev::Background(true));
    let horizon = SimTime::ZERO + dur(hours * 3600.0);
    engine.run_until(horizon, |w: &mut World, s: &mut Scheduler<Ev>, ev: Ev| {
        let mut c = w.resource_mut::<Cluster>();
        match ev {
            Ev::ComputeDone(j) => {
                if !c.running[j] {
                    return;
                }
                let st = c.step[j].expect("priced");
                c.comm_s += st.total_s - st.compute_s;
                s.after(dur(st.total_s - st.compute_s), Ev::CommDone(j));
            }
            Ev::CommDone(j) => {
                if !c.running[j] {
                    return;
                }
                c.steps[j] += 1;
                let st = c.step[j].expect("priced");
                s.after(dur(st.compute_s), Ev::ComputeDone(j));
            }
            Ev::Background(on) => {
                c.running[1] = on;
                c.reprice();
                if on {
                    let st = c.step[1].expect("priced");
                    s.after(dur(st.compute_s), Ev::ComputeDone(1));
                }
                s.after(dur(150.0), Ev::Background(!on));
            }
        }
    });
    let wall_s = wall.elapsed().as_secs_f64();
    let c = engine.world.resource::<Cluster>();
    let alone = first;
    // The full flow simulation would re-solve max-min at least once per ring step: 2(p−1) per all-reduce.
    let full_solves = c.steps[0] * 2 * (gpus as u64 - 1);
    println!(
        "fabric gpus={gpus} hours={hours} oversub={oversub} links={} build_s={build_s:.3} wall_s={wall_s:.3} \
         steps={} bg_steps={} step_s_alone={:.4} comm_s_alone={:.4} events={} repricings={} price_wall_s={:.3} \
         price_ms_each={:.1} flow_events={} full_sim_solves_avoided>={full_solves} comm_s_simulated={:.1}",
        c.fabric.topology().links(),
        c.steps[0],
        c.steps[1],
        alone.total_s,
        alone.total_s - alone.compute_s,
        engine.events_processed(),
        c.repricings,
        c.price_wall_s,
        1e3 * c.price_wall_s / c.repricings as f64,
        c.flow_events,
        c.comm_s,
    );
}

fn main() {
    let list = std::env::var("FABRIC_GPUS").unwrap_or_else(|_| "4096,16384".into());
    let hours: f64 = std::env::var("FABRIC_HOURS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.0);
    let oversub: f64 = std::env::var("FABRIC_OVERSUB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.0);
    for g in list.split(',').filter_map(|s| s.trim().parse::<u32>().ok()) {
        run((g / 32).max(1) * 32, hours, oversub);
    }
}
