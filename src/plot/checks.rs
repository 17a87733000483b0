//! What the chart tests share beyond `testing`: a chart drawn from a CSV written on
//! the spot, and the check that a refused chart says which column of which file it
//! missed, as a `ChartError`, and leaves no PNG behind.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use super::testing::{assert_no_png, table, write_named};
use super::ChartError;
use crate::output::Table;

/// `err` is an unknown-column `ChartError` naming `column` (in backquotes) and the
/// file `file`, and `dir` holds no PNG.
pub fn assert_unknown_column(err: &anyhow::Error, column: &str, file: &str, dir: &Path) {
    let message = format!("{err:#}");
    assert!(
        message.contains(&format!("`{column}`")) && message.contains(file),
        "{message}"
    );
    assert!(
        matches!(
            err.downcast_ref::<ChartError>(),
            Some(ChartError::UnknownColumn { .. })
        ),
        "{message}"
    );
    assert_no_png(dir);
}

/// The chart `chart` draws from a CSV file `csv` of `header` and `rows` into `png`,
/// both in a new folder: the folder, and the chart's path or the error.
pub fn draw_csv(
    csv: &str,
    header: &str,
    rows: &[impl AsRef<str>],
    png: &str,
    chart: impl FnOnce(&Table, &Path) -> anyhow::Result<()>,
) -> (TempDir, anyhow::Result<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<&str> = rows.iter().map(AsRef::as_ref).collect();
    let csv = write_named(dir.path(), csv, header, &rows);
    let out = dir.path().join(png);
    let drawn = chart(&table(&csv), &out).map(|()| out);
    (dir, drawn)
}
