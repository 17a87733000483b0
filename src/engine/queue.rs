//! A binary heap keyed by (time, sequence number), as simcore does; the sequence number
//! keeps simultaneous events first-in first-out. Times are never negative, and the bit
//! patterns of non-negative f64s order as unsigned integers do, so the key is one u128
//! (time bits above, sequence number below) compared in a couple of instructions.
//! Cancelled events stay in the heap and are skipped when they come out (lazy
//! cancellation), so cancelling costs one hash insert and no heap surgery.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashSet};

/// Names one scheduled event, for `cancel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventId(u64);

struct Entry<E> {
    key: u128,
    event: E,
}

impl<E> Entry<E> {
    fn time(&self) -> f64 {
        f64::from_bits((self.key >> 64) as u64)
    }
    fn seq(&self) -> u64 {
        self.key as u64
    }
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    // Reversed: BinaryHeap is a max-heap and the earliest event must come out first.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key.cmp(&self.key)
    }
}

/// The lane holds nothing: larger than every key, since no time is NaN.
const EMPTY: u128 = u128::MAX;

/// The future event list.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    /// The lane's key (`EMPTY` when there is none) and event.
    lane_key: u128,
    lane_event: Option<E>,
    next_seq: u64,
    cancelled: HashSet<u64>,
    now: f64,
    popped: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    pub fn new() -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(64),
            lane_key: EMPTY,
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
    fn key(&mut self, time: f64) -> (u128, EventId) {
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
        ((u128::from(bits) << 64) | u128::from(seq), EventId(seq))
    }

    /// Schedules `event` at `time` (never before now).
    #[inline]
    pub fn schedule(&mut self, time: f64, event: E) -> EventId {
        let (key, id) = self.key(time);
        self.heap.push(Entry { key, event });
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

    /// The event will not come out of `pop`.
    pub fn cancel(&mut self, id: EventId) {
        self.cancelled.insert(id.0);
    }

    /// The earliest event that was not cancelled, and advances the clock to it.
    #[inline]
    pub fn pop(&mut self) -> Option<(f64, E)> {
        loop {
            let heap_key = self.heap.peek().map_or(EMPTY, |e| e.key);
            let e = if self.lane_key < heap_key {
                let key = std::mem::replace(&mut self.lane_key, EMPTY);
                let event = self.lane_event.take()?;
                Entry { key, event }
            } else {
                self.heap.pop()?
            };
            if !self.cancelled.is_empty() && self.cancelled.remove(&e.seq()) {
                continue;
            }
            self.now = e.time();
            self.popped += 1;
            return Some((self.now, e.event));
        }
    }

    /// Events still waiting (including cancelled ones not yet skipped).
    pub fn len(&self) -> usize {
        self.heap.len() + usize::from(self.lane_event.is_some())
    }

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
