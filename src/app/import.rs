//! `eagain import SOURCE FILE`: `doveconf`, `php-fpm` and `apache` write a model from a
//! server's configuration, to stdout or `--out`, and on stderr what the import found and
//! left out; `nginx-log` writes a trace, a model and the observed outcomes into `--out
//! DIR`, a summary on stdout and its warnings and notes on stderr. Each importer returns
//! what it made, checked, and this file writes it with the shared writers of
//! `crate::output`: one line per importer below.

use super::args::{ImportArgs, ListenerArg};
use super::{note, print};
use crate::error::BadInput;
use crate::import::{apache, doveconf, nginx_log, php_fpm, Imported};
use crate::model::ListenerKind;
use anyhow::Result;
use std::path::{Path, PathBuf};

pub fn run(args: ImportArgs) -> Result<()> {
    match args {
        ImportArgs::Doveconf { file, out, service } => model_file("doveconf", &file, out, || {
            doveconf::import_file(&file, service.as_deref())
        }),
        ImportArgs::PhpFpm { file, pool, out } => model_file("php-fpm", &file, out, || {
            php_fpm::import_file(&file, pool.as_deref())
        }),
        ImportArgs::Apache { file, out } => {
            model_file("apache", &file, out, || apache::import_file(&file))
        }
        ImportArgs::NginxLog {
            access_log,
            log_format,
            workers,
            listener,
            backlog,
            somaxconn,
            read_timeout,
            pool,
            out,
        } => {
            let settings = nginx_log::Settings {
                log: access_log,
                format: log_format,
                workers,
                listener: match listener {
                    ListenerArg::Unix => ListenerKind::Unix,
                    ListenerArg::Tcp => ListenerKind::Tcp,
                },
                backlog,
                somaxconn,
                read_timeout,
                pool,
            };
            log_folder(&settings, &out)
        }
    }
}

/// Whether `a` and `b` are one file (both exist).
fn same_file(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

/// A configuration's model: to `out` (written atomically) or stdout, then on stderr
/// what the import found and left out. `--out` may not name the file being imported.
fn model_file(
    source: &str,
    file: &Path,
    out: Option<PathBuf>,
    import: impl FnOnce() -> Result<Imported, BadInput>,
) -> Result<()> {
    if let Some(out) = out.as_deref().filter(|o| same_file(file, o)) {
        crate::bad_input!(
            "--out {}: that is the file being imported; give the model another name",
            out.display()
        );
    }
    let imported = import()?;
    match &out {
        Some(path) => crate::output::write_atomic(path, imported.toml.as_bytes())?,
        None => print(&imported.toml)?,
    }
    for line in imported.report() {
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

/// An access log's trace, model and observed outcomes, into the folder `out`: written
/// together once the model loads from them (`output::write_set`), the folder locked
/// meanwhile; the summary on stdout, warnings and notes on stderr.
fn log_folder(settings: &nginx_log::Settings, out: &Path) -> Result<()> {
    for name in nginx_log::OUTPUTS {
        if same_file(&settings.log, &out.join(name)) {
            crate::bad_input!(
                "--out {}: {} is the access log being imported, and the import writes \
                 {name} there; give another folder",
                out.display(),
                out.join(name).display()
            );
        }
    }
    if out.exists() && !out.is_dir() {
        crate::bad_input!(
            "--out {}: that is a file; give a folder (it is created if missing)",
            out.display()
        );
    }
    let imported = nginx_log::import(settings)?;
    let _lock = crate::output::Lock::take(out)?;
    let mut files: Vec<(&str, &[u8])> = imported
        .beside
        .iter()
        .map(|f| (f.name, f.bytes.as_slice()))
        .collect();
    files.push(("model.toml", imported.toml.as_bytes()));
    let log = settings.log.display();
    let written = crate::output::write_set(out, &files, &nginx_log::OUTPUTS, |staged| {
        crate::model::load(&staged.join("model.toml"), &[])
            .map(drop)
            .map_err(|e| {
                anyhow::anyhow!(
                    "the model written from {log} does not load, so nothing was written \
                     ({e}); this is a bug of the importer: please report it with the log's \
                     format"
                )
            })
    })?;
    for w in &imported.warnings {
        note(&format!("eagain: import nginx-log: warning: {w}"));
    }
    for n in &imported.notes {
        note(&format!("eagain: import nginx-log: note: {n}"));
    }
    let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
    let mut text = imported.summary.join("\n");
    text.push_str(&format!(
        "\nwrote {}\npredict: eagain simulate {}\n",
        names.join(", "),
        out.join("model.toml").display()
    ));
    print(&text)
}
