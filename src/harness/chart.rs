//! The overlay chart of `validate`: validation.csv's predicted curve and measured
//! points (`plot::validation_overlay`), titled with what was varied and set.

use super::job::Job;
use crate::output::Table;
use crate::plot::ChartText;
use anyhow::Result;
use std::path::Path;

/// Draws `validation` (the table as written to validation.csv) into `png`.
pub(crate) fn draw(job: &Job, validation: &Table, png: &Path) -> Result<()> {
    if job.axes.is_empty() {
        anyhow::bail!("the overlay needs a varied path (--vary) for its x axis");
    }
    let (x, series) = crate::plot::default_axes(validation)?;
    let s = &job.scenario;
    let set: Vec<String> = s
        .overrides
        .iter()
        .filter_map(|o| o.origin.strip_prefix("--set ").map(String::from))
        .collect();
    let mut text = ChartText::of_runs(
        &s.loaded.model,
        &job.header(),
        &set,
        s.loaded.backlog_derived,
    );
    text.title = format!("{}: simulated and measured", text.title);
    crate::plot::validation_overlay(validation, png, &x, series.as_deref(), &text)
}
