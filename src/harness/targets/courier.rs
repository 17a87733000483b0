//! The `courier` target: couriertcpd from Debian's courier-base, in the foreground,
//! listening on 127.0.0.1 only, with `-maxprocs` = pool.process_limit and
//! `-maxperip`/`-maxperc` as high (every client comes from 127.0.0.1). For each
//! connection it accepts it forks and runs this program's own
//! `eagain __internal connection`, which reads the load generator's request line,
//! sleeps the blocking time it names, answers OK and exits. At maxprocs couriertcpd
//! stops accepting (semantics: courier-maxprocs): connections wait in the TCP accept
//! queue, and when that is full SYNs are dropped (semantics: tcp-syn-drop).
//!
//! - couriertcpd passes its compile-time SOMAXCONN, 4096 with Debian 12's glibc, to
//!   listen() (semantics: courier-backlog): the model must say 4096; the run's
//!   network namespace applies listener.somaxconn.
//! - Counted in its log (its stderr, kept in the run's folder): `ALERT: N maximum
//!   active connections.` (at most once a minute) and `WARN: N active connections.`.

use super::logs::{self, LogLine};
use super::shared::{in_use, one_connection_per_process, programs, state, tail};
use crate::error::BadInput;
use crate::harness::prefork::{parse_request, request_line};
use crate::harness::servers::{Run, Servers};
use crate::harness::spec::{Endpoint, ServerLog};
use crate::harness::sys;
use crate::harness::target::{single, About, Report, Target};
use crate::model::{ListenerKind, MasterMode, Model, Service};
use anyhow::{anyhow, Context, Result};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

pub struct Courier;

/// The program a run starts, found by `check_machine`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Program {
    couriertcpd: PathBuf,
}

const NAME: &str = "courier";
const LOG: &str = "couriertcpd.log";
/// SOMAXCONN in Debian 12's glibc headers (semantics: courier-backlog).
const SOMAXCONN: u32 = 4096;

const LOG_LINES: &[LogLine] = &[
    LogLine {
        column: "log_max_active",
        file: LOG,
        needles: &["maximum active connections"],
        shown: "ALERT: N maximum active connections.",
    },
    LogLine {
        column: "log_warn_active",
        file: LOG,
        needles: &["WARN:"],
        shown: "WARN: N active connections.",
    },
];

impl Target for Courier {
    /// Its pool's master is couriertcpd, the one server it starts.
    fn about(&self) -> About {
        About::new(NAME, "couriertcpd").counts_pool()
    }

    fn check_model(&self, m: &Model, _run_limit_s: f64) -> Result<(), String> {
        let s = single(self, m)?;
        check_expressible(m, s).map_err(|e| format!("the {NAME} target cannot run {e}"))
    }

    fn check_machine(&self) -> Result<serde_json::Value, BadInput> {
        let couriertcpd = programs(NAME, &[("couriertcpd", "courier-base")])?.remove(0);
        Ok(serde_json::to_value(Program { couriertcpd }).expect("a path serialises"))
    }

    /// couriertcpd in the foreground, once a test connection is answered.
    fn start(&self, run: &Run, servers: &mut Servers) -> Result<Endpoint> {
        let program: Program = state(run)?;
        let dir = run.dir();
        let log = dir.join(LOG);
        let stderr = std::fs::File::create(&log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let exe = std::env::current_exe().context("cannot find the eagain executable")?;
        let port = run.port()?;
        let n = single(self, run.model())
            .map_err(|e| anyhow!(e))?
            .pool
            .process_limit;
        let mut c = run.command(&program.couriertcpd);
        c.arg(format!("-maxprocs={n}"))
            .arg(format!("-maxperip={n}"))
            .arg(format!("-maxperc={n}"))
            .args(["-nodnslookup", "-noidentlookup", "-address=127.0.0.1"])
            .arg(port.to_string())
            .arg(&exe)
            .args(["__internal", "connection"])
            .current_dir(dir)
            .stderr(stderr);
        // SIGTERM: couriertcpd stops.
        servers.spawn(
            &mut c,
            libc::SIGTERM,
            &program.couriertcpd.display().to_string(),
        )?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        servers.wait_until(
            15.0,
            "couriertcpd",
            || probe(addr).then_some(()),
            |status| {
                let t = tail(&log, 10);
                if in_use(&t) {
                    BadInput(format!(
                        "couriertcpd cannot listen on 127.0.0.1:{port}: the port is in use; \
                         give another --port\n{t}"
                    ))
                    .into()
                } else {
                    anyhow!("couriertcpd exited before it was ready ({status}):\n{t}")
                }
            },
        )?;
        // The probe's process exits after its reply; let couriertcpd see it.
        std::thread::sleep(Duration::from_millis(100));
        logs::mark_start(dir, LOG_LINES);
        Ok(Endpoint::Tcp(addr))
    }

    fn read_logs(&self, run: &Run) -> ServerLog {
        logs::read(run, LOG_LINES)
    }

    fn report(&self, _m: &Model) -> Report {
        logs::report(LOG_LINES)
    }
}

/// One request through couriertcpd and its program; true on `OK`.
fn probe(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let nothing = crate::workload::Cost {
        blocking: 0.0,
        hold: 0.0,
        cpu: 0.0,
    };
    if s.write_all(request_line(&nothing).as_bytes()).is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    let n = s.read(&mut buf).unwrap_or(0);
    buf[..n].starts_with(b"OK")
}

/// What couriertcpd cannot run as model `m` and its one service `s` say.
fn check_expressible(m: &Model, s: &Service) -> Result<(), String> {
    if s.master.mode != MasterMode::PerConnection {
        return Err(format!(
            "`master.mode` = \"{}\": couriertcpd accepts and forks a process per \
             connection, up to -maxprocs, with none kept ready; use \"per-connection\" \
             with the {NAME} target",
            s.master.mode
        ));
    }
    if s.master.dovecot_version.is_some() {
        return Err(
            "`master.dovecot_version`: couriertcpd is not Dovecot; leave it out with the \
             courier target"
                .into(),
        );
    }
    if s.listener.kind != ListenerKind::Tcp {
        return Err(format!(
            "`listener.kind` = \"unix\": couriertcpd listens on TCP; use \"tcp\" with the \
             {NAME} target"
        ));
    }
    if s.listener.backlog != SOMAXCONN {
        return Err(format!(
            "`listener.backlog` = {}: couriertcpd passes its compile-time SOMAXCONN, \
             {SOMAXCONN} with Debian 12's glibc, to listen() (semantics: courier-backlog); \
             set {SOMAXCONN}, and a smaller listener.somaxconn for a shorter queue",
            s.listener.backlog
        ));
    }
    let p = &s.pool;
    if p.service_count != 1 {
        return Err(format!(
            "`pool.service_count` = {}: couriertcpd's program serves one connection and \
             exits; use 1 with the {NAME} target",
            p.service_count
        ));
    }
    if p.process_min_avail != 0 {
        return Err(format!(
            "`pool.process_min_avail` = {}: couriertcpd keeps no process ready; use 0 with \
             the {NAME} target",
            p.process_min_avail
        ));
    }
    one_connection_per_process(m, s, NAME)
}

/// `eagain __internal connection`: the program couriertcpd runs for a connection on
/// its standard input and output. Reads the request line, sleeps its blocking time,
/// writes `OK`, keeps the connection its hold time, exits; dies with couriertcpd.
pub(crate) fn serve_connection() -> Result<()> {
    sys::die_with_parent(libc::SIGKILL, sys::getppid());
    let mut input = std::io::stdin().lock();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 256];
    let crate::workload::Cost { blocking, hold, .. } = loop {
        if let Some(request) = parse_request(&buf) {
            break request;
        }
        match input.read(&mut chunk) {
            Ok(0) | Err(_) => return Ok(()),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if buf.len() > 4096 {
            return Ok(());
        }
    };
    sys::sleep(blocking);
    let mut out = std::io::stdout().lock();
    out.write_all(b"OK\n")?;
    out.flush()?;
    sys::sleep(hold);
    Ok(())
}
