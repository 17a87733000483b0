//! The `eagain` binary: parse the command line, run it, map errors to exit codes
//! (2 for bad input, 1 for any other failure).

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = eagain::cli::Cli::parse();
    match eagain::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("eagain: {e:#}");
            if e.downcast_ref::<eagain::error::BadInput>().is_some()
                || e.downcast_ref::<eagain::plot::ChartError>().is_some()
            {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
