//! The servers the harness measures, behind one trait. `Target` says what a target
//! needs (the models it can run, the programs it needs installed, root), how a run of
//! it is prepared, started and stopped under the supervisor, what its own logs say,
//! and what it adds to the output. One file per target beside this one, and a line in
//! `REGISTRY`, which is also the list `--target` takes.

mod apache;
mod builtin;
pub(crate) mod courier;
mod dovecot;
mod logs;
pub(crate) mod mock;
mod nginx_gunicorn;
mod php_fpm;

use super::measurement::{PointMeasurement, Prediction};
use super::spec::{Endpoint, ServerLog};
use super::supervisor::{Run, Servers};
use crate::error::BadInput;
use crate::model::{Model, Service};
use anyhow::Result;
pub(crate) use logs::LogLine;
use std::path::{Path, PathBuf};

/// Every target, in the order `--help` lists them.
const REGISTRY: &[&dyn Target] = &[
    &builtin::Builtin,
    &nginx_gunicorn::NginxGunicorn,
    &dovecot::Dovecot,
    &php_fpm::NginxPhpFpm,
    &apache::ApachePrefork,
    &courier::Courier,
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

    /// It runs a chain of services (nginx -> gunicorn, imap-login -> imap). A target
    /// that runs one service has a chain refused (`single`) before any other check.
    fn runs_chains(&self) -> bool {
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
        m.services
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

    /// The process whose children are the pool (the master), counted from /proc
    /// half-way through each second of the load; None: not counted.
    fn pool_master(&self, _run: &Run, _servers: &Servers) -> Option<i32> {
        None
    }

    /// The lines of its own logs it counts (after the readiness probe: see
    /// `logs::mark_start`); with any, the output methods below report them and the
    /// pool's processes second by second.
    fn log_lines(&self) -> &'static [LogLine] {
        &[]
    }

    /// What its own records say about the run, read after `stop`: by default the
    /// lines of `log_lines`.
    fn read_logs(&self, run: &Run) -> ServerLog {
        ServerLog {
            lines: logs::count(run.dir(), self.log_lines()),
            ..ServerLog::default()
        }
    }

    /// Columns it adds to measured.csv for model `m` (the grid's first point), after
    /// those of a sweep's results.csv.
    fn measured_columns(&self, _m: &Model) -> Vec<String> {
        logs::measured_columns(self.log_lines())
    }

    /// A point's cells in the columns of `measured_columns`.
    fn measured_values(&self, _m: &Model, point: &PointMeasurement) -> Vec<String> {
        logs::measured_values(self.log_lines(), point)
    }

    /// Columns it adds to validation.csv, after SPEC section 4's.
    fn validation_columns(&self, _m: &Model) -> Vec<String> {
        logs::validation_columns(self.log_lines())
    }

    /// A point's cells in the columns of `validation_columns`.
    fn validation_values(
        &self,
        _m: &Model,
        point: &PointMeasurement,
        p: &Prediction,
    ) -> Vec<String> {
        logs::validation_values(self.log_lines(), point, p)
    }

    /// Lines it prints under a point's line on stdout (each ending in a newline), with
    /// the prediction under `validate`.
    fn point_lines(&self, _m: &Model, point: &PointMeasurement, p: Option<&Prediction>) -> String {
        logs::point_lines(self.log_lines(), point, p)
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

/// The one service `target` runs, or its refusal of a chain, naming the targets that
/// measure one.
pub(crate) fn single<'a>(target: &dyn Target, m: &'a Model) -> Result<&'a Service, String> {
    m.single().map_err(|e| {
        format!(
            "`{}`: --target {} ({}) {}; measure a chain with --target nginx-gunicorn \
             (nginx -> gunicorn) or --target dovecot (imap-login -> imap)",
            e.path,
            target.name(),
            target.title(),
            e.message
        )
    })
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

/// The programs `names` (name, Debian package) found, in order, or a message naming
/// the packages to install.
fn programs(target: &str, names: &[(&str, &str)]) -> Result<Vec<PathBuf>, BadInput> {
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
fn one_connection_per_process(m: &Model, s: &Service, target: &str) -> Result<(), String> {
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
fn fixed_tick(s: &Service, target: &str, what: &str) -> Result<(), String> {
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
fn start_in_phase(run: &Run, origin: f64, tick: f64) -> Result<()> {
    let now = super::sys::mono();
    let k = ((now + 0.05 - origin) / tick).ceil().max(0.0);
    run.start_load_at(origin + k * tick + 0.005)
}

/// One `GET path` over HTTP/1.0; true on a 200.
fn probe_http(addr: std::net::SocketAddr, path: &str) -> bool {
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

/// A duration as nginx writes it, in whole milliseconds (at least 1).
fn ms(seconds: f64) -> String {
    format!("{}ms", (seconds * 1000.0).round().max(1.0) as u64)
}

/// nginx.conf for one run: one worker, every path in the run's folder, listening on
/// 127.0.0.1:`port` with the `locations` given, and a `location = /eagain-ready` that
/// nginx answers itself (its readiness probe).
fn nginx_conf(dir: &Path, port: u16, locations: &str, root: bool) -> String {
    let d = |p: &str| dir.join(p).display().to_string();
    format!(
        "# Generated by eagain harness for one run; removed with its folder.\n\
         daemon off;\n\
         master_process on;\n\
         worker_processes 1;\n\
         {user}\
         pid {pid};\n\
         error_log {err} error;\n\
         worker_rlimit_nofile 65536;\n\
         events {{ worker_connections 16384; multi_accept on; }}\n\
         http {{\n\
         \x20   access_log off;\n\
         \x20   client_body_temp_path {cb};\n\
         \x20   proxy_temp_path {pt};\n\
         \x20   fastcgi_temp_path {ft};\n\
         \x20   uwsgi_temp_path {ut};\n\
         \x20   scgi_temp_path {st};\n\
         \x20   server {{\n\
         \x20       listen 127.0.0.1:{port};\n\
         \x20       location = {NGINX_READY} {{ return 200 \"ready\\n\"; }}\n\
         {locations}\
         \x20   }}\n\
         }}\n",
        user = if root { "user root;\n" } else { "" },
        pid = d("nginx.pid"),
        err = d(NGINX_ERROR_LOG),
        cb = d("nginx-client-body"),
        pt = d("nginx-proxy"),
        ft = d("nginx-fastcgi"),
        ut = d("nginx-uwsgi"),
        st = d("nginx-scgi"),
    )
}

/// The path nginx answers itself, for its readiness probe.
const NGINX_READY: &str = "/eagain-ready";

/// nginx's error log in the run's folder.
const NGINX_ERROR_LOG: &str = "nginx-error.log";

/// Starts nginx from `conf` under the supervisor and waits until a GET of `probe`
/// (a path with its query) answers 200.
fn start_nginx(
    run: &Run,
    servers: &mut Servers,
    nginx: &Path,
    conf: &Path,
    probe: &str,
) -> Result<()> {
    use anyhow::anyhow;
    let dir = run.dir();
    let err_log = dir.join(NGINX_ERROR_LOG);
    let mut n = run.command(nginx);
    n.arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(conf)
        .arg("-e")
        .arg(&err_log);
    servers.spawn(&mut n, libc::SIGTERM, &nginx.display().to_string())?;
    let port = run.port()?;
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    servers.wait_until(
        15.0,
        "nginx",
        || probe_http(addr, probe).then_some(()),
        |status| {
            let t = tail(&err_log, 10);
            if in_use(&t) {
                BadInput(format!(
                    "nginx cannot listen on 127.0.0.1:{port}: the port is in use; give another --port\n{t}"
                ))
                .into()
            } else {
                anyhow!("nginx exited before it was ready ({status}):\n{t}")
            }
        },
    )
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
            "--target apache: the targets are builtin, nginx-gunicorn, dovecot, \
             nginx-php-fpm, apache-prefork, courier"
        );
    }
}
