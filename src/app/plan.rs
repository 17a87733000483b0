//! `eagain plan MODEL --solve PATH --target 'METRIC<=X'`: every value simulated, with
//! its estimate, and the answer as the last line, `PATH=VALUE`.

use super::args::PlanArgs;
use super::{load_scenario, print};
use crate::plan::{self, Goal};
use anyhow::Result;

pub fn run(args: PlanArgs) -> Result<()> {
    let s = load_scenario(&args.model)?;
    let p = plan::solve(&s, &args.solve, &args.target, args.max)?;
    let (path, bound, metric) = (p.path, p.target.bound, &p.target.metric);
    let mut text = format!(
        "{} evaluations of {} ({} replications each, seed {}):\n",
        p.evaluations.len(),
        s.loaded.file.display(),
        s.options.replications,
        s.options.seed
    );
    for (x, e) in &p.evaluations {
        let interval = if e.low < e.high {
            format!(" (95 % CI {:.6} to {:.6})", e.low, e.high)
        } else {
            String::new()
        };
        text += &format!(
            "  {path}={x}: {metric} {:.6}{interval}{}\n",
            e.mean,
            if e.high <= bound {
                "  meets the target"
            } else {
                ""
            }
        );
    }
    let Some(answer) = p.answer else {
        let limit = match p.goal {
            Goal::Smallest(_) => format!("{path}={} (raise --max)", args.max),
            Goal::Largest => "any rate down to a billionth of the model's".to_string(),
        };
        return Err(anyhow::anyhow!(
            "no value meets {metric}<={bound}: not even {limit}"
        ));
    };
    match p.by_mean {
        Some(m) if m != answer => {
            text += &format!(
                "uncertain between {path}={m} and {path}={answer}: the estimate at {m} meets \
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
    let shown = match p.goal {
        Goal::Smallest(_) => format!("{}", answer as u64),
        Goal::Largest if answer.is_infinite() => "inf".to_string(),
        Goal::Largest => format!("{answer:.6}"),
    };
    text += &format!("{path}={shown}\n");
    print(&text)
}
