//! From log lines to the pool's traffic: when each request reached the upstream's
//! listen queue, whether it was refused, and how long it kept a worker busy.
//!
//! nginx logs the end of a request (`$msec`) and its duration (`$request_time`), so the
//! arrival is their difference (semantics: log-nginx-msec, log-nginx-request-time); the
//! last upstream attempt entered the queue after the earlier attempts' times
//! (semantics: log-nginx-lists). A 502 whose last attempt took 0.000 (or has no time)
//! never reached a worker (semantics: log-nginx-eagain-502). For the served requests,
//! `$upstream_response_time` is the queue wait plus the work (semantics:
//! log-nginx-unix-queue-wait); the wait is taken out by replaying them through N FIFO
//! workers (semantics: log-reconstruct-nginx-only). gunicorn logs the worker's own time,
//! with no queue wait in it (semantics: log-gunicorn-request-time): no replay is needed,
//! but its arrivals are the workers' start times, since its log has no arrival
//! (semantics: log-gunicorn-no-arrival). Times to the second are spread evenly within
//! their second, in the order of the log's lines.

use super::format::{Format, Syntax, Values};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// What happened to a request at the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// It reached a worker (whatever its status).
    Served,
    /// A 502 that never reached a worker: the queue refused it.
    Refused,
}

/// One request that reached the upstream (or was refused by its queue).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Row {
    /// The line of the log it comes from.
    pub line: u64,
    /// When it entered the upstream's queue, seconds since the epoch.
    pub t: f64,
    /// When the upstream's answer ended (NaN: not known).
    pub end: f64,
    /// When a worker started on it, by the replay (NaN: not known).
    pub start: f64,
    /// The worker's busy time (NaN: not known, or refused).
    pub work: f64,
    pub status: u16,
    pub outcome: Outcome,
}

/// The pool's traffic as the log shows it.
#[derive(Debug, Clone)]
pub(super) struct Traffic {
    /// In the order they entered the queue.
    pub rows: Vec<Row>,
    /// Requests nginx answered without the upstream (no upstream time, not a 502).
    pub no_upstream: u64,
    /// Served requests whose replay gave a start after their end (work set to 0):
    /// the log disagrees with N FIFO workers.
    pub clamped: u64,
    /// 502s that did reach a worker (an upstream time above 0).
    pub answered_502: u64,
    /// The number of requests most often found waiting in the queue when one was
    /// refused, by the replay: the queue's capacity, min(backlog, somaxconn) + 1.
    pub queue_at_refusals: Option<u64>,
}

impl Traffic {
    pub fn refused(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.outcome == Outcome::Refused)
            .count()
    }

    /// Requests with status 502 or 504: what nginx's clients saw fail.
    pub fn failed(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.status == 502 || r.status == 504)
            .count()
    }

    /// The served requests' work times that are known, in trace order.
    pub fn works(&self) -> impl Iterator<Item = f64> + '_ {
        self.rows.iter().map(|r| r.work).filter(|w| !w.is_nan())
    }

    /// The busiest whole second of arrivals (seconds since the epoch) and its count.
    pub fn peak_second(&self) -> (f64, u64) {
        let mut best = (f64::NAN, 0);
        let mut i = 0;
        while i < self.rows.len() {
            let second = self.rows[i].t.floor();
            let n = self.rows[i..]
                .iter()
                .take_while(|r| r.t.floor() == second)
                .count();
            if n as u64 > best.1 {
                best = (second, n as u64);
            }
            i += n;
        }
        best
    }
}

/// The traffic of `requests` (consumed: the rows replace them), read with `format`,
/// replayed through `workers` FIFO workers.
pub(super) fn reconstruct(mut requests: Vec<Values>, format: &Format, workers: u32) -> Traffic {
    if format.resolution() >= 1.0 {
        spread_within_seconds(&mut requests);
    }
    let mut no_upstream = 0;
    let mut answered_502 = 0;
    let mut rows = Vec::with_capacity(requests.len());
    for v in &requests {
        match row(v, format) {
            Some(r) => {
                answered_502 += u64::from(v.status == 502 && r.outcome == Outcome::Served);
                rows.push(r);
            }
            None => no_upstream += 1,
        }
    }
    drop(requests);
    rows.sort_by(|a, b| a.t.total_cmp(&b.t).then(a.end.total_cmp(&b.end)));
    let mut traffic = Traffic {
        rows,
        no_upstream,
        clamped: 0,
        answered_502,
        queue_at_refusals: None,
    };
    if format.syntax == Syntax::Nginx {
        traffic.clamped = replay(&mut traffic.rows, workers);
        traffic.queue_at_refusals = queue_at_refusals(&traffic.rows);
    }
    traffic
}

/// Lines with the same whole second get ends evenly inside it, in file order: the k-th
/// of n at second + (k + 1/2) / n.
fn spread_within_seconds(requests: &mut [Values]) {
    requests.sort_by(|a, b| a.end.total_cmp(&b.end));
    for group in requests.chunk_by_mut(|a, b| a.end == b.end) {
        let n = group.len() as f64;
        for (k, v) in group.iter_mut().enumerate() {
            v.end += (k as f64 + 0.5) / n;
        }
    }
}

/// Seconds since the epoch on a microsecond grid, so that one instant computed two ways
/// (`$msec - $request_time` of two lines) is one float, and sorts and compares as one.
fn instant(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// A request's row, or None when nginx answered it without the upstream.
fn row(v: &Values, format: &Format) -> Option<Row> {
    let up = &v.upstream;
    if format.syntax == Syntax::Gunicorn {
        // The worker's own time, when logged: it started that long before the end.
        let t = instant(if v.work.is_nan() {
            v.end
        } else {
            v.end - v.work
        });
        return Some(Row {
            line: v.line,
            t,
            end: v.end,
            start: t,
            work: v.work,
            status: v.status,
            outcome: Outcome::Served,
        });
    }
    let refused = v.status == 502 && (up.attempts == 0 || up.last.is_nan() || up.last == 0.0);
    if format.has_upstream && up.attempts == 0 && !refused {
        return None;
    }
    let upstream_time = up.before + if up.last.is_nan() { 0.0 } else { up.last };
    let arrival = if !v.request_time.is_nan() {
        v.end - v.request_time
    } else {
        v.end - upstream_time
    };
    let (t, end) = if format.has_upstream {
        (arrival + up.before, arrival + up.before + up.last)
    } else if format.has_request_time {
        // No upstream time: the request time is the closest bound on it.
        (arrival, v.end)
    } else {
        (arrival, f64::NAN)
    };
    Some(Row {
        line: v.line,
        t: instant(t),
        end: if refused { f64::NAN } else { instant(end) },
        start: f64::NAN,
        work: f64::NAN,
        status: v.status,
        outcome: if refused {
            Outcome::Refused
        } else {
            Outcome::Served
        },
    })
}

/// Replays the served requests whose end is known through `workers` FIFO workers and
/// sets their start and work; returns how many had to be clamped to 0. One worker
/// serves in the order of the ends (exact, even within a millisecond); several serve
/// in the order of arrival, the earliest free worker taking the next request
/// (semantics: log-reconstruct-nginx-only).
fn replay(rows: &mut [Row], workers: u32) -> u64 {
    let mut served: Vec<u32> = (0..rows.len() as u32)
        .filter(|&i| {
            let r = &rows[i as usize];
            r.outcome == Outcome::Served && !r.end.is_nan()
        })
        .collect();
    let mut clamped = 0;
    let mut set = |r: &mut Row, start: f64| {
        r.start = start;
        let work = r.end - start;
        if work < -1e-9 {
            clamped += 1;
        }
        r.work = work.max(0.0);
    };
    if workers == 1 {
        served.sort_by(|&a, &b| {
            let (a, b) = (&rows[a as usize], &rows[b as usize]);
            a.end.total_cmp(&b.end).then(a.t.total_cmp(&b.t))
        });
        let mut free = f64::NEG_INFINITY;
        for i in served {
            let r = &mut rows[i as usize];
            let start = r.t.max(free);
            free = r.end;
            set(r, start);
        }
    } else {
        // The rows are in arrival order already.
        let idle = Reverse(Time(f64::NEG_INFINITY));
        let mut free: BinaryHeap<Reverse<Time>> = (0..workers).map(|_| idle).collect();
        for i in served {
            let r = &mut rows[i as usize];
            let Reverse(Time(earliest)) = free.pop().unwrap_or(idle);
            let start = r.t.max(earliest);
            free.push(Reverse(Time(r.end.max(start))));
            set(r, start);
        }
    }
    clamped
}

/// A time ordered by `total_cmp`, for the heap of free workers.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Time(f64);

impl Eq for Time {}

impl PartialOrd for Time {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Time {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// At each refusal, how many replayed requests were waiting: arrived at or before it,
/// not started before it. One that started in the same instant counts as waiting if it
/// had arrived earlier (had it been taken first, there would have been room), not if it
/// arrived then too (an idle worker took it at once). The most frequent count is the
/// queue's capacity; None without refusals or a replay.
fn queue_at_refusals(rows: &[Row]) -> Option<u64> {
    let mut starts: Vec<f64> = rows
        .iter()
        .map(|r| r.start)
        .filter(|s| !s.is_nan())
        .collect();
    if starts.is_empty() {
        return None;
    }
    starts.sort_by(f64::total_cmp);
    let mut counts: HashMap<u64, u64> = HashMap::new();
    let (mut arrived, mut started, mut next) = (0u64, 0usize, 0usize);
    // Rows of the instant last passed that started when they arrived.
    let (mut instant, mut at_once) = (f64::NAN, 0u64);
    for r in rows.iter().filter(|r| r.outcome == Outcome::Refused) {
        while next < rows.len() && rows[next].t <= r.t {
            let x = &rows[next];
            if x.t != instant {
                (instant, at_once) = (x.t, 0);
            }
            at_once += u64::from(x.start == x.t);
            arrived += u64::from(!x.start.is_nan());
            next += 1;
        }
        while started < starts.len() && starts[started] < r.t {
            started += 1;
        }
        let at_once = if instant == r.t { at_once } else { 0 };
        let waiting = arrived.saturating_sub(started as u64 + at_once);
        *counts.entry(waiting).or_insert(0) += 1;
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(queue, _)| queue)
}

#[cfg(test)]
mod tests {
    use super::super::format::Format;
    use super::*;

    /// Requests of a `$msec $status $request_time $upstream_response_time` log.
    fn nginx(lines: &[(f64, u16, f64, String)]) -> Vec<Values> {
        let f = Format::compile("$msec $status $request_time $upstream_response_time").unwrap();
        lines
            .iter()
            .map(|(end, status, rt, urt)| {
                f.read(&format!("{end:.3} {status} {rt:.3} {urt}")).unwrap()
            })
            .collect()
    }

    fn format() -> Format {
        Format::compile("$msec $status $request_time $upstream_response_time").unwrap()
    }

    #[test]
    fn one_worker_is_replayed_in_the_order_of_the_ends() {
        // The measured burst (semantics: log-nginx-unix-queue-wait): all arrived at
        // 497.229, one 0.2 s worker, ends k x 0.201 later; a 502 at once.
        let mut lines = vec![(497.229, 502, 0.0, "0.000".to_string())];
        for k in 1..=6 {
            let urt = 0.201 * k as f64;
            lines.push((497.229 + urt, 200, urt, format!("{urt:.3}")));
        }
        let t = reconstruct(nginx(&lines), &format(), 1);
        assert_eq!(t.rows.len(), 7);
        assert_eq!(t.refused(), 1);
        for r in t.rows.iter().filter(|r| r.outcome == Outcome::Served) {
            assert!((r.work - 0.201).abs() < 1.5e-3, "{r:?}");
        }
        assert_eq!(
            t.queue_at_refusals,
            Some(5),
            "6 arrived together; 1 started at once"
        );
    }

    #[test]
    fn several_workers_take_the_next_arrival_when_the_earliest_is_free() {
        // Two workers: arrivals at 0, 0.1, 0.2 with work 1.0 each; the third waits for
        // the first worker (free at 1.0), so its upstream time is 1.8.
        let lines = [
            (1.0, 200, 1.0, "1.000".to_string()),
            (1.1, 200, 1.0, "1.000".into()),
            (2.0, 200, 1.8, "1.800".into()),
        ];
        let t = reconstruct(nginx(&lines), &format(), 2);
        let works: Vec<f64> = t.works().collect();
        for (w, want) in works.iter().zip([1.0, 1.0, 1.0]) {
            assert!((w - want).abs() < 1e-9, "{works:?}");
        }
        assert_eq!(t.clamped, 0);
        // With one worker the same log is inconsistent: nothing is negative, but the
        // third's work shrinks to what is left after the second.
        let one = reconstruct(nginx(&lines), &format(), 1);
        assert!((one.rows[2].work - 0.9).abs() < 1e-9, "{:?}", one.rows[2]);
    }

    #[test]
    fn retries_start_after_the_earlier_attempts_and_static_requests_are_left_out() {
        let lines = [
            (10.603, 200, 0.603, "0.000, 0.603".to_string()),
            (11.0, 200, 0.0, "-".into()),
            (12.0, 502, 0.0, "0.000, 0.000".into()),
        ];
        let t = reconstruct(nginx(&lines), &format(), 1);
        assert_eq!((t.rows.len(), t.no_upstream, t.refused()), (2, 1, 1));
        assert!((t.rows[0].t - 10.0).abs() < 1e-9 && (t.rows[0].work - 0.603).abs() < 1e-9);
        assert!(t.rows[1].work.is_nan());
    }

    #[test]
    fn times_to_the_second_are_spread_within_it_in_line_order() {
        let f = Format::compile("$time_local|$status|$request_time").unwrap();
        let reqs: Vec<Values> = ["0.500", "0.100", "0.000", "0.000"]
            .iter()
            .enumerate()
            .map(|(k, rt)| {
                let sec = if k < 3 { 38 } else { 39 };
                f.read(&format!("29/Nov/2026:12:31:{sec} +0000|200|{rt}"))
                    .unwrap()
            })
            .collect();
        let t = reconstruct(reqs, &f, 1);
        let base = 1795955498.0;
        let ts: Vec<f64> = t.rows.iter().map(|r| r.t - base).collect();
        let want = [1.0 / 6.0 - 0.5, 0.5 - 0.1, 5.0 / 6.0, 1.5];
        for (got, want) in ts.iter().zip(want) {
            assert!((got - want).abs() < 1e-6, "{ts:?}");
        }
        assert_eq!(t.peak_second(), (base, 2));
    }
}
