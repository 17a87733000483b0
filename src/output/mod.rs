//! What eagain writes to disk, written one way: `write_atomic` (a temporary file in the
//! same folder, renamed into place, so an interrupted write never leaves a file that
//! looks complete), and `Table`, the one results table behind `results.csv`,
//! `measured.csv` and `validation.csv`, which the charts also draw from in memory.
//! `report.rs` is the JSON and the table of `eagain simulate`.

pub mod report;

use crate::error::BadInput;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` through a temporary file in the same folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!(
        "{}.partial",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))
}

/// Creates an output folder and its parents. A path that is a file, or a folder that
/// cannot be made, is the user's to fix (exit 2).
pub fn create_dir(dir: &Path) -> Result<(), BadInput> {
    std::fs::create_dir_all(dir).map_err(|e| {
        BadInput(format!(
            "cannot create the output folder {}: {e}; give --out a folder that can be \
             written (a new one is made)",
            dir.display()
        ))
    })
}

/// The output folder taken by one eagain process: `.eagain.lock` holds its process
/// id while it writes, so that two commands never mix their files in one folder. It is
/// removed when dropped; a lock left by a process that no longer runs is taken over.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
}

impl Lock {
    pub fn take(dir: &Path) -> Result<Lock, BadInput> {
        create_dir(dir)?;
        let path = dir.join(".eagain.lock");
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    use std::io::Write;
                    let _ = writeln!(f, "{}", std::process::id());
                    return Ok(Lock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(&path)
                        .ok()
                        .and_then(|t| t.trim().parse::<u32>().ok());
                    match holder {
                        Some(pid) if running(pid) => {
                            return Err(BadInput(format!(
                                "{} is being written by another eagain (process {pid}): wait \
                                 for it to finish, or give another --out folder",
                                dir.display()
                            )))
                        }
                        // Its process is gone (killed): the lock is stale.
                        _ => {
                            let _ = std::fs::remove_file(&path);
                        }
                    }
                }
                Err(e) => {
                    return Err(BadInput(format!(
                        "cannot write in the output folder {}: {e}; give --out a folder \
                         that can be written",
                        dir.display()
                    )))
                }
            }
        }
        Err(BadInput(format!(
            "cannot take the lock {} of the output folder: remove it if no eagain runs",
            path.display()
        )))
    }
}

/// Whether process `pid` runs (exists and is not a zombie waiting to be reaped).
fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name in parentheses: "1234 (eagain) S ...".
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A table of text cells: a header and rows of the same width. `source` names it in
/// messages (the CSV it was read from or will be written to).
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub source: PathBuf,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(source: impl Into<PathBuf>, headers: Vec<String>) -> Table {
        Table {
            source: source.into(),
            headers,
            rows: Vec::new(),
        }
    }

    /// The CSV text: the header, then one line per row.
    pub fn to_csv(&self) -> Result<Vec<u8>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&self.headers)?;
        for row in &self.rows {
            w.write_record(row)?;
        }
        Ok(w.into_inner()?)
    }

    /// Writes the CSV to `source`, atomically.
    pub fn write(&self) -> Result<()> {
        write_atomic(&self.source, &self.to_csv()?)
    }

    /// Reads a CSV file (cells trimmed).
    pub fn read(path: &Path) -> Result<Table> {
        let file = crate::input::open(path, crate::input::MAX_DATA_BYTES)
            .map_err(|e| crate::error::BadInput(format!("{e}: give a results.csv")))?;
        let mut reader = csv::Reader::from_reader(file);
        let headers: Vec<String> = reader
            .headers()
            .with_context(|| format!("cannot read the header of {}", path.display()))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        let mut rows = Vec::new();
        for (i, record) in reader.records().enumerate() {
            let record = record
                .with_context(|| format!("cannot read row {} of {}", i + 1, path.display()))?;
            rows.push(record.iter().map(|c| c.trim().to_string()).collect());
        }
        Ok(Table {
            source: path.to_path_buf(),
            headers,
            rows,
        })
    }
}

/// A JSON value as a CSV cell: null is empty, strings keep their quotes as JSON writes them.
pub fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A number as a CSV cell, empty when it is not finite.
pub fn number(x: f64) -> String {
    if x.is_finite() {
        cell(&serde_json::json!(x))
    } else {
        String::new()
    }
}

/// The outcome columns of a timeline, in the order of its counts.
pub const TIMELINE_OUTCOMES: [&str; 5] = ["offered", "served", "refused", "dropped", "timed_out"];

/// `timeline.csv`: a row per bin; `t` (its start, seconds), each outcome's mean count
/// over the replications with its 95 % interval, then the time-average queue length
/// and processes in the bin.
pub fn timeline_table(rows: &[crate::stats::TimelineRow], source: &Path) -> Table {
    let mut headers = vec!["t".to_string()];
    for name in TIMELINE_OUTCOMES {
        headers.push(name.to_string());
        headers.push(format!("{name}_ci_low"));
        headers.push(format!("{name}_ci_high"));
    }
    headers.push("queue_length_mean".into());
    headers.push("processes_mean".into());
    let mut table = Table::new(source, headers);
    for r in rows {
        let mut row = vec![number(r.t)];
        for e in &r.counts {
            row.extend([number(e.mean), number(e.ci_low), number(e.ci_high)]);
        }
        row.push(number(r.queue_length_mean));
        row.push(number(r.processes_mean));
        table.rows.push(row);
    }
    table
}
