//! The `builtin` target: this project's own pre-forking server (`prefork.rs`, run as
//! `eagain __internal serve`), which forks real processes by `master.mode`, listens on
//! a real unix or TCP socket with the model's backlog, and burns each connection's
//! CPU time (`work.cpu`) then sleeps its blocking time, the master and its workers in
//! the run's CPU-quota cgroup when the model gives `host.cpus`. It runs every model except one whose idle processes would be ended
//! during a run (it does not end idle processes); it needs nothing installed.

use crate::error::BadInput;
use crate::harness::prefork::{self, ERROR_FILE, EXIT_BAD_INPUT, LISTEN_FD_ENV, STATS_FILE};
use crate::harness::servers::{Run, Servers};
use crate::harness::spec::{Endpoint, ServerLog};
use crate::harness::sys;
use crate::harness::target::{single, About, Target};
use crate::model::{ListenerKind, MasterMode, Model};
use anyhow::{anyhow, Context, Result};
use std::os::fd::AsRawFd;

pub struct Builtin;

impl Target for Builtin {
    fn about(&self) -> About {
        About::new("builtin", "the builtin server").burns_cpu()
    }

    fn check_model(&self, m: &Model, run_limit_s: f64) -> Result<(), String> {
        let s = single(self, m)?;
        if s.master.mode.ticks() {
            return Err(format!(
                "`master.mode` = \"{}\": the builtin server forks as gunicorn and Dovecot do \
                 (prefork, on-demand, per-connection); measure PHP-FPM and Apache with \
                 their own targets",
                s.master.mode
            ));
        }
        if s.pool.threads > 1 {
            return Err(
                "`pool.threads`: the builtin server's processes serve one connection's \
                 work at a time; use 1"
                    .into(),
            );
        }
        if s.master.mode != MasterMode::Prefork
            && s.pool.idle_kill > 0.0
            && s.pool.idle_kill < run_limit_s
        {
            return Err(format!(
                "`pool.idle_kill` = {} s is shorter than a run ({run_limit_s:.0} s) and the \
                 builtin server does not end idle processes: --set pool.idle_kill=0",
                s.pool.idle_kill
            ));
        }
        Ok(())
    }

    /// The master, given its unix socket bound here (so that the run owns its path),
    /// or binding its TCP port itself.
    fn start(&self, run: &Run, servers: &mut Servers) -> Result<Endpoint> {
        let kind = single(self, run.model())
            .map_err(|e| anyhow!(e))?
            .listener
            .kind;
        let mut serve = run.internal("serve");
        let unix = match kind {
            ListenerKind::Unix => {
                let sock = servers.bind_unix(&run.spec.socket)?;
                sys::keep_fd(&mut serve, sock.as_raw_fd());
                serve.env(LISTEN_FD_ENV, sock.as_raw_fd().to_string());
                Some(sock)
            }
            ListenerKind::Tcp => None,
        };
        run.confine(&mut serve)?;
        servers.spawn(&mut serve, libc::SIGTERM, "the server")?;
        // The master has its own copy now.
        drop(unix);
        let dir = run.dir();
        let addr = servers.wait_until(
            15.0,
            "the builtin server",
            || prefork::ready_address(dir),
            |status| {
                let message = std::fs::read_to_string(dir.join(ERROR_FILE)).unwrap_or_default();
                if status.code() == Some(EXIT_BAD_INPUT) {
                    BadInput(message).into()
                } else {
                    anyhow!("the builtin server exited before it was ready ({status}): {message}")
                }
            },
        )?;
        Ok(match kind {
            ListenerKind::Unix => Endpoint::Unix(run.spec.socket.clone()),
            ListenerKind::Tcp => Endpoint::Tcp(
                addr.trim()
                    .parse()
                    .with_context(|| format!("the server's address `{addr}`"))?,
            ),
        })
    }

    /// The master's count of its forks and of its most processes, written as it stopped.
    fn read_logs(&self, run: &Run) -> ServerLog {
        let (forks, max_processes) = std::fs::read_to_string(run.dir().join(STATS_FILE))
            .ok()
            .and_then(|t| {
                let mut w = t.split_whitespace().map(|x| x.parse::<u64>().ok());
                Some((w.next()??, w.next()??))
            })
            .unwrap_or((0, 0));
        ServerLog {
            forks,
            max_processes,
            ..ServerLog::default()
        }
    }
}
