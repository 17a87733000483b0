//! Models written from a server's own configuration, so that a user starts from what
//! their server really runs: `eagain import doveconf FILE` reads the output of
//! Dovecot's `doveconf -n` (`doveconf.rs`).

pub mod doveconf;

use clap::Subcommand;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum ImportArgs {
    /// Write a model from the output of `doveconf -n` (Dovecot 2.0 to 2.4).
    Doveconf {
        /// The saved output of `doveconf -n`, e.g. from `doveconf -n > dovecot.txt`.
        file: PathBuf,
        /// Write the model here instead of to stdout.
        #[arg(long, value_name = "MODEL.toml")]
        out: Option<PathBuf>,
        /// The service to model: imap (the listener imap-login's net_connect_unix(imap)
        /// hits) or imap-login (the one IMAP clients connect to).
        #[arg(long, default_value = "imap", value_parser = ["imap", "imap-login"])]
        service: String,
    },
}

pub fn import_command(args: ImportArgs) -> anyhow::Result<()> {
    match args {
        ImportArgs::Doveconf { file, out, service } => {
            doveconf::command(&file, out.as_deref(), &service)
        }
    }
}
