//! The future event list: a binary min-heap keyed by (time, sequence number), as
//! simcore does; the sequence number keeps simultaneous events first-in first-out.
//! Times are never negative, and the bit patterns of non-negative f64s order as
//! unsigned integers do, so a key is two u64 words compared as one u128.
//!
//! The heap is written out here rather than taken from `std::collections::BinaryHeap`
//! for one measured reason: std's push writes the new entry into the vector and reads
//! it back whole into its sift's hole, and its pop swaps the last entry into the root
//! and reads it back the same way. Each read spans several narrower stores just made,
//! which stalls the processor's store-to-load forwarding: on the M/M/10/20 benchmark
//! those two reads took about a tenth of the run. Here the entry being placed stays
//! in registers while the others move, and is written once where it belongs.
//!
//! Cancelled events stay in the heap and are skipped when they come out (lazy
//! cancellation), so cancelling costs one hash insert and no heap surgery.
//!
//! An open-loop source always has exactly one pending event, its next arrival. It can
//! be kept in a one-entry lane beside the heap (`schedule_lane`): taking the earliest
//! event then costs one more key comparison, and the arrival, about half of all
//! events, never goes through the heap's sifts. The lane's event has a key like any
//! other, so the order of events is exactly the heap-only order.

use std::collections::HashSet;

/// Names one scheduled event, for `cancel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventId(u64);

/// When an event happens: the bits of its time, then its sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    time: u64,
    seq: u64,
}

impl Key {
    /// The lane holds nothing: later than every key, since no time is NaN.
    const EMPTY: Key = Key {
        time: u64::MAX,
        seq: u64::MAX,
    };

    /// Earlier than `other`: compared as one u128 (time above, sequence below), which
    /// compiles to a compare and a subtract-with-borrow, with no branch on the time.
    #[inline(always)]
    fn before(self, other: Key) -> bool {
        let a = (u128::from(self.time) << 64) | u128::from(self.seq);
        let b = (u128::from(other.time) << 64) | u128::from(other.seq);
        a < b
    }
}

#[derive(Clone, Copy)]
struct Entry<E> {
    key: Key,
    event: E,
}

/// The future event list. A copy goes on by itself (a run's state copied whole).
#[derive(Clone)]
pub struct EventQueue<E> {
    /// A binary min-heap: every entry's key is before its children's at 2i+1 and 2i+2.
    heap: Vec<Entry<E>>,
    /// The lane's key (`Key::EMPTY` when there is none) and event.
    lane_key: Key,
    lane_event: Option<E>,
    next_seq: u64,
    cancelled: HashSet<u64>,
    now: f64,
    popped: u64,
}

impl<E: Copy> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy> EventQueue<E> {
    pub fn new() -> Self {
        EventQueue {
            heap: Vec::with_capacity(64),
            lane_key: Key::EMPTY,
            lane_event: None,
            next_seq: 0,
            cancelled: HashSet::new(),
            now: 0.0,
            popped: 0,
        }
    }

    /// The time of the event last taken out.
    #[inline]
    pub fn now(&self) -> f64 {
        self.now
    }

    /// Events taken out so far (cancelled ones not counted).
    pub fn processed(&self) -> u64 {
        self.popped
    }

    /// The key of an event at `time`, scheduled now.
    #[inline]
    fn key(&mut self, time: f64) -> (Key, EventId) {
        debug_assert!(
            time >= self.now,
            "event scheduled in the past: {time} < {}",
            self.now
        );
        debug_assert!(time >= 0.0, "event time {time}");
        // + 0.0 turns -0.0, whose sign bit would sort it last, into 0.0.
        let bits = (time + 0.0).to_bits();
        let seq = self.next_seq;
        self.next_seq += 1;
        (Key { time: bits, seq }, EventId(seq))
    }

    /// Schedules `event` at `time` (never before now).
    #[inline(always)]
    pub fn schedule(&mut self, time: f64, event: E) -> EventId {
        let (key, id) = self.key(time);
        self.push(Entry { key, event });
        id
    }

    /// Schedules `event` at `time` in the lane, which must be empty: for the one
    /// pending event of a source that schedules its next event when the last one
    /// comes out. It comes out in the same order as if it had been `schedule`d.
    #[inline]
    pub fn schedule_lane(&mut self, time: f64, event: E) -> EventId {
        debug_assert!(self.lane_event.is_none(), "the lane holds one event");
        let (key, id) = self.key(time);
        self.lane_key = key;
        self.lane_event = Some(event);
        id
    }

    /// Drops every pending event: the run that owns the queue stops early.
    pub fn clear(&mut self) {
        self.heap.clear();
        self.lane_key = Key::EMPTY;
        self.lane_event = None;
    }

    /// The event will not come out of `pop`.
    pub fn cancel(&mut self, id: EventId) {
        self.cancelled.insert(id.0);
    }

    /// The earliest event that was not cancelled, and advances the clock to it.
    #[inline(always)]
    pub fn pop(&mut self) -> Option<(f64, E)> {
        loop {
            let heap_key = self.heap.first().map_or(Key::EMPTY, |e| e.key);
            let e = if self.lane_key.before(heap_key) {
                let key = std::mem::replace(&mut self.lane_key, Key::EMPTY);
                let event = self.lane_event.take()?;
                Entry { key, event }
            } else {
                self.pop_heap()?
            };
            if !self.cancelled.is_empty() && self.cancelled.remove(&e.key.seq) {
                continue;
            }
            self.now = f64::from_bits(e.key.time);
            self.popped += 1;
            return Some((self.now, e.event));
        }
    }

    /// Sift-up: parents later than `e` move down one level, then `e` is written once.
    /// Always inlined, so that `e` arrives in registers and not through memory.
    #[inline(always)]
    fn push(&mut self, e: Entry<E>) {
        let mut i = self.heap.len();
        // Grows the vector; the slot is overwritten below.
        self.heap.push(e);
        while i > 0 {
            let parent = (i - 1) / 2;
            let p = self.heap[parent];
            if !e.key.before(p.key) {
                break;
            }
            self.heap[i] = p;
            i = parent;
        }
        self.heap[i] = e;
    }

    /// Takes the root; the last entry then sifts down from the root: the earlier
    /// child moves up one level while it is before the last entry.
    #[inline]
    fn pop_heap(&mut self) -> Option<Entry<E>> {
        let last = self.heap.pop()?;
        let n = self.heap.len();
        if n == 0 {
            return Some(last);
        }
        let top = self.heap[0];
        let mut i = 0;
        loop {
            let mut child = 2 * i + 1;
            if child >= n {
                break;
            }
            if child + 1 < n && self.heap[child + 1].key.before(self.heap[child].key) {
                child += 1;
            }
            let c = self.heap[child];
            if !c.key.before(last.key) {
                break;
            }
            self.heap[i] = c;
            i = child;
        }
        self.heap[i] = last;
        Some(top)
    }

    /// Events still waiting (including cancelled ones not yet skipped).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.heap.len() + usize::from(self.lane_event.is_some())
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_out_in_time_order_and_simultaneous_ones_first_in_first_out() {
        let mut q = EventQueue::new();
        q.schedule(2.0, "c");
        q.schedule(1.0, "a");
        q.schedule(2.0, "d");
        q.schedule(1.0, "b");
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, ["a", "b", "c", "d"]);
        assert_eq!(q.now(), 2.0);
    }

    #[test]
    fn tiny_and_huge_times_keep_their_order() {
        let mut q = EventQueue::new();
        for t in [1e300, 0.0, 5e-324, 1.0, 0.5, f64::INFINITY] {
            q.schedule(t, t);
        }
        let order: Vec<f64> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, [0.0, 5e-324, 0.5, 1.0, 1e300, f64::INFINITY]);
    }

    #[test]
    fn the_lane_keeps_the_order_of_scheduling() {
        // An arrival process ("a" at 1, 1 and 2, each scheduled when the last comes
        // out) among other events, with the arrivals in the heap and then in the lane.
        let run = |lane: bool| {
            let mut q = EventQueue::new();
            let mut arrivals = vec![1.0, 1.0, 2.0].into_iter();
            let mut next = |q: &mut EventQueue<&str>| {
                if let Some(t) = arrivals.next() {
                    if lane {
                        q.schedule_lane(t, "a");
                    } else {
                        q.schedule(t, "a");
                    }
                }
            };
            q.schedule(1.0, "x");
            next(&mut q);
            q.schedule(0.5, "y");
            q.schedule(2.0, "z");
            let mut out = Vec::new();
            while let Some((t, e)) = q.pop() {
                out.push((t, e));
                if e == "a" {
                    next(&mut q);
                }
            }
            out
        };
        let expected = [
            (0.5, "y"),
            (1.0, "x"),
            (1.0, "a"),
            (1.0, "a"),
            (2.0, "z"),
            (2.0, "a"),
        ];
        assert_eq!(run(false), expected);
        assert_eq!(run(true), expected);
    }

    #[test]
    fn a_cancelled_lane_event_never_comes_out() {
        let mut q = EventQueue::new();
        let a = q.schedule_lane(1.0, 1);
        q.schedule(2.0, 2);
        assert_eq!(q.len(), 2);
        q.cancel(a);
        assert_eq!(q.pop(), Some((2.0, 2)));
        assert_eq!(q.pop(), None);
        assert!(q.is_empty());
    }

    #[test]
    fn many_random_events_come_out_sorted_with_ties_in_scheduling_order() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(3);
        let mut q = EventQueue::new();
        let mut expected = Vec::new();
        let mut now = 0.0;
        // Interleaved pushes and pops, with many equal times (whole numbers).
        for i in 0..5_000u32 {
            let t = now + f64::from(rng.random_range(0..50u32));
            q.schedule(t, i);
            expected.push((t, i));
            if rng.random_bool(0.4) {
                let (t, e) = q.pop().unwrap();
                now = t;
                let first = expected
                    .iter()
                    .enumerate()
                    .min_by(|a, b| a.1 .0.total_cmp(&b.1 .0).then(a.1 .1.cmp(&b.1 .1)))
                    .unwrap()
                    .0;
                assert_eq!(expected.swap_remove(first), (t, e));
            }
        }
        let rest: Vec<(f64, u32)> = std::iter::from_fn(|| q.pop()).collect();
        expected.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        assert_eq!(rest, expected);
    }

    #[test]
    fn a_cancelled_event_never_comes_out() {
        let mut q = EventQueue::new();
        let a = q.schedule(1.0, 1);
        q.schedule(2.0, 2);
        q.cancel(a);
        assert_eq!(q.pop(), Some((2.0, 2)));
        assert_eq!(q.pop(), None);
        assert_eq!(q.processed(), 1);
    }
}
