//! `eagain import SOURCE FILE`: `doveconf`, `php-fpm` and `apache` write a model from a
//! server's configuration,
//! to stdout or `--out`, and on stderr what the import found and left out; `nginx-log`
//! writes a trace, a model and the observed outcomes into `--out DIR`, a summary on
//! stdout and its notes on stderr.

use super::args::{ImportArgs, ListenerArg};
use super::{note, print};
use crate::error::BadInput;
use crate::model::ListenerKind;
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
        ImportArgs::NginxLog {
            access_log,
            log_format,
            workers,
            listener,
            backlog,
            somaxconn,
            out,
        } => {
            let settings = crate::import::nginx_log::Settings {
                log: access_log,
                format: log_format,
                workers,
                listener: match listener {
                    ListenerArg::Unix => ListenerKind::Unix,
                    ListenerArg::Tcp => ListenerKind::Tcp,
                },
                backlog,
                somaxconn,
                out,
            };
            let imported = crate::import::nginx_log::import(&settings)?;
            for line in &imported.notes {
                note(&format!("eagain: import nginx-log: note: {line}"));
            }
            let mut text = imported.summary.join("\n");
            text.push_str(&format!(
                "\npredict: eagain simulate {}\n",
                settings.out.join("model.toml").display()
            ));
            print(&text)
        }
        ImportArgs::PhpFpm { file, pool, out } => {
            refuse_overwriting(&file, out.as_deref())?;
            let imported = crate::import::php_fpm::import_file(&file, pool.as_deref())?;
            write_imported(&imported, &file, out.as_deref(), "php-fpm")
        }
        ImportArgs::Apache { file, out } => {
            refuse_overwriting(&file, out.as_deref())?;
            let imported = crate::import::apache::import_file(&file)?;
            write_imported(&imported, &file, out.as_deref(), "apache")
        }
        ImportArgs::Doveconf { file, out, service } => {
            refuse_overwriting(&file, out.as_deref())?;
            let imported = crate::import::doveconf::import_file(&file, service.as_deref())?;
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

/// Writes the model to `out` or stdout, then on stderr what the import found and left out.
fn write_imported(
    imported: &crate::import::server::Imported,
    file: &Path,
    out: Option<&Path>,
    source: &str,
) -> Result<()> {
    match out {
        Some(path) => std::fs::write(path, &imported.toml)
            .with_context(|| format!("cannot write the model to {}", path.display()))?,
        None => print(&imported.toml)?,
    }
    for line in imported.report(&file.display().to_string()) {
        note(&format!("eagain: import {source}: {line}"));
    }
    if let Some(path) = out {
        note(&format!(
            "eagain: import {source}: wrote {}",
            path.display()
        ));
    }
    Ok(())
}
