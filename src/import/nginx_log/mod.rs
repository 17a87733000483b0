//! `eagain import nginx-log`: yesterday's traffic, from an access log, as a trace and a
//! model of the upstream pool that replays it (SPEC section 10).
//!
//! Four steps, a file each: `format` compiles the user's `log_format` (or gunicorn's
//! `--access-logformat`) into a line matcher; `parse` streams the log through it;
//! `reconstruct` turns the lines into arrivals at the upstream's queue, refusals and
//! work times (replaying nginx's served requests through N FIFO workers to take the
//! queue wait out of `$upstream_response_time`); `write` writes `trace.csv`,
//! `model.toml` (every value the log cannot know marked so), `observed.json` and, when
//! there are many work times, `work.txt`. This file holds the settings, the observed
//! figures the files and the summary share, and the summary.

mod format;
mod parse;
mod pool;
mod reconstruct;
mod time;
mod write;

use crate::error::{quoted, BadInput};
use crate::import::common::{Imported, Source, Sourced};
use crate::model::{ListenerKind, MAX_PROCESSES};
use format::{Format, Syntax};
use pool::PoolModel;
use reconstruct::Traffic;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The files an import writes into `--out`: the model last, since it reads the others.
pub const OUTPUTS: [&str; 4] = ["trace.csv", "work.txt", "observed.json", "model.toml"];

/// The command line's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub log: PathBuf,
    pub format: String,
    pub workers: Option<u32>,
    pub listener: ListenerKind,
    pub backlog: Option<u32>,
    pub somaxconn: Option<u32>,
    /// nginx's proxy_read_timeout in seconds (None: nginx's default).
    pub read_timeout: Option<f64>,
    /// A model of one service whose listener, pool, master (and work, where the log has
    /// none) the model takes, instead of a fixed pool of `workers`.
    pub pool: Option<PathBuf>,
}

/// nginx's proxy_read_timeout (and fastcgi_read_timeout) unless nginx.conf says
/// otherwise (semantics: nginx-timeouts).
const DEFAULT_READ_TIMEOUT: f64 = 60.0;

/// A value of the model from `flag`, else `default`, which the log cannot know.
fn flag_or(flag: &'static str, given: Option<u32>, default: u32) -> Sourced<u32> {
    Sourced::flag_or(flag, given, Sourced::default(default, write::MEASURE))
}

/// gunicorn's default backlog, the model's when the log and the flags say nothing
/// (semantics: gunicorn-backlog).
const DEFAULT_BACKLOG: u32 = 2048;
/// Linux's default somaxconn since 5.4 (semantics: somaxconn-default).
const DEFAULT_SOMAXCONN: u32 = 4096;

/// The served requests' work times.
#[derive(Debug, Clone, Copy)]
struct WorkStats {
    pub n: usize,
    pub mean: f64,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

/// What the log shows, as `observed.json`, the model's comments and the summary say it.
#[derive(Debug, Clone)]
struct Observed {
    pub file: String,
    pub syntax: Syntax,
    /// The log time's variable and resolution (seconds).
    pub time_name: &'static str,
    pub resolution: f64,
    pub lines: u64,
    pub unmatched: u64,
    pub first_unmatched: Option<u64>,
    /// Matching lines.
    pub requests: u64,
    /// Rows of the trace: requests that reached the upstream or its queue's refusal.
    pub to_upstream: u64,
    /// The first and last arrival, seconds since the epoch.
    pub first: f64,
    pub last: f64,
    pub peak: (f64, u64),
    pub status: BTreeMap<u16, u64>,
    pub refused: u64,
    pub failed: u64,
    pub work: Option<WorkStats>,
    /// The replay's count of requests waiting at the refusals (the queue's capacity).
    pub queue_at_refusals: Option<u64>,
    pub workers: Sourced<u32>,
    pub backlog: Sourced<u32>,
    pub somaxconn: Sourced<u32>,
    pub listener: ListenerKind,
    pub read_timeout: Sourced<f64>,
    /// The model the pool comes from (`--pool`).
    pub pool: Option<PoolModel>,
}

impl Observed {
    pub fn span(&self) -> f64 {
        self.last - self.first
    }

    /// The share of refusals; None for gunicorn, whose log has no refused connection
    /// (semantics: log-gunicorn-defaults).
    pub fn refusal_probability(&self) -> Option<f64> {
        (self.syntax == Syntax::Nginx).then(|| self.refused as f64 / self.to_upstream as f64)
    }

    /// Arrivals per second over the span, the rate the trace replays at: (n - 1) / span.
    pub fn own_rate(&self) -> f64 {
        (self.to_upstream as f64 - 1.0) / self.span()
    }

    /// Whether the worker count is a guess: no --workers, and no --pool to give it.
    pub fn workers_guessed(&self) -> bool {
        matches!(self.workers.source, Source::Default(_))
    }

    /// The share of 502s and 504s; None for gunicorn.
    pub fn failure_probability(&self) -> Option<f64> {
        (self.syntax == Syntax::Nginx).then(|| self.failed as f64 / self.to_upstream as f64)
    }
}

/// Reads the log and reconstructs the traffic: the trace, the model that replays it and
/// the observed outcomes, for the caller to write into one folder. What the files would
/// hold is checked first: a log whose times cannot be a trace is refused (exit 2) at its
/// line, before anything is written.
pub fn import(settings: &Settings) -> anyhow::Result<Imported> {
    check_flags(settings)?;
    let format = Format::compile(&settings.format)?;
    let pool = settings.pool.as_deref().map(PoolModel::read).transpose()?;
    let shown = quoted(&settings.format);
    let parsed = parse::read_log(&settings.log, &format, &shown)?;
    let workers = match (&pool, settings.workers) {
        (Some(p), None) => Sourced::derived(
            p.workers(),
            format!("the pool model's process_limit x threads ({})", p.file),
        ),
        (_, given) => flag_or("--workers", given, 1),
    };
    let (lines, unmatched, first_unmatched) =
        (parsed.lines, parsed.unmatched, parsed.first_unmatched);
    let requests = parsed.requests.len() as u64;
    let status = parsed.status;
    let traffic = reconstruct::reconstruct(parsed.requests, &format, workers.value);
    if traffic.rows.is_empty() {
        return Err(BadInput(format!(
            "{}: none of its {requests} requests went to an upstream (every \
             $upstream_response_time is `-` and none is a 502): there is no pool to model",
            settings.log.display()
        ))
        .into());
    }
    check_trace(&traffic, &settings.log.display().to_string(), &format)?;
    let observed = observe(
        settings,
        &format,
        &traffic,
        (workers, pool),
        status,
        (lines, unmatched, first_unmatched, requests),
    );
    let (toml, beside) = write::files(&observed, &traffic)?;
    Ok(Imported {
        summary: summary(&observed),
        toml,
        beside,
        warnings: warnings(&observed),
        notes: notes(&observed, &traffic, &format),
        left_out: None,
    })
}

/// Refuses, at the log's lines, a traffic that cannot be replayed as a trace: times
/// that do not advance, a span over `MAX_SECONDS` (one line's time far from the
/// others'), then the rules every trace meets (`model::trace::Trace::new`), so that the
/// files written always load.
fn check_trace(traffic: &Traffic, log: &str, format: &Format) -> Result<(), BadInput> {
    let rows = &traffic.rows;
    let (first, last) = (&rows[0], &rows[rows.len() - 1]);
    let when = |r: &reconstruct::Row| time::utc_text(r.t);
    let time_name = format.time_name();
    if rows.len() > 1 && first.t == last.t {
        return Err(BadInput(format!(
            "{log} line {}: this request and the {} others to the upstream (the last on line \
             {}) all arrive at {}: a trace needs times that advance, so there is no rate to \
             replay it at. Give a log of more than one instant, written with a {time_name} \
             that changes.",
            first.line.min(last.line),
            rows.len() - 1,
            first.line.max(last.line),
            when(first)
        )));
    }
    let most = crate::dist::MAX_SECONDS;
    if last.t - first.t > most {
        // The end farther from the middle arrival is the line to fix.
        let middle = rows[rows.len() / 2].t;
        let (odd, other) = if middle - first.t > last.t - middle {
            (first, last)
        } else {
            (last, first)
        };
        return Err(BadInput(format!(
            "{log} line {}: its request arrives at {} ({time_name}), {:.3e} s from the \
             arrival of line {} ({}): a trace spans at most {most:e} s (about 31 years). \
             Fix or remove that line.",
            odd.line,
            when(odd),
            (last.t - first.t),
            other.line,
            when(other)
        )));
    }
    let t: Vec<f64> = rows.iter().map(|r| r.t).collect();
    let works: Vec<f64> = rows.iter().map(|r| r.work).collect();
    crate::model::trace::Trace::new(t, works).map_err(|e| {
        let line = e.row.map_or(first.line, |i| rows[i].line);
        BadInput(format!(
            "{log} line {line}: this request cannot be replayed: {}",
            e.message
        ))
    })?;
    Ok(())
}

/// The flags' ranges, each error naming its flag.
fn check_flags(s: &Settings) -> Result<(), BadInput> {
    if let Some(w) = s.workers.filter(|&w| w == 0 || w > MAX_PROCESSES) {
        return Err(BadInput(format!(
            "--workers {w}: give the upstream's number of worker processes, 1 to {MAX_PROCESSES}"
        )));
    }
    if let Some(b) = s.backlog.filter(|&b| b > i32::MAX as u32) {
        return Err(BadInput(format!(
            "--backlog {b}: listen() takes an int, at most {}",
            i32::MAX
        )));
    }
    if s.somaxconn == Some(0) {
        return Err(BadInput(
            "--somaxconn 0: give net.core.somaxconn of the upstream's host, at least 1".into(),
        ));
    }
    let most = crate::dist::MAX_SECONDS;
    if let Some(t) = s.read_timeout.filter(|t| !(*t > 0.0 && *t <= most)) {
        return Err(BadInput(format!(
            "--read-timeout {t}: give nginx's proxy_read_timeout in seconds, above 0 and at \
             most {most:e}"
        )));
    }
    Ok(())
}

/// The observed figures, and the model's values with where they come from.
fn observe(
    s: &Settings,
    format: &Format,
    traffic: &Traffic,
    (workers, pool): (Sourced<u32>, Option<PoolModel>),
    status: BTreeMap<u16, u64>,
    (lines, unmatched, first_unmatched, requests): (u64, u64, Option<u64>, u64),
) -> Observed {
    let backlog = match (s.backlog, traffic.queue_at_refusals) {
        (None, Some(q)) if q >= 1 => Sourced::derived(
            (q - 1).min(i32::MAX as u64) as u32,
            "ESTIMATED from the log, not known: measure and --set",
        ),
        (flag, _) => flag_or("--backlog", flag, DEFAULT_BACKLOG),
    };
    let rows = &traffic.rows;
    Observed {
        file: s.log.display().to_string(),
        syntax: format.syntax,
        time_name: format.time_name(),
        resolution: format.resolution(),
        lines,
        unmatched,
        first_unmatched,
        requests,
        to_upstream: rows.len() as u64,
        first: rows[0].t,
        last: rows[rows.len() - 1].t,
        peak: traffic.peak_second(),
        status,
        refused: traffic.refused() as u64,
        failed: traffic.failed() as u64,
        work: work_stats(traffic.works().collect()),
        queue_at_refusals: traffic.queue_at_refusals,
        workers,
        backlog,
        somaxconn: flag_or("--somaxconn", s.somaxconn, DEFAULT_SOMAXCONN),
        listener: pool.as_ref().map_or(s.listener, PoolModel::listener),
        read_timeout: Sourced::flag_or(
            "--read-timeout",
            s.read_timeout,
            Sourced::default(DEFAULT_READ_TIMEOUT, "nginx's default"),
        ),
        pool,
    }
}

/// Mean, median, 99th percentile (nearest rank) and maximum; None without values.
fn work_stats(mut works: Vec<f64>) -> Option<WorkStats> {
    if works.is_empty() {
        return None;
    }
    works.sort_by(f64::total_cmp);
    let n = works.len();
    let rank = |q: f64| works[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
    Some(WorkStats {
        n,
        mean: works.iter().sum::<f64>() / n as f64,
        p50: rank(0.5),
        p99: rank(0.99),
        max: works[n - 1],
    })
}

/// Seconds for people: `0.203 s`, `300.1 s`.
fn secs(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.1} s")
    } else {
        format!("{} s", write::decimal(x, 3))
    }
}

/// `1 request`, `2 requests`.
fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// `200 × 4890, 502 × 344`.
fn status_text(status: &BTreeMap<u16, u64>) -> String {
    status
        .iter()
        .map(|(code, n)| format!("{code} × {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The summary printed on stdout.
fn summary(o: &Observed) -> Vec<String> {
    let kind = o.syntax.name();
    let mut lines = vec![
        format!(
            "{}: {} ({}; an {kind} log, times from {} to {})",
            o.file,
            plural(o.requests, "request"),
            plural(o.lines, "line"),
            o.time_name,
            if o.resolution < 1.0 { "1 ms" } else { "1 s" }
        ),
        format!(
            "arrivals from {} to {}: {}",
            time::utc_text(o.first),
            time::utc_text(o.last),
            secs(o.span())
        ),
        format!(
            "busiest second: {}, {}",
            time::utc_text(o.peak.0),
            plural(o.peak.1, "request")
        ),
        format!("status: {}", status_text(&o.status)),
    ];
    lines.push(match (o.refusal_probability(), o.failure_probability()) {
        (Some(r), Some(f)) => format!(
            "observed refusal share (502 that never reached a worker): {} ({} of {}); \
             failure share (502 and 504): {}",
            write::decimal(r, 4),
            o.refused,
            o.to_upstream,
            write::decimal(f, 4)
        ),
        _ => "observed refusal share: not known from this log (gunicorn logs no refused \
              connection: a refused connection never reached it; nginx's log has them)"
            .to_string(),
    });
    if let Some(p) = &o.pool {
        lines.push(format!(
            "pool: {}'s listener, pool and master{}",
            p.file,
            if o.work.is_some() {
                ""
            } else {
                " and work (the log has no work times)"
            }
        ));
    }
    if let Some(w) = &o.work {
        let how = match o.syntax {
            Syntax::Nginx if o.workers_guessed() => format!(
                "replayed through {}, a guess: --workers not given",
                plural(u64::from(o.workers.value), "FIFO worker")
            ),
            Syntax::Nginx => format!("replayed through {} FIFO workers", o.workers.value),
            Syntax::Gunicorn => "as gunicorn logged it".to_string(),
        };
        lines.push(format!(
            "work per request ({how}): {} requests, mean {}, p50 {}, p99 {}, max {}",
            w.n,
            secs(w.mean),
            secs(w.p50),
            secs(w.p99),
            secs(w.max)
        ));
    }
    lines
}

/// The warnings printed on stderr: a value the import guessed that scales its answer.
fn warnings(o: &Observed) -> Vec<String> {
    let mut warnings = Vec::new();
    if o.workers_guessed() {
        warnings.push(format!(
            "--workers not given: the replay and the model assume {}, and every answer \
             changes with that count, which the log cannot show (the work times the replay \
             takes out, and the refusals the model predicts). Give the upstream's count \
             (gunicorn --workers, pm.max_children), or --pool with its model; model.toml \
             and observed.json mark the {} as a guess.",
            plural(u64::from(o.workers.value), "worker"),
            o.workers.value
        ));
    }
    warnings
}

/// The notes printed on stderr: lines left out, values not known, caveats.
fn notes(o: &Observed, traffic: &Traffic, format: &Format) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(first) = o.first_unmatched {
        notes.push(format!(
            "{} of {} lines do not match the format (the first is line {first}); they \
             are left out",
            o.unmatched, o.lines
        ));
    }
    if traffic.no_upstream > 0 {
        notes.push(format!(
            "{} requests had no upstream time and are not 502s: nginx answered them \
             itself, so they are not in the trace",
            traffic.no_upstream
        ));
    }
    if traffic.answered_502 > 0 {
        notes.push(format!(
            "{} 502s have an upstream time above 0: they reached a worker (it failed or \
             closed), so they count as served, not refused",
            traffic.answered_502
        ));
    }
    if traffic.clamped > 0 {
        let why = if o.resolution >= 1.0 {
            format!(
                "the log's times ({}) are whole seconds, spread evenly within each second, \
                 so the order and the gaps of the requests within a second are not known: \
                 this comes from the time's resolution, not from --workers. Add $msec to the \
                 log_format for exact work times",
                o.time_name
            )
        } else {
            "check --workers".to_string()
        };
        notes.push(format!(
            "{} served requests ended before the replay through {} FIFO workers could \
             start them (their work is set to 0): {why}",
            traffic.clamped, o.workers.value
        ));
    }
    if o.syntax == Syntax::Nginx && !format.has_upstream {
        notes.push(
            "the format has no $upstream_response_time: every request is taken as one to \
             the upstream, and every 502 as a refusal by its full queue (semantics: \
             log-nginx-eagain-502)"
                .into(),
        );
    }
    notes.extend(format_notes(o, format));
    notes.extend(write::unknown_notes(o));
    notes
}

/// What the format lacks for good work times and arrivals.
fn format_notes(o: &Observed, format: &Format) -> Vec<String> {
    let mut notes = Vec::new();
    if o.resolution >= 1.0 {
        notes.push(format!(
            "the log's times ({}) are whole seconds, spread evenly within each second: \
             arrivals and work times are rough{}",
            o.time_name,
            if o.syntax == Syntax::Nginx {
                "; add $msec to the log_format"
            } else {
                ""
            }
        ));
    }
    let lacks = match (o.syntax, format.has_request_time, format.has_upstream) {
        (Syntax::Nginx, true, true) => None,
        (Syntax::Nginx, true, false) => Some(
            "the format has no $upstream_response_time: $request_time (which adds reading \
             the request and writing the reply) stands in for it",
        ),
        (Syntax::Nginx, false, true) => {
            Some("the format has no $request_time: arrivals are the end minus the upstream time")
        }
        (Syntax::Nginx, false, false) => Some(
            "the format has neither $request_time nor $upstream_response_time: arrivals \
             are the requests' ends",
        ),
        (Syntax::Gunicorn, ..) => Some(
            "gunicorn's log has no arrival times: the trace's times are when workers \
             started, so a burst that waited in the queue looks spread out; nginx's log \
             with $msec and $request_time gives the real arrivals",
        ),
    };
    notes.extend(lacks.map(String::from));
    if o.work.is_none() {
        let why = if format.has_request_time || format.has_upstream || format.work.is_some() {
            "no request reached a worker"
        } else {
            "the format has no duration"
        };
        notes.push(format!(
            "no work time is known ({why}): work.blocking in the model is a placeholder \
             marked NOT KNOWN"
        ));
    }
    notes
}
