//! What eagain writes to disk, written one way: `write_atomic` (a temporary file in the
//! same folder, renamed into place, so an interrupted write never leaves a file that
//! looks complete), and `Table`, the one results table behind `results.csv`,
//! `measured.csv` and `validation.csv`, which the charts also draw from in memory.
//! `report.rs` is the JSON and the table of `eagain simulate`.

pub mod report;

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

/// Creates a folder and its parents, saying which one could not be made.
pub fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
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
        let mut reader = csv::Reader::from_path(path)
            .with_context(|| format!("cannot open {}", path.display()))?;
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
