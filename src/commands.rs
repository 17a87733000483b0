//! Each subcommand: checks its arguments, calls the library, writes its output.

use crate::analytic;
use crate::cli::{
    AnalyticArgs, ChartKind, Cli, Command, Format, MergeArgs, ModelArgs, PlotArgs, SimulateArgs,
    SweepArgs,
};
use crate::error::BadInput;
use crate::model::{self, LoadedModel, Override};
use crate::plot::{self, ChartText};
use crate::report::Report;
use crate::server::Compiled;
use crate::simulate::{run_point, RunOptions};
use crate::sweep::{self, Arguments, Shard, SweepOptions};
use anyhow::{Context, Result};
use std::io::IsTerminal;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// Runs the command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Simulate(args) => simulate(args),
        Command::Sweep(args) => sweep_command(args),
        Command::Merge(args) => merge_command(args),
        Command::Plot(args) => plot_command(args),
        Command::Plan(args) => crate::plan::plan_command(args),
        Command::Analytic(args) => analytic_command(args),
        Command::Harness(args) => crate::harness::harness_command(args),
        Command::Validate(args) => crate::harness::validate_command(args),
        Command::Import(args) => crate::import::import_command(args),
        Command::Internal { args } => crate::harness::internal(args),
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

/// The arguments that identify a sweep, for resume and merge.
pub fn sweep_arguments(l: &Loaded, args: &ModelArgs, vary: &[String]) -> Arguments {
    Arguments {
        model_file: l.loaded.file.display().to_string(),
        model_text: l.loaded.text.clone(),
        set: args.set.clone(),
        vary: vary.to_vec(),
        seed: l.options.seed,
        replications: l.options.replications,
        precision: l.options.precision,
        max_replications: l.options.max_replications,
    }
}

fn sweep_command(args: SweepArgs) -> Result<()> {
    let l = load_model(&args.model)?;
    let axes = args
        .vary
        .iter()
        .map(|v| sweep::parse_axis(v))
        .collect::<Result<Vec<_>, _>>()?;
    let points = sweep::expand(&l.loaded.text, &l.loaded.file, &l.overrides, &axes)?;
    let shard = args.shard.as_deref().map(Shard::parse).transpose()?;
    if args.threads == Some(0) {
        crate::bad_input!("--threads 0: give at least 1 thread, or leave it out for one per core");
    }
    let opts = SweepOptions {
        out: args.out.clone(),
        threads: args.threads,
        shard,
        resume: args.resume,
        progress_bar: std::io::stdout().is_terminal(),
    };
    let arguments = sweep_arguments(&l, &args.model, &args.vary);
    let started = Instant::now();
    let results = sweep::run(
        arguments,
        l.loaded.model.clone(),
        points,
        &axes,
        &opts,
        &l.options,
    )?;
    let mut text = format!(
        "{} points of {} in {:.2} s\nwrote {}\n",
        results.points.len(),
        results.total_points,
        started.elapsed().as_secs_f64(),
        args.out.join("results.csv").display()
    );
    if shard.is_none() {
        text += &write_charts(&args.out, &results)?;
    } else {
        text += "charts are drawn by `eagain merge` once every shard has finished\n";
    }
    print(&text)
}

fn write_charts(dir: &Path, results: &sweep::Results) -> Result<String> {
    let (written, notes) = sweep::charts(dir, results)?;
    let mut text = String::new();
    for w in written {
        text += &format!("wrote {}\n", w.display());
    }
    for n in notes {
        text += &format!("note: {n}\n");
    }
    Ok(text)
}

fn merge_command(args: MergeArgs) -> Result<()> {
    let (results, walls) = sweep::merge(&args.shards)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    sweep::write_results(&args.out, &results, &walls)?;
    let text = format!(
        "merged {} shards: {} points\nwrote {}\n{}",
        args.shards.len(),
        results.points.len(),
        args.out.join("results.csv").display(),
        write_charts(&args.out, &results)?
    );
    print(&text)
}

fn plot_command(args: PlotArgs) -> Result<()> {
    let csv = &args.csv;
    let header = std::fs::read_to_string(csv)
        .map_err(|e| {
            BadInput(format!(
                "cannot read {}: {e}. Give the results.csv of a sweep or the validation.csv \
                 of a validation.",
                csv.display()
            ))
        })?
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    let is_validation = header
        .split(',')
        .any(|c| c == "predicted_refusal_probability");
    let kind = args.kind.unwrap_or(if is_validation {
        ChartKind::Validation
    } else {
        ChartKind::Capacity
    });
    let (x0, series0) = plot::default_axes(csv)?;
    let x = args.x.clone().unwrap_or(x0);
    let series = args.series.clone().or(series0);
    let dir = csv.parent().unwrap_or(Path::new("."));
    let text = match sweep::read_results(dir) {
        Ok((r, _)) => ChartText {
            title: r.name.clone(),
            subtitle: sweep::output_fixed_parameters(&r),
        },
        Err(_) => ChartText {
            title: csv.display().to_string(),
            subtitle: String::new(),
        },
    };
    let metric = args.metric.as_deref().unwrap_or("refusal_probability");
    match kind {
        ChartKind::Capacity => plot::capacity_curve(
            csv,
            &args.out,
            &x,
            series.as_deref(),
            metric,
            args.target,
            &text,
        )?,
        ChartKind::Latency => plot::latency_chart(csv, &args.out, &x, series.as_deref(), &text)?,
        ChartKind::Heatmap => {
            let Some(y) = series.as_deref() else {
                crate::bad_input!(
                    "a heat map needs two varied paths: {} varies only {x}; give --series",
                    csv.display()
                );
            };
            plot::heatmap(csv, &args.out, &x, y, metric, &text)?
        }
        ChartKind::Validation => {
            plot::validation_overlay(csv, &args.out, &x, series.as_deref(), &text)?
        }
    }
    print(&format!("wrote {}\n", args.out.display()))
}
