//! The command line (SPEC section 4): clap derive, one struct per subcommand. Raw
//! flags are parsed here; `commands.rs` turns them into checked settings.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "eagain",
    version,
    about = "Predicts when a pre-forking server starts refusing connections (EAGAIN, 502, dropped SYNs)",
    long_about = None
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Simulate one model and print its outcomes and latencies.
    Simulate(SimulateArgs),
    /// Print an exact queueing result (the oracles the simulator is tested against).
    #[command(subcommand)]
    Analytic(AnalyticArgs),
}

/// Flags shared by every command that reads a model.
#[derive(Debug, Args, Clone)]
pub struct ModelArgs {
    /// The model file (TOML), e.g. models/nginx-gunicorn.toml.
    pub model: PathBuf,
    /// Override a model field: PATH=VALUE, e.g. --set load.rate=5 --set listener.kind=tcp.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Random seed (default: the model's sim.seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Independent replications (default: the model's sim.replications).
    #[arg(long)]
    pub replications: Option<u32>,
    /// Add replications until the refusal probability's 95 % half-width is at most
    /// X times its mean (X times 0.001 for probabilities below 0.001).
    #[arg(long, value_name = "X")]
    pub precision: Option<f64>,
    /// The most replications --precision may run.
    #[arg(long, default_value_t = 1000)]
    pub max_replications: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum AnalyticArgs {
    /// Erlang B: blocking probability of M/G/c/c.
    ErlangB {
        /// Processes (c).
        #[arg(long)]
        servers: u32,
        /// Offered load in Erlangs (arrival rate x mean blocking time).
        #[arg(long)]
        load: f64,
    },
    /// Erlang C: probability of waiting in M/M/c with an unlimited queue.
    ErlangC {
        #[arg(long)]
        servers: u32,
        #[arg(long)]
        load: f64,
        /// Service rate per process (1 / mean blocking), to print the mean wait too.
        #[arg(long)]
        mu: Option<f64>,
    },
    /// M/M/c/K: c processes, K connections at most in the system (c + queue capacity).
    Mmck {
        #[arg(long)]
        rate: f64,
        #[arg(long)]
        mu: f64,
        #[arg(long)]
        servers: u32,
        #[arg(long)]
        capacity: u32,
    },
    /// M/D/1/K: one process, constant blocking time, K connections at most.
    Md1k {
        #[arg(long)]
        rate: f64,
        /// The constant blocking time in seconds.
        #[arg(long)]
        service: f64,
        #[arg(long)]
        capacity: u32,
    },
}

#[cfg(test)]
mod tests {
    #[test]
    fn verify_app() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
