//! The queue of waiting jobs and, under EASY backfilling and shortest-job-first, an index of them by what a
//! pass asks, so that finding the next candidate does not scan the queue (docs/models.md §Scheduling
//! policies).
//!
//! Every test a pass applies to a candidate before planning it (the site-wide counters; under EASY the
//! reservation's bounds) reads only the job's *class* — GPUs, share, spanning servers, model mask — and, for
//! an EASY job that would run past the shadow time, its duration. Queued jobs are grouped by class; each class
//! keeps its jobs' order keys (the queue's order: submission under EASY, (duration, submission) under SJF)
//! ascending with a min-tree over their durations. The first candidate at or after a queue key is, over the
//! classes that pass the tests, the first key at or after it — or, for a class that passes them only for jobs
//! ending by the shadow time, the first such key with duration ≤ shadow − now: O(classes · log queue)
//! instead of O(queue).

use std::collections::{BTreeSet, VecDeque};
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
}

impl Order {
    /// The job's key: unique among queued jobs, ascending along the queue.
    pub(crate) fn key(self, q: &Queued) -> u128 {
        match self {
            Order::Submission => q.id as u128,
            Order::Shortest => ((q.duration.as_nanos() as u128) << 64) | q.id as u128,
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
                    Order::Shortest => Members::Sorted(BTreeSet::new()),
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

/// Waiting jobs in queue order: submission order (FIFO, EASY), (duration, submission) order (SJF), or
/// (priority, submission) order (Priority). Changed only through the methods here, which keep the EASY
/// [`Backlog`] in step.
///
/// Removal anywhere is O(1): a removed job stays in its place as a tombstone (keeping its sort keys, so the
/// order and binary searches over all entries stay valid) until an insertion finds more tombstones than live
/// jobs and compacts — amortised O(1) per removal, where removing from the middle of a contiguous queue
/// moved the whole tail (EASY backfills jobs from deep in a long queue). Positions are *cursors* into the
/// entries: a removal leaves every cursor valid; an insertion invalidates them (it may compact).
#[derive(Default)]
pub(crate) struct JobQueue {
    entries: VecDeque<Entry>,
    /// The first live entry (`entries.len()` when none).
    head: usize,
    live: usize,
    backlog: Option<Backlog>,
}

/// A queued job, or the tombstone of one removed since the last compaction.
#[derive(Clone, Copy)]
struct Entry {
    q: Queued,
    live: bool,
}

/// Tombstones tolerated beyond the number of live jobs before an insertion compacts.
const SLACK: usize = 64;

impl Index<usize> for JobQueue {
    type Output = Queued;
    fn index(&self, at: usize) -> &Queued {
        let e = &self.entries[at];
        debug_assert!(e.live, "cursor at a live job");
        &e.q
    }
}

impl JobQueue {
    /// A queue that keeps a [`Backlog`] when it is in `order` (EASY, SJF).
    pub(crate) fn new(order: Option<Order>) -> Self {
        JobQueue {
            backlog: order.map(Backlog::new),
            ..JobQueue::default()
        }
    }

    pub(crate) fn backlog(&self) -> Option<&Backlog> {
        self.backlog.as_ref()
    }

    /// Queued jobs.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.live == 0
    }

    pub(crate) fn front(&self) -> Option<&Queued> {
        self.entries.get(self.head).map(|e| &e.q)
    }

    /// The cursor of the head (the first job).
    pub(crate) fn head(&self) -> usize {
        self.head
    }

    /// The live jobs at or after cursor `from`, with their cursors, in queue order.
    pub(crate) fn live_from(&self, from: usize) -> impl Iterator<Item = (usize, &Queued)> {
        self.entries
            .range(from.min(self.entries.len())..)
            .enumerate()
            .filter(|(_, e)| e.live)
            .map(move |(i, e)| (from + i, &e.q))
    }

    /// The backlog's order key at cursor `at`, live or not (keys ascend over all entries).
    pub(crate) fn key_at(&self, at: usize) -> Option<u128> {
        let b = self.backlog.as_ref()?;
        self.entries.get(at).map(|e| b.order.key(&e.q))
    }

    /// The first cursor whose entry (live or tombstone) fails `pred`, for a `pred` true on a prefix of the
    /// queue order.
    pub(crate) fn partition_point(&self, mut pred: impl FnMut(&Queued) -> bool) -> usize {
        self.entries.partition_point(|e| pred(&e.q))
    }

    /// Inserts `q` at cursor `at` (from [`JobQueue::partition_point`] of its order) and returns its cursor. A
    /// tombstone next to `at` is reused (the order holds either way); otherwise the entries move.
    pub(crate) fn insert(&mut self, at: usize, q: Queued) -> usize {
        let e = Entry { q, live: true };
        let at = if at > 0 && !self.entries[at - 1].live {
            self.entries[at - 1] = e;
            at - 1
        } else if self.entries.get(at).is_some_and(|x| !x.live) {
            self.entries[at] = e;
            at
        } else {
            self.entries.insert(at, e);
            at
        };
        if let Some(b) = self.backlog.as_mut() {
            let k = b.order.key(&q);
            debug_assert!(at == 0 || b.order.key(&self.entries[at - 1].q) < k);
            debug_assert!(
                self.entries
                    .get(at + 1)
                    .is_none_or(|x| b.order.key(&x.q) > k)
            );
            b.insert(&q);
        }
        self.live += 1;
        // Entries before `at` keep their cursors; if the head was at or after `at`, `at` is the new head.
        self.head = self.head.min(at);
        if self.entries.len() - self.live > self.live + SLACK {
            self.compact(at)
        } else {
            at
        }
    }

    /// Removes the job at cursor `at`; every cursor stays valid.
    pub(crate) fn remove(&mut self, at: usize) -> Queued {
        let e = &mut self.entries[at];
        debug_assert!(e.live, "cursor at a live job");
        e.live = false;
        let q = e.q;
        self.live -= 1;
        if let Some(b) = self.backlog.as_mut() {
            b.remove(&q);
        }
        if at == self.head {
            self.head = (at + 1..self.entries.len())
                .find(|&i| self.entries[i].live)
                .unwrap_or(self.entries.len());
        }
        q
    }

    pub(crate) fn pop_front(&mut self) -> Option<Queued> {
        (self.live > 0).then(|| self.remove(self.head))
    }

    /// The cursor of the queued job with backlog order key `k`.
    pub(crate) fn position_of(&self, k: u128) -> usize {
        let order = self.backlog.as_ref().expect("a backlog").order;
        let p = self.entries.partition_point(|e| order.key(&e.q) < k);
        debug_assert!(self.entries[p].live && order.key(&self.entries[p].q) == k);
        p
    }

    /// Drops the tombstones; returns the new cursor of the entry at `keep`.
    fn compact(&mut self, keep: usize) -> usize {
        let kept = self.entries.range(..keep).filter(|e| e.live).count();
        self.entries.retain(|e| e.live);
        self.head = 0;
        kept
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

        /// The queue keeps the live jobs in order through insertions anywhere (reusing tombstones or not),
        /// removals by cursor, pops and compactions, and its backlog answers for the live jobs only.
        #[test]
        fn queue_matches_model(ops in prop::collection::vec((0u8..4, 0u64..300), 1..800)) {
            let mut queue = JobQueue::new(Some(Order::Submission));
            let mut model: Vec<u64> = Vec::new();
            for (op, x) in ops {
                match op {
                    0 | 1 => {
                        if !model.contains(&x) {
                            let q = Queued { slot: x as u32, id: x, duration: sim::SimDuration::from_nanos(x), req: key(1).req(), priority: 0 };
                            let at = queue.insert(queue.partition_point(|y| y.id <= x), q);
                            prop_assert_eq!(queue[at].id, x);
                            let m = model.partition_point(|&y| y < x);
                            model.insert(m, x);
                        }
                    }
                    2 => {
                        if !model.is_empty() {
                            let id = model.remove(x as usize % model.len());
                            prop_assert_eq!(queue.remove(queue.position_of(id as u128)).id, id);
                        }
                    }
                    _ => {
                        let popped = queue.pop_front().map(|q| q.id);
                        prop_assert_eq!(popped, (!model.is_empty()).then(|| model.remove(0)));
                    }
                }
                let live: Vec<u64> = queue.live_from(0).map(|(_, q)| q.id).collect();
                prop_assert_eq!(&live, &model);
                prop_assert_eq!(queue.len(), model.len());
                prop_assert_eq!(queue.front().map(|q| q.id), model.first().copied());
                let first = queue.backlog().expect("backlog").first(0, |_| Some(ANY));
                prop_assert_eq!(first, model.first().map(|&id| id as u128));
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
