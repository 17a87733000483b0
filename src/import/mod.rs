//! Models written from what a server shows of itself, so that a user starts from what
//! their server really runs: `doveconf` reads the output of Dovecot's `doveconf -n`,
//! `php_fpm` a pool file, `apache` an Apache configuration, and each returns the model's
//! text and what it left out; `nginx_log` reads an access log and returns a trace, a
//! model that replays it and the observed outcomes. Every importer returns one
//! `Imported` (`common.rs`), checked, for the caller to write; the configuration
//! importers write their models in the one order of `skeleton.rs`, and `server.rs` holds
//! what the PHP-FPM and Apache models share.
//!
//! Adding an importer: its folder here, its subcommand in `app/args.rs` (its own flags)
//! and one line in `app/import.rs`.

pub(crate) mod apache;
pub(crate) mod common;
pub(crate) mod doveconf;
pub(crate) mod nginx_log;
pub(crate) mod php_fpm;
mod server;
mod skeleton;
pub(crate) mod text;

pub(crate) use common::Imported;

use crate::error::BadInput;
use std::path::Path;

/// Reads a configuration file as text; `what` names it in messages ("doveconf file"),
/// `help` says what to give when it cannot be read, `not_text` what it is not when it
/// is not UTF-8.
pub(crate) fn read_text(
    file: &Path,
    what: &str,
    help: &str,
    not_text: &str,
) -> Result<String, BadInput> {
    let name = file.display();
    let bytes = crate::input::read_bytes(file, crate::input::MAX_TEXT_BYTES)
        .map_err(|e| BadInput(format!("{}. {help}", crate::input::naming(what, &e))))?;
    String::from_utf8(bytes)
        .map_err(|_| BadInput(format!("{name} is not text (it is not UTF-8), {not_text}")))
}
