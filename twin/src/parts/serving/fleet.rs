//! The serving model: requests arrive, a router picks a replica, each replica runs iteration-level continuous
//! batching (decode tokens first, then prefill chunks, up to a token budget), and the KV cache limits how many
//! requests a replica holds (docs/models.md §Inference).
//!
//! Events: `Arrival` (the next request), `IterationDone(replica)`, `Scale` and `Ready(replica)`. A replica is
//! either idle or running exactly one iteration; when an iteration ends its tokens are applied, finished
//! requests leave, and the next iteration is planned at once. The power of a replica's GPUs changes only at
//! events; the serving part books it on the site.

use std::collections::VecDeque;

use models::inference::config::{Batching, InferenceWorkload, KvPolicy, Router, Slo};
use models::inference::perf::{BatchShape, DecodeRow, IterationCost, IterationMemo, ReplicaPerf};
use models::inference::power_cap::{GpuPowerCap, capped_iteration};
use models::inference::source::RequestStream;
use sim::{SimDuration, SimTime};

use crate::kernel::{Code, Ctx, EventCode, IoId, Signal};

/// Events of the serving model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Arrival,
    /// Replica `.0`'s iteration `.1` ends (an iteration of a replica stopped since is stale).
    IterationDone(u32, u32),
    /// An autoscaling decision.
    Scale,
    /// A warming replica starts serving.
    Ready(u32),
    /// Shared fleet: grants the initial replicas their GPUs (first event at time zero).
    Start,
}

impl EventCode for Event {
    fn encode(self) -> Code {
        let (tag, a, b) = match self {
            Event::Arrival => (0, 0, 0),
            Event::IterationDone(r, g) => (1, r, g),
            Event::Scale => (2, 0, 0),
            Event::Ready(r) => (3, r, 0),
            Event::Start => (4, 0, 0),
        };
        Code { tag, a, b }
    }
    fn decode(c: Code) -> Self {
        match c.tag {
            0 => Event::Arrival,
            1 => Event::IterationDone(c.a, c.b),
            2 => Event::Scale,
            3 => Event::Ready(c.a),
            _ => Event::Start,
        }
    }
}

/// What a replica slot is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Reserved GPUs, no model loaded (idle power).
    #[default]
    Off,
    /// Loading the model; serves from its `Ready` event.
    Warming,
    /// Takes new requests.
    Serving,
    /// Finishes the requests it has, takes no new ones, then switches off.
    Draining,
    /// Its server is down (an inference-only run's replicas stay where they were placed).
    Down,
}

/// One request's state. While it is admitted, its progress (the fields from `prefill_target` to `kv`, and
/// `first_token`) lives in its replica's running list ([`Run`]) and is written back here when it leaves it.
#[derive(Debug, Clone, Copy)]
pub struct ReqState {
    pub arrival: SimTime,
    pub prompt: u32,
    pub output: u32,
    /// Tokens to prefill before the next token: the prompt, or prompt + generated after a preemption.
    pub prefill_target: u32,
    pub prefilled: u32,
    pub generated: u32,
    /// KV-cache tokens held.
    pub kv: u32,
    pub first_admit: SimTime,
    pub first_token: SimTime,
    pub finish: SimTime,
    /// Left the system: completed, or dropped (`finish` is when).
    pub done: bool,
    /// Dropped: its replica stopped and no other replica was serving.
    pub dropped: bool,
    /// The replica it was last routed to (`u32::MAX`: none yet; parked or dropped on arrival).
    pub replica: u32,
}

const NONE: SimTime = SimTime::MAX;

/// Prefill tokens a request gets in the iteration being planned: with chunking, as many as the token budget
/// (and the free KV cache, under `PreemptRecompute`) allow; without, the whole rest or nothing — the whole rest
/// even beyond the budget when the batch is still empty (a long prompt runs alone).
fn chunk_len(
    rest: u32,
    budget: u32,
    batch_empty: bool,
    chunked: bool,
    kv_free: Option<u64>,
) -> u32 {
    let mut c = if chunked {
        rest.min(budget)
    } else if rest <= budget || batch_empty {
        rest
    } else {
        0
    };
    if let Some(free) = kv_free {
        c = c.min(free.min(u32::MAX as u64) as u32);
        if !chunked && c < rest {
            c = 0;
        }
    }
    c
}

/// An admitted request's progress, kept in its replica's running list (next to the others it is batched
/// with) while it is admitted; see [`ReqState`] for the fields.
#[derive(Debug, Clone, Copy)]
struct Run {
    id: u32,
    prompt: u32,
    output: u32,
    prefill_target: u32,
    prefilled: u32,
    generated: u32,
    kv: u32,
    done: bool,
    first_token: SimTime,
}

impl Run {
    /// Request `id` (state `q`) admitted.
    fn admit(id: u32, q: &ReqState) -> Self {
        Run {
            id,
            prompt: q.prompt,
            output: q.output,
            prefill_target: q.prefill_target,
            prefilled: q.prefilled,
            generated: q.generated,
            kv: q.kv,
            done: q.done,
            first_token: q.first_token,
        }
    }

    /// Writes the progress back to the request's state (it leaves the running list).
    fn write_back(&self, q: &mut ReqState) {
        q.prefill_target = self.prefill_target;
        q.prefilled = self.prefilled;
        q.generated = self.generated;
        q.kv = self.kv;
        q.done = self.done;
        q.first_token = self.first_token;
    }
}

/// One planned unit of work in the running iteration.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// Index in the replica's running list (unchanged while the iteration runs).
    run: u32,
    /// Prefill tokens in this iteration; 0 = a decode token.
    prefill: u32,
}

/// What a replica in a steady decode keeps in place of a pass over its requests at each iteration.
#[derive(Debug, Clone, Copy)]
struct Steady {
    /// Tokens every running request generated that are not yet in its [`Run::generated`] (written by
    /// [`ReplicaState::catch_up`] before anything reads the requests).
    pending: u32,
    /// Likewise the KV tokens every running request gained (`PreemptRecompute`: one per planned decode), not
    /// yet in its [`Run::kv`].
    kv_pending: u32,
    /// Σ over the running requests of their context (prompt + generated, pending included), tokens.
    ctx_sum: u64,
    /// The fewest tokens a running request still has to generate (pending included): the steady iterations
    /// end with the one that finishes it.
    min_left: u32,
    /// The iteration cost's parts that depend on the batch size alone.
    row: DecodeRow,
}

/// Dynamic state of one replica.
#[derive(Debug, Default)]
pub struct ReplicaState {
    waiting: VecDeque<u32>,
    /// Admitted requests in admission order, with their progress.
    running: Vec<Run>,
    batch: Vec<Slot>,
    /// The batch is a steady decode: every running request decodes one token in it, in admission order. Until a
    /// request finishes, one waits or (under `PreemptRecompute`) the KV cache fills, the next batch is the same
    /// and the iterations need no pass over the requests: see [`Steady`].
    steady: Option<Steady>,
    busy: bool,
    kv_used: u64,
    /// GPU power of the whole replica now (all its GPUs, idle included), W, and the activity factor of each of its
    /// GPUs (what the site's power model sees).
    gpu_w: f64,
    pub(crate) activity: f64,
    /// Iterations started (an `IterationDone` of an earlier one is stale after a stop).
    iter_gen: u32,
    /// Energy and time of the iteration in flight (applied when it ends).
    iter_start: SimTime,
    iter_prefill_share: f64,
    /// Clock ratio of the iteration in flight under the GPU power cap (1: not slowed), and the time the cap
    /// added to it, s.
    iter_clock_ratio: f64,
    iter_added_s: f64,
    busy_ns: u64,
    pub mode: Mode,
    /// When a warming replica is due to serve (a `Ready` event at another time is stale).
    ready_at: SimTime,
    /// The model load from the storage system in flight (its sequence number): a warming replica serves once
    /// it is done and `ready_at` has come.
    loading: Option<u32>,
}

impl ReplicaState {
    /// Ends a steady decode: writes the tokens generated in it into the running requests.
    fn catch_up(&mut self) {
        if let Some(st) = self.steady.take()
            && (st.pending > 0 || st.kv_pending > 0)
        {
            for q in &mut self.running {
                q.generated += st.pending;
                q.kv += st.kv_pending;
            }
        }
    }

    /// GPU power of the whole replica now (all its GPUs, idle included), W.
    pub fn gpu_w(&self) -> f64 {
        self.gpu_w
    }

    /// Adds the iteration in flight, from its start to `until`, to the busy time, the phase energies and the
    /// capped GPU time (`tp` GPUs).
    fn account_busy(&mut self, until: SimTime, t: &mut Tally, tp: f64) {
        let span = until.saturating_since(self.iter_start);
        self.busy_ns += span.as_nanos();
        let e = self.gpu_w * span.as_secs_f64();
        t.prefill_j += e * self.iter_prefill_share;
        t.decode_j += e * (1.0 - self.iter_prefill_share);
        if self.iter_clock_ratio < 1.0 {
            let gpu_s = tp * span.as_secs_f64();
            t.capped_gpu_s += gpu_s;
            t.capped_clock_gpu_s += self.iter_clock_ratio * gpu_s;
        }
    }
}

/// Accumulated results.
#[derive(Debug, Default)]
pub struct Tally {
    pub arrived: u64,
    pub completed: u64,
    pub preemptions: u64,
    pub recomputed_tokens: u64,
    pub prompt_tokens_done: u64,
    pub generated_tokens: u64,
    pub ttft_s: Vec<f64>,
    pub tpot_s: Vec<f64>,
    pub e2e_s: Vec<f64>,
    pub queue_wait_s: Vec<f64>,
    pub slo_met: u64,
    pub prefill_j: f64,
    pub decode_j: f64,
    pub iterations: u64,
    /// ∫ (requests in system) dt, request·ns.
    pub in_system_ns: u128,
    /// ∫ (replicas serving or draining) dt, replica·ns.
    pub serving_ns: u128,
    pub serving: u64,
    pub scale_ups: u64,
    pub scale_downs: u64,
    pub in_system: u64,
    pub last: SimTime,
    /// Under a GPU power cap: finished iterations slowed by it, the time it added to them (s), ∫ GPUs of
    /// capped iterations dt (GPU·s, in-flight iterations to the horizon) and ∫ r · GPUs dt over them, and the
    /// highest power one replica GPU drew (W).
    pub capped_iterations: u64,
    pub capped_added_s: f64,
    pub capped_gpu_s: f64,
    pub capped_clock_gpu_s: f64,
    pub peak_gpu_w: f64,
    /// Requests moved to another replica because theirs stopped (server down), and requests dropped because
    /// no replica served.
    pub rerouted: u64,
    pub dropped: u64,
    /// Headroom, over started iterations weighted by their duration (ns): Σ dt, Σ (batch tokens ÷ token budget)·dt,
    /// Σ (requests ÷ request limit)·dt, Σ (KV tokens used ÷ capacity)·dt, and the largest token-budget and KV
    /// occupancy seen.
    pub iter_ns: f64,
    pub budget_ns: f64,
    pub requests_ns: f64,
    pub kv_ns: f64,
    pub budget_max: f64,
    pub kv_max: f64,
}

/// The serving model's state.
pub struct Fleet {
    pub replicas: Vec<ReplicaState>,
    pub reqs: Vec<ReqState>,
    pub perf: ReplicaPerf,
    /// The iteration costs' parts that depend on token counts alone, priced once ([`IterationMemo`]).
    memo: IterationMemo,
    pub batching: Batching,
    pub router: Router,
    pub slo: Slo,
    pub source: RequestStream,
    pub horizon: SimTime,
    pub autoscaling: Option<models::inference::config::Autoscaling>,
    /// Busy and serving integrals at the last scaling decision (for the interval's utilisation).
    last_busy_ns: u64,
    last_serving_ns: u128,
    rr_next: u32,
    /// Per replica slot: its outstanding requests (waiting and in service) while it serves, `u32::MAX` otherwise
    /// — what the least-outstanding router compares, kept apart so that a route reads 4 bytes a replica
    /// ([`Self::refresh_load`] after every change of a replica's mode or requests).
    loads: Vec<u32>,
    /// Idle power of a replica's GPUs (all of them), W, and the span to full board power.
    gpu_idle_w: f64,
    gpu_span_w: f64,
    pub tally: Tally,
    /// Shared fleet only (docs/models.md §Shared fleet): slot switch-ons (`true`) and switch-offs (`false`)
    /// since the last drain, for the cluster to grant or take back GPUs. A warming slot's `Ready` is then
    /// scheduled when its GPUs are granted.
    pub claims: Option<Vec<(u32, bool)>>,
    /// Per replica: the power limit of its GPUs (the lowest of them) as a DVFS cap; None: unlimited. Iterations
    /// stretch and draw at most the cap ([`capped_iteration`]).
    pub caps: Vec<Option<GpuPowerCap>>,
    /// Replicas whose GPU activity changed since the serving part last booked it on the site.
    pub power_dirty: Vec<u32>,
    /// Change of busy replicas since the serving part last booked it.
    pub busy_delta: i64,
    /// Autoscaling: the decision interval and a new replica's warm-up.
    pub scale_every: SimDuration,
    pub warmup: SimDuration,
    /// Requests that arrived (or lost their replica) while no replica served but one was warming up: they go to
    /// the first replica that serves.
    parked: VecDeque<u32>,
    /// GPUs per replica.
    tp: f64,
    /// With a storage system: the model's weights, B, loaded through it whenever a replica warms up or comes
    /// back after its server was down; and the loads started.
    pub model_load: Option<f64>,
    load_seq: u32,
}

impl Fleet {
    /// A fleet of idle replicas on `tp` GPUs each (idle power `tp_gpu_idle_w`, full board power
    /// `tp_gpu_board_w`, W for all of them).
    pub fn new(
        w: &InferenceWorkload,
        perf: ReplicaPerf,
        source: RequestStream,
        horizon: SimTime,
        tp_gpu_idle_w: f64,
        tp_gpu_board_w: f64,
    ) -> Self {
        let n = w.replica_slots() as usize;
        let initial = w.deployment.replicas as usize;
        let replicas: Vec<ReplicaState> = (0..n)
            .map(|i| ReplicaState {
                gpu_w: tp_gpu_idle_w,
                mode: if i < initial {
                    Mode::Serving
                } else {
                    Mode::Off
                },
                ..ReplicaState::default()
            })
            .collect();
        Fleet {
            replicas,
            reqs: Vec::new(),
            perf,
            memo: IterationMemo::new(),
            batching: w.batching,
            router: w.router,
            slo: w.slo,
            source,
            horizon,
            autoscaling: w.autoscaling,
            last_busy_ns: 0,
            last_serving_ns: 0,
            rr_next: 0,
            loads: (0..n)
                .map(|i| if i < initial { 0 } else { u32::MAX })
                .collect(),
            gpu_idle_w: tp_gpu_idle_w,
            gpu_span_w: tp_gpu_board_w - tp_gpu_idle_w,
            tally: Tally {
                serving: initial as u64,
                ..Tally::default()
            },
            claims: None,
            caps: vec![None; n],
            power_dirty: Vec::new(),
            busy_delta: 0,
            scale_every: SimDuration::MAX,
            warmup: SimDuration::ZERO,
            parked: VecDeque::new(),
            tp: w.deployment.tp as f64,
            model_load: None,
            load_seq: 0,
        }
    }

    /// Starts loading replica `r`'s model through the storage system (when there is one).
    pub fn start_load(&mut self, ctx: &mut Ctx<'_, '_>, r: usize) {
        let Some(bytes) = self.model_load else { return };
        self.load_seq = self.load_seq.wrapping_add(1);
        let seq = self.load_seq;
        self.replicas[r].loading = Some(seq);
        ctx.emit(Signal::IoStart {
            io: IoId {
                part: ctx.part(),
                key: (r as u64) << 32 | seq as u64,
            },
            bytes,
            write: false,
            servers: 1,
        });
    }

    /// Replica `r` no longer loads its model (stopped, or its warm-up cancelled).
    fn cancel_load(&mut self, ctx: &mut Ctx<'_, '_>, r: usize) {
        if let Some(seq) = self.replicas[r].loading.take() {
            ctx.emit(Signal::IoCancel {
                io: IoId {
                    part: ctx.part(),
                    key: (r as u64) << 32 | seq as u64,
                },
            });
        }
    }

    /// The model load with key `key` ended: its replica serves if its warm-up is over too.
    pub fn load_done(&mut self, ctx: &mut Ctx<'_, '_>, key: u64) {
        let (r, seq) = ((key >> 32) as usize, key as u32);
        let now = ctx.now();
        let Some(rep) = self.replicas.get_mut(r) else {
            return;
        };
        if rep.loading != Some(seq) {
            return;
        }
        rep.loading = None;
        if rep.mode == Mode::Warming && now >= rep.ready_at {
            self.advance(now);
            self.become_ready(ctx, r);
        }
    }

    /// Warming replica `r` serves from now.
    fn become_ready(&mut self, ctx: &mut Ctx<'_, '_>, r: usize) {
        self.set_mode(r, Mode::Serving);
        self.tally.serving += 1;
        self.unpark(ctx);
    }

    /// Brings the integrals up to `now`.
    pub fn advance(&mut self, now: SimTime) {
        let t = &mut self.tally;
        let dt = (now - t.last).as_nanos() as u128;
        t.in_system_ns += t.in_system as u128 * dt;
        t.serving_ns += t.serving as u128 * dt;
        t.last = now;
    }

    /// Replica `r`'s GPUs now draw `gpu_w` in all at activity `activity` (each GPU `P_idle + a·(P_board −
    /// P_idle)` before its limit).
    fn set_replica_power(&mut self, r: usize, gpu_w: f64, activity: f64) {
        let rep = &mut self.replicas[r];
        if rep.activity != activity || rep.gpu_w != gpu_w {
            rep.activity = activity;
            rep.gpu_w = gpu_w;
            self.power_dirty.push(r as u32);
        }
    }

    /// Replica `r` is in mode `mode` now.
    fn set_mode(&mut self, r: usize, mode: Mode) {
        self.replicas[r].mode = mode;
        self.refresh_load(r);
    }

    /// Brings replica `r`'s entry in `loads` up to date.
    fn refresh_load(&mut self, r: usize) {
        let rep = &self.replicas[r];
        self.loads[r] = if rep.mode == Mode::Serving {
            (rep.waiting.len() + rep.running.len()) as u32
        } else {
            u32::MAX
        };
    }

    /// The serving replica for a new request; None when no replica serves (every one is down).
    fn route(&mut self) -> Option<usize> {
        let n = self.replicas.len();
        let serving = |i: &usize| self.replicas[*i].mode == Mode::Serving;
        match self.router {
            Router::RoundRobin => {
                let start = self.rr_next as usize;
                let r = (0..n).map(|k| (start + k) % n).find(serving)?;
                self.rr_next = ((r + 1) % n) as u32;
                Some(r)
            }
            Router::LeastOutstanding => {
                debug_assert!((0..n).all(|i| self.loads[i]
                    == if serving(&i) {
                        (self.replicas[i].waiting.len() + self.replicas[i].running.len()) as u32
                    } else {
                        u32::MAX
                    }));
                // The first of the least loaded, as a scan of the serving replicas finds it.
                let (i, &load) = self.loads.iter().enumerate().min_by_key(|&(_, l)| *l)?;
                (load != u32::MAX).then_some(i)
            }
            Router::JoinShortestQueue => (0..n)
                .filter(serving)
                .min_by_key(|&i| self.replicas[i].waiting.len()),
        }
    }

    /// Total busy time of all replicas up to `now`, ns (iterations in flight counted so far).
    fn busy_ns_at(&self, now: SimTime) -> u64 {
        self.replicas
            .iter()
            .map(|r| {
                r.busy_ns
                    + if r.busy {
                        now.saturating_since(r.iter_start).as_nanos()
                    } else {
                        0
                    }
            })
            .sum()
    }

    /// An autoscaling decision at `now`.
    fn scale(&mut self, now: SimTime, ctx: &mut Ctx<'_, '_>) {
        use models::inference::config::ScalingPolicy;
        let Some(a) = self.autoscaling else { return };
        let busy = self.busy_ns_at(now);
        let serving_ns = self.tally.serving_ns;
        let d_busy = (busy - self.last_busy_ns) as f64;
        let d_serving = (serving_ns - self.last_serving_ns) as f64;
        self.last_busy_ns = busy;
        self.last_serving_ns = serving_ns;
        let live = self
            .replicas
            .iter()
            .filter(|r| matches!(r.mode, Mode::Serving | Mode::Warming))
            .count() as u32;
        let desired = match a.policy {
            ScalingPolicy::TargetUtilization { target } => {
                let util = if d_serving > 0.0 {
                    d_busy / d_serving
                } else {
                    0.0
                };
                (live as f64 * util / target).ceil() as u32
            }
            ScalingPolicy::QueueLength { per_replica } => {
                let outstanding: usize = self
                    .replicas
                    .iter()
                    .map(|r| r.waiting.len() + r.running.len())
                    .sum();
                (outstanding as f64 / per_replica).ceil() as u32
            }
        }
        .clamp(a.min_replicas, a.max_replicas);
        if desired > live {
            for _ in live..desired {
                // Revive a draining replica at once, else warm up the lowest switched-off slot.
                if let Some(r) = self.replicas.iter().position(|r| r.mode == Mode::Draining) {
                    self.set_mode(r, Mode::Serving);
                } else if let Some(i) = self.replicas.iter().position(|r| r.mode == Mode::Off) {
                    self.set_mode(i, Mode::Warming);
                    if let Some(c) = &mut self.claims {
                        c.push((i as u32, true));
                        self.replicas[i].ready_at = SimTime::MAX;
                    } else {
                        let at = now.saturating_add(self.warmup);
                        self.replicas[i].ready_at = at;
                        ctx.at(at, Event::Ready(i as u32));
                        self.start_load(ctx, i);
                    }
                }
                self.tally.scale_ups += 1;
            }
        } else if desired < live {
            for _ in desired..live {
                // Cancel a warm-up first (its `Ready` event goes stale), else retire the highest-index serving
                // replica (at least `desired ≥ 1` keep serving).
                if let Some(i) = self.replicas.iter().rposition(|r| r.mode == Mode::Warming) {
                    self.set_mode(i, Mode::Off);
                    self.cancel_load(ctx, i);
                    if let Some(c) = &mut self.claims {
                        c.push((i as u32, false));
                    }
                    self.tally.scale_downs += 1;
                    continue;
                }
                let Some(i) = self.replicas.iter().rposition(|r| r.mode == Mode::Serving) else {
                    break;
                };
                let idle = !self.replicas[i].busy;
                self.set_mode(i, if idle { Mode::Off } else { Mode::Draining });
                if idle {
                    self.tally.serving -= 1;
                    if let Some(c) = &mut self.claims {
                        c.push((i as u32, false));
                    }
                }
                self.tally.scale_downs += 1;
            }
        }
        let next = now.saturating_add(self.scale_every);
        if next <= self.horizon {
            ctx.at(next, Event::Scale);
        }
    }

    /// Plans and starts the next iteration of replica `r` at `now`; leaves it idle when there is nothing to do.
    fn start_iteration(&mut self, r: usize, now: SimTime, ctx: &mut Ctx<'_, '_>) {
        if let Some((shape, cost)) = self.steady_plan(r) {
            self.launch(r, now, &shape, &cost, ctx);
            return;
        }
        self.replicas[r].catch_up();
        if self.batching.kv_policy == KvPolicy::PreemptRecompute {
            self.make_kv_room(r);
        }
        let shape = self.plan_batch(r, now);
        if shape.is_empty() {
            self.go_idle(r);
        } else {
            let cost = self.perf.iteration_memo(&shape, &mut self.memo);
            self.launch(r, now, &shape, &cost, ctx);
        }
    }

    /// Replica `r`'s next iteration when it repeats its steady batch (no request finished, none waits to be
    /// admitted and, under `PreemptRecompute`, the KV cache holds one more token each so none is preempted):
    /// what [`Self::make_kv_room`] and [`Self::plan_batch`] would do, without a pass over the requests.
    fn steady_plan(&mut self, r: usize) -> Option<(BatchShape, IterationCost)> {
        let recompute = self.batching.kv_policy == KvPolicy::PreemptRecompute;
        let cap = self.perf.kv_capacity_tokens;
        let rep = &mut self.replicas[r];
        let n = rep.batch.len() as u64;
        if !rep.waiting.is_empty() || (recompute && rep.kv_used + n > cap) {
            return None;
        }
        let st = rep.steady.as_mut()?;
        if recompute {
            st.kv_pending += 1;
            rep.kv_used += n;
        }
        let mut shape = BatchShape::default();
        shape.add_decodes(n, st.ctx_sum);
        Some((shape, self.perf.decode_iteration(&st.row, st.ctx_sum)))
    }

    /// Under `PreemptRecompute`: makes room for one new KV token per decoding request by preempting the most
    /// recently admitted requests (vLLM's policy), which go back to the head of the queue.
    fn make_kv_room(&mut self, r: usize) {
        let cap = self.perf.kv_capacity_tokens;
        let max_req = self.batching.max_batch_requests as usize;
        let budget = self.batching.max_batch_tokens;
        let rep = &mut self.replicas[r];
        // At most one new token per admitted request: room for all of them needs no count.
        if rep.kv_used + rep.running.len() as u64 <= cap {
            return;
        }
        let reqs = &mut self.reqs;
        loop {
            let decoding = rep
                .running
                .iter()
                .take(max_req)
                .filter(|q| q.prefilled == q.prefill_target)
                .count()
                .min(budget as usize) as u64;
            if rep.kv_used + decoding <= cap {
                break;
            }
            let mut q = rep
                .running
                .pop()
                .expect("kv in use implies running requests");
            rep.kv_used -= q.kv as u64;
            self.tally.preemptions += 1;
            self.tally.recomputed_tokens += q.kv as u64;
            q.kv = 0;
            q.prefilled = 0;
            q.prefill_target = q.prompt + q.generated;
            q.write_back(&mut reqs[q.id as usize]);
            rep.waiting.push_front(q.id);
        }
    }

    /// The batch of replica `r`'s next iteration (into its `batch`): decode tokens and unfinished prefills of
    /// admitted requests in admission order, then waiting requests admitted while the token budget, the batch
    /// size and the KV cache allow (FIFO: the head blocks the rest).
    fn plan_batch(&mut self, r: usize, now: SimTime) -> BatchShape {
        let cap = self.perf.kv_capacity_tokens;
        let max_req = self.batching.max_batch_requests as usize;
        let chunked = self.batching.chunked_prefill;
        let recompute = self.batching.kv_policy == KvPolicy::PreemptRecompute;
        let mut budget = self.batching.max_batch_tokens;
        let rep = &mut self.replicas[r];
        let reqs = &mut self.reqs;
        rep.batch.clear();
        let mut shape = BatchShape::default();
        // Decode tokens and their Σ context, added at once (integers: the same sum in any order), and the fewest
        // tokens a decoding request has left.
        let (mut decodes, mut decode_ctx) = (0u64, 0u64);
        let mut min_left = u32::MAX;
        for (j, q) in rep.running.iter_mut().enumerate() {
            if rep.batch.len() >= max_req || budget == 0 {
                break;
            }
            if q.prefilled == q.prefill_target {
                decodes += 1;
                decode_ctx += (q.prompt + q.generated) as u64;
                min_left = min_left.min(q.output.saturating_sub(q.generated));
                rep.batch.push(Slot {
                    run: j as u32,
                    prefill: 0,
                });
                budget -= 1;
                if recompute {
                    q.kv += 1;
                    rep.kv_used += 1;
                }
            } else {
                let rest = q.prefill_target - q.prefilled;
                let kv_free = recompute.then(|| cap - rep.kv_used);
                let c = chunk_len(rest, budget, rep.batch.is_empty(), chunked, kv_free);
                if c > 0 {
                    shape.add_prefill(q.prefilled as u64, c as u64);
                    rep.batch.push(Slot {
                        run: j as u32,
                        prefill: c,
                    });
                    budget = budget.saturating_sub(c);
                    if recompute {
                        q.kv += c;
                        rep.kv_used += c as u64;
                    }
                }
            }
        }
        while rep.batch.len() < max_req && budget > 0 {
            let Some(&i) = rep.waiting.front() else { break };
            let q = reqs[i as usize];
            let reserve = match self.batching.kv_policy {
                KvPolicy::ReserveFull => (q.prompt + q.output) as u64,
                KvPolicy::PreemptRecompute => 0,
            };
            let rest = q.prefill_target - q.prefilled;
            let free = cap - rep.kv_used - reserve.min(cap - rep.kv_used);
            if rep.kv_used + reserve > cap {
                break;
            }
            let c = chunk_len(
                rest,
                budget,
                rep.batch.is_empty(),
                chunked,
                recompute.then_some(free),
            );
            if c == 0 {
                break;
            }
            rep.waiting.pop_front();
            let s = &mut reqs[i as usize];
            if s.first_admit == NONE {
                s.first_admit = now;
            }
            let mut q = Run::admit(i, s);
            q.kv += reserve as u32;
            rep.kv_used += reserve;
            shape.add_prefill(q.prefilled as u64, c as u64);
            rep.batch.push(Slot {
                run: rep.running.len() as u32,
                prefill: c,
            });
            budget = budget.saturating_sub(c);
            if recompute {
                q.kv += c;
                rep.kv_used += c as u64;
            }
            rep.running.push(q);
        }
        shape.add_decodes(decodes, decode_ctx);
        let all_decode = decodes > 0 && decodes as usize == rep.batch.len();
        rep.steady = (all_decode && rep.batch.len() == rep.running.len()).then(|| Steady {
            pending: 0,
            kv_pending: 0,
            ctx_sum: decode_ctx,
            min_left,
            row: self.perf.decode_row(decodes, &mut self.memo),
        });
        shape
    }

    /// Replica `r` has nothing to do: it idles (a draining replica switches off).
    fn go_idle(&mut self, r: usize) {
        let rep = &mut self.replicas[r];
        if rep.busy {
            rep.busy = false;
            self.busy_delta -= 1;
        }
        if rep.mode == Mode::Draining {
            self.set_mode(r, Mode::Off);
            self.tally.serving -= 1;
            if let Some(c) = &mut self.claims {
                c.push((r as u32, false));
            }
        }
        let idle = self.gpu_idle_w;
        self.set_replica_power(r, idle, 0.0);
    }

    /// Starts replica `r`'s iteration of `shape` (costing `cost` unhindered) at `now`: stretched and capped
    /// under its GPUs' power limit; its end scheduled.
    fn launch(
        &mut self,
        r: usize,
        now: SimTime,
        shape: &BatchShape,
        cost: &IterationCost,
        ctx: &mut Ctx<'_, '_>,
    ) {
        let mut total_s = cost.total_s;
        let mut p = self.gpu_idle_w + cost.activity * self.gpu_span_w;
        let mut clock_ratio = 1.0;
        if let Some(c) = &self.caps[r] {
            let k = capped_iteration(cost, c);
            self.tally.peak_gpu_w = self.tally.peak_gpu_w.max(k.gpu_w);
            if k.clock_ratio < 1.0 {
                total_s = k.total_s;
                clock_ratio = k.clock_ratio;
                // Every GPU at the cap.
                p = self.tp * k.gpu_w;
            }
        }
        let dt = SimDuration::from_secs_f64(total_s)
            .expect("finite iteration time: limits stay above static power")
            .max(SimDuration::from_nanos(1));
        let rep = &mut self.replicas[r];
        // Headroom: how full this iteration's batch and the replica's KV cache are, weighted by its duration.
        let t = &mut self.tally;
        let w = dt.as_nanos() as f64;
        let budget = (shape.prefill_tokens + shape.decode_tokens) as f64
            / self.batching.max_batch_tokens as f64;
        let kv = rep.kv_used as f64 / self.perf.kv_capacity_tokens.max(1) as f64;
        t.iter_ns += w;
        t.budget_ns += budget * w;
        t.requests_ns += rep.batch.len() as f64 / self.batching.max_batch_requests as f64 * w;
        t.kv_ns += kv * w;
        t.budget_max = t.budget_max.max(budget);
        t.kv_max = t.kv_max.max(kv);
        if !rep.busy {
            rep.busy = true;
            self.busy_delta += 1;
        }
        rep.iter_gen = rep.iter_gen.wrapping_add(1);
        let generation = rep.iter_gen;
        rep.iter_start = now;
        rep.iter_prefill_share = cost.prefill_share;
        rep.iter_clock_ratio = clock_ratio;
        rep.iter_added_s = total_s - cost.total_s;
        self.set_replica_power(r, p, cost.activity);
        ctx.at(
            now.saturating_add(dt),
            Event::IterationDone(r as u32, generation),
        );
    }

    /// Applies the tokens of replica `r`'s finished iteration and starts the next one.
    fn finish_iteration(&mut self, r: usize, now: SimTime, ctx: &mut Ctx<'_, '_>) {
        let t = &mut self.tally;
        let rep = &mut self.replicas[r];
        rep.account_busy(now, t, self.tp);
        t.iterations += 1;
        if rep.iter_clock_ratio < 1.0 {
            t.capped_iterations += 1;
            t.capped_added_s += rep.iter_added_s;
        }
        if let Some(st) = rep.steady.as_mut().filter(|st| st.min_left > 1) {
            // A steady decode in which no request finishes: one more token each, written later.
            let n = rep.batch.len() as u64;
            st.pending += 1;
            st.ctx_sum += n;
            st.min_left -= 1;
            t.generated_tokens += n;
            self.start_iteration(r, now, ctx);
            return;
        }
        rep.catch_up();
        let mut any_done = false;
        for s in &rep.batch {
            let q = &mut rep.running[s.run as usize];
            let produced = if s.prefill > 0 {
                q.prefilled += s.prefill;
                t.prompt_tokens_done += s.prefill as u64;
                q.prefilled == q.prefill_target
            } else {
                true
            };
            if !produced {
                continue;
            }
            q.generated += 1;
            t.generated_tokens += 1;
            if q.first_token == NONE {
                q.first_token = now;
            }
            if q.generated >= q.output {
                q.done = true;
                any_done = true;
                rep.kv_used -= q.kv as u64;
                q.kv = 0;
                let st = &mut self.reqs[q.id as usize];
                q.write_back(st);
                st.finish = now;
                let q = *st;
                t.completed += 1;
                t.in_system -= 1;
                let ttft = (q.first_token - q.arrival).as_secs_f64();
                let e2e = (now - q.arrival).as_secs_f64();
                t.ttft_s.push(ttft);
                t.e2e_s.push(e2e);
                t.queue_wait_s
                    .push((q.first_admit - q.arrival).as_secs_f64());
                let tpot = if q.output > 1 {
                    let v = (now - q.first_token).as_secs_f64() / (q.output - 1) as f64;
                    t.tpot_s.push(v);
                    v
                } else {
                    0.0
                };
                if ttft <= self.slo.ttft_s && tpot <= self.slo.tpot_s {
                    t.slo_met += 1;
                }
            }
        }
        if any_done {
            rep.running.retain(|q| !q.done);
            self.refresh_load(r);
        }
        self.start_iteration(r, now, ctx);
    }
}

impl Fleet {
    /// Handles one of the serving model's events.
    pub fn handle(&mut self, ctx: &mut Ctx<'_, '_>, ev: Event) {
        let now = ctx.now();
        self.advance(now);
        match ev {
            Event::Arrival => self.arrival(ctx),
            Event::IterationDone(r, generation) => {
                let rep = &self.replicas[r as usize];
                if rep.busy && rep.iter_gen == generation {
                    self.finish_iteration(r as usize, now, ctx);
                }
            }
            Event::Scale => self.scale(now, ctx),
            Event::Ready(r) => {
                let rep = &self.replicas[r as usize];
                if rep.mode == Mode::Warming && rep.ready_at == now && rep.loading.is_none() {
                    self.become_ready(ctx, r as usize);
                }
            }
            Event::Start => {}
        }
    }

    /// The next request arrives: it joins the queue of the replica the router picks, or is dropped when no
    /// replica serves.
    fn arrival(&mut self, ctx: &mut Ctx<'_, '_>) {
        let now = ctx.now();
        let Some(r) = self.source.next_request() else {
            return;
        };
        if let Some(t) = self.source.peek_arrival().filter(|&t| t <= self.horizon) {
            ctx.at(t.max(now), Event::Arrival);
        }
        let id = self.reqs.len() as u32;
        self.reqs.push(ReqState {
            arrival: now,
            prompt: r.prompt_tokens,
            output: r.output_tokens,
            prefill_target: r.prompt_tokens,
            prefilled: 0,
            generated: 0,
            kv: 0,
            first_admit: NONE,
            first_token: NONE,
            finish: NONE,
            done: false,
            dropped: false,
            replica: u32::MAX,
        });
        self.tally.arrived += 1;
        self.tally.in_system += 1;
        self.enqueue(ctx, id);
    }

    /// Routes request `id` to a serving replica (starting it if idle) and returns true; parks it when none
    /// serves but one is warming up; drops it when none is either.
    fn enqueue(&mut self, ctx: &mut Ctx<'_, '_>, id: u32) -> bool {
        let now = ctx.now();
        let Some(rep) = self.route() else {
            if self.replicas.iter().any(|r| r.mode == Mode::Warming) {
                self.parked.push_back(id);
                return true;
            }
            let q = &mut self.reqs[id as usize];
            q.done = true;
            q.dropped = true;
            q.finish = now;
            self.tally.in_system -= 1;
            self.tally.dropped += 1;
            return false;
        };
        self.reqs[id as usize].replica = rep as u32;
        self.replicas[rep].waiting.push_back(id);
        self.refresh_load(rep);
        if !self.replicas[rep].busy {
            self.start_iteration(rep, now, ctx);
        }
        true
    }

    /// Replicas `rs` stop at once (their servers went down): the iterations in flight are lost, their KV caches
    /// are gone, and their requests go to the replicas still serving (they prefill again what they had) or are
    /// parked or dropped when none serves. The replicas are left in mode `then`: `Down` (inference-only runs),
    /// `Off` (shared fleet: their GPUs go back) or `Warming` (shared fleet: a replacement is claimed at once).
    pub fn stop_replicas(&mut self, ctx: &mut Ctx<'_, '_>, rs: &[usize], then: Mode) {
        let now = ctx.now();
        self.advance(now);
        let mut orphans: Vec<u32> = Vec::new();
        for &r in rs {
            self.cancel_load(ctx, r);
            let rep = &mut self.replicas[r];
            if rep.busy {
                rep.account_busy(now, &mut self.tally, self.tp);
                rep.busy = false;
                self.busy_delta -= 1;
            }
            rep.iter_gen = rep.iter_gen.wrapping_add(1);
            rep.catch_up();
            rep.batch.clear();
            rep.kv_used = 0;
            if matches!(rep.mode, Mode::Serving | Mode::Draining) {
                self.tally.serving -= 1;
            }
            rep.mode = then;
            rep.ready_at = SimTime::MAX;
            for q in rep.running.drain(..) {
                q.write_back(&mut self.reqs[q.id as usize]);
                orphans.push(q.id);
            }
            orphans.extend(rep.waiting.drain(..));
            let idle = self.gpu_idle_w;
            self.set_replica_power(r, idle, 0.0);
            self.refresh_load(r);
        }
        for id in orphans {
            let q = &mut self.reqs[id as usize];
            self.tally.recomputed_tokens += q.prefilled as u64;
            q.kv = 0;
            q.prefilled = 0;
            q.prefill_target = q.prompt + q.generated;
            if self.enqueue(ctx, id) {
                self.tally.rerouted += 1;
            }
        }
    }

    /// A `Down` replica's server is back: it serves again at once, or — with a storage system — once it has
    /// loaded its model again.
    pub fn restart_replica(&mut self, ctx: &mut Ctx<'_, '_>, r: usize) {
        if self.replicas[r].mode != Mode::Down {
            return;
        }
        let now = ctx.now();
        self.advance(now);
        if self.model_load.is_some() {
            self.set_mode(r, Mode::Warming);
            self.replicas[r].ready_at = now;
            self.start_load(ctx, r);
        } else {
            self.become_ready(ctx, r);
        }
    }

    /// A replica serves again: parked requests go to the serving replicas, in arrival order.
    fn unpark(&mut self, ctx: &mut Ctx<'_, '_>) {
        while let Some(id) = self.parked.pop_front() {
            self.enqueue(ctx, id);
        }
    }
}

/// Counts at the end of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EndCounts {
    pub in_service: u64,
    pub queued: u64,
    pub busy_replicas: u64,
}

impl Fleet {
    /// Requests admitted (in service) and waiting now, and replicas iterating.
    /// Requests in a running batch now, by id.
    pub fn in_service_ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.replicas
            .iter()
            .flat_map(|r| r.running.iter().map(|q| q.id))
    }

    pub fn counts(&self) -> EndCounts {
        let mut c = EndCounts::default();
        for r in &self.replicas {
            c.in_service += r.running.len() as u64;
            c.queued += r.waiting.len() as u64;
            c.busy_replicas += r.busy as u64;
        }
        c.queued += self.parked.len() as u64;
        c
    }

    /// Closes the books at the horizon: the energy of iterations still in flight is split pro rata.
    pub fn close(&mut self, horizon: SimTime) {
        self.advance(horizon);
        for rep in &mut self.replicas {
            if rep.busy {
                rep.account_busy(horizon, &mut self.tally, self.tp);
            }
        }
    }

    /// Shared fleet: slot `r`'s GPUs were granted at `now`. A warming slot becomes ready `warmup` later
    /// (returned: schedule its `Ready`).
    pub fn granted(&mut self, r: usize, now: SimTime, warmup: SimDuration) -> Option<SimTime> {
        let rep = &mut self.replicas[r];
        (rep.mode == Mode::Warming).then(|| {
            rep.ready_at = now.saturating_add(warmup);
            rep.ready_at
        })
    }

    /// Σ busy time of all replicas, s.
    pub fn busy_replica_s(&self) -> f64 {
        self.replicas.iter().map(|r| r.busy_ns as f64 * 1e-9).sum()
    }
}
