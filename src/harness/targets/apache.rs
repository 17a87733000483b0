//! The `apache-prefork` target: Debian's apache2 (apache2-bin) with mpm_prefork, run
//! in the foreground (`apache2 -f DIR/httpd.conf -DFOREGROUND`) from a configuration
//! generated into the run's folder (ServerRoot, DefaultRuntimeDir, pid file, error
//! log), listening on 127.0.0.1 only. Clients connect to Apache's own TCP accept
//! queue: when it is full their SYNs are dropped (semantics: apache-overflow,
//! tcp-syn-drop), and a connect that has not completed within load.connect_timeout is
//! refused.
//!
//! - `Listen 127.0.0.1:PORT`, `ListenBacklog` = listener.backlog; StartServers,
//!   MinSpareServers and MaxSpareServers from pool.start_servers, pool.min_spare and
//!   pool.max_spare; ServerLimit = MaxRequestWorkers = pool.process_limit;
//!   MaxConnectionsPerChild = pool.service_count; KeepAlive Off.
//! - The handler is a mod_lua script in the child (no process of its own per request,
//!   unlike a CGI) that sleeps the blocking time the request names (`/?b=0.0734`).
//! - As root the children run as www-data (Apache will not serve as root), so the
//!   run's folder must be reachable by other users.
//! - The load starts in phase with the master's maintenance, which sleeps 1 s from
//!   the moment it logs AH00163 (semantics: apache-tick).
//! - Counted in the error log (LogLevel info): AH00161 (MaxRequestWorkers reached)
//!   and AH00162 (server seems busy) (semantics: apache-spawn-logs).

use super::logs::{self, LogLine};
use super::shared::{
    closed_ancestor, fixed_tick, in_use, one_connection_per_process, probe_http, programs,
    start_in_phase, state, tail,
};
use crate::error::BadInput;
use crate::harness::servers::{Run, Servers};
use crate::harness::spec::{Endpoint, RunSpec, ServerLog};
use crate::harness::sys;
use crate::harness::target::{single, About, Report, Target};
use crate::model::{spares, start_servers, ListenerKind, MasterMode, Model, Service};
use anyhow::{anyhow, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub struct ApachePrefork;

/// The program a run starts and its modules' folder, found by `check_machine`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Program {
    apache2: PathBuf,
    modules: PathBuf,
}

const NAME: &str = "apache-prefork";
const CONF: &str = "httpd.conf";
const ERROR_LOG: &str = "apache-error.log";
const SCRIPT: &str = "sleep.lua";
/// Debian's modules folder, and the two modules a run loads.
const MODULES: &str = "/usr/lib/apache2/modules";
const MPM: &str = "mod_mpm_prefork.so";
const LUA: &str = "mod_lua.so";
/// Without an authorization module Apache 2.4.71 answers every request 500 (AH00025:
/// "configuration error: couldn't check user").
const AUTHZ: &str = "mod_authz_core.so";
/// The user the children run as when the master is root.
const USER: &str = "www-data";
/// Logged just before the master's maintenance loop starts.
const READY: &str = "AH00163";
/// prefork's compile-time MAX_SPAWN_RATE (semantics: apache-spawn).
const MAX_SPAWN_RATE: u32 = 32;

const LOG_LINES: &[LogLine] = &[
    LogLine {
        column: "log_ah00161",
        file: ERROR_LOG,
        needles: &["AH00161"],
        shown: "AH00161: server reached MaxRequestWorkers setting",
    },
    LogLine {
        column: "log_ah00162",
        file: ERROR_LOG,
        needles: &["AH00162"],
        shown: "AH00162: server seems busy",
    },
];

impl Target for ApachePrefork {
    /// Its pool's master is apache2, the one server it starts.
    fn about(&self) -> About {
        About::new(NAME, "Apache httpd (prefork)").counts_pool()
    }

    fn check_model(&self, m: &Model, _run_limit_s: f64) -> Result<(), String> {
        let s = single(self, m)?;
        check_expressible(m, s).map_err(|e| format!("the {NAME} target cannot run {e}"))
    }

    fn check_machine(&self) -> Result<serde_json::Value, BadInput> {
        let apache2 = programs(NAME, &[("apache2", "apache2-bin")])?.remove(0);
        let modules = PathBuf::from(MODULES);
        for m in [MPM, LUA, AUTHZ] {
            if !modules.join(m).is_file() {
                return Err(BadInput(format!(
                    "the {NAME} target needs {} (Debian's apache2-bin): apt-get install -y \
                     apache2-bin",
                    modules.join(m).display()
                )));
            }
        }
        if sys::is_root() {
            if sys::user_ids(USER).is_none() {
                return Err(BadInput(format!(
                    "the {NAME} target runs Apache's children as {USER} (Apache does not \
                     serve as root), and this machine has no such user"
                )));
            }
            reachable(&std::env::temp_dir())?;
        }
        Ok(serde_json::to_value(Program { apache2, modules }).expect("paths serialise"))
    }

    /// The Lua handler and httpd.conf.
    fn prepare(&self, run: &Run) -> Result<()> {
        let dir = run.dir();
        if sys::is_root() {
            reachable(dir)?;
        }
        let program: Program = state(run)?;
        let service = single(self, run.model()).map_err(|e| anyhow!(e))?;
        let write = |name: &str, text: String| {
            let path = dir.join(name);
            std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
        };
        write(SCRIPT, SCRIPT_TEXT.to_string())?;
        write(
            CONF,
            conf(
                run.spec,
                service,
                run.port()?,
                &program.modules,
                sys::is_root(),
            ),
        )
    }

    /// Apache in the foreground, once it answers; then the load, in phase with its
    /// maintenance.
    fn start(&self, run: &Run, servers: &mut Servers) -> Result<Endpoint> {
        let program: Program = state(run)?;
        let dir = run.dir();
        let stderr_path = dir.join("apache-stderr.log");
        let stderr = std::fs::File::create(&stderr_path)
            .with_context(|| format!("cannot create {}", stderr_path.display()))?;
        let mut a = run.command(&program.apache2);
        a.arg("-f")
            .arg(dir.join(CONF))
            .arg("-DFOREGROUND")
            .current_dir(dir)
            .stderr(stderr);
        // SIGTERM: Apache stops at once, its children with it. It then signals its whole
        // process group (ap_unixd_killpg(getpgrp(), SIGTERM)), so it gets one of its own.
        servers.spawn_group_leader(
            &mut a,
            libc::SIGTERM,
            &program.apache2.display().to_string(),
        )?;
        let port = run.port()?;
        let addr = ([127, 0, 0, 1], port).into();
        let log = dir.join(ERROR_LOG);
        let mut origin = None;
        servers.wait_until(
            30.0,
            "apache2",
            || {
                if origin.is_none()
                    && std::fs::read_to_string(&log).is_ok_and(|t| t.contains(READY))
                {
                    origin = Some(sys::mono());
                }
                (origin.is_some() && probe_http(addr, "/?b=0")).then_some(())
            },
            |status| {
                let t = format!("{}\n{}", tail(&stderr_path, 10), tail(&log, 10));
                if in_use(&t) {
                    BadInput(format!(
                        "apache2 cannot listen on 127.0.0.1:{port}: the port is in use; give \
                         another --port\n{t}"
                    ))
                    .into()
                } else {
                    anyhow!("apache2 exited before it was ready ({status}):\n{t}")
                }
            },
        )?;
        logs::mark_start(dir, LOG_LINES);
        start_in_phase(run, origin.expect("seen before ready"), 1.0)?;
        Ok(Endpoint::HttpTcp(addr))
    }

    fn read_logs(&self, run: &Run) -> ServerLog {
        logs::read(run, LOG_LINES)
    }

    fn report(&self, _m: &Model) -> Report {
        logs::report(LOG_LINES)
    }
}

/// Refuses a folder that Apache's children (www-data) could not enter.
fn reachable(dir: &Path) -> Result<(), BadInput> {
    match closed_ancestor(dir) {
        None => Ok(()),
        Some(closed) => Err(BadInput(format!(
            "the {NAME} target keeps its handler under {}, but {} is closed to other users \
             and Apache's children run as {USER}: set TMPDIR to a folder such as /tmp, or \
             chmod o+x {}",
            dir.display(),
            closed.display(),
            closed.display()
        ))),
    }
}

/// The handler: sleeps `b` seconds in the child, answers OK.
const SCRIPT_TEXT: &str = r#"-- Generated by eagain harness: sleeps the blocking time the request names.
function handle(r)
  local b = tonumber(r:parseargs()["b"] or "0") or 0
  if b > 0 then
    r.usleep(math.floor(b * 1000000 + 0.5))
  end
  r.content_type = "text/plain"
  r:puts("OK\n")
  return apache2.OK
end
"#;

/// What Apache's prefork MPM cannot run as model `m` and its one service `s` say.
fn check_expressible(m: &Model, s: &Service) -> Result<(), String> {
    let mode = s.master.mode;
    if mode != MasterMode::ApachePrefork {
        return Err(format!(
            "`master.mode` = \"{mode}\": Apache's prefork MPM keeps spare servers on its own \
             rule; use \"apache-prefork\" with the {NAME} target"
        ));
    }
    if s.listener.kind != ListenerKind::Tcp {
        return Err(format!(
            "`listener.kind` = \"unix\": clients reach Apache over TCP (Listen \
             127.0.0.1:PORT) and a full queue drops their SYNs; use \"tcp\" with the {NAME} \
             target"
        ));
    }
    one_connection_per_process(m, s, NAME)?;
    fixed_tick(
        s,
        NAME,
        "Apache's master runs its maintenance after a 1-s sleep",
    )?;
    if s.master.max_spawn_rate != MAX_SPAWN_RATE {
        return Err(format!(
            "`master.max_spawn_rate` = {}: prefork's MAX_SPAWN_RATE is {MAX_SPAWN_RATE}, \
             fixed when Apache is compiled; use {MAX_SPAWN_RATE} with the {NAME} target",
            s.master.max_spawn_rate
        ));
    }
    let (min, max) = spares(&s.pool, mode);
    if min == 0 {
        return Err(
            "`pool.min_spare` = 0: Apache raises MinSpareServers 0 to 1; give at least 1".into(),
        );
    }
    if max < min + 1 {
        return Err(format!(
            "`pool.max_spare` = {max}: Apache raises MaxSpareServers to at least \
             MinSpareServers + 1 = {} (semantics: apache-defaults); give at least that",
            min + 1
        ));
    }
    Ok(())
}

/// httpd.conf for one run of service `s`.
fn conf(spec: &RunSpec, s: &Service, port: u16, modules: &Path, root: bool) -> String {
    let p = &s.pool;
    let d = |x: &str| spec.dir.join(x).display().to_string();
    let (min, max) = spares(p, s.master.mode);
    format!(
        "# Generated by eagain harness for one run; removed with its folder.\n\
         ServerRoot \"{root_dir}\"\n\
         DefaultRuntimeDir \"{root_dir}\"\n\
         PidFile \"{pid}\"\n\
         ErrorLog \"{log}\"\n\
         LogLevel info\n\
         LoadModule mpm_prefork_module \"{mpm}\"\n\
         LoadModule lua_module \"{lua}\"\n\
         LoadModule authz_core_module \"{authz}\"\n\
         {user}\
         ServerName localhost\n\
         Listen 127.0.0.1:{port}\n\
         ListenBacklog {backlog}\n\
         StartServers {start}\n\
         MinSpareServers {min}\n\
         MaxSpareServers {max}\n\
         ServerLimit {limit}\n\
         MaxRequestWorkers {limit}\n\
         MaxConnectionsPerChild {per_child}\n\
         KeepAlive Off\n\
         LuaMapHandler \"^/\" \"{script}\" handle\n",
        root_dir = spec.dir.display(),
        pid = d("httpd.pid"),
        log = d(ERROR_LOG),
        mpm = modules.join(MPM).display(),
        lua = modules.join(LUA).display(),
        authz = modules.join(AUTHZ).display(),
        user = if root {
            format!("User {USER}\nGroup {USER}\n")
        } else {
            String::new()
        },
        backlog = s.listener.backlog.min(i32::MAX as u32),
        start = start_servers(p, s.master.mode),
        limit = p.process_limit,
        per_child = p.service_count,
        script = d(SCRIPT),
    )
}
