//! `eagain import SOURCE FILE [--out MODEL.toml]`: a model written from a server's
//! configuration, to stdout or a file, and on stderr what the import found and left out.

use super::args::ImportArgs;
use super::{note, print};
use crate::error::BadInput;
use anyhow::{Context, Result};
use std::path::Path;

/// `--out` may not name the file being imported: the model would overwrite its source.
fn refuse_overwriting(input: &Path, out: Option<&Path>) -> Result<(), BadInput> {
    let Some(out) = out else { return Ok(()) };
    match (input.canonicalize(), out.canonicalize()) {
        (Ok(a), Ok(b)) if a == b => Err(BadInput(format!(
            "--out {}: that is the file being imported; give the model another name",
            out.display()
        ))),
        _ => Ok(()),
    }
}

pub fn run(args: ImportArgs) -> Result<()> {
    match args {
        ImportArgs::Doveconf { file, out, service } => {
            refuse_overwriting(&file, out.as_deref())?;
            let imported = crate::import::doveconf::import_file(&file, &service)?;
            match &out {
                Some(path) => std::fs::write(path, &imported.toml)
                    .with_context(|| format!("cannot write the model to {}", path.display()))?,
                None => print(&imported.toml)?,
            }
            for line in imported.report(&file.display().to_string()) {
                note(&format!("eagain: import doveconf: {line}"));
            }
            if let Some(path) = out {
                note(&format!(
                    "eagain: import doveconf: wrote {}",
                    path.display()
                ));
            }
            Ok(())
        }
    }
}
