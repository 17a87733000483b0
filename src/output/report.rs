//! What a run prints and writes: the JSON object of SPEC section 5, the table for a
//! person, and the flattened row of a sweep's CSV. The table says "none seen" with the
//! exposure and its bound where no replication saw a refusal (SPEC sections 12 and 14),
//! and a chain's headline gives every service's load, not the first one's alone.

use crate::model::Model;
use crate::replicate::PointResult;
use crate::stats::{Estimate, Probability, Rare, Summary};
use serde::{Deserialize, Serialize};

/// Settings that follow from the model, for the reader to check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Effective {
    /// min(backlog, somaxconn) + 1.
    pub queue_capacity: u64,
    /// What listen() is given (listener.backlog, cut by a Dovecot version's cap);
    /// the kernel then caps it at somaxconn.
    pub listen_backlog: u64,
    /// Arrival rate x mean blocking time.
    pub offered_load_erlangs: f64,
    pub mean_blocking_s: f64,
}

impl Effective {
    pub fn of(model: &Model) -> Effective {
        Effective {
            queue_capacity: model.queue_capacity(),
            listen_backlog: u64::from(model.listen_backlog()),
            offered_load_erlangs: model.offered_load(),
            mean_blocking_s: model.front().work.blocking.mean(),
        }
    }
}

/// The JSON of `eagain simulate --format json` (SPEC section 5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub model: String,
    pub name: String,
    pub seed: u64,
    pub replications: u32,
    pub effective: Effective,
    #[serde(flatten)]
    pub summary: Summary,
    pub wall_s: f64,
    /// For the table: each service's name and offered load (a chain's headline).
    #[serde(skip)]
    pub loads: Vec<(String, f64)>,
    /// For the table: the arrival window of one replication, seconds.
    #[serde(skip)]
    pub window_s: f64,
}

/// Offered load in Erlangs of each service of `model`: the clients' rate times the
/// service's own mean blocking time (every client that is not refused on the way
/// passes every service of a chain), by name.
pub fn service_loads(model: &Model) -> Vec<(String, f64)> {
    model
        .services
        .iter()
        .map(|s| (s.name.clone(), model.load.rate * s.work.blocking.mean()))
        .collect()
}

/// A probability for a person: four decimals, or three significant digits below 0.001.
pub fn probability_text(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x.abs() >= 1e-3 {
        format!("{x:.4}")
    } else {
        format!("{x:.2e}")
    }
}

/// A probability with what backs it: "none seen" with the exposure and its 95 % bound,
/// or the mean with its interval.
pub fn probability_line(p: &Probability, offered: u64, replications: u32, what: &str) -> String {
    if p.mean.is_nan() {
        "not defined: no connection was offered after the warm-up".to_string()
    } else if p.none_seen {
        format!(
            "none seen in {offered} connections offered ({replications} replication{}); \
             95 % upper bound {} if {what}s came one at a time (they come in bursts: the \
             real bound is higher)",
            if replications == 1 { "" } else { "s" },
            probability_text(p.upper_bound)
        )
    } else if p.ci_low.is_finite() {
        format!(
            "{:.6}  (95 % CI {:.6} to {:.6})",
            p.mean, p.ci_low, p.ci_high
        )
    } else {
        format!("{:.6}  (one replication: no interval)", p.mean)
    }
}

/// The share of replications that saw a refusal, with its count and interval.
pub fn any_refusal_line(e: &Estimate, replications: u32, window_s: f64) -> String {
    if e.mean.is_nan() {
        return "not defined: no replication".to_string();
    }
    let seen = (e.mean * f64::from(replications)).round() as u64;
    format!(
        "{:.4}  ({seen} of {replications} replications of {} s saw at least one; 95 % CI \
         {:.4} to {:.4})",
        e.mean,
        crate::plot::fmt_number(window_s, 4),
        e.ci_low,
        e.ci_high
    )
}

/// With `sim.rare`: the estimates (small ones in scientific notation) and how the
/// splitting got them, instead of the plain run's counts, which say nothing this rare.
fn rare_lines(s: &Summary, rare: &Rare, n: u32) -> Vec<(&'static str, String)> {
    let interval = |mean: f64, low: f64, high: f64| {
        format!(
            "{}  (95 % CI {} to {})",
            probability_text(mean),
            probability_text(low),
            probability_text(high)
        )
    };
    let prob = |p: &Probability, what: &str| {
        if p.none_seen || p.mean.is_nan() {
            probability_line(p, s.offered, n, what)
        } else {
            interval(p.mean, p.ci_low, p.ci_high)
        }
    };
    let a = &s.any_refusal_probability;
    let fe = &rare.any_refusal;
    let unreliable = |u: bool| {
        if u {
            " (unreliable: fewer than 10)"
        } else {
            ""
        }
    };
    vec![
        (
            "refusal probability",
            prob(&s.refusal_probability, "refusal"),
        ),
        (
            "failure probability",
            prob(&s.failure_probability, "failure"),
        ),
        (
            "any refusal in a run",
            format!(
                "{}  (fixed effort over {} of the replications)",
                interval(a.mean, a.ci_low, a.ci_high),
                fe.replications.max(1),
            ),
        ),
        (
            "rare events",
            format!(
                "RESTART on the {}: {} levels, {} trajectories, {} of {n} replications \
                 reached the top{}",
                rare.importance,
                rare.levels.len(),
                rare.trajectories,
                rare.replications_reaching_top,
                unreliable(rare.unreliable)
            ),
        ),
    ]
}

impl Report {
    pub fn new(file: &str, model: &Model, seed: u64, result: PointResult, wall_s: f64) -> Self {
        Report {
            model: file.to_string(),
            name: model.name.clone(),
            seed,
            replications: result.replications,
            effective: Effective::of(model),
            summary: result.summary,
            wall_s,
            loads: service_loads(model),
            window_s: model.arrival_window(),
        }
    }

    /// A table for a person.
    pub fn table(&self) -> String {
        let s = &self.summary;
        let e = &self.effective;
        let pct = |n: u64| {
            if s.offered == 0 {
                0.0
            } else {
                100.0 * n as f64 / s.offered as f64
            }
        };
        let mut t = String::new();
        let mut line = |k: &str, v: String| t.push_str(&format!("{k:<22}{v}\n"));
        line("model", format!("{} ({})", self.name, self.model));
        line(
            "replications",
            format!("{} (seed {})", self.replications, self.seed),
        );
        if s.services.is_empty() {
            line(
                "queue capacity",
                format!(
                    "{} = min(backlog, somaxconn) + 1; offered load {:.3} Erlangs",
                    e.queue_capacity, e.offered_load_erlangs
                ),
            );
        } else {
            // A chain: every service's load and queue, and where the refusals were.
            let loads: Vec<String> = self
                .loads
                .iter()
                .zip(&s.services)
                .map(|((name, load), (_, v))| {
                    let refused = v.refused + v.dropped;
                    format!(
                        "{name} {} Erlangs, queue {}{}",
                        crate::plot::fmt_number(*load, 3),
                        v.effective.queue_capacity,
                        if refused > 0 {
                            format!(", {refused} refused there")
                        } else {
                            String::new()
                        }
                    )
                })
                .collect();
            line(
                "offered load",
                format!("{} (rate x each service's mean blocking)", loads.join("; ")),
            );
        }
        line("offered", s.offered.to_string());
        line("served", format!("{} ({:.3} %)", s.served, pct(s.served)));
        line(
            "refused",
            format!("{} ({:.3} %)", s.refused, pct(s.refused)),
        );
        line(
            "dropped",
            format!("{} ({:.3} %)", s.dropped, pct(s.dropped)),
        );
        line(
            "timed out",
            format!("{} ({:.3} %)", s.timed_out, pct(s.timed_out)),
        );
        let n = self.replications;
        if let Some(rare) = &s.rare {
            for (name, text) in rare_lines(s, rare, n) {
                line(name, text);
            }
        } else {
            line(
                "refusal probability",
                probability_line(&s.refusal_probability, s.offered, n, "refusal"),
            );
            line(
                "failure probability",
                probability_line(&s.failure_probability, s.offered, n, "failure"),
            );
            line(
                "any refusal in a run",
                any_refusal_line(&s.any_refusal_probability, n, self.window_s),
            );
        }
        let l = &s.latency_s;
        line(
            "latency (s)",
            format!(
                "mean {:.4}  p50 {:.4}  p90 {:.4}  p99 {:.4}  p99.9 {:.4}  max {:.4}",
                l.mean, l.p50, l.p90, l.p99, l.p999, l.max
            ),
        );
        line(
            "queue wait (s)",
            format!(
                "mean {:.4}  p99 {:.4}",
                s.queue_wait_s.mean, s.queue_wait_s.p99
            ),
        );
        line(
            "queue length",
            format!(
                "mean {:.3}  max {}",
                s.queue_length.mean, s.queue_length.max
            ),
        );
        let p = &s.processes;
        line(
            "processes",
            format!(
                "mean {:.3}  max {}  busy {:.3}  utilisation {:.3}  forks {}",
                p.mean, p.max, p.busy_mean, p.utilisation, p.forks
            ),
        );
        if let Some(h) = &s.host {
            line(
                "host CPUs",
                format!(
                    "utilisation {:.3}  requests in their CPU part mean {:.3}",
                    h.cpu_utilisation, h.cpu_queue_mean
                ),
            );
        }
        line("wasted work (s)", format!("{:.3}", s.wasted_s));
        line(
            "events",
            format!("{} in {:.3} s of wall time", s.events, self.wall_s),
        );
        for (name, v) in &s.services {
            let share = |n: u64| {
                if s.offered == 0 {
                    0.0
                } else {
                    100.0 * n as f64 / s.offered as f64
                }
            };
            line(
                &format!("service {name}"),
                format!(
                    "offered {}  refused {} ({:.3} %)  dropped {} ({:.3} %)  timed out {}  \
                     queue {} places, mean {:.3} max {}  wait p99 {:.4} s  processes mean {:.2} \
                     max {} forks {}",
                    v.offered,
                    v.refused,
                    share(v.refused),
                    v.dropped,
                    share(v.dropped),
                    v.timed_out,
                    v.effective.queue_capacity,
                    v.queue_length.mean,
                    v.queue_length.max,
                    v.queue_wait_s.p99,
                    v.processes.mean,
                    v.processes.max,
                    v.processes.forks
                ),
            );
        }
        for (label, m) in &s.masters {
            line(
                &format!("master {label}"),
                format!(
                    "forks {}  busy {:.3} of the time  a fork waited mean {:.4} s, p99 {:.4} s",
                    m.forks, m.busy_fraction, m.fork_wait_s.mean, m.fork_wait_s.p99
                ),
            );
        }
        t
    }
}

/// The scalar fields of a summary, flattened with `_` in JSON order
/// (`refusal_probability_mean`, `latency_s_p99`, ...).
pub fn flatten(summary: &Summary) -> Vec<(String, serde_json::Value)> {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, serde_json::Value)>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    let key = match prefix {
                        "" => k.clone(),
                        // A chain's services and masters by name (SPEC section 8):
                        // services.NAME.FIELD, the field flattened with `_`.
                        "services" | "masters" => format!("{prefix}.{k}."),
                        p if p.ends_with('.') => format!("{p}{k}"),
                        p => format!("{p}_{k}"),
                    };
                    walk(&key, v, out);
                }
            }
            other => out.push((prefix.to_string(), other.clone())),
        }
    }
    let mut out = Vec::new();
    walk(
        "",
        &serde_json::to_value(summary).expect("a summary serialises"),
        &mut out,
    );
    out
}
