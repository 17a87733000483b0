//! Models written from a server's own configuration (being built).

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ImportArgs {}

pub fn import_command(args: ImportArgs) -> anyhow::Result<()> {
    match args {}
}
