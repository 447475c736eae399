//! The queue of waiting jobs and, under EASY backfilling and shortest-job-first, an index of them by what a
//! pass asks, so that finding the next candidate does not scan the queue (docs/models.md §Scheduling
//! policies).
//!
//! Every test a pass applies to a candidate before planning it (the site-wide counters; under EASY the
//! reservation's bounds) reads only the job's *class* — GPUs, share, spanning servers, model mask — and, for
//! an EASY job that would run past the shadow time, its duration. Queued jobs are grouped by class; each class
//! keeps its jobs' order keys (the queue's order: submission under EASY, (duration, submission) under SJF)
//! ascending — under EASY with a min-tree over their durations. The first candidate at or after a queue key
//! is, over the classes that pass the tests, the first key at or after it — or, for a class that passes them
//! only for jobs ending by the shadow time, the first such key with duration ≤ shadow − now: O(classes · log
//! queue) instead of O(queue).
//!
//! The queue itself ([`JobQueue`]) is an ordered map by the same keys, so a job started from deep in a long
//! queue, or an arrival landing in the middle of it, costs O(log queue).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Index;

use models::placement::JobReq;

use super::job::Queued;

/// A duration that matches every bound (durations are stored clamped below it).
pub(crate) const ANY: u64 = u64::MAX - 1;
/// A removed entry.
const GONE: u64 = u64::MAX;

/// What a class shares: the fields of [`JobReq`] the backfill tests read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClassKey {
    pub(crate) gpus: u32,
    pub(crate) gpu_milli: u16,
    pub(crate) multi_server: bool,
    pub(crate) model_mask: u64,
}

impl ClassKey {
    fn of(r: &JobReq) -> Self {
        ClassKey {
            gpus: r.gpus,
            gpu_milli: r.gpu_milli,
            multi_server: r.multi_server,
            model_mask: r.model_mask,
        }
    }

    /// A request with this class's fields (no host resources: the tests do not read them).
    pub(crate) fn req(&self) -> JobReq {
        JobReq {
            gpus: self.gpus,
            gpu_milli: self.gpu_milli,
            cpu_milli: 0,
            memory_mib: 0,
            model_mask: self.model_mask,
            multi_server: self.multi_server,
            activity_milli: 0,
        }
    }
}

/// The queued jobs of one class under EASY: order keys ascending (removed ones stay as gaps until compacted)
/// and a min-tree over their durations (ns; gaps are [`GONE`]). Keys arrive in ascending order but for jobs
/// back in the queue, so insertion is an append.
struct Timed {
    keys: Vec<u128>,
    /// Leaves at `size..2·size`.
    tree: Vec<u64>,
    size: usize,
    live: usize,
}

impl Timed {
    fn new() -> Self {
        Timed {
            keys: Vec::new(),
            tree: vec![GONE; 2],
            size: 1,
            live: 0,
        }
    }

    fn set(&mut self, p: usize, v: u64) {
        let mut i = p + self.size;
        self.tree[i] = v;
        while i > 1 {
            i >>= 1;
            self.tree[i] = self.tree[2 * i].min(self.tree[2 * i + 1]);
        }
    }

    /// Rebuilds from the live entries plus `extra`, with room for at least twice as many.
    fn rebuild(&mut self, extra: Option<(u128, u64)>) {
        let mut entries: Vec<(u128, u64)> = (0..self.keys.len())
            .filter(|&p| self.tree[self.size + p] != GONE)
            .map(|p| (self.keys[p], self.tree[self.size + p]))
            .collect();
        if let Some(e) = extra {
            let at = entries.partition_point(|x| x.0 < e.0);
            entries.insert(at, e);
        }
        let size = (entries.len() * 2).next_power_of_two().max(16);
        self.size = size;
        self.tree.clear();
        self.tree.resize(2 * size, GONE);
        self.keys.clear();
        for (p, &(k, d)) in entries.iter().enumerate() {
            self.keys.push(k);
            self.tree[size + p] = d;
        }
        for i in (1..size).rev() {
            self.tree[i] = self.tree[2 * i].min(self.tree[2 * i + 1]);
        }
        self.live = entries.len();
    }

    fn insert(&mut self, k: u128, d: u64) {
        if self.keys.last().is_none_or(|&last| last < k) && self.keys.len() < self.size {
            self.keys.push(k);
            self.set(self.keys.len() - 1, d);
            self.live += 1;
        } else {
            // A job queued behind later keys (preempted, interrupted; any SJF job but the longest) or no
            // room: rebuild.
            self.rebuild(Some((k, d)));
        }
    }

    fn remove(&mut self, k: u128) {
        let p = self.keys.partition_point(|&x| x < k);
        debug_assert_eq!(self.keys.get(p), Some(&k), "queued job in its class");
        self.set(p, GONE);
        self.live -= 1;
        if self.live == 0 {
            // Every leaf is a gap, so is every node.
            self.keys.clear();
        } else if self.keys.len() > 64 && self.keys.len() - self.live > self.live {
            self.rebuild(None);
        }
    }

    /// The first key ≥ `from` whose duration is ≤ `bound`.
    fn first(&self, from: u128, bound: u64) -> Option<u128> {
        let lo = self.keys.partition_point(|&x| x < from);
        if lo >= self.keys.len() {
            return None;
        }
        let t = &self.tree;
        let mut i = lo + self.size;
        loop {
            if t[i] <= bound {
                while i < self.size {
                    i *= 2;
                    if t[i] > bound {
                        i += 1;
                    }
                }
                return Some(self.keys[i - self.size]);
            }
            while i & 1 == 1 {
                i >>= 1;
            }
            if i == 0 {
                return None;
            }
            i += 1;
        }
    }
}

/// The order a queue keeps, as a key per job that ascends along the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// Submission order (EASY).
    Submission,
    /// (duration, submission) order (SJF).
    Shortest,
    /// (priority, highest first; submission) order (Priority).
    Priority,
}

impl Order {
    /// The job's key: unique among queued jobs, ascending along the queue.
    pub(crate) fn key(self, q: &Queued) -> u128 {
        match self {
            Order::Submission => q.id as u128,
            Order::Shortest => ((q.duration.as_nanos() as u128) << 64) | q.id as u128,
            Order::Priority => (((u8::MAX - q.priority) as u128) << 64) | q.id as u128,
        }
    }
}

/// The queued jobs of one class.
enum Members {
    /// EASY: with their durations, for the shadow-time bound.
    Timed(Timed),
    /// SJF: no duration bound is asked, and arrivals land anywhere in the order, so an ordered set.
    Sorted(BTreeSet<u128>),
}

struct Class {
    key: ClassKey,
    members: Members,
}

impl Class {
    fn live(&self) -> usize {
        match &self.members {
            Members::Timed(t) => t.live,
            Members::Sorted(s) => s.len(),
        }
    }

    /// The first key ≥ `from` whose duration is ≤ `bound` (SJF: every bound is [`ANY`]).
    fn first(&self, from: u128, bound: u64) -> Option<u128> {
        match &self.members {
            Members::Timed(t) => t.first(from, bound),
            Members::Sorted(s) => {
                debug_assert_eq!(bound, ANY);
                s.range(from..).next().copied()
            }
        }
    }
}

/// Queued jobs by class (EASY and SJF).
pub(crate) struct Backlog {
    order: Order,
    classes: Vec<Class>,
}

impl Backlog {
    pub(crate) fn new(order: Order) -> Self {
        Backlog {
            order,
            classes: Vec::new(),
        }
    }

    fn class(&mut self, key: ClassKey) -> &mut Members {
        let i = match self.classes.iter().position(|c| c.key == key) {
            Some(i) => i,
            None => {
                let members = match self.order {
                    Order::Submission => Members::Timed(Timed::new()),
                    Order::Shortest | Order::Priority => Members::Sorted(BTreeSet::new()),
                };
                self.classes.push(Class { key, members });
                self.classes.len() - 1
            }
        };
        &mut self.classes[i].members
    }

    fn insert(&mut self, q: &Queued) {
        let k = self.order.key(q);
        match self.class(ClassKey::of(&q.req)) {
            Members::Timed(t) => t.insert(k, q.duration.as_nanos().min(ANY)),
            Members::Sorted(s) => {
                s.insert(k);
            }
        }
    }

    fn remove(&mut self, q: &Queued) {
        let k = self.order.key(q);
        match self.class(ClassKey::of(&q.req)) {
            Members::Timed(t) => t.remove(k),
            Members::Sorted(s) => {
                let had = s.remove(&k);
                debug_assert!(had, "queued job in its class");
            }
        }
    }

    /// The first queued key ≥ `from` over the classes for which `bound(class)` gives a duration bound (None:
    /// no job of the class qualifies; [`ANY`]: every one does). Deterministic: classes are visited in the
    /// order they were first seen, and the smallest key wins.
    pub(crate) fn first(
        &self,
        from: u128,
        mut bound: impl FnMut(&ClassKey) -> Option<u64>,
    ) -> Option<u128> {
        let mut best: Option<u128> = None;
        for c in &self.classes {
            if c.live() == 0 {
                continue;
            }
            let Some(b) = bound(&c.key) else {
                continue;
            };
            if let Some(k) = c.first(from, b)
                && best.is_none_or(|x| k < x)
            {
                best = Some(k);
            }
        }
        best
    }
}

/// Waiting jobs in queue order, by order key ([`Order::key`]): every insertion, removal and lookup is
/// O(log queue) wherever the job is in the queue — a job started from deep in a long queue (EASY backfilling)
/// or an arrival landing in the middle (SJF) moves nothing. The keys are the scheduler's cursors: a key stays
/// valid through other jobs' insertions and removals. Changed only through the methods here, which keep the
/// [`Backlog`] (EASY, SJF) in step.
pub(crate) struct JobQueue {
    order: Order,
    jobs: BTreeMap<u128, Queued>,
    backlog: Option<Backlog>,
}

impl Index<u128> for JobQueue {
    type Output = Queued;
    fn index(&self, key: u128) -> &Queued {
        &self.jobs[&key]
    }
}

impl JobQueue {
    /// A queue in `order`, with a [`Backlog`] if `backlog` (EASY, SJF).
    pub(crate) fn new(order: Order, backlog: bool) -> Self {
        JobQueue {
            order,
            jobs: BTreeMap::new(),
            backlog: backlog.then(|| Backlog::new(order)),
        }
    }

    pub(crate) fn backlog(&self) -> Option<&Backlog> {
        self.backlog.as_ref()
    }

    pub(crate) fn len(&self) -> usize {
        self.jobs.len()
    }

    /// The head and its key.
    pub(crate) fn first(&self) -> Option<(u128, &Queued)> {
        self.jobs.first_key_value().map(|(&k, q)| (k, q))
    }

    pub(crate) fn front(&self) -> Option<&Queued> {
        self.jobs.first_key_value().map(|(_, q)| q)
    }

    /// The first job with key ≥ `from`, and its key.
    pub(crate) fn first_from(&self, from: u128) -> Option<(u128, &Queued)> {
        self.jobs.range(from..).next().map(|(&k, q)| (k, q))
    }

    /// Queues `q` in its place; returns its key.
    pub(crate) fn insert(&mut self, q: Queued) -> u128 {
        let k = self.order.key(&q);
        if let Some(b) = self.backlog.as_mut() {
            b.insert(&q);
        }
        let old = self.jobs.insert(k, q);
        debug_assert!(old.is_none(), "keys are unique among queued jobs");
        k
    }

    /// Removes the job with key `k`.
    pub(crate) fn remove(&mut self, k: u128) -> Queued {
        let q = self.jobs.remove(&k).expect("a queued job");
        if let Some(b) = self.backlog.as_mut() {
            b.remove(&q);
        }
        q
    }

    pub(crate) fn pop_front(&mut self) -> Option<Queued> {
        let (&k, _) = self.jobs.first_key_value()?;
        Some(self.remove(k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(g: u32) -> ClassKey {
        ClassKey {
            gpus: g,
            gpu_milli: 1000,
            multi_server: false,
            model_mask: 1,
        }
    }

    proptest! {
        /// The backlog answers as a scan of the live jobs would, through inserts in and out of order, removals
        /// and compactions.
        #[test]
        fn backlog_matches_scan(ops in prop::collection::vec((0u8..4, 0u64..400, 1u32..4, 0u64..50), 1..600)) {
            let mut b = Backlog::new(Order::Submission);
            let mut live: Vec<(u64, u32, u64)> = Vec::new();
            for (op, x, g, d) in ops {
                match op {
                    0 | 1 => {
                        if live.iter().all(|e| e.0 != x) {
                            let q = Queued { slot: 0, id: x, duration: sim::SimDuration::from_nanos(d), req: key(g).req(), priority: 0 };
                            b.insert(&q);
                            live.push((x, g, d));
                        }
                    }
                    2 => {
                        if !live.is_empty() {
                            let (id, g, d) = live.swap_remove(x as usize % live.len());
                            let q = Queued { slot: 0, id, duration: sim::SimDuration::from_nanos(d), req: key(g).req(), priority: 0 };
                            b.remove(&q);
                        }
                    }
                    _ => {
                        let bound = |k: &ClassKey| match k.gpus { 1 => Some(ANY), 2 => Some(d), _ => None };
                        let want = live
                            .iter()
                            .filter(|e| e.0 >= x && bound(&key(e.1)).is_some_and(|bd| e.2 <= bd))
                            .map(|e| e.0)
                            .min();
                        prop_assert_eq!(b.first(x as u128, bound), want.map(u128::from));
                    }
                }
            }
        }

        /// Each order's keys sort jobs as the policy orders them: submission; (duration, submission);
        /// (priority highest first, submission).
        #[test]
        fn keys_follow_the_policies(jobs in prop::collection::vec((0u64..1 << 40, 0u64..1 << 50, 0u8..=255), 2..60)) {
            let mut queued: Vec<Queued> = jobs
                .iter()
                .enumerate()
                .map(|(n, &(id, d, p))| Queued { slot: 0, id: id * 64 + n as u64, duration: sim::SimDuration::from_nanos(d), req: key(1).req(), priority: p })
                .collect();
            for order in [Order::Submission, Order::Shortest, Order::Priority] {
                let mut queue = JobQueue::new(order, false);
                for q in &queued {
                    queue.insert(*q);
                }
                match order {
                    Order::Submission => queued.sort_by_key(|q| q.id),
                    Order::Shortest => queued.sort_by_key(|q| (q.duration, q.id)),
                    Order::Priority => queued.sort_by_key(|q| (u8::MAX - q.priority, q.id)),
                }
                let mut got = Vec::new();
                while let Some(q) = queue.pop_front() {
                    got.push(q.id);
                }
                prop_assert_eq!(got, queued.iter().map(|q| q.id).collect::<Vec<_>>());
            }
        }

        /// Under SJF order the backlog answers as a scan of the live jobs' (duration, id) keys would.
        #[test]
        fn shortest_backlog_matches_scan(ops in prop::collection::vec((0u8..4, 0u64..400, 1u32..4, 0u64..50), 1..600)) {
            let mut b = Backlog::new(Order::Shortest);
            let mut live: Vec<Queued> = Vec::new();
            for (op, x, g, d) in ops {
                match op {
                    0 | 1 => {
                        if live.iter().all(|q| q.id != x) {
                            let q = Queued { slot: 0, id: x, duration: sim::SimDuration::from_nanos(d), req: key(g).req(), priority: 0 };
                            b.insert(&q);
                            live.push(q);
                        }
                    }
                    2 => {
                        if !live.is_empty() {
                            b.remove(&live.swap_remove(x as usize % live.len()));
                        }
                    }
                    _ => {
                        let from = ((d as u128) << 64) | x as u128;
                        let bound = |k: &ClassKey| (k.gpus != 3).then_some(ANY);
                        let want = live
                            .iter()
                            .filter(|q| q.req.gpus != 3)
                            .map(|q| Order::Shortest.key(q))
                            .filter(|&k| k >= from)
                            .min();
                        prop_assert_eq!(b.first(from, bound), want);
                    }
                }
            }
        }
    }
}
