//! The files of an import, in `--out`: `trace.csv` (the requests at the upstream: `t`
//! from the first arrival, `blocking` the work, empty for a refusal), `work.txt` (the
//! served requests' work, one a line, when there are more than `INLINE_MAX`), the
//! commented `model.toml`, and `observed.json` (what the log shows, to compare with
//! `eagain simulate`).

use super::pool::TABLES;
use super::reconstruct::Traffic;
use super::time::utc_text;
use super::{secs, status_text, Observed, Syntax};
use crate::import::common::{Beside, Source, Sourced};
use crate::import::text::{float, toml_string, Out};
use crate::model::ListenerKind;
use anyhow::Result;
use std::fmt::Write as _;
use std::path::Path;

/// The mark on every model value the log cannot know.
pub(super) const MEASURE: &str = "NOT KNOWN from the log: measure and --set";

/// Up to this many work times are written into the model; more go to work.txt.
const INLINE_MAX: usize = 20;

/// The model's text and the files beside it, in the order they are written.
pub(super) fn files(o: &Observed, traffic: &Traffic) -> Result<(String, Vec<Beside>)> {
    let mut beside = vec![Beside {
        name: "trace.csv",
        bytes: trace(o, traffic),
    }];
    let works: Vec<f64> = traffic.works().collect();
    let work_spec = if works.is_empty() {
        None
    } else if works.len() <= INLINE_MAX {
        let values: Vec<String> = works.iter().map(|&w| decimal(w, 6)).collect();
        Some(format!(
            "{{ dist = \"empirical\", values = [{}] }}",
            values.join(", ")
        ))
    } else {
        let mut text = String::with_capacity(works.len() * 9);
        for &w in &works {
            push_decimal(&mut text, w, 6);
            text.push('\n');
        }
        beside.push(Beside {
            name: "work.txt",
            bytes: text.into_bytes(),
        });
        Some("{ dist = \"empirical\", file = \"work.txt\" }".to_string())
    };
    let json = serde_json::to_string_pretty(&observed_json(o))? + "\n";
    beside.push(Beside {
        name: "observed.json",
        bytes: json.into_bytes(),
    });
    Ok((model_text(o, work_spec.as_deref()), beside))
}

/// `x` with at most `places` decimals, trailing zeros dropped: `0.203`, `12`, `0.5`.
pub(super) fn decimal(x: f64, places: usize) -> String {
    let mut s = String::new();
    push_decimal(&mut s, x, places);
    s
}

fn push_decimal(out: &mut String, x: f64, places: usize) {
    let start = out.len();
    let _ = write!(out, "{x:.places$}");
    if out[start..].contains('.') {
        let kept = out.trim_end_matches('0').trim_end_matches('.').len();
        out.truncate(kept);
    }
    if &out[start..] == "-0" {
        out.truncate(start);
        out.push('0');
    }
}

/// The trace: a header, then one row per request in arrival order.
fn trace(o: &Observed, traffic: &Traffic) -> Vec<u8> {
    let mut text = String::with_capacity(11 + traffic.rows.len() * 20);
    text.push_str("t,blocking\n");
    for r in &traffic.rows {
        push_decimal(&mut text, r.t - o.first, 6);
        text.push(',');
        if !r.work.is_nan() {
            push_decimal(&mut text, r.work, 6);
        }
        text.push('\n');
    }
    text.into_bytes()
}

/// `observed.json`: what the log shows (SPEC section 10's fields first).
fn observed_json(o: &Observed) -> serde_json::Value {
    let status: serde_json::Map<String, serde_json::Value> = o
        .status
        .iter()
        .map(|(code, n)| (code.to_string(), (*n).into()))
        .collect();
    serde_json::json!({
        "requests": o.requests,
        "span_s": micro(o.span()),
        "peak_rate_per_s": o.peak.1,
        "status": status,
        "refusal_probability": o.refusal_probability(),
        "failure_probability": o.failure_probability(),
        "source": o.file,
        "log": o.syntax.name(),
        "time": o.time_name,
        "time_resolution_s": o.resolution,
        "lines": o.lines,
        "unmatched_lines": o.unmatched,
        "first_unmatched_line": o.first_unmatched,
        "requests_to_upstream": o.to_upstream,
        "refused": (o.syntax == Syntax::Nginx).then_some(o.refused),
        "first_arrival": utc_text(o.first),
        "last_arrival": utc_text(o.last),
        "first_arrival_epoch_s": o.first,
        "peak_second": utc_text(o.peak.0),
        "workers": {
            "value": o.workers.value,
            "given": !o.workers_guessed(),
            "from": match &o.workers.source {
                Source::Default(_) => "a guess: --workers not given".to_string(),
                _ => o.workers.from(),
            },
        },
        "read_timeout_s": o.read_timeout.value,
        "pool": o.pool.as_ref().map(|p| &p.file),
        "queue_at_refusals": o.queue_at_refusals,
        "work_s": o.work.map(|w| serde_json::json!({
            "n": w.n, "mean": micro(w.mean), "p50": micro(w.p50), "p99": micro(w.p99),
            "max": micro(w.max)
        })),
    })
}

/// Seconds rounded to the microsecond: the log's times are no finer, and the float
/// noise of their differences (0.1770000457763672) is not worth printing.
fn micro(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// The model's text: the header, then one part per table.
fn model_text(o: &Observed, work_spec: Option<&str>) -> String {
    let mut out = Out::default();
    header(&mut out, o);
    out.raw(&format!(
        "name = {}",
        toml_string(&format!("the pool behind {}", file_name(&o.file)))
    ));
    out.raw(&format!(
        "description = {}",
        toml_string(&format!(
            "{} requests from {} to {}, replayed from trace.csv",
            o.to_upstream,
            utc_text(o.first),
            utc_text(o.last)
        ))
    ));
    out.raw("");
    load(&mut out, o);
    out.raw("");
    match &o.pool {
        Some(p) => {
            let work = work_spec.map(|spec| {
                (
                    spec,
                    "the served requests' work, from the log; the pool model's is replaced",
                )
            });
            for name in TABLES {
                let blocking = if name == "work" { work } else { None };
                if let Some(text) = p.table_text(name, blocking) {
                    for line in text.lines() {
                        out.raw(line);
                    }
                    out.raw("");
                }
            }
        }
        None => {
            listener(&mut out, o);
            out.raw("");
            out.raw("[pool]");
            if o.workers_guessed() {
                out.wrap(
                    "#",
                    "#",
                    &format!(
                        "GUESS: --workers was not given, so the import assumed {} worker{}: \
                         the work times the replay took out and every prediction scale with \
                         it. Import again with --workers N, the upstream's count.",
                        o.workers.value,
                        if o.workers.value == 1 { "" } else { "s" }
                    ),
                );
            }
            out.field(
                &format!("process_limit = {}", o.workers.value),
                &origin_comment(&o.workers),
            );
            out.field("client_limit = 1", "a sync worker: one request at a time");
            out.raw("");
            out.raw("[master]");
            out.field("mode = \"prefork\"", "a fixed pool of workers, kept full");
            out.raw("");
            out.raw("[work]");
            match work_spec {
                Some(spec) => out.field(&format!("blocking = {spec}"), "the served requests' work"),
                None => out.field(
                    "blocking = { dist = \"constant\", value = 0.1 }",
                    &format!("{MEASURE} (the log has no work time)"),
                ),
            }
            out.raw("");
        }
    }
    out.raw("[sim]");
    out.field("seed = 1", "");
    out.field(
        "replications = 10",
        "the 502s' work is drawn; the rest replays as logged",
    );
    out.into_text()
}

/// The `[load]` table: the trace at its own rate, and nginx's timeouts.
fn load(out: &mut Out, o: &Observed) {
    out.raw("[load]");
    out.field(
        "arrival = \"trace\"",
        "the log's own times; no rate: at its own rate",
    );
    if o.to_upstream > 1 {
        out.wrap(
            "#",
            "#",
            &format!(
                "load.rate is left out, so the trace replays at its own rate, {} a second. \
                 --set load.rate=R replays it at R a second, its times scaled by {}/R, and \
                 `eagain simulate` says so.",
                decimal(o.own_rate(), 4),
                decimal(o.own_rate(), 4)
            ),
        );
    }
    out.field(
        "trace = \"trace.csv\"",
        "t: arrival at the queue; blocking: work (empty: a 502)",
    );
    out.field(
        "on_refused = \"fail\"",
        "nginx answers 502 at once (semantics: nginx-connect)",
    );
    let whose = |s: &Sourced<f64>| match s.source {
        Source::Flag(flag) => flag.to_string(),
        _ => "nginx's default, NOT KNOWN from the log: give --read-timeout".into(),
    };
    out.field(
        &format!("timeout = {}", float(o.read_timeout.value)),
        &format!(
            "proxy_read_timeout (fastcgi_read_timeout): nginx answers 504 after it \
             (semantics: nginx-timeouts, nginx-queued-504); {}",
            whose(&o.read_timeout)
        ),
    );
    if o.listener == ListenerKind::Tcp {
        out.field(
            "connect_timeout = 60.0",
            "proxy_connect_timeout: 504 when a SYN finds the queue full that long \
             (semantics: nginx-timeouts, nginx-tcp-full); nginx's default, NOT KNOWN from \
             the log",
        );
    }
}

/// The comment block: what the model is, what the log showed, where each number comes from.
fn header(out: &mut Out, o: &Observed) {
    out.wrap(
        "#",
        "#",
        &format!(
            "The worker pool behind the {} log {}, written by `eagain import nginx-log`.",
            o.syntax.name(),
            o.file
        ),
    );
    out.raw("#");
    out.wrap(
        "#",
        "#",
        &format!(
            "The log: {} requests to the upstream arriving from {} to {} ({}; t = 0 in trace.csv \
         is the first), the busiest second {} with {}. Status: {}.",
            o.to_upstream,
            utc_text(o.first),
            utc_text(o.last),
            secs(o.span()),
            utc_text(o.peak.0),
            o.peak.1,
            status_text(&o.status)
        ),
    );
    match o.refusal_probability() {
        Some(r) => out.wrap(
            "#",
            "#",
            &format!(
                "Observed (observed.json): refusal share {} (502s that never reached a worker), \
             failure share {} (502 and 504). `eagain simulate` on this file predicts them; \
             --set and --vary ask what other limits would have done with the same traffic.",
                decimal(r, 4),
                decimal(o.failure_probability().unwrap_or(r), 4)
            ),
        ),
        None => out.wrap(
            "#",
            "#",
            "Observed: gunicorn logs no refused connection, so the \
             refusal share is not known from this log (semantics: log-gunicorn-defaults).",
        ),
    }
    out.raw("#");
    out.raw("# Where each number comes from:");
    sources(out, o);
}

/// The bullets on where each number comes from.
fn sources(out: &mut Out, o: &Observed) {
    match o.syntax {
        Syntax::Nginx => {
            out.bullet(&format!(
                "load: each request's arrival at the upstream's queue, {} - $request_time + \
                 the earlier attempts' $upstream_response_time (semantics: \
                 log-nginx-request-time, log-nginx-lists); a 502 whose last attempt took 0.000 \
                 is a refusal by the full queue (semantics: log-nginx-eagain-502).",
                o.time_name
            ));
            out.bullet(&format!(
                "work: $upstream_response_time holds the queue wait too (semantics: \
                 log-nginx-unix-queue-wait); it is taken out by replaying the served requests \
                 through {}{} (semantics: log-reconstruct-nginx-only). This assumes one \
                 FIFO queue, workers that accept only when free (gunicorn sync, PHP-FPM) and \
                 all of the pool's traffic through this nginx.",
                super::plural(u64::from(o.workers.value), "FIFO worker"),
                match &o.workers.source {
                    Source::Default(_) => " (a GUESS: --workers was not given)".to_string(),
                    Source::Derived(why) => format!(" ({why})"),
                    Source::Given(_) | Source::Flag(_) => String::new(),
                }
            ));
        }
        Syntax::Gunicorn => {
            out.bullet(
                "load: gunicorn logs no arrival (semantics: log-gunicorn-no-arrival): \
                 t is when a worker started, the end (%(t)s, spread within its second) minus \
                 the worker's own time, so a burst that waited in the queue looks spread out.",
            );
            out.bullet(
                "work: the worker's own time (%(L)s, %(D)s or %(M)s), which has no \
                 queue wait in it (semantics: log-gunicorn-request-time).",
            );
        }
    }
    if let Some(w) = &o.work {
        out.bullet(&format!(
            "work per served request: mean {}, p50 {}, p99 {}, max {} ({} requests).",
            secs(w.mean),
            secs(w.p50),
            secs(w.p99),
            secs(w.max),
            w.n
        ));
    }
    if let Some(q) = o.queue_at_refusals {
        out.bullet(&format!(
            "at the 502s the replay found {q} requests waiting most often: the queue's \
             capacity, min(backlog, somaxconn) + 1 (semantics: unix-capacity)."
        ));
    }
    if let Some(p) = &o.pool {
        out.bullet(&format!(
            "the pool: {}'s [listener], [pool], [master]{} below, with their comments \
             (`--pool`): the log gives the load, the configuration the pool.",
            p.file,
            if o.work.is_some() {
                " and [work] (its blocking replaced by the log's)"
            } else {
                " and [work]"
            }
        ));
    }
}

/// The `[listener]` table.
fn listener(out: &mut Out, o: &Observed) {
    out.raw("[listener]");
    let kind = match o.listener {
        ListenerKind::Unix => "unix",
        ListenerKind::Tcp => "tcp",
    };
    out.field(
        &format!("kind = \"{kind}\""),
        "--listener (proxy_pass http://unix:... is unix)",
    );
    let backlog = match o.backlog.source {
        Source::Derived(_) => format!(
            "ESTIMATED from the 502s (queue {} - 1), not known: measure (ss -xln, \
             semantics: unix-ss-queue) and --set",
            o.backlog.value + 1
        ),
        _ => origin_comment(&o.backlog),
    };
    out.field(&format!("backlog = {}", o.backlog.value), &backlog);
    out.field(
        &format!("somaxconn = {}", o.somaxconn.value),
        &origin_comment(&o.somaxconn),
    );
}

/// Where a value comes from, for its comment: its flag, or that the log cannot know it.
fn origin_comment(c: &Sourced<u32>) -> String {
    c.from()
}

/// The notes on stderr for the values the log could not give.
pub(super) fn unknown_notes(o: &Observed) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(p) = &o.pool {
        if let Some(q) = o.queue_at_refusals {
            notes.push(format!(
                "at the 502s the replay through {} found {q} requests waiting most often: \
                 if that many workers wrote the log, its queue held about {q} (min(backlog, \
                 somaxconn) + 1); the pool model's holds {} ({})",
                super::plural(u64::from(o.workers.value), "worker"),
                p.queue_capacity(),
                p.file
            ));
        }
    } else {
        match o.backlog.source {
            Source::Default(_) => notes.push(format!(
                "listener.backlog is not known from the log: the model has {} (gunicorn's \
                 default); read it with `ss -xln` (Send-Q) and give --backlog",
                o.backlog.value
            )),
            Source::Derived(_) => notes.push(format!(
                "listener.backlog is estimated from the 502s: {} requests were waiting when \
                 they came, so min(backlog, somaxconn) + 1 = {}; the model has backlog {} \
                 (check it with `ss -xln`, Send-Q, and give --backlog)",
                o.backlog.value + 1,
                o.backlog.value + 1,
                o.backlog.value
            )),
            Source::Given(_) | Source::Flag(_) => {}
        }
        if matches!(o.somaxconn.source, Source::Default(_)) {
            notes.push(format!(
                "listener.somaxconn is not known from the log: the model has {} (Linux 5.4 \
                 and later); read `sysctl net.core.somaxconn` in the upstream's namespace and \
                 give --somaxconn",
                o.somaxconn.value
            ));
        }
    }
    if matches!(o.read_timeout.source, Source::Default(_)) {
        notes.push(format!(
            "load.timeout is nginx's default proxy_read_timeout, {} s: give --read-timeout \
             if nginx.conf sets proxy_read_timeout (or fastcgi_read_timeout) to another",
            o.read_timeout.value
        ));
    }
    notes
}

/// The last part of a path, for the model's name.
fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_drop_trailing_zeros() {
        assert_eq!(decimal(0.203, 6), "0.203");
        assert_eq!(decimal(12.0, 6), "12");
        assert_eq!(decimal(0.20099997520446777, 6), "0.201");
        assert_eq!(decimal(-0.0000001, 6), "0");
        assert_eq!(decimal(100.0, 3), "100");
    }
}
