//! What eagain writes to disk, written one way: `write_atomic` (a temporary file in the
//! same folder, renamed into place, so an interrupted write never leaves a file that
//! looks complete), `write_set` (files that belong together, such as a model and the
//! trace it reads, staged and checked together before any is put in place), `clear` (an earlier run's files removed before a run writes its
//! own, so none stays beside them as if it were this run's), `Lock` (one writer per
//! output folder), and `Table`, the one results table behind `results.csv`,
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

/// Removes what an earlier run left in `dir` under these file names, and the
/// `.partial` files an interrupted `write_atomic` of them left, so that no file of
/// another run stays beside this run's as if it were its own.
pub fn clear(dir: &Path, names: &[&str]) -> Result<()> {
    for name in names {
        for p in [dir.join(name), dir.join(format!("{name}.partial"))] {
            match std::fs::remove_file(&p) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(e).with_context(|| format!("cannot remove {}", p.display()))
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// The folder inside an output folder where `write_set` stages its files.
pub const STAGING: &str = ".eagain-staging";

/// Writes files that belong together into `dir` (made if missing): first into a
/// staging folder inside it, where `check` reads them as they will be (a model loads
/// with the trace beside it); then what an earlier run left under `names` is removed
/// (`clear`) and the staged files are moved into place. When writing or the check
/// fails, the staging folder is removed and `dir` holds what it held before. Returns
/// the files' final paths, in the order given.
pub fn write_set(
    dir: &Path,
    files: &[(&str, &[u8])],
    names: &[&str],
    check: impl FnOnce(&Path) -> Result<()>,
) -> Result<Vec<PathBuf>> {
    create_dir(dir)?;
    let staging = dir.join(STAGING);
    let remove_staging = || match std::fs::remove_dir_all(&staging) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove {}", staging.display()))
        }
        _ => Ok(()),
    };
    // A staging folder an interrupted run left.
    remove_staging()?;
    std::fs::create_dir(&staging)
        .with_context(|| format!("cannot create {}", staging.display()))?;
    let staged = files.iter().try_for_each(|(name, bytes)| {
        let path = staging.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))
    });
    if let Err(e) = staged.and_then(|()| check(&staging)) {
        remove_staging()?;
        return Err(e);
    }
    clear(dir, names)?;
    let mut written = Vec::with_capacity(files.len());
    for (name, _) in files {
        let (from, to) = (staging.join(name), dir.join(name));
        std::fs::rename(&from, &to)
            .with_context(|| format!("cannot rename {} to {}", from.display(), to.display()))?;
        written.push(to);
    }
    remove_staging()?;
    Ok(written)
}

/// The lock file in an output folder.
pub const LOCK_FILE: &str = ".eagain.lock";

/// An output folder taken by one eagain process, so that two commands (two tasks of a
/// scheduler given the same folder) never mix their files in it: an exclusive `flock`
/// on `DIR/.eagain.lock`, which also holds who took it. The kernel releases the lock
/// when its process ends, however it ends, so a killed run leaves no stale lock; on NFS
/// it is a lock on the server, seen by every machine that mounts the folder. The file
/// is removed when the lock is dropped.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
    // Holds the lock while it lives.
    _file: std::fs::File,
}

impl Lock {
    /// Takes the output folder `dir` (made if missing), or says who holds it.
    pub fn take(dir: &Path) -> Result<Lock> {
        create_dir(dir)?;
        Ok(Lock::acquire(dir, true)?.expect("a lock or an error"))
    }

    /// Takes an input folder that another eagain may be writing (a shard being merged):
    /// an error if one is, `None` if the folder cannot be written (a read-only copy,
    /// which no one writes either).
    pub fn take_if_writable(dir: &Path) -> Result<Option<Lock>> {
        Lock::acquire(dir, false)
    }

    fn acquire(dir: &Path, must_write: bool) -> Result<Option<Lock>> {
        use std::io::Write;
        let path = dir.join(LOCK_FILE);
        // A holder that ends removes the file after we opened it: our lock is then on
        // a file no one else sees, and we try again on the new one.
        for _ in 0..16 {
            let opened = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path);
            let mut file = match opened {
                Ok(f) => f,
                Err(_) if !must_write => return Ok(None),
                Err(e) => {
                    return Err(BadInput(format!(
                        "cannot write in the output folder {}: {e}; give --out a folder \
                         that can be written",
                        dir.display()
                    ))
                    .into())
                }
            };
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    let holder = std::fs::read_to_string(&path).unwrap_or_default();
                    let holder = match holder.trim() {
                        "" => "another eagain".to_string(),
                        h => format!("another eagain, {}", crate::error::quoted(h)),
                    };
                    return Err(BadInput(format!(
                        "{} is being written by {holder}: two runs never write into one \
                         folder; wait for it to end, or give another --out folder (each \
                         shard of a study its own)",
                        dir.display()
                    ))
                    .into());
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(anyhow::anyhow!(
                        "cannot lock {}: {e}; the file system of the output folder must \
                         support file locks (on NFS, the lock service must run)",
                        path.display()
                    ))
                }
            }
            if !same_file(&file, &path) {
                continue;
            }
            let holder = format!(
                "process {} on host {} ({})",
                std::process::id(),
                hostname(),
                std::env::args().take(2).collect::<Vec<_>>().join(" ")
            );
            file.set_len(0)
                .and_then(|_| file.write_all(holder.as_bytes()))
                .with_context(|| format!("cannot write {}", path.display()))?;
            return Ok(Some(Lock { path, _file: file }));
        }
        anyhow::bail!(
            "cannot take the lock {}: it was removed and made again 16 times while we tried",
            path.display()
        )
    }
}

/// Whether the open `file` is the one at `path` now.
fn same_file(file: &std::fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// This machine's name, for a lock's holder (tasks of a cluster share folders).
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Removed while still locked: whoever opened it meanwhile sees it is gone.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_of_files_is_put_in_place_only_once_its_check_passes() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let names = ["model.toml", "trace.csv", "work.txt"];
        let first: [(&str, &[u8]); 3] = [
            ("trace.csv", b"t\n0\n"),
            ("work.txt", b"0.1\n"),
            ("model.toml", b"one"),
        ];
        let written = write_set(&out, &first, &names, |staged| {
            // The check sees the files together, where they will be read.
            assert_eq!(std::fs::read(staged.join("model.toml"))?, b"one");
            assert!(staged.join("trace.csv").exists());
            Ok(())
        })
        .unwrap();
        assert_eq!(
            written,
            [
                out.join("trace.csv"),
                out.join("work.txt"),
                out.join("model.toml")
            ]
        );
        // A check that fails: nothing changes, and no staging folder is left.
        let second: [(&str, &[u8]); 2] = [("trace.csv", b"t\n5\n"), ("model.toml", b"two")];
        let e = write_set(&out, &second, &names, |_| anyhow::bail!("does not load"));
        assert!(e.is_err());
        assert_eq!(std::fs::read(out.join("model.toml")).unwrap(), b"one");
        assert!(out.join("work.txt").exists() && !out.join(STAGING).exists());
        // A check that passes: the earlier run's work.txt goes with the rest.
        write_set(&out, &second, &names, |_| Ok(())).unwrap();
        assert_eq!(std::fs::read(out.join("model.toml")).unwrap(), b"two");
        assert!(!out.join("work.txt").exists() && !out.join(STAGING).exists());
    }
}
