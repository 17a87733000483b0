//! `progress.jsonl`, the record of a running sweep, so that `--resume` continues an
//! interrupted one (killed, or stopped by SIGTERM). Line 1 is the run's identity (its
//! arguments, shard and build); each next line is one finished point: its record, its
//! wall time and its integrity check (`seal.rs`). Only the sweep's main thread writes
//! it, a whole line at a time, flushed. Reading it back is bounded (256 MiB, as for any
//! data file) and checks every line: text, JSON, its check, and that its point belongs to
//! this grid and this shard, once. A last line without its newline is what a kill during
//! its write leaves: that point is run again.

use super::grid::Point;
use super::seal::Seal;
use super::{Identity, PointRecord};
use crate::error::BadInput;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};

/// The progress file's name in the output folder.
pub const PROGRESS: &str = "progress.jsonl";

/// One finished point, as a line of the progress file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Line {
    pub record: PointRecord,
    pub wall_s: f64,
    /// The seal's check of the record's JSON text.
    pub check: String,
}

impl Line {
    pub fn new(record: PointRecord, wall_s: f64, seal: &Seal) -> Result<Line> {
        let check = seal.check(&serde_json::to_string(&record)?);
        Ok(Line {
            record,
            wall_s,
            check,
        })
    }
}

/// The open progress file of a running sweep.
pub struct Log {
    file: std::fs::File,
    path: PathBuf,
}

impl Log {
    /// Starts the progress file: the identity, then the lines a resumed run already has,
    /// written under a temporary name and renamed, so that a line an earlier kill cut
    /// short never ends up between two whole ones.
    pub fn start(path: &Path, identity: &Identity, done: &[Line]) -> Result<Log> {
        let mut text = serde_json::to_string(identity)? + "\n";
        for line in done {
            text += &(serde_json::to_string(line)? + "\n");
        }
        crate::output::write_atomic(path, text.as_bytes())
            .map_err(|e| BadInput(format!("{e:#}; give --out a folder that can be written")))?;
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .with_context(|| format!("cannot append to {}", path.display()))?;
        Ok(Log {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Appends one finished point, whole, and flushes it.
    pub fn append(&mut self, line: &Line) -> Result<()> {
        let text = serde_json::to_string(line)? + "\n";
        self.file
            .write_all(text.as_bytes())
            .and_then(|_| self.file.flush())
            .with_context(|| format!("cannot append to {}", self.path.display()))
    }
}

/// The points a progress file says are done, after checking that it is this sweep's
/// (`identity`) and every line.
pub fn read(path: &Path, identity: &Identity, seal: &Seal, points: &[Point]) -> Result<Vec<Line>> {
    let max = crate::input::MAX_DATA_BYTES;
    let file = crate::input::open(path, max).map_err(|e| {
        BadInput(format!(
            "--resume: {e}; run without --resume to start over, or choose another --out"
        ))
    })?;
    let refuse = |n: usize, why: String| -> anyhow::Error {
        BadInput(format!(
            "--resume: line {n} of {}: {why}; the file was not written by this sweep alone. \
             Run without --resume to start over, or choose another --out folder.",
            path.display()
        ))
        .into()
    };
    let mut reader = std::io::BufReader::new(file.take(max + 1));
    let mut buf = Vec::new();
    let mut seen = vec![false; points.len()];
    let mut done = Vec::new();
    let mut read = 0u64;
    for n in 1.. {
        buf.clear();
        let got = reader
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        read += got as u64;
        if read > max {
            crate::bad_input!(
                "--resume: {} grew past the {} MiB a progress file may have while it was \
                 read; is another program writing it?",
                path.display(),
                max >> 20
            );
        }
        if got == 0 && n == 1 {
            return Err(refuse(
                1,
                "the file is empty, with no sweep's identity".into(),
            ));
        }
        // The end, or a line a kill cut short while it was written (it is run again).
        if got == 0 || buf.last() != Some(&b'\n') {
            if n == 1 {
                return Err(refuse(1, "the sweep's identity is cut short".into()));
            }
            break;
        }
        buf.pop();
        let text = std::str::from_utf8(&buf).map_err(|e| {
            refuse(
                n,
                format!("it is not UTF-8 text (byte {})", e.valid_up_to() + 1),
            )
        })?;
        if n == 1 {
            check_identity(path, text, identity)?;
            continue;
        }
        let line: Line = serde_json::from_str(text)
            .map_err(|e| refuse(n, format!("it is not a finished point ({e})")))?;
        if seal.check(&serde_json::to_string(&line.record)?) != line.check {
            return Err(refuse(
                n,
                "it was changed after eagain wrote it (its integrity check does not match \
                 its numbers)"
                    .into(),
            ));
        }
        let index = line.record.index;
        let Some(point) = points.get(index) else {
            return Err(refuse(
                n,
                format!("point {index} is not in this grid of {}", points.len()),
            ));
        };
        if identity.shard.is_some_and(|s| !s.owns(index)) {
            return Err(refuse(n, format!("point {index} is not in this shard")));
        }
        if point.values != line.record.values {
            return Err(refuse(
                n,
                format!("point {index} has other values than this grid's"),
            ));
        }
        if std::mem::replace(&mut seen[index], true) {
            return Err(refuse(n, format!("point {index} appears twice")));
        }
        done.push(line);
    }
    Ok(done)
}

/// Line 1 must be this sweep's identity; the message says what differs.
fn check_identity(path: &Path, text: &str, identity: &Identity) -> Result<()> {
    let theirs: Identity = serde_json::from_str(text).map_err(|_| {
        BadInput(format!(
            "{} is not an eagain progress file (its line 1 is not a sweep's identity): use \
             another --out folder or remove it",
            path.display()
        ))
    })?;
    if theirs == *identity {
        return Ok(());
    }
    let (a, b) = (&theirs.arguments, &identity.arguments);
    let what = if a.model_text != b.model_text {
        "the model file has changed since".to_string()
    } else if theirs.shard != identity.shard {
        "it was a different --shard".to_string()
    } else if a != b {
        "its arguments (--vary, --set, --seed, --replications or --precision) differ".to_string()
    } else {
        let before = if theirs.build.is_empty() {
            "an eagain that recorded no build"
        } else {
            &theirs.build
        };
        format!(
            "it was run by another build of eagain, {before}, and this is {}; two builds' \
             results may differ in the last bit, so finish it with the binary that started it",
            identity.build
        )
    };
    crate::bad_input!(
        "--resume: the interrupted sweep in {} is not this sweep ({what}); results of two \
         different sweeps are never mixed. Run it with its own arguments, or choose another \
         --out folder, or run without --resume to start over.",
        path.parent().unwrap_or(Path::new(".")).display()
    );
}
