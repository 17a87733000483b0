//! `eagain plan MODEL --solve PATH --target 'METRIC<=X'`: every value simulated, with
//! its estimate ("none seen" with its bound where no replication saw one), the notes
//! and warnings that qualify the answer, and the answer as the last line,
//! `PATH=VALUE`; or, with `--format json`, one object (SPEC section 12). With no answer
//! the table's contract is every refusal's (exit code 2, nothing on stdout, one line on
//! stderr: the reason and what would give an answer); the JSON object is printed all
//! the same, with `value` null, `met` false and that `reason`, and exit code 0.

use super::args::{Format, PlanArgs};
use super::{load_scenario, print};
use crate::error::BadInput;
use crate::output::report::probability_text;
use crate::plan::{self, Plan};
use anyhow::Result;

pub fn run(args: PlanArgs) -> Result<()> {
    let s = load_scenario(&args.model)?;
    let p = plan::solve(&s, &args.solve, &args.target, args.max)?;
    let file = s.loaded.file.display().to_string();
    let (seed, replications) = (s.options.seed, s.options.replications);
    match (args.format, p.answer) {
        (Format::Json, _) => {
            let json = serde_json::to_string_pretty(&p.to_json(&file, seed, replications))?;
            print(&(json + "\n"))
        }
        (Format::Table, None) => Err(BadInput(
            p.reason
                .clone()
                .unwrap_or_else(|| format!("no value meets {}", p.target.text())),
        )
        .into()),
        (Format::Table, Some(answer)) => print(&table(&p, answer, &file, replications, seed)),
    }
}

/// The text for a person: each evaluation, the notes, the answer last.
fn table(p: &Plan, answer: f64, file: &str, replications: u32, seed: u64) -> String {
    let (path, bound, metric) = (&p.path, p.target.bound, &p.target.metric);
    let mut text = format!(
        "{} evaluations of {file} ({replications} replications each, seed {seed}):\n",
        p.evaluations.len(),
    );
    for e in &p.evaluations {
        let x = p.value_text(e.value);
        let v = &e.eval;
        let estimate = if v.none_seen {
            format!(
                "none seen in {} connections ({} replications), 95 % bound {}",
                v.offered,
                v.replications,
                probability_text(v.high)
            )
        } else if v.low < v.high && v.high.is_finite() {
            format!("{:.6} (95 % CI {:.6} to {:.6})", v.mean, v.low, v.high)
        } else if v.high.is_infinite() && v.mean.is_finite() && metric.ends_with("probability") {
            format!("{:.6} (one replication: no interval)", v.mean)
        } else {
            format!("{:.6}", v.mean)
        };
        text += &format!(
            "  {path}={x}: {metric} {estimate}{}\n",
            if e.met { "  meets the target" } else { "" }
        );
    }
    for n in &p.notes {
        text += &format!("note: {n}\n");
    }
    match p.by_mean {
        Some(m) if m != answer => {
            let (m, a) = (p.value_text(m), p.value_text(answer));
            text += &format!(
                "uncertain between {path}={m} and {path}={a}: the estimate at {m} meets \
                 the target on average but its 95 % interval reaches above {bound}; \
                 the answer below is the one the interval guarantees (more --replications \
                 narrow the gap)\n"
            );
        }
        _ => {}
    }
    if !metric.ends_with("probability") {
        text += "note: latency percentiles have no confidence interval here; the answer is as \
                 good as the run length allows\n";
    }
    if answer.is_infinite() {
        text += "note: every rate tried meets the target, up to a billion times the model's \
                 or the budget of sim.max_connections connections per replication\n";
    }
    for w in &p.warnings {
        text += &format!("{w}\n");
    }
    text += &format!("{path}={}\n", p.value_text(answer));
    text
}
