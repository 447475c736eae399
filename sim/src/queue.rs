//! The pending-event set: a binary min-heap keyed by `(time, insertion sequence)`.
//!
//! Events at equal times come out in the order they were inserted (first-in, first-out). The keys are unique,
//! so the order events come out in depends on the keys alone, not on how the heap is laid out. The heap stores
//! the events inline in one growable `Vec`, so once it has reached its high-water mark, scheduling and popping
//! an event allocate nothing.
//!
//! The engine takes the first event with [`EventQueue::take_first`], which leaves its slot at the root as a
//! hole: the first event scheduled while it is handled fills it (one sift down instead of a pop and a push, the
//! common case of an event that schedules its successor), and [`EventQueue::settle`] removes it otherwise.

use crate::time::SimTime;

#[derive(Clone, Copy)]
struct Entry<E> {
    /// `time` in the high 64 bits, the insertion sequence in the low ones.
    key: u128,
    event: E,
}

fn key(time: SimTime, seq: u64) -> u128 {
    (time.as_nanos() as u128) << 64 | seq as u128
}

fn time_of(key: u128) -> SimTime {
    SimTime::from_nanos((key >> 64) as u64)
}

/// A priority queue of events ordered by `(time, insertion sequence)`.
pub struct EventQueue<E> {
    /// A min-heap on `key`; with `hole`, its root is taken and its children are the heaps of what is left.
    heap: Vec<Entry<E>>,
    seq: u64,
    hole: bool,
}

impl<E: Copy> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty queue with room for `n` events before it reallocates.
    pub fn with_capacity(n: usize) -> Self {
        EventQueue {
            heap: Vec::with_capacity(n),
            seq: 0,
            hole: false,
        }
    }

    /// Inserts `event` at `time`. Among events at the same time, earlier insertions pop first.
    pub fn push(&mut self, time: SimTime, event: E) {
        let seq = self.seq;
        self.seq += 1;
        let e = Entry {
            key: key(time, seq),
            event,
        };
        if self.hole {
            self.hole = false;
            self.heap[0] = e;
            self.sift_down(0);
        } else {
            self.heap.push(e);
            self.sift_up(self.heap.len() - 1);
        }
    }

    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.settle();
        if self.heap.is_empty() {
            return None;
        }
        let e = self.heap.swap_remove(0);
        if !self.heap.is_empty() {
            self.sift_down(0);
        }
        Some((time_of(e.key), e.event))
    }

    /// Removes the slot of an event taken with [`Self::take_first`] that no push has filled.
    pub fn settle(&mut self) {
        if self.hole {
            self.hole = false;
            let last = self.heap.pop().expect("a hole is a slot");
            if !self.heap.is_empty() {
                self.heap[0] = last;
                self.sift_down(0);
            }
        }
    }

    /// The time of the earliest event.
    pub fn peek_time(&self) -> Option<SimTime> {
        if self.hole {
            // The root is taken: the earliest is one of its children.
            let child = |i: usize| self.heap.get(i).map(|e| e.key);
            match (child(1), child(2)) {
                (Some(a), Some(b)) => Some(time_of(a.min(b))),
                (a, _) => a.map(time_of),
            }
        } else {
            self.heap.first().map(|e| time_of(e.key))
        }
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len() - self.hole as usize
    }

    /// Whether no event is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total number of events ever inserted.
    pub fn inserted(&self) -> u64 {
        self.seq
    }

    /// Moves the entry at `i` up to its place (entries it passes move down one level).
    fn sift_up(&mut self, mut i: usize) {
        let e = self.heap[i];
        while i > 0 {
            let p = (i - 1) / 2;
            if self.heap[p].key <= e.key {
                break;
            }
            self.heap[i] = self.heap[p];
            i = p;
        }
        self.heap[i] = e;
    }

    /// Moves the entry at `i` down to its place (the smaller child picked without a branch).
    fn sift_down(&mut self, mut i: usize) {
        let n = self.heap.len();
        let e = self.heap[i];
        loop {
            let l = 2 * i + 1;
            if l >= n {
                break;
            }
            let c = if l + 1 < n {
                l + (self.heap[l + 1].key < self.heap[l].key) as usize
            } else {
                l
            };
            if e.key <= self.heap[c].key {
                break;
            }
            self.heap[i] = self.heap[c];
            i = c;
        }
        self.heap[i] = e;
    }
    /// Takes the earliest event, leaving its slot for the next [`Self::push`] (or [`Self::settle`]) to fill;
    /// the queue behaves as if it had been popped.
    pub fn take_first(&mut self) -> Option<(SimTime, E)> {
        self.settle();
        let e = self.heap.first()?;
        let out = (time_of(e.key), e.event);
        self.hole = true;
        Some(out)
    }
}

/// A generation counter for cancelling or rescheduling events without searching the queue.
///
/// The owner of a timer keeps a `Generation`; each scheduled event carries the value returned by
/// [`Generation::bump`] at scheduling time. Cancelling (or rescheduling) bumps the counter again, so the stale event,
/// when it eventually pops, fails [`Generation::is_current`] and is ignored by its handler. Cost: O(1), no scan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Generation(u64);

impl Generation {
    /// Invalidates every event stamped so far and returns the stamp for a new one.
    pub fn bump(&mut self) -> Generation {
        self.0 += 1;
        *self
    }

    /// The current stamp.
    pub fn current(self) -> Generation {
        self
    }

    /// Whether an event stamped `stamp` is still valid.
    pub fn is_current(self, stamp: Generation) -> bool {
        self == stamp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_time_then_fifo() {
        let mut q = EventQueue::new();
        q.push(SimTime::from_secs(2), 'c');
        q.push(SimTime::from_secs(1), 'a');
        q.push(SimTime::from_secs(2), 'd');
        q.push(SimTime::from_secs(1), 'b');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['a', 'b', 'c', 'd']);
        assert_eq!(q.inserted(), 4);
    }

    #[test]
    fn generation_cancels() {
        let mut g = Generation::default();
        let first = g.bump();
        assert!(g.is_current(first));
        let second = g.bump();
        assert!(!g.is_current(first));
        assert!(g.is_current(second));
    }

    proptest::proptest! {
        /// Any interleaving of pushes and pops yields events in (time, insertion) order, none lost or duplicated.
        #[test]
        fn pops_in_time_then_fifo_order(ops in proptest::collection::vec((0u64..20, proptest::bool::ANY), 1..400)) {
            let mut q = EventQueue::new();
            let mut popped = Vec::new();
            let mut last = (SimTime::ZERO, 0u64);
            let mut floor = SimTime::ZERO;
            for (i, (dt, pop)) in ops.iter().enumerate() {
                // Like the engine: never schedule before the last popped time.
                q.push(floor + crate::SimDuration::from_nanos(*dt), i as u64);
                if *pop {
                    let (t, id) = q.pop().unwrap();
                    proptest::prop_assert!(t >= floor);
                    if t == last.0 && !popped.is_empty() { proptest::prop_assert!(id > last.1); }
                    floor = t;
                    last = (t, id);
                    popped.push(id);
                }
            }
            while let Some((t, id)) = q.pop() {
                proptest::prop_assert!(t >= last.0);
                if t == last.0 && !popped.is_empty() { proptest::prop_assert!(id > last.1); }
                last = (t, id);
                popped.push(id);
            }
            popped.sort_unstable();
            proptest::prop_assert_eq!(popped, (0..ops.len() as u64).collect::<Vec<_>>());
        }

        /// Taking events as the engine does (a hole filled by the next push, settled otherwise) gives the same
        /// order as popping them.
        #[test]
        fn take_first_is_pop(ops in proptest::collection::vec((0u64..20, 0usize..3), 1..300)) {
            let (mut a, mut b) = (EventQueue::new(), EventQueue::new());
            let (mut out_a, mut out_b) = (Vec::new(), Vec::new());
            let mut i = 0u64;
            a.push(SimTime::ZERO, i);
            b.push(SimTime::ZERO, i);
            for (dt, pushes) in &ops {
                let (ta, ea) = match a.pop() { Some(x) => x, None => break };
                let (tb, eb) = b.take_first().unwrap();
                proptest::prop_assert_eq!((ta, ea), (tb, eb));
                proptest::prop_assert_eq!(a.len(), b.len());
                proptest::prop_assert_eq!(a.peek_time(), b.peek_time());
                out_a.push(ea);
                out_b.push(eb);
                for k in 0..*pushes {
                    i += 1;
                    let t = ta + crate::SimDuration::from_nanos(dt * k as u64);
                    a.push(t, i);
                    b.push(t, i);
                }
                b.settle();
            }
            while let Some(x) = a.pop() { out_a.push(x.1); }
            while let Some(x) = b.pop() { out_b.push(x.1); }
            proptest::prop_assert_eq!(out_a, out_b);
        }
    }
}
