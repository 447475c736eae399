//! Collectives on the fabric: each collective is lowered to **phases** — a set of concurrent
//! point-to-point flows repeated for a number of lockstep **steps** — and each phase is timed with
//! the max-min flow model.
//!
//! Lowering (`p` ranks, `S` bytes as nccl-tests defines them):
//! - ring all-reduce: a ring laid along the topology ([`ring_order`]: scale-up domains in turn, by rail inside
//!   each, every other domain reversed), `2(p−1)` steps of `S/p` bytes;
//! - ring reduce-scatter / all-gather: the same ring, `p−1` steps of `S/p`;
//! - tree all-reduce (NCCL double binary tree, Sanders et al. 2009): tree 1 is the binary heap on
//!   ranks (`parent(i) = ⌊(i−1)/2⌋`), tree 2 the same on ranks shifted by one; a reduce phase
//!   (child → parent) and a broadcast phase (parent → child), `S/2` bytes per tree edge, each phase
//!   paying `⌈log2 p⌉` step latencies (pipelined) — `T ≈ 2⌈log2 p⌉·α + transfer`;
//! - hierarchical all-reduce over `n` domains with `g` members each: ring reduce-scatter inside each
//!   domain (`g−1` steps of `S/g`), `g` concurrent inter-domain ring all-reduces of `S/g`
//!   (`2(n−1)` steps of `S/(g·n)`), ring all-gather inside each domain; groups that are not `g`
//!   members in each of `n ≥ 2` domains (`g ≥ 2`) fall back to a flat ring;
//! - all-to-all: every rank sends `S/p` to every other rank, one step;
//! - point-to-point (pipeline): rank `i` sends `S` to rank `i+1` for `i < p−1`, one step.
//!
//! **Step time** of a phase = `m·α + transfer`, where `α` is the largest route latency among the
//! phase's flows, `m` the latency multiplier (1, or `⌈log2 p⌉` for tree phases) and `transfer` the
//! time until the last flow of the step finishes when all start together (flows that finish early
//! free bandwidth for the rest). A phase takes `steps × step time`; a collective the sum of its
//! phases. Several groups of one job (e.g. all data-parallel rings) run their phases concurrently.
//!
//! **Aggregation**: all steps of a phase carry the same flow set, so [`Timing::Aggregated`] times
//! one step and multiplies by `steps` — one max-min solve per completion batch of one step instead
//! of one per step (`2(p−1)` for a ring). [`Timing::Full`] simulates every step's flows; the tests
//! check that both give the same times (`tests/integration/network.rs`, 256 GPUs).

use super::flows::{FlowId, FlowSim};
use super::topology::Topology;

/// All-reduce algorithms, collective kinds.
pub use super::config::AllReduceAlgo;

/// A collective operation kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectiveKind {
    AllReduce(AllReduceAlgo),
    ReduceScatter,
    AllGather,
    AllToAll,
    /// Pipeline send: rank `i` → rank `i+1`.
    P2p,
}

impl CollectiveKind {
    /// The nccl-tests kind (for bus bandwidth).
    pub fn nccl(self) -> crate::training::cost::Collective {
        use crate::training::cost::Collective as C;
        match self {
            CollectiveKind::AllReduce(_) => C::AllReduce,
            CollectiveKind::ReduceScatter => C::ReduceScatter,
            CollectiveKind::AllGather => C::AllGather,
            CollectiveKind::AllToAll => C::AllToAll,
            CollectiveKind::P2p => C::SendRecv,
        }
    }
}

/// One flow of a phase step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhaseFlow {
    pub src: u32,
    pub dst: u32,
    pub bytes: f64,
}

/// Concurrent flows repeated `steps` times.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Phase {
    pub flows: Vec<PhaseFlow>,
    pub steps: u32,
    /// Step latencies paid per step (1; `⌈log2 p⌉` for pipelined tree phases).
    pub alpha_mult: u32,
}

/// How a phase is timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// Time one step, multiply by the step count.
    Aggregated,
    /// Simulate every step's flows.
    Full,
}

fn ceil_log2(p: usize) -> u32 {
    if p <= 1 {
        0
    } else {
        usize::BITS - (p - 1).leading_zeros()
    }
}

fn ring(members: &[u32], bytes: f64, out: &mut Vec<PhaseFlow>) {
    let p = members.len();
    if p < 2 {
        return;
    }
    for i in 0..p {
        out.push(PhaseFlow {
            src: members[i],
            dst: members[(i + 1) % p],
            bytes,
        });
    }
}

/// Lowers one group's collective into phases (`groups` in rank order, global GPU ids).
pub fn lower_group(topo: &Topology, kind: CollectiveKind, bytes: f64, group: &[u32]) -> Vec<Phase> {
    let p = group.len();
    if p < 2 || bytes <= 0.0 {
        return Vec::new();
    }
    let pf = p as f64;
    let one = |flows: Vec<PhaseFlow>, steps: u32, alpha_mult: u32| Phase {
        flows,
        steps,
        alpha_mult,
    };
    let mut flows = Vec::new();
    match kind {
        CollectiveKind::AllReduce(AllReduceAlgo::Ring) => {
            ring(&ring_order(topo, group), bytes / pf, &mut flows);
            vec![one(flows, 2 * (p as u32 - 1), 1)]
        }
        CollectiveKind::ReduceScatter | CollectiveKind::AllGather => {
            ring(&ring_order(topo, group), bytes / pf, &mut flows);
            vec![one(flows, p as u32 - 1, 1)]
        }
        CollectiveKind::AllReduce(AllReduceAlgo::Tree) => {
            let depth = ceil_log2(p);
            let mut up = Vec::with_capacity(2 * p);
            for shift in [0usize, 1] {
                for i in 1..p {
                    let child = group[(i + shift) % p];
                    let parent = group[((i - 1) / 2 + shift) % p];
                    up.push(PhaseFlow {
                        src: child,
                        dst: parent,
                        bytes: bytes / 2.0,
                    });
                }
            }
            let down = up
                .iter()
                .map(|f| PhaseFlow {
                    src: f.dst,
                    dst: f.src,
                    bytes: f.bytes,
                })
                .collect();
            vec![one(up, 1, depth), one(down, 1, depth)]
        }
        CollectiveKind::AllReduce(AllReduceAlgo::Hierarchical) => match domains_of(topo, group) {
            Some(domains) => {
                let (n, g) = (domains.len(), domains[0].len());
                let mut intra = Vec::with_capacity(p);
                for d in &domains {
                    ring(d, bytes / g as f64, &mut intra);
                }
                let mut inter = Vec::with_capacity(p);
                let mut col = Vec::with_capacity(n);
                for i in 0..g {
                    col.clear();
                    col.extend(domains.iter().map(|d| d[i]));
                    ring(&col, bytes / (g * n) as f64, &mut inter);
                }
                vec![
                    one(intra.clone(), g as u32 - 1, 1),
                    one(inter, 2 * (n as u32 - 1), 1),
                    one(intra, g as u32 - 1, 1),
                ]
            }
            None => lower_group(
                topo,
                CollectiveKind::AllReduce(AllReduceAlgo::Ring),
                bytes,
                group,
            ),
        },
        CollectiveKind::AllToAll => {
            flows.reserve(p * (p - 1));
            for &a in group {
                for &b in group {
                    if a != b {
                        flows.push(PhaseFlow {
                            src: a,
                            dst: b,
                            bytes: bytes / pf,
                        });
                    }
                }
            }
            vec![one(flows, 1, 1)]
        }
        CollectiveKind::P2p => {
            for w in group.windows(2) {
                flows.push(PhaseFlow {
                    src: w[0],
                    dst: w[1],
                    bytes,
                });
            }
            vec![one(flows, 1, 1)]
        }
    }
}

/// The ring through `group` laid along the topology, as NCCL's ring search does: the members of each scale-up
/// domain consecutively (domains in order of first appearance), inside a domain by leaf (rail) then GPU, every
/// other domain reversed, so that the hop from one domain to the next joins two GPUs on the same leaf when the
/// domains hold the same leaves (a rail-optimised fabric: no spine crossing; only the closing hop may cross when
/// the number of domains is odd). A group inside one domain keeps its order.
pub fn ring_order(topo: &Topology, group: &[u32]) -> Vec<u32> {
    let mut domains: Vec<Vec<u32>> = Vec::new();
    for &m in group {
        let d = topo.domain[m as usize];
        match domains.iter_mut().find(|v| topo.domain[v[0] as usize] == d) {
            Some(v) => v.push(m),
            None => domains.push(vec![m]),
        }
    }
    if domains.len() < 2 {
        return group.to_vec();
    }
    let mut out = Vec::with_capacity(group.len());
    for (i, d) in domains.iter_mut().enumerate() {
        d.sort_unstable_by_key(|&m| (topo.leaf[m as usize], m));
        if i % 2 == 1 {
            d.reverse();
        }
        out.extend_from_slice(d);
    }
    out
}

/// The group's members split by scale-up domain (in order of first appearance), when every domain
/// holds the same number `g ≥ 2` of members, there are `n ≥ 2` domains and members of one domain
/// are contiguous in rank order.
fn domains_of(topo: &Topology, group: &[u32]) -> Option<Vec<Vec<u32>>> {
    let mut out: Vec<Vec<u32>> = Vec::new();
    for &m in group {
        let d = topo.domain[m as usize];
        match out.last_mut() {
            Some(last) if topo.domain[last[0] as usize] == d => last.push(m),
            _ => {
                if out.iter().any(|v| topo.domain[v[0] as usize] == d) {
                    return None;
                }
                out.push(vec![m]);
            }
        }
    }
    let g = out[0].len();
    (out.len() >= 2 && g >= 2 && out.iter().all(|v| v.len() == g)).then_some(out)
}

/// Lowers the same collective on several groups that run concurrently: phase `k` of every group
/// is merged into one phase (`steps` = the largest).
pub fn lower(topo: &Topology, kind: CollectiveKind, bytes: f64, groups: &[Vec<u32>]) -> Vec<Phase> {
    let mut merged: Vec<Phase> = Vec::new();
    for g in groups {
        for (k, ph) in lower_group(topo, kind, bytes, g).into_iter().enumerate() {
            if k == merged.len() {
                merged.push(ph);
            } else {
                let m = &mut merged[k];
                m.steps = m.steps.max(ph.steps);
                m.alpha_mult = m.alpha_mult.max(ph.alpha_mult);
                m.flows.extend(ph.flows);
            }
        }
    }
    merged
}

/// Time of one phase: per-step latency and transfer time, and the total.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PhaseTime {
    /// `alpha_mult · α`, s.
    pub latency_s: f64,
    /// Transfer time of one step (aggregated) or the mean over steps (full), s.
    pub transfer_s: f64,
    /// Whole phase, s.
    pub total_s: f64,
    /// Completion batches simulated (events).
    pub events: u64,
}

/// Routes of a phase's flows, flattened (`offsets[i]..offsets[i+1]` in `links`).
#[derive(Debug, Clone, Default)]
pub struct Routes {
    pub links: Vec<u32>,
    pub offsets: Vec<u32>,
    /// Largest route latency, s.
    pub max_latency_s: f64,
}

impl Routes {
    /// Routes every flow of `phase` with ECMP salt `salt`.
    pub fn of(topo: &Topology, phase: &Phase, salt: u64) -> Routes {
        let mut r = Routes {
            links: Vec::with_capacity(phase.flows.len() * 4),
            offsets: Vec::with_capacity(phase.flows.len() + 1),
            max_latency_s: 0.0,
        };
        r.offsets.push(0);
        for f in &phase.flows {
            let start = r.links.len();
            topo.route(f.src, f.dst, salt, &mut r.links);
            let lat: f64 = r.links[start..]
                .iter()
                .map(|&l| topo.latency_s[l as usize])
                .sum();
            r.max_latency_s = r.max_latency_s.max(lat);
            r.offsets.push(r.links.len() as u32);
        }
        r
    }

    /// Links of flow `i`.
    pub fn path(&self, i: usize) -> &[u32] {
        &self.links[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }
}

/// Times `phase` on `sim` (which may hold background flows that never finish). `done` is scratch.
pub fn time_phase(
    sim: &mut FlowSim,
    phase: &Phase,
    routes: &Routes,
    timing: Timing,
    done: &mut Vec<FlowId>,
) -> PhaseTime {
    let latency_s = phase.alpha_mult as f64 * routes.max_latency_s;
    let steps = match timing {
        Timing::Aggregated => 1,
        Timing::Full => phase.steps,
    };
    let events0 = sim.events;
    let mut transfer_sum = 0.0;
    for _ in 0..steps {
        sim.rebase();
        let t0 = sim.now_s();
        let mut pending = 0usize;
        for (i, f) in phase.flows.iter().enumerate() {
            let path = routes.path(i);
            if !path.is_empty() && f.bytes > 0.0 {
                sim.start(path, f.bytes, PHASE_TAG);
                pending += 1;
            }
        }
        sim.update();
        let mut t_end = t0;
        while pending > 0 {
            done.clear();
            match sim.next_batch(done) {
                Some(t) => {
                    t_end = t;
                    pending -= done.len().min(pending);
                }
                None => break,
            }
        }
        transfer_sum += t_end - t0;
    }
    let transfer_s = transfer_sum / steps.max(1) as f64;
    let total_s = match timing {
        Timing::Aggregated => phase.steps as f64 * (latency_s + transfer_s),
        Timing::Full => phase.steps as f64 * latency_s + transfer_sum,
    };
    PhaseTime {
        latency_s,
        transfer_s,
        total_s,
        events: sim.events - events0,
    }
}

/// Tag of collective flows (background flows use [`BACKGROUND_TAG`]).
pub const PHASE_TAG: u64 = 0;
/// Tag of never-ending background flows.
pub const BACKGROUND_TAG: u64 = 1;

/// Times a whole collective (its phases in sequence) on an otherwise idle fabric; returns the
/// total time, s, and the events simulated.
pub fn time_collective(topo: &Topology, phases: &[Phase], salt: u64, timing: Timing) -> (f64, u64) {
    let mut sim = FlowSim::new(topo.goodput_bytes_per_s.clone());
    let mut done = Vec::new();
    let mut total = 0.0;
    let mut events = 0;
    for ph in phases {
        let routes = Routes::of(topo, ph, salt);
        let t = time_phase(&mut sim, ph, &routes, timing, &mut done);
        total += t.total_s;
        events += t.events;
    }
    (total, events)
}
