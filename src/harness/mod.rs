//! Measurements of real servers on this machine (being built).

use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetKind {
    /// A real prefork server of this project.
    Builtin,
    /// Debian's nginx proxying to gunicorn.
    NginxGunicorn,
    /// Debian's Dovecot.
    Dovecot,
}

#[derive(Debug, Args)]
pub struct HarnessArgs {
    #[command(flatten)]
    pub model: crate::cli::ModelArgs,
    /// The real server to measure.
    #[arg(long, value_enum)]
    pub target: TargetKind,
    /// An axis of the grid, as for sweep.
    #[arg(long = "vary", value_name = "PATH=VALUES")]
    pub vary: Vec<String>,
    /// Output folder.
    #[arg(long, default_value = "output/harness")]
    pub out: PathBuf,
}

pub fn harness_command(_args: HarnessArgs) -> anyhow::Result<()> {
    anyhow::bail!("harness: not built yet")
}

pub fn validate_command(_args: HarnessArgs) -> anyhow::Result<()> {
    anyhow::bail!("validate: not built yet")
}

/// Hidden subcommands the harness runs as separate processes.
pub fn internal(_args: Vec<String>) -> anyhow::Result<()> {
    anyhow::bail!("internal: not built yet")
}
