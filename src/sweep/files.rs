//! A sweep's files: `results.csv` (one row per point, grid order, SPEC section 5's
//! columns), `results.json` (the model, the arguments, the seed and every point's full
//! result; a shard's also its build and each point's integrity check) and `timing.csv`
//! (each point's wall time, kept apart so that the results are byte-identical from run
//! to run). Each file is written under a temporary name and renamed
//! (`output::write_atomic`), so an interrupted write never leaves a file that looks
//! complete. The charts are the caller's: it draws them from `Results::table`, in
//! memory.

use super::{value_text, Results};
use crate::output::report::flatten;
use crate::output::{cell, write_atomic, Table};
use anyhow::Result;
use std::path::Path;

pub const RESULTS_CSV: &str = "results.csv";
pub const RESULTS_JSON: &str = "results.json";
pub const TIMING_CSV: &str = "timing.csv";
/// Every file of a sweep's results (the charts are the caller's).
pub const RESULTS_FILES: [&str; 3] = [RESULTS_CSV, RESULTS_JSON, TIMING_CSV];

/// One point's (index, replications, wall time in seconds).
pub type Timing = (usize, u32, f64);

impl Results {
    /// The table of `results.csv`: the varied paths, then SPEC section 5's fields
    /// flattened, one row per point in grid order.
    pub fn table(&self, source: &Path) -> Table {
        let mut header: Vec<String> = self.axes.clone();
        if let Some(p) = self.points.first() {
            header.extend(flatten(&p.result).into_iter().map(|(k, _)| k));
        }
        let mut table = Table::new(source, header);
        for p in &self.points {
            let mut row: Vec<String> = p.values.iter().map(value_text).collect();
            row.extend(flatten(&p.result).iter().map(|(_, v)| cell(v)));
            table.rows.push(row);
        }
        table
    }
}

pub fn write_results(dir: &Path, results: &Results, walls: &[Timing]) -> Result<()> {
    let mut timing = String::from("index,replications,wall_s\n");
    for (i, r, w) in walls {
        timing += &format!("{i},{r},{w}\n");
    }
    write_atomic(&dir.join(TIMING_CSV), timing.as_bytes())?;
    write_atomic(
        &dir.join(RESULTS_JSON),
        (serde_json::to_string_pretty(results)? + "\n").as_bytes(),
    )?;
    // The CSV last: its presence says the sweep is complete.
    results.table(&dir.join(RESULTS_CSV)).write()
}

/// Reads a finished sweep's (or shard's) results.json and timing.csv.
pub fn read_results(dir: &Path) -> Result<(Results, Vec<Timing>)> {
    let path = dir.join(RESULTS_JSON);
    let text = crate::input::read_text(&path, crate::input::MAX_DATA_BYTES).map_err(|e| {
        crate::error::BadInput(format!(
            "{e}. Give a folder written by a finished `eagain sweep`."
        ))
    })?;
    let results: Results = serde_json::from_str(&text).map_err(|e| {
        crate::error::BadInput(format!(
            "{} is not the results.json of an eagain sweep: {e}",
            path.display()
        ))
    })?;
    let mut walls = Vec::new();
    if let Ok(t) = crate::input::read_text(&dir.join(TIMING_CSV), crate::input::MAX_DATA_BYTES) {
        for line in t.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            if let [i, r, w] = f[..] {
                if let (Ok(i), Ok(r), Ok(w)) = (i.parse(), r.parse(), w.parse()) {
                    walls.push((i, r, w));
                }
            }
        }
    }
    Ok((results, walls))
}
