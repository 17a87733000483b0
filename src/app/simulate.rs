//! `eagain simulate MODEL`: one model point, its replications, and the table or the
//! JSON of SPEC section 5 on stdout; with `--out DIR` also the result, the timeline of
//! the run and its chart (SPEC section 9).

use super::args::{Format, SimulateArgs};
use super::{load_scenario, note, print};
use crate::output::report::Report;
use crate::output::{timeline_table, write_atomic, Lock};
use crate::plot::{self, ChartText};
use crate::replicate::run_point;
use crate::server::Compiled;
use anyhow::Result;
use std::time::Instant;

/// What `simulate --out DIR` writes.
const FILES: [&str; 3] = ["result.json", "timeline.csv", "timeline.png"];

pub fn run(mut args: SimulateArgs) -> Result<()> {
    if args.rare {
        args.model.set.push("sim.rare=true".into());
    }
    let s = load_scenario(&args.model)?;
    if let Some((own, rate)) = s.loaded.model.trace_rescaled() {
        note(&format!(
            "eagain: simulate: note: load.trace is replayed at load.rate = {} a second, \
             not at its own {own:.4} a second: its times are scaled by {}. Leave load.rate \
             out of the model to replay the trace as it was recorded.",
            crate::error::shown(rate),
            crate::error::shown(own / rate)
        ));
    }
    if let Some(mem) = s.loaded.model.memory_use().filter(|m| m.exceeds()) {
        note(&format!("eagain: simulate: warning: {}", mem.describe()));
    }
    let _lock = args.out.as_deref().map(Lock::take).transpose()?;
    let mut compiled = Compiled::new(&s.loaded.model);
    if args.out.is_some() {
        compiled.keep_timeline(s.loaded.model.timeline_bin());
    }
    let started = Instant::now();
    let result = run_point(&compiled, &s.options)?;
    let timeline = result.timeline.clone();
    let report = Report::new(
        &s.loaded.file.display().to_string(),
        &s.loaded.model,
        s.options.seed,
        result,
        started.elapsed().as_secs_f64(),
    );
    let json = serde_json::to_string_pretty(&report)? + "\n";
    let mut text = match args.format {
        Format::Json => json.clone(),
        Format::Table => report.table(),
    };
    if let Some(dir) = &args.out {
        // Nothing of an earlier run may stay beside this one's (a chart this run cannot
        // draw), and result.json, written last, says the run is complete.
        crate::output::clear(dir, &FILES)?;
        let mut written = Vec::new();
        let table = timeline_table(&timeline.unwrap_or_default(), &dir.join("timeline.csv"));
        table.write()?;
        written.push(table.source.clone());
        let png = dir.join("timeline.png");
        let set: Vec<String> = args.model.set.clone();
        let words = ChartText::of_runs(&s.loaded.model, &[], &set, false);
        let mut notes = Vec::new();
        match plot::timeline_chart(&table, &png, &words) {
            Ok(()) => written.push(png),
            Err(e) => notes.push(format!("note: no {}: {e:#}", png.display())),
        }
        let path = dir.join("result.json");
        write_atomic(&path, json.as_bytes())?;
        written.insert(0, path);
        let lines: Vec<String> = written
            .iter()
            .map(|p| format!("wrote {}", p.display()))
            .chain(notes)
            .collect();
        match args.format {
            // stdout holds the JSON object alone.
            Format::Json => lines.iter().for_each(|l| note(l)),
            Format::Table => text += &(lines.join("\n") + "\n"),
        }
    }
    print(&text)
}
