//! Each subcommand: checks its arguments, calls the library, writes its output.

use crate::analytic;
use crate::cli::{AnalyticArgs, Cli, Command, Format, ModelArgs, SimulateArgs};
use crate::error::BadInput;
use crate::model::{self, LoadedModel, Override};
use crate::report::Report;
use crate::server::Compiled;
use crate::simulate::{run_point, RunOptions};
use anyhow::Result;
use std::io::Write;
use std::time::Instant;

/// Runs the command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Simulate(args) => simulate(args),
        Command::Analytic(args) => analytic_command(args),
    }
}

/// The model with its `--set` overrides, and the run options, checked.
pub struct Loaded {
    pub loaded: LoadedModel,
    pub overrides: Vec<Override>,
    pub options: RunOptions,
}

pub fn load_model(args: &ModelArgs) -> Result<Loaded> {
    let overrides = args
        .set
        .iter()
        .map(|s| model::parse_assignment(s))
        .collect::<Result<Vec<_>, _>>()?;
    let loaded = model::load(&args.model, &overrides)?;
    if let Some(p) = args.precision {
        if !(p > 0.0 && p < 1.0) {
            crate::bad_input!(
                "--precision {p}: give the interval's half-width as a fraction of the mean, \
                 above 0 and below 1 (0.05 is ±5 %)"
            );
        }
    }
    if args.replications == Some(0) {
        crate::bad_input!("--replications 0: run at least 1 replication");
    }
    if args.max_replications < 2 && args.precision.is_some() {
        crate::bad_input!("--max-replications must be at least 2 with --precision");
    }
    let options = RunOptions {
        seed: args.seed.unwrap_or(loaded.model.sim.seed),
        replications: args.replications.unwrap_or(loaded.model.sim.replications),
        precision: args.precision,
        max_replications: args.max_replications,
    };
    Ok(Loaded {
        loaded,
        overrides,
        options,
    })
}

fn simulate(args: SimulateArgs) -> Result<()> {
    let l = load_model(&args.model)?;
    let started = Instant::now();
    let result = run_point(&Compiled::new(&l.loaded.model), &l.options);
    let report = Report::new(
        &l.loaded.file.display().to_string(),
        &l.loaded.model,
        l.options.seed,
        result,
        started.elapsed().as_secs_f64(),
    );
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&report)? + "\n",
        Format::Table => report.table(),
    };
    print(&text)
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
pub fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn analytic_command(args: AnalyticArgs) -> Result<()> {
    let positive = |name: &str, x: f64| -> Result<(), BadInput> {
        if x.is_finite() && x > 0.0 {
            Ok(())
        } else {
            Err(BadInput(format!("--{name} {x}: must be a number above 0")))
        }
    };
    let at_least_one = |name: &str, x: u32| -> Result<(), BadInput> {
        if x >= 1 {
            Ok(())
        } else {
            Err(BadInput(format!("--{name} 0: must be at least 1")))
        }
    };
    let text = match args {
        AnalyticArgs::ErlangB { servers, load } => {
            at_least_one("servers", servers)?;
            positive("load", load)?;
            format!("erlang_b={}\n", analytic::erlang_b(servers, load))
        }
        AnalyticArgs::ErlangC { servers, load, mu } => {
            at_least_one("servers", servers)?;
            positive("load", load)?;
            let mut t = format!("erlang_c={}\n", analytic::erlang_c(servers, load));
            if let Some(mu) = mu {
                positive("mu", mu)?;
                t += &format!(
                    "mean_wait_s={}\n",
                    analytic::erlang_c_mean_wait(servers, load * mu, mu)
                );
            }
            t
        }
        AnalyticArgs::Mmck {
            rate,
            mu,
            servers,
            capacity,
        } => {
            positive("rate", rate)?;
            positive("mu", mu)?;
            at_least_one("servers", servers)?;
            if capacity < servers {
                crate::bad_input!(
                    "--capacity {capacity}: K counts the connections being served too, so it \
                     must be at least --servers ({servers})"
                );
            }
            let r = analytic::mmck(rate, mu, servers, capacity);
            format!(
                "refusal_probability={}\nthroughput_per_s={}\nmean_in_system={}\n\
                 mean_in_queue={}\nmean_busy={}\nmean_time_in_system_s={}\nmean_wait_s={}\n",
                r.refusal_probability,
                r.throughput,
                r.mean_in_system,
                r.mean_in_queue,
                r.mean_busy,
                r.mean_time_in_system,
                r.mean_wait
            )
        }
        AnalyticArgs::Md1k {
            rate,
            service,
            capacity,
        } => {
            positive("rate", rate)?;
            positive("service", service)?;
            at_least_one("capacity", capacity)?;
            format!(
                "refusal_probability={}\n",
                analytic::md1k(rate, service, capacity)
            )
        }
    };
    print(&text)
}
