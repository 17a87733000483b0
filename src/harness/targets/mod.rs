//! The servers the harness measures, behind one trait. `Target` says what a target
//! needs (the models it can run, the programs it needs installed, root), how a run of
//! it is prepared, started and stopped under the supervisor, what its own logs say,
//! and what it adds to the output. One file per target beside this one, and a line in
//! `REGISTRY`, which is also the list `--target` takes.

mod builtin;
mod dovecot;
pub(crate) mod mock;
mod nginx_gunicorn;

use super::measurement::{PointMeasurement, Prediction};
use super::spec::{Endpoint, ServerLog};
use super::supervisor::{Run, Servers};
use crate::error::BadInput;
use crate::model::Model;
use anyhow::Result;
use std::path::{Path, PathBuf};

/// Every target, in the order `--help` lists them.
const REGISTRY: &[&dyn Target] = &[
    &builtin::Builtin,
    &nginx_gunicorn::NginxGunicorn,
    &dovecot::Dovecot,
    &mock::Mock,
];

/// A server the harness can measure. The harness process calls the checks and the
/// output methods; the supervisor of each run (a separate process, which finds the
/// target again by its name in the run's `RunSpec`) calls `prepare`, `start`, `stop`
/// and `read_logs`.
pub(crate) trait Target: Sync {
    /// The name `--target` takes.
    fn name(&self) -> &'static str;

    /// What the harness's notes call it ("the builtin server").
    fn title(&self) -> &'static str;

    /// Left out of `--help` (a target for tests).
    fn hidden(&self) -> bool {
        false
    }

    /// Its listen queue is the kernel's: a `listener.somaxconn` below the machine's is
    /// applied in a network namespace of the run's own, which needs root.
    fn kernel_queue(&self) -> bool {
        true
    }

    /// The most real processes one run of `m` forks, which the services'
    /// pool.process_limit set (a real server's workers); checked against
    /// `--max-processes` before anything runs.
    fn processes(&self, m: &Model) -> u64 {
        m.service_list()
            .iter()
            .map(|s| u64::from(s.pool.process_limit))
            .sum()
    }

    /// It keeps files of its runs in `--out` (nginx's access logs).
    fn keeps_files(&self) -> bool {
        false
    }

    /// Why the server cannot run `m` as the model says, in one paragraph naming the
    /// field; `run_limit_s` is the longest a run of `m` may last.
    fn check_model(&self, m: &Model, run_limit_s: f64) -> Result<(), String>;

    /// What it needs of this machine (programs installed, root), checked once before
    /// any run. Returns what its runs need to know (the programs' paths), which each
    /// `RunSpec` carries to the supervisor.
    fn check_machine(&self) -> Result<serde_json::Value, BadInput> {
        Ok(serde_json::Value::Null)
    }

    /// Writes its configuration into the run's folder (in the supervisor, inside the
    /// run's namespaces, before `start`).
    fn prepare(&self, _run: &Run) -> Result<()> {
        Ok(())
    }

    /// Starts its processes under the supervisor, waits until they serve, and returns
    /// where the load generator connects.
    fn start(&self, run: &Run, servers: &mut Servers) -> Result<Endpoint>;

    /// Stops its processes: by default each with its stop signal, the last started
    /// first.
    fn stop(&self, _run: &Run, servers: &mut Servers) {
        servers.stop();
    }

    /// What its own records say about the run, read after `stop`.
    fn read_logs(&self, _run: &Run) -> ServerLog {
        ServerLog::default()
    }

    /// Columns it adds to measured.csv for model `m` (the grid's first point), after
    /// those of a sweep's results.csv.
    fn measured_columns(&self, _m: &Model) -> Vec<String> {
        Vec::new()
    }

    /// A point's cells in the columns of `measured_columns`.
    fn measured_values(&self, _m: &Model, _point: &PointMeasurement) -> Vec<String> {
        Vec::new()
    }

    /// Columns it adds to validation.csv, after SPEC section 4's.
    fn validation_columns(&self, _m: &Model) -> Vec<String> {
        Vec::new()
    }

    /// A point's cells in the columns of `validation_columns`.
    fn validation_values(
        &self,
        _m: &Model,
        _point: &PointMeasurement,
        _p: &Prediction,
    ) -> Vec<String> {
        Vec::new()
    }

    /// Lines it prints under a point's line on stdout (each ending in a newline), with
    /// the prediction under `validate`.
    fn point_lines(
        &self,
        _m: &Model,
        _point: &PointMeasurement,
        _p: Option<&Prediction>,
    ) -> String {
        String::new()
    }
}

/// The target `--target NAME` names.
pub(crate) fn find(name: &str) -> Result<&'static dyn Target, BadInput> {
    REGISTRY
        .iter()
        .copied()
        .find(|t| t.name() == name)
        .ok_or_else(|| {
            let listed: Vec<&str> = REGISTRY
                .iter()
                .filter(|t| !t.hidden())
                .map(|t| t.name())
                .collect();
            BadInput(format!(
                "--target {name}: the targets are {}",
                listed.join(", ")
            ))
        })
}

/// The names `--target` takes, and whether `--help` leaves each out.
pub(crate) fn names() -> impl Iterator<Item = (&'static str, bool)> {
    REGISTRY.iter().map(|t| (t.name(), t.hidden()))
}

/// Finds a program on PATH or in the usual Debian places.
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The last lines of a log, for a message.
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// True when a server's log says that its address was taken.
fn in_use(log: &str) -> bool {
    log.contains("in use") || log.contains("Address already in use")
}

/// The state `check_machine` returned, as the target's own type.
fn state<T: serde::de::DeserializeOwned>(run: &Run) -> Result<T> {
    use anyhow::Context;
    serde_json::from_value(run.spec.target_state.clone())
        .with_context(|| format!("the run spec's state of the {} target", run.spec.target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_is_found_by_its_name_and_names_are_unique() {
        let names: Vec<&str> = names().map(|(n, _)| n).collect();
        for n in &names {
            assert_eq!(find(n).unwrap().name(), *n);
        }
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len(), "{names:?}");
    }

    #[test]
    fn an_unknown_target_lists_the_visible_ones() {
        let e = find("apache").err().unwrap().0;
        assert_eq!(
            e,
            "--target apache: the targets are builtin, nginx-gunicorn, dovecot"
        );
    }
}
