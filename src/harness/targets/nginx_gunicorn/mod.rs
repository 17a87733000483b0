//! The `nginx-gunicorn` target: Debian's nginx as a reverse proxy to gunicorn sync
//! workers, with every file (configuration, pid, logs, temporary paths, the WSGI app,
//! the socket) generated into the run's folder. What the model maps to, gunicorn's
//! pool alone or the chain nginx -> gunicorn, is in `conf.rs`.
//!
//! - gunicorn listens on the run's unix socket, which the supervisor binds (only where
//!   nothing is) and passes as `--bind fd://N`, so that gunicorn never removes a file
//!   at the path; or on 127.0.0.1 for listener.kind = "tcp".
//! - The app burns the CPU time the request names (`&c=0.05`, on its thread's CPU
//!   clock), then sleeps the blocking time (`/?b=0.0734`), so the load generator, and
//!   through it the simulator's random stream, decides every draw. With `host.cpus`
//!   gunicorn's arbiter and workers run in the run's CPU-quota cgroup, nginx outside
//!   (as in reference: cpu-sharing).
//! - nginx: `daemon off`, listening on 127.0.0.1, one upstream server (so EAGAIN is an
//!   immediate 502; semantics: nginx-single-server). Its access log, in the format of
//!   semantics: log-nginx-format, is kept in `--out` as
//!   `nginx-access-pointP-runR.log`, the lines of the load only; for a chain the
//!   statuses it logs are counted per service (a 502 is a refusal at gunicorn, a 504
//!   a time-out there).

mod conf;

use super::nginx;
use super::shared::{find_program, in_use, state, tail};
use crate::error::BadInput;
use crate::harness::servers::{Run, Servers};
use crate::harness::spec::{Endpoint, ServerLog, ServiceOutcomes};
use crate::harness::sys;
use crate::harness::target::{About, Counted, Outcome, Report, Said, Target};
use crate::model::{ListenerKind, Model};
use anyhow::{anyhow, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

pub struct NginxGunicorn;

/// The programs a run starts, found by `check_machine`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Programs {
    nginx: PathBuf,
    gunicorn: PathBuf,
}

impl Target for NginxGunicorn {
    /// It keeps nginx's access log of every run.
    fn about(&self) -> About {
        About::new("nginx-gunicorn", "nginx + gunicorn")
            .runs_chains()
            .keeps_files()
            .burns_cpu()
    }

    fn check_model(&self, m: &Model, _run_limit_s: f64) -> Result<(), String> {
        conf::expressible(m).map_err(|e| format!("the nginx-gunicorn target cannot run {e}"))
    }

    fn check_machine(&self) -> Result<serde_json::Value, BadInput> {
        Ok(serde_json::to_value(programs()?).expect("paths serialise"))
    }

    /// The WSGI app and nginx.conf, with the ports of this run.
    fn prepare(&self, run: &Run) -> Result<()> {
        let dir = run.dir();
        std::fs::write(dir.join(format!("{}.py", conf::APP_MODULE)), APP)
            .context("cannot write the WSGI app")?;
        let upstream = conf::upstream(run.spec, gunicorn_port(run)?);
        let path = dir.join(NGINX_CONF);
        std::fs::write(
            &path,
            conf::nginx_conf(run.spec, run.port()?, &upstream, sys::is_root()),
        )
        .with_context(|| format!("cannot write {}", path.display()))
    }

    /// gunicorn, once its workers have all started, then nginx, once it answers.
    fn start(&self, run: &Run, servers: &mut Servers) -> Result<Endpoint> {
        let programs: Programs = state(run)?;
        let dir = run.dir();
        let mut g = run.command(&programs.gunicorn);
        let (_, gunicorn) = conf::plan(run.model());
        let (bind, unix) = match gunicorn.listener.kind {
            ListenerKind::Unix => {
                let sock = servers.bind_unix(&run.spec.socket)?;
                sys::keep_fd(&mut g, sock.as_raw_fd());
                (format!("fd://{}", sock.as_raw_fd()), Some(sock))
            }
            ListenerKind::Tcp => (format!("127.0.0.1:{}", run.backend_port()?), None),
        };
        g.args(conf::gunicorn_args(run.spec, &bind))
            .current_dir(dir)
            .env("EAGAIN_READY_DIR", dir)
            .env("PYTHONDONTWRITEBYTECODE", "1");
        // gunicorn's arbiter and its workers in the CPU quota; nginx stays outside.
        run.confine(&mut g)?;
        // SIGQUIT: gunicorn's quick shutdown.
        servers.spawn(
            &mut g,
            libc::SIGQUIT,
            &programs.gunicorn.display().to_string(),
        )?;
        // gunicorn has its own copy now.
        drop(unix);
        let workers = gunicorn.pool.process_limit as usize;
        let log = dir.join("gunicorn.log");
        servers.wait_until(
            60.0,
            "gunicorn",
            || (ready_workers(dir) >= workers).then_some(()),
            |status| {
                let t = tail(&log, 10);
                if in_use(&t) {
                    BadInput(format!("gunicorn cannot bind {bind}: it is in use:\n{t}")).into()
                } else {
                    anyhow!("gunicorn exited before its workers started ({status}):\n{t}")
                }
            },
        )?;
        nginx::start(
            run,
            servers,
            &programs.nginx,
            &dir.join(NGINX_CONF),
            &format!("{PROBE}?b=0"),
        )?;
        let addr: SocketAddr = ([127, 0, 0, 1], run.port()?).into();
        Ok(Endpoint::Http(addr))
    }

    /// Keeps the run's access log (the load's lines) in `--out`, and for a chain
    /// counts what it says per service.
    fn read_logs(&self, run: &Run) -> ServerLog {
        let path = run.dir().join(conf::ACCESS_LOG);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().filter(|l| !l.contains(PROBE)).collect();
        let mut log = match run.model().services.as_slice() {
            [nginx, gunicorn] => access_counts(&lines, &nginx.name, &gunicorn.name),
            _ => ServerLog::default(),
        };
        if let Some(keep) = &run.spec.keep {
            let to = keep.join(run.spec.kept_name("nginx-access", "log"));
            let kept: String = lines.iter().map(|l| format!("{l}\n")).collect();
            if let Err(e) = std::fs::write(&to, kept) {
                log.notes.push(format!(
                    "note: cannot keep nginx's access log as {}: {e}",
                    to.display()
                ));
            }
        }
        log
    }

    /// A chain's access-log counts: nginx's requests, and gunicorn's 502s (a refusal
    /// there) and 504s (a time-out there), each beside the prediction at gunicorn.
    fn report(&self, m: &Model) -> Report {
        let [nginx, gunicorn] = m.services.as_slice() else {
            return Report::default();
        };
        let (n, g) = (&nginx.name, &gunicorn.name);
        let status = |code: u16, outcome| {
            Counted::new(format!("log.{g}.status_{code}"), format!("x {code}"))
                .of(g)
                .not_validated()
                .tells(g, outcome, Said::Always)
        };
        Report {
            records: "nginx access log",
            lines: vec![
                Counted::new(format!("log.{n}.requests"), "requests")
                    .of(n)
                    .not_validated(),
                status(502, Outcome::Refused),
                status(504, Outcome::TimedOut),
            ],
            ..Report::default()
        }
    }
}

/// What the access log of a chain's run says: nginx's requests, and at gunicorn the
/// requests proxied to it (a line with an upstream address), the 502s (refused: a
/// single upstream's failed connect; semantics: log-nginx-eagain-502) and the 504s
/// (proxy_read_timeout; semantics: nginx-queued-504).
fn access_counts(lines: &[&str], nginx: &str, gunicorn: &str) -> ServerLog {
    let mut outcomes = ServiceOutcomes::default();
    for line in lines {
        // The status follows the quoted request.
        let status = line
            .split('"')
            .nth(2)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or("");
        let proxied = line
            .split("ua=\"")
            .nth(1)
            .is_some_and(|rest| !rest.starts_with('-'));
        outcomes.offered += u64::from(proxied);
        match status {
            "502" => outcomes.refused += 1,
            "504" => outcomes.timed_out += 1,
            _ => {}
        }
    }
    ServerLog {
        lines: BTreeMap::from([
            (format!("log.{nginx}.requests"), lines.len() as u64),
            (format!("log.{gunicorn}.status_502"), outcomes.refused),
            (format!("log.{gunicorn}.status_504"), outcomes.timed_out),
        ]),
        services: BTreeMap::from([(gunicorn.to_string(), outcomes)]),
        ..ServerLog::default()
    }
}

/// nginx.conf's name in the run's folder.
const NGINX_CONF: &str = "nginx.conf";

/// gunicorn's port on loopback for listener.kind = "tcp" (0 for a unix socket).
fn gunicorn_port(run: &Run) -> Result<u16> {
    match conf::plan(run.model()).1.listener.kind {
        ListenerKind::Tcp => run.backend_port(),
        ListenerKind::Unix => Ok(0),
    }
}

/// How many gunicorn workers have imported the app (each leaves a file).
fn ready_workers(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with(READY_PREFIX))
                .count()
        })
        .unwrap_or(0)
}

/// The readiness probe's path: its lines are left out of the access log kept.
const PROBE: &str = "/eagain-probe";

/// The WSGI app: marks its worker ready when imported (after fork), burns `c` seconds
/// of its thread's CPU time, then sleeps `b`.
const APP: &str = r#"# Generated by eagain harness: burns the CPU time, then sleeps the blocking
# time the request names.
import os
import time
from urllib.parse import parse_qs

_ready = os.environ.get("EAGAIN_READY_DIR")
if _ready:
    open(os.path.join(_ready, "worker-ready.%d" % os.getpid()), "w").close()


def app(environ, start_response):
    query = parse_qs(environ.get("QUERY_STRING", ""))
    cpu = float(query.get("c", ["0"])[0])
    if cpu > 0:
        # Busy on the thread's CPU clock: time spent waiting for a CPU is not work.
        end = time.thread_time() + cpu
        while time.thread_time() < end:
            pass
    blocking = float(query.get("b", ["0"])[0])
    if blocking > 0:
        time.sleep(blocking)
    body = b"OK\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"#;

const READY_PREFIX: &str = "worker-ready.";

/// nginx and gunicorn, or a message naming the Debian package to install.
fn programs() -> Result<Programs, BadInput> {
    let nginx = find_program("nginx");
    let gunicorn = find_program("gunicorn");
    let missing: Vec<&str> = [("nginx", &nginx), ("gunicorn", &gunicorn)]
        .iter()
        .filter(|(_, p)| p.is_none())
        .map(|(n, _)| *n)
        .collect();
    match (nginx, gunicorn) {
        (Some(nginx), Some(gunicorn)) => Ok(Programs { nginx, gunicorn }),
        _ => Err(BadInput(format!(
            "the nginx-gunicorn target needs {} installed: apt-get install -y {}",
            missing.join(" and "),
            missing.join(" ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_access_log_counts_502s_as_refused_and_504s_as_timed_out_at_gunicorn() {
        let lines = [
            r#"msec=1.000 rt=0.101 ct=0.101 rid=a cr=1 addr=127.0.0.1 "GET /?b=0.1 HTTP/1.0" 200 3 ua="unix:/s" us="200" uct="0.000" uht="0.101" urt="0.101""#,
            r#"msec=1.010 rt=0.000 ct=0.000 rid=b cr=1 addr=127.0.0.1 "GET /?b=0.1 HTTP/1.0" 502 157 ua="unix:/s" us="502" uct="-" uht="-" urt="0.000""#,
            r#"msec=4.010 rt=3.000 ct=3.000 rid=c cr=1 addr=127.0.0.1 "GET /?b=9 HTTP/1.0" 504 167 ua="unix:/s" us="504" uct="0.000" uht="-" urt="3.000""#,
            r#"msec=4.020 rt=0.000 ct=0.000 rid=d cr=1 addr=127.0.0.1 "BAD" 400 150 ua="-" us="-" uct="-" uht="-" urt="-""#,
        ];
        let log = access_counts(&lines, "nginx", "gunicorn");
        assert_eq!(log.lines["log.nginx.requests"], 4);
        assert_eq!(log.lines["log.gunicorn.status_502"], 1);
        assert_eq!(log.lines["log.gunicorn.status_504"], 1);
        let g = log.services["gunicorn"];
        assert_eq!((g.offered, g.refused, g.timed_out), (3, 1, 1));
    }

    #[test]
    fn an_access_log_it_cannot_keep_is_a_note_for_the_harness_not_a_print() {
        let dir = tempfile::tempdir().unwrap();
        let mut spec = crate::harness::testing::spec(crate::harness::testing::model(&[]), 0);
        spec.dir = dir.path().to_path_buf();
        let missing = dir.path().join("no-such-folder");
        spec.keep = Some(missing.clone());
        std::fs::write(dir.path().join(conf::ACCESS_LOG), "a line\n").unwrap();
        let run = Run::new(&spec, dir.path(), None);
        let log = NginxGunicorn.read_logs(&run);
        let kept = missing.join("nginx-access-point1-run1.log");
        assert_eq!(log.notes.len(), 1, "{:?}", log.notes);
        assert!(
            log.notes[0].starts_with(&format!(
                "note: cannot keep nginx's access log as {}: ",
                kept.display()
            )),
            "{}",
            log.notes[0]
        );
        // Where it can, it keeps the lines and has nothing to say.
        spec.keep = Some(dir.path().to_path_buf());
        let run = Run::new(&spec, dir.path(), None);
        assert!(NginxGunicorn.read_logs(&run).notes.is_empty());
        let kept = dir.path().join("nginx-access-point1-run1.log");
        assert_eq!(std::fs::read_to_string(kept).unwrap(), "a line\n");
    }
}
