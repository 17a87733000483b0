//! The idle processes of one station, oldest first: an indexed binary min-heap keyed
//! by (birth time, process slot), each process keeping its position in the heap, so
//! that a process becoming idle or busy costs a sift and the oldest idle one (the one
//! PHP-FPM ends; semantics: php-fpm-dynamic-spawn, php-fpm-ondemand-idle) is read off
//! the top. Ties of birth time go to the lower slot, the order in which a scan of the
//! process slots would meet them.

use super::{Proc, NONE};

/// A station's idle processes, oldest first.
#[derive(Debug, Clone, Default)]
pub(super) struct IdleSet {
    heap: Vec<u32>,
}

/// Process `a` was born before `b` (or at the same time, in a lower slot). Birth
/// times are never negative, so their bits order as the times do.
#[inline]
fn older(procs: &[Proc], a: u32, b: u32) -> bool {
    let (x, y) = (
        procs[a as usize].born.to_bits(),
        procs[b as usize].born.to_bits(),
    );
    x < y || (x == y && a < b)
}

impl IdleSet {
    pub(super) fn with_capacity(n: usize) -> IdleSet {
        IdleSet {
            heap: Vec::with_capacity(n),
        }
    }

    pub(super) fn oldest(&self) -> Option<u32> {
        self.heap.first().copied()
    }

    pub(super) fn insert(&mut self, procs: &mut [Proc], p: u32) {
        debug_assert_eq!(
            procs[p as usize].idle_pos, NONE,
            "process {p} is already idle"
        );
        self.heap.push(p);
        self.sift_up(procs, self.heap.len() - 1);
    }

    pub(super) fn remove(&mut self, procs: &mut [Proc], p: u32) {
        let i = procs[p as usize].idle_pos as usize;
        debug_assert_eq!(self.heap.get(i), Some(&p), "process {p} is not idle");
        procs[p as usize].idle_pos = NONE;
        let last = self.heap.pop().expect("p is in the heap");
        if i == self.heap.len() {
            return;
        }
        self.place(procs, i, last);
        self.sift_up(procs, i);
        let j = procs[last as usize].idle_pos as usize;
        self.sift_down(procs, j);
    }

    #[inline]
    fn place(&mut self, procs: &mut [Proc], i: usize, p: u32) {
        self.heap[i] = p;
        procs[p as usize].idle_pos = i as u32;
    }

    fn sift_up(&mut self, procs: &mut [Proc], mut i: usize) {
        let p = self.heap[i];
        while i > 0 {
            let parent = (i - 1) / 2;
            let q = self.heap[parent];
            if !older(procs, p, q) {
                break;
            }
            self.place(procs, i, q);
            i = parent;
        }
        self.place(procs, i, p);
    }

    fn sift_down(&mut self, procs: &mut [Proc], mut i: usize) {
        let p = self.heap[i];
        let n = self.heap.len();
        loop {
            let left = 2 * i + 1;
            if left >= n {
                break;
            }
            let right = left + 1;
            let child = if right < n && older(procs, self.heap[right], self.heap[left]) {
                right
            } else {
                left
            };
            let c = self.heap[child];
            if !older(procs, c, p) {
                break;
            }
            self.place(procs, i, c);
            i = child;
        }
        self.place(procs, i, p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn proc(born: f64) -> Proc {
        Proc {
            born,
            ..Proc::new(0, 1, 0.0, true)
        }
    }

    /// The oldest idle process as a scan of every slot finds it: the lowest birth
    /// time, the lowest slot among equals.
    fn scan(procs: &[Proc], idle: &[bool]) -> Option<u32> {
        (0..procs.len() as u32)
            .filter(|&p| idle[p as usize])
            .min_by(|&a, &b| procs[a as usize].born.total_cmp(&procs[b as usize].born))
    }

    #[test]
    fn the_oldest_idle_process_is_the_one_a_scan_of_every_slot_finds_after_random_changes() {
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(7);
        // Few distinct birth times, so that ties are common.
        let mut procs: Vec<Proc> = (0..40)
            .map(|_| proc(f64::from(rng.random_range(0..6u32))))
            .collect();
        let mut idle = vec![false; procs.len()];
        let mut set = IdleSet::default();
        for _ in 0..5000 {
            let p = rng.random_range(0..procs.len() as u32);
            if idle[p as usize] {
                set.remove(&mut procs, p);
            } else {
                set.insert(&mut procs, p);
            }
            idle[p as usize] = !idle[p as usize];
            assert_eq!(set.oldest(), scan(&procs, &idle));
            assert_eq!(set.heap.len(), idle.iter().filter(|&&i| i).count());
        }
    }
}
