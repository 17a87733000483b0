//! The command layer, and the only code that knows clap, stdout, stderr and the progress
//! bar: `args.rs` holds every flag; each subcommand has one handler file that turns its
//! raw flags into the library's checked settings, calls the library, and prints or
//! writes what it returns; `help.rs` holds the Examples of every `--help`, and
//! `generate.rs` makes the man page and completions from the same definitions.
//! `main.rs` calls `main()` here.

mod analytic;
pub(crate) mod args;
mod generate;
mod harness;
mod help;
mod import;
mod plan;
mod plot;
mod signal;
mod simulate;
mod sweep;

use crate::error::BadInput;
use crate::model::{self, Override};
use crate::replicate::{RunOptions, Scenario};
use anyhow::Result;
use args::{Cli, Command, ModelArgs};
use clap::Parser;
use std::io::Write;
use std::process::ExitCode;

/// Parses the command line, runs it, and maps an error to its exit code (`exit_code`).
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version are not errors; a bad command line is bad input, told
        // on one line like every other error.
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        // `eagain` (or `eagain import`) alone: the whole help, as clap formats it, on
        // stderr, and the usage error's exit code; not squashed onto one line.
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return ExitCode::from(2);
        }
        Err(e) => {
            let text = e.to_string();
            let text = text.strip_prefix("error: ").unwrap_or(&text);
            eprintln!("eagain: {}", crate::error::paragraph(text));
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("eagain: {}", crate::error::paragraph(&format!("{e:#}")));
            ExitCode::from(exit_code(&e))
        }
    }
}

/// The exit code of an error: 2 for input the user can fix (do not retry), 75
/// (EX_TEMPFAIL) for a run stopped by SIGTERM with its progress saved (try again with
/// `--resume`), 1 for anything else.
fn exit_code(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<crate::error::Stopped>().is_some() {
        75
    } else if e.downcast_ref::<BadInput>().is_some()
        || e.downcast_ref::<crate::plot::ChartError>().is_some()
    {
        2
    } else {
        1
    }
}

/// Runs one parsed command line.
fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Simulate(args) => simulate::run(args),
        Command::Sweep(args) => sweep::run(args),
        Command::Merge(args) => sweep::merge(args),
        Command::Plot(args) => plot::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Analytic(args) => analytic::run(args),
        Command::Harness(args) => harness::measure(args),
        Command::Validate(args) => harness::validate(args),
        Command::Import(args) => import::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Internal { args } => crate::harness::internal(args),
    }
}

/// The model with its `--set` overrides, and the run options, checked.
fn load_scenario(args: &ModelArgs) -> Result<Scenario> {
    let overrides = args
        .set
        .iter()
        .map(|s| model::parse_assignment(s))
        .collect::<Result<Vec<Override>, _>>()?;
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
    let most = model::MAX_REPLICATIONS;
    if let Some(n) = args.replications.filter(|&n| n > most) {
        crate::bad_input!("--replications {n}: run at most {most} replications of a point");
    }
    if args.max_replications > most {
        crate::bad_input!(
            "--max-replications {}: at most {most} replications of a point",
            args.max_replications
        );
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
    Ok(Scenario {
        loaded,
        overrides,
        options,
    })
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// A note for the person at the terminal, on stderr.
fn note(text: &str) {
    eprintln!("{text}");
}
