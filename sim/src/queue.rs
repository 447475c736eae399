//! The pending-event set: a binary min-heap keyed by `(time, insertion sequence)`.
//!
//! Events at equal times come out in the order they were inserted (first-in, first-out). The heap stores the
//! events inline in one growable `Vec`, so once it has reached its high-water mark, scheduling and popping an
//! event allocate nothing.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::time::SimTime;

struct Entry<E> {
    time: SimTime,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.time == other.time && self.seq == other.seq
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    /// Reversed so that `BinaryHeap` (a max-heap) pops the earliest `(time, seq)` first.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .time
            .cmp(&self.time)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

/// A priority queue of events ordered by `(time, insertion sequence)`.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }

    /// An empty queue with room for `n` events before it reallocates.
    pub fn with_capacity(n: usize) -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(n),
            seq: 0,
        }
    }

    /// Inserts `event` at `time`. Among events at the same time, earlier insertions pop first.
    pub fn push(&mut self, time: SimTime, event: E) {
        let seq = self.seq;
        self.seq += 1;
        self.heap.push(Entry { time, seq, event });
    }

    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.heap.pop().map(|e| (e.time, e.event))
    }

    /// The time of the earliest event.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|e| e.time)
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no event is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Total number of events ever inserted.
    pub fn inserted(&self) -> u64 {
        self.seq
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
    }
}
