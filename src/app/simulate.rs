//! `eagain simulate MODEL`: one model point, its replications, and the table or the
//! JSON of SPEC section 5 on stdout.

use super::args::{Format, SimulateArgs};
use super::{load_scenario, print};
use crate::output::report::Report;
use crate::replicate::run_point;
use crate::server::Compiled;
use anyhow::Result;
use std::time::Instant;

pub fn run(args: SimulateArgs) -> Result<()> {
    let s = load_scenario(&args.model)?;
    let started = Instant::now();
    let result = run_point(&Compiled::new(&s.loaded.model), &s.options)?;
    let report = Report::new(
        &s.loaded.file.display().to_string(),
        &s.loaded.model,
        s.options.seed,
        result,
        started.elapsed().as_secs_f64(),
    );
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&report)? + "\n",
        Format::Table => report.table(),
    };
    print(&text)
}
