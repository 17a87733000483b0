//! What several targets share: finding their programs (and the message naming the
//! Debian packages to install), the state `check_machine` found, a log's last lines,
//! the checks of a server with one connection per process and of a fixed 1-s tick, a
//! load started in phase with a master's tick, an HTTP probe, and the folders other
//! users cannot enter.

use crate::error::BadInput;
use crate::harness::servers::Run;
use crate::harness::sys;
use crate::model::{Model, Service};
use anyhow::Result;
use std::path::{Path, PathBuf};

/// Finds a program on PATH or in the usual Debian places.
pub(super) fn find_program(name: &str) -> Option<PathBuf> {
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
pub(super) fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// True when a server's log says that its address was taken.
pub(super) fn in_use(log: &str) -> bool {
    log.contains("in use") || log.contains("Address already in use")
}

/// The state `check_machine` returned, as the target's own type.
pub(super) fn state<T: serde::de::DeserializeOwned>(run: &Run) -> Result<T> {
    use anyhow::Context;
    serde_json::from_value(run.spec.target_state.clone())
        .with_context(|| format!("the run spec's state of the {} target", run.spec.target))
}

/// The programs `names` (name, Debian package) found, in order, or a message naming
/// the packages to install.
pub(super) fn programs(target: &str, names: &[(&str, &str)]) -> Result<Vec<PathBuf>, BadInput> {
    let found: Vec<Option<PathBuf>> = names.iter().map(|(n, _)| find_program(n)).collect();
    let missing: Vec<(&str, &str)> = names
        .iter()
        .zip(&found)
        .filter(|(_, p)| p.is_none())
        .map(|(n, _)| *n)
        .collect();
    if missing.is_empty() {
        return Ok(found.into_iter().flatten().collect());
    }
    let mut packages: Vec<&str> = missing.iter().map(|(_, p)| *p).collect();
    packages.dedup();
    Err(BadInput(format!(
        "the {target} target needs {} installed: apt-get install -y {}",
        missing
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(" and "),
        packages.join(" ")
    )))
}

/// What a server with one connection per process and no proxy retries cannot run
/// (nginx + PHP-FPM, Apache prefork, couriertcpd) of model `m` and its one service `s`:
/// `target` names it in the message.
pub(super) fn one_connection_per_process(
    m: &Model,
    s: &Service,
    target: &str,
) -> Result<(), String> {
    if s.pool.client_limit != 1 {
        return Err(format!(
            "`pool.client_limit` = {}: each of its processes serves one connection at a \
             time; use 1 with the {target} target",
            s.pool.client_limit
        ));
    }
    if s.pool.threads != 1 {
        return Err(format!(
            "`pool.threads` = {}: its processes have one thread; use 1 with the {target} \
             target",
            s.pool.threads
        ));
    }
    if s.work.hold.mean() != 0.0 {
        return Err(format!(
            "`work.hold`: the program it runs cannot keep a connection open after its \
             reply; use a hold of constant 0 with the {target} target"
        ));
    }
    if s.master.drop_timeout.is_some() {
        return Err(format!(
            "`master.drop_timeout`: its master has no drop timer (it is Dovecot's); \
             leave it out with the {target} target"
        ));
    }
    if m.load.on_refused != crate::model::OnRefused::Fail {
        return Err(format!(
            "`load.on_refused` = \"retry\": its clients do not retry a refused connection; \
             use \"fail\" with the {target} target"
        ));
    }
    Ok(())
}

/// A maintenance tick fixed at 1 s in the server's code (PHP-FPM's heartbeat, Apache's
/// sleep; semantics: php-fpm-tick, apache-tick).
pub(super) fn fixed_tick(s: &Service, target: &str, what: &str) -> Result<(), String> {
    if s.master.tick != 1.0 {
        return Err(format!(
            "`master.tick` = {}: {what} every second, fixed in its code; use 1 with the \
             {target} target",
            s.master.tick
        ));
    }
    Ok(())
}

/// Starts the load in phase with a master whose ticks come every `tick` seconds from
/// `origin` (CLOCK_MONOTONIC): at the first tick at least 50 ms from now, plus 5 ms,
/// so that the next ones come at whole multiples of `tick` into the load, as the
/// simulator's do.
pub(super) fn start_in_phase(run: &Run, origin: f64, tick: f64) -> Result<()> {
    let now = sys::mono();
    let k = ((now + 0.05 - origin) / tick).ceil().max(0.0);
    run.start_load_at(origin + k * tick + 0.005)
}

/// One `GET path` over HTTP/1.0; true on a 200.
pub(super) fn probe_http(addr: std::net::SocketAddr, path: &str) -> bool {
    use std::io::{Read, Write};
    use std::time::Duration;
    let Ok(mut s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    if s.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap_or(0);
    let head = String::from_utf8_lossy(&buf[..n]);
    head.split_whitespace().nth(1) == Some("200")
}

/// The first folder on `dir`'s path that another user cannot enter (a server's
/// unprivileged processes must reach the run's files).
pub(super) fn closed_ancestor(dir: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let mut p = PathBuf::new();
    for c in dir.components() {
        p.push(c);
        if let Ok(m) = std::fs::metadata(&p) {
            if m.permissions().mode() & 0o001 == 0 {
                return Some(p);
            }
        }
    }
    None
}
