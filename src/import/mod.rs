//! Models written from what a server shows of itself, so that a user starts from what
//! their server really runs: `doveconf` reads the output of Dovecot's `doveconf -n` and
//! returns the model's text and what it left out, for the caller to write; `nginx_log`
//! reads an access log and writes a trace, a model that replays it and the observed
//! outcomes into a folder.

pub mod apache;
pub mod doveconf;
pub mod nginx_log;
pub mod php_fpm;
pub mod server;
pub(crate) mod text;

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
