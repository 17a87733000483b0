//! The lines a target counts in its servers' own logs, as a table of `LogLine`s: how
//! they are counted after a run, and the `Report` they make (each line beside the
//! measured and predicted refusals and time-outs per run), which `tables.rs` formats.
//!
//! Only lines written after the readiness probe count: `mark_start` remembers where
//! each log ended then.

use crate::harness::servers::Run;
use crate::harness::spec::ServerLog;
use crate::harness::target::{Counted, Outcomes, Report};
use std::collections::BTreeMap;
use std::path::Path;

/// A line a target counts: its column, the log file (in the run's folder), the texts
/// that mark it (any of them), and how the stdout line names it.
pub(crate) struct LogLine {
    pub column: &'static str,
    pub file: &'static str,
    pub needles: &'static [&'static str],
    pub shown: &'static str,
}

/// Where the logs ended when the load started.
const LOG_START: &str = "log-start";

/// The log files of `lines`, each once, in order.
fn files(lines: &[LogLine]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for l in lines {
        if !out.contains(&l.file) {
            out.push(l.file);
        }
    }
    out
}

/// Remembers where the logs of `lines` end now: only later lines are counted.
pub(crate) fn mark_start(dir: &Path, lines: &[LogLine]) {
    let sizes: Vec<String> = files(lines)
        .iter()
        .map(|f| {
            std::fs::metadata(dir.join(f))
                .map_or(0, |m| m.len())
                .to_string()
        })
        .collect();
    let _ = std::fs::write(dir.join(LOG_START), sizes.join(" "));
}

/// Counts the lines of `lines` written after `mark_start` (from the beginning of a
/// log when it was not marked).
pub(crate) fn count(dir: &Path, lines: &[LogLine]) -> BTreeMap<String, u64> {
    let start: Vec<usize> = std::fs::read_to_string(dir.join(LOG_START))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    let texts: BTreeMap<&str, String> = files(lines)
        .iter()
        .enumerate()
        .map(|(k, f)| {
            let all = std::fs::read(dir.join(f)).unwrap_or_default();
            let from = start.get(k).copied().unwrap_or(0).min(all.len());
            (*f, String::from_utf8_lossy(&all[from..]).to_string())
        })
        .collect();
    lines
        .iter()
        .map(|l| {
            let n = texts[l.file]
                .lines()
                .filter(|t| l.needles.iter().any(|n| t.contains(n)))
                .count();
            (l.column.to_string(), n as u64)
        })
        .collect()
}

/// What the logs of a run say: `lines` counted after `mark_start`.
pub(crate) fn read(run: &Run, lines: &[LogLine]) -> ServerLog {
    ServerLog {
        lines: count(run.dir(), lines),
        ..ServerLog::default()
    }
}

/// What a target that counts `lines` reports: each line in both tables, beside the
/// refusals and time-outs per run (as `server log`).
pub(crate) fn report(lines: &[LogLine]) -> Report {
    Report {
        records: "server log",
        lines: lines
            .iter()
            .map(|l| Counted::new(l.column, format!("x `{}`", l.shown)))
            .collect(),
        outcomes: Outcomes::RefusedTimedOut,
        ..Report::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINES: &[LogLine] = &[
        LogLine {
            column: "log_a",
            file: "a.log",
            needles: &["alpha", "ALPHA"],
            shown: "alpha",
        },
        LogLine {
            column: "log_b",
            file: "b.log",
            needles: &["beta"],
            shown: "beta",
        },
    ];

    #[test]
    fn only_lines_written_after_the_mark_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("a.log"), "alpha before\n").unwrap();
        mark_start(d, LINES);
        std::fs::write(
            d.join("a.log"),
            "alpha before\nalpha 1\nALPHA 2\nbeta in a\n",
        )
        .unwrap();
        std::fs::write(d.join("b.log"), "beta\nbeta\nbeta\n").unwrap();
        let c = count(d, LINES);
        assert_eq!(c["log_a"], 2);
        assert_eq!(c["log_b"], 3);
    }
}
