//! A target's `Report` (the lines of its logs it counts, and what it sets beside
//! them) as output: its columns in measured.csv and validation.csv after the standard
//! ones, with a point's cells in them, and its line under each point on stdout. One
//! format for every target; the report's data choose what appears.

use super::measurement::{PointMeasurement, Prediction};
use super::run::counts_text;
use super::target::{About, Counted, Outcome, Outcomes, Report, Said};
use crate::output::number;

/// measured.csv's columns of a target's report: the number of runs (with outcomes per
/// run), the lines counted summed over the runs, the pool's processes second by second
/// (each second's mean over the runs) and the IMAP login latency.
pub(super) fn measured_columns(about: About, r: &Report) -> Vec<String> {
    if r.lines.is_empty() {
        return Vec::new();
    }
    let mut c = Vec::new();
    if r.outcomes != Outcomes::None {
        c.push("runs".to_string());
    }
    c.extend(r.lines.iter().map(|l| l.column.clone()));
    if about.counts_pool {
        c.push("processes_per_s".into());
    }
    if r.login_latency {
        c.extend(["login_latency_s_p50".into(), "login_latency_s_p99".into()]);
    }
    c
}

/// A point's cells in the columns of `measured_columns`.
pub(super) fn measured_values(about: About, r: &Report, m: &PointMeasurement) -> Vec<String> {
    if r.lines.is_empty() {
        return Vec::new();
    }
    let mut v = Vec::new();
    if r.outcomes != Outcomes::None {
        v.push(m.runs.to_string());
    }
    v.extend(r.lines.iter().map(|l| sum(m, l).to_string()));
    if about.counts_pool {
        v.push(mean_counts(&m.processes_per_s));
    }
    if r.login_latency {
        v.push(number(quantile(&m.login_latencies, 0.5)));
        v.push(number(quantile(&m.login_latencies, 0.99)));
    }
    v
}

/// validation.csv's columns of a target's report: the outcomes per run, predicted and
/// measured, the validated lines per run, and the most processes, predicted and
/// measured.
pub(super) fn validation_columns(about: About, r: &Report) -> Vec<String> {
    if r.lines.is_empty() {
        return Vec::new();
    }
    let mut c: Vec<String> = Vec::new();
    if r.outcomes != Outcomes::None {
        c.extend([
            "predicted_refused_per_run".into(),
            "measured_refused_per_run".into(),
        ]);
    }
    if r.outcomes == Outcomes::RefusedTimedOut {
        c.extend([
            "predicted_timed_out_per_run".into(),
            "measured_timed_out_per_run".into(),
        ]);
    }
    c.extend(
        r.lines
            .iter()
            .filter(|l| l.validated)
            .map(|l| format!("{}_per_run", l.column)),
    );
    if about.counts_pool {
        c.extend([
            "predicted_processes_max".into(),
            "measured_processes_max".into(),
        ]);
    }
    c
}

/// A point's cells in the columns of `validation_columns`.
pub(super) fn validation_values(
    about: About,
    r: &Report,
    m: &PointMeasurement,
    p: &Prediction,
) -> Vec<String> {
    if r.lines.is_empty() {
        return Vec::new();
    }
    let [predicted_refused, measured_refused, predicted_timed_out, measured_timed_out] =
        outcomes_per_run(m, p);
    let mut v: Vec<f64> = Vec::new();
    if r.outcomes != Outcomes::None {
        v.extend([predicted_refused, measured_refused]);
    }
    if r.outcomes == Outcomes::RefusedTimedOut {
        v.extend([predicted_timed_out, measured_timed_out]);
    }
    v.extend(
        r.lines
            .iter()
            .filter(|l| l.validated)
            .map(|l| per_run(m, l)),
    );
    if about.counts_pool {
        v.push(p.summary.processes.max as f64);
        v.push(m.summary.processes.max as f64);
    }
    v.into_iter().map(number).collect()
}

/// The line under a point of a target's report: `  server log per run: 1.5 x
/// `...`, ...; per run: refused 3.0, timed out 0.0 measured, refused 3.5, timed out
/// 0.0 predicted; pool processes second by second (run 1): 2 3 3`, a chain's counts
/// grouped by service (`imap-login: 4.0 logins, ...; imap: ...`), with the prediction
/// under `validate`.
pub(super) fn line(
    about: About,
    r: &Report,
    m: &PointMeasurement,
    p: Option<&Prediction>,
) -> String {
    if r.lines.is_empty() {
        return String::new();
    }
    // Consecutive lines of one service make a group.
    let mut groups: Vec<(Option<&str>, Vec<String>)> = Vec::new();
    for l in &r.lines {
        let service = l.service.as_deref();
        let item = counted_text(m, l, p);
        match groups.last_mut() {
            Some((s, items)) if *s == service => items.push(item),
            _ => groups.push((service, vec![item])),
        }
    }
    let groups: Vec<String> = groups
        .into_iter()
        .map(|(service, items)| match service {
            Some(name) => format!("{name}: {}", items.join(", ")),
            None => items.join(", "),
        })
        .collect();
    let mut text = format!("  {} per run: {}", r.records, groups.join("; "));
    let runs = f64::from(m.runs.max(1));
    let s = &m.summary;
    let [predicted_refused, _, predicted_timed_out, _] =
        p.map_or([0.0; 4], |p| outcomes_per_run(m, p));
    match r.outcomes {
        Outcomes::None => {}
        Outcomes::Refused => {
            text += &format!(
                "; measured refused+dropped {:.1}",
                (s.refused + s.dropped) as f64 / runs
            );
            if p.is_some() {
                text += &format!(", predicted {predicted_refused:.1}");
            }
        }
        Outcomes::RefusedTimedOut => {
            text += &format!(
                "; per run: refused {:.1}, timed out {:.1} measured",
                (s.refused + s.dropped) as f64 / runs,
                s.timed_out as f64 / runs
            );
            if p.is_some() {
                text += &format!(
                    ", refused {predicted_refused:.1}, timed out {predicted_timed_out:.1} predicted"
                );
            }
        }
    }
    if about.counts_pool {
        if let Some(first) = m.processes_per_s.first().filter(|c| !c.is_empty()) {
            text += &format!(
                "; pool processes second by second (run 1): {}",
                counts_text(first)
            );
        }
    }
    if r.login_latency {
        text += &format!(
            "; login latency p50 {:.4} s",
            quantile(&m.login_latencies, 0.5)
        );
    }
    text.push('\n');
    text
}

/// A counted line under a point: its count per run, what it is, and what it stands
/// for with its prediction where the report says so.
fn counted_text(m: &PointMeasurement, l: &Counted, p: Option<&Prediction>) -> String {
    let mut text = format!("{:.1} {}", per_run(m, l), l.shown);
    let Some(t) = &l.tells else {
        return text;
    };
    let what = match t.outcome {
        Outcome::Refused => "refused there",
        Outcome::TimedOut => "timed out there",
    };
    let predicted = p.and_then(|p| {
        let (_, x) = p.summary.services.iter().find(|(n, _)| *n == t.service)?;
        let count = match t.outcome {
            Outcome::Refused => x.refused,
            Outcome::TimedOut => x.timed_out,
        };
        Some(count as f64 / f64::from(p.replications.max(1)))
    });
    match (t.said, predicted) {
        (Said::Always, Some(x)) => text += &format!(" ({what}; predicted {x:.1})"),
        (Said::Always, None) => text += &format!(" ({what})"),
        (Said::WithPrediction, Some(x)) => text += &format!(" (predicted {what} {x:.1})"),
        (Said::WithPrediction, None) => {}
    }
    text
}

/// A counted line's sum over the point's runs.
fn sum(m: &PointMeasurement, l: &Counted) -> u64 {
    m.server_log.get(&l.column).copied().unwrap_or(0)
}

/// A counted line per run.
fn per_run(m: &PointMeasurement, l: &Counted) -> f64 {
    sum(m, l) as f64 / f64::from(m.runs.max(1))
}

/// (refused + dropped, timed out) per run, predicted and measured.
fn outcomes_per_run(m: &PointMeasurement, p: &Prediction) -> [f64; 4] {
    let runs = f64::from(m.runs.max(1));
    let reps = f64::from(p.replications.max(1));
    let (ps, ms) = (&p.summary, &m.summary);
    [
        (ps.refused + ps.dropped) as f64 / reps,
        (ms.refused + ms.dropped) as f64 / runs,
        ps.timed_out as f64 / reps,
        ms.timed_out as f64 / runs,
    ]
}

/// Each second's mean over the runs that lasted that long, separated by spaces.
fn mean_counts(runs: &[Vec<u64>]) -> String {
    let seconds = runs.iter().map(Vec::len).max().unwrap_or(0);
    (0..seconds)
        .map(|k| {
            let xs: Vec<u64> = runs.iter().filter_map(|r| r.get(k).copied()).collect();
            let mean = xs.iter().sum::<u64>() as f64 / xs.len() as f64;
            if mean.fract() == 0.0 {
                format!("{mean:.0}")
            } else {
                format!("{mean:.2}")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The p-quantile of `xs` (nearest rank), NaN when empty.
fn quantile(xs: &[f64], p: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::measurement::combine;
    use crate::harness::run::rep_stats;
    use crate::harness::spec::{LoadResult, ServerLog, ServiceOutcomes};
    use crate::harness::testing::model;
    use crate::model::{load_str, Model};

    /// The chain FRONT -> BACK.
    fn chain(front: &str, back: &str) -> Model {
        let text = format!(
            r#"
name = "c"
[load]
rate = 10
duration = 5
[[services]]
name = "{front}"
next = "{back}"
[services.listener]
backlog = 8
[services.pool]
process_limit = 2
[services.work]
blocking = {{ dist = "constant", value = 0.01 }}
[[services]]
name = "{back}"
[services.listener]
backlog = 4
[services.pool]
process_limit = 2
[services.work]
blocking = {{ dist = "constant", value = 0.1 }}
"#
        );
        load_str(&text, "c.toml", std::path::Path::new("."), &[]).unwrap()
    }

    /// `runs` runs of `m`, each with these refused, dropped and timed-out connections
    /// (of 10), these outcomes at services, and the most processes.
    fn runs(
        m: &Model,
        runs: u32,
        (refused, dropped, timed_out): (u64, u64, u64),
        services: &[(&str, u64, u64)],
        max_processes: u64,
    ) -> crate::stats::Summary {
        let load = LoadResult {
            offered: 10,
            served: 10 - refused - dropped - timed_out,
            refused,
            dropped,
            timed_out,
            latencies: vec![0.1; (10 - refused - dropped - timed_out) as usize],
            end_s: 5.0,
            ..LoadResult::default()
        };
        let server = ServerLog {
            max_processes,
            services: services
                .iter()
                .map(|&(name, refused, timed_out)| {
                    let o = ServiceOutcomes {
                        offered: 10,
                        refused,
                        timed_out,
                        ..ServiceOutcomes::default()
                    };
                    (name.to_string(), o)
                })
                .collect(),
            ..ServerLog::default()
        };
        let rep = rep_stats(m, &load, &server);
        combine(m, &vec![rep; runs as usize])
    }

    fn measured(summary: crate::stats::Summary, log: &[(&str, u64)]) -> PointMeasurement {
        PointMeasurement {
            summary,
            runs: 2,
            server_log: log.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            login_latencies: vec![0.013, 0.021, 0.05, 0.0071],
            processes_per_s: vec![vec![1, 2, 3], vec![2, 3]],
            known_services: Default::default(),
        }
    }

    #[test]
    fn a_log_line_report_sets_refusals_time_outs_and_the_pool_beside_its_lines() {
        let m = model(&[]);
        let about = About::new("t", "t").counts_pool();
        let r = Report {
            records: "server log",
            lines: vec![
                Counted::new("log_a", "x `alpha`"),
                Counted::new("log_b", "x `beta`"),
            ],
            outcomes: Outcomes::RefusedTimedOut,
            ..Report::default()
        };
        let point = measured(
            runs(&m, 2, (3, 1, 2), &[], 3),
            &[("log_a", 5), ("log_b", 0)],
        );
        let p = Prediction {
            summary: runs(&m, 3, (2, 0, 1), &[], 2),
            replications: 3,
        };
        assert_eq!(
            measured_columns(about, &r),
            ["runs", "log_a", "log_b", "processes_per_s"]
        );
        assert_eq!(
            measured_values(about, &r, &point),
            ["2", "5", "0", "1.50 2.50 3"]
        );
        assert_eq!(
            validation_columns(about, &r),
            [
                "predicted_refused_per_run",
                "measured_refused_per_run",
                "predicted_timed_out_per_run",
                "measured_timed_out_per_run",
                "log_a_per_run",
                "log_b_per_run",
                "predicted_processes_max",
                "measured_processes_max"
            ]
        );
        assert_eq!(
            validation_values(about, &r, &point, &p),
            ["2.0", "4.0", "1.0", "2.0", "2.5", "0.0", "2.0", "3.0"]
        );
        let shown = "  server log per run: 2.5 x `alpha`, 0.0 x `beta`; per run: refused 4.0, \
                     timed out 2.0 measured";
        let pool = "; pool processes second by second (run 1): 1 2 3\n";
        assert_eq!(line(about, &r, &point, None), format!("{shown}{pool}"));
        assert_eq!(
            line(about, &r, &point, Some(&p)),
            format!("{shown}, refused 2.0, timed out 1.0 predicted{pool}")
        );
    }

    #[test]
    fn a_chains_report_groups_its_lines_by_service_with_the_predictions_beside_them() {
        let m = chain("nginx", "gunicorn");
        let about = About::new("t", "t");
        let status = |code: u16, outcome| {
            Counted::new(format!("log.gunicorn.status_{code}"), format!("x {code}"))
                .of("gunicorn")
                .not_validated()
                .tells("gunicorn", outcome, Said::Always)
        };
        let r = Report {
            records: "nginx access log",
            lines: vec![
                Counted::new("log.nginx.requests", "requests")
                    .of("nginx")
                    .not_validated(),
                status(502, Outcome::Refused),
                status(504, Outcome::TimedOut),
            ],
            ..Report::default()
        };
        let point = measured(
            runs(&m, 2, (3, 0, 0), &[("gunicorn", 3, 0)], 0),
            &[
                ("log.nginx.requests", 20),
                ("log.gunicorn.status_502", 6),
                ("log.gunicorn.status_504", 1),
            ],
        );
        let p = Prediction {
            summary: runs(&m, 3, (3, 0, 1), &[("gunicorn", 3, 1)], 0),
            replications: 3,
        };
        assert_eq!(
            measured_columns(about, &r),
            [
                "log.nginx.requests",
                "log.gunicorn.status_502",
                "log.gunicorn.status_504"
            ]
        );
        assert_eq!(measured_values(about, &r, &point), ["20", "6", "1"]);
        assert!(validation_columns(about, &r).is_empty());
        assert!(validation_values(about, &r, &point, &p).is_empty());
        assert_eq!(
            line(about, &r, &point, None),
            "  nginx access log per run: nginx: 10.0 requests; gunicorn: 3.0 x 502 (refused \
             there), 0.5 x 504 (timed out there)\n"
        );
        assert_eq!(
            line(about, &r, &point, Some(&p)),
            "  nginx access log per run: nginx: 10.0 requests; gunicorn: 3.0 x 502 (refused \
             there; predicted 3.0), 0.5 x 504 (timed out there; predicted 1.0)\n"
        );
    }

    #[test]
    fn a_prediction_said_with_it_only_appears_under_validate_beside_the_login_latency() {
        let m = chain("imap-login", "imap");
        let about = About::new("t", "t");
        let r = Report {
            records: "dovecot log",
            lines: vec![
                Counted::new("log.imap-login.logins", "logins")
                    .of("imap-login")
                    .not_validated(),
                Counted::new("log.imap-login.queue_full", "x `full`")
                    .of("imap-login")
                    .tells("imap-login", Outcome::Refused, Said::WithPrediction),
                Counted::new("log.imap.eagain", "x `eagain`")
                    .of("imap")
                    .tells("imap", Outcome::Refused, Said::WithPrediction),
            ],
            outcomes: Outcomes::Refused,
            login_latency: true,
        };
        let point = measured(
            runs(&m, 2, (3, 1, 0), &[("imap", 3, 0)], 0),
            &[
                ("log.imap-login.logins", 9),
                ("log.imap-login.queue_full", 0),
                ("log.imap.eagain", 6),
            ],
        );
        let p = Prediction {
            summary: runs(&m, 3, (2, 0, 0), &[("imap", 2, 0)], 0),
            replications: 3,
        };
        assert_eq!(
            measured_columns(about, &r),
            [
                "runs",
                "log.imap-login.logins",
                "log.imap-login.queue_full",
                "log.imap.eagain",
                "login_latency_s_p50",
                "login_latency_s_p99"
            ]
        );
        assert_eq!(
            measured_values(about, &r, &point),
            ["2", "9", "0", "6", "0.013", "0.05"]
        );
        assert_eq!(
            validation_columns(about, &r),
            [
                "predicted_refused_per_run",
                "measured_refused_per_run",
                "log.imap-login.queue_full_per_run",
                "log.imap.eagain_per_run"
            ]
        );
        assert_eq!(
            validation_values(about, &r, &point, &p),
            ["2.0", "4.0", "0.0", "3.0"]
        );
        assert_eq!(
            line(about, &r, &point, None),
            "  dovecot log per run: imap-login: 4.5 logins, 0.0 x `full`; imap: 3.0 x \
             `eagain`; measured refused+dropped 4.0; login latency p50 0.0130 s\n"
        );
        assert_eq!(
            line(about, &r, &point, Some(&p)),
            "  dovecot log per run: imap-login: 4.5 logins, 0.0 x `full` (predicted refused \
             there 0.0); imap: 3.0 x `eagain` (predicted refused there 2.0); measured \
             refused+dropped 4.0, predicted 2.0; login latency p50 0.0130 s\n"
        );
    }

    #[test]
    fn a_report_without_lines_adds_nothing() {
        let m = model(&[]);
        let about = About::new("t", "t").counts_pool();
        let r = Report {
            outcomes: Outcomes::RefusedTimedOut,
            login_latency: true,
            ..Report::default()
        };
        let point = measured(runs(&m, 2, (1, 0, 0), &[], 1), &[]);
        let p = Prediction {
            summary: runs(&m, 2, (1, 0, 0), &[], 1),
            replications: 2,
        };
        assert!(measured_columns(about, &r).is_empty());
        assert!(measured_values(about, &r, &point).is_empty());
        assert!(validation_columns(about, &r).is_empty());
        assert!(validation_values(about, &r, &point, &p).is_empty());
        assert_eq!(line(about, &r, &point, Some(&p)), "");
    }

    #[test]
    fn a_seconds_mean_is_over_the_runs_that_lasted_that_long() {
        assert_eq!(mean_counts(&[vec![2, 3, 4], vec![2, 4]]), "2 3.50 4");
        assert_eq!(mean_counts(&[]), "");
    }

    #[test]
    fn a_quantile_is_the_nearest_rank_and_nan_without_data() {
        assert_eq!(quantile(&[0.013, 0.021, 0.05, 0.0071], 0.5), 0.013);
        assert_eq!(quantile(&[0.013, 0.021, 0.05, 0.0071], 0.99), 0.05);
        assert!(quantile(&[], 0.5).is_nan());
    }
}
