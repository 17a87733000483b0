//! The `nginx-php-fpm` target: Debian's php8.2-fpm behind nginx, every file
//! (php-fpm.conf, nginx.conf, pid files, logs, the PHP script, the pool's socket)
//! generated into the run's folder.
//!
//! - php-fpm: a private master, `php-fpm8.2 -F -R -n -y DIR/php-fpm.conf` (foreground,
//!   pool allowed to run as root, no php.ini, so that the machine's PHP settings do
//!   not change the measurement), `log_level = debug`; one pool listening on a unix
//!   socket in the run's folder with `listen.backlog` = listener.backlog, `pm` from
//!   master.mode ("prefork": static; "php-fpm-dynamic"; "php-fpm-ondemand"),
//!   pm.max_children = pool.process_limit, pm.start_servers, pm.min_spare_servers,
//!   pm.max_spare_servers and pm.max_spawn_rate from pool.start_servers,
//!   pool.min_spare, pool.max_spare and master.max_spawn_rate,
//!   pm.process_idle_timeout = pool.idle_kill, pm.max_requests = pool.service_count.
//! - The PHP script burns the CPU time the request names (`&c=0.05`, on the process's
//!   CPU clock: getrusage), then sleeps the blocking time (`/?b=0.0734`), so the load
//!   generator, and through it the simulator's random stream, decides every draw. With
//!   `host.cpus` the master and its children run in the run's CPU-quota cgroup.
//! - nginx: one worker on 127.0.0.1, `fastcgi_pass` to the pool's socket (a single
//!   upstream: EAGAIN is an immediate 502, refused; semantics: nginx-single-server),
//!   fastcgi_read_timeout = load.timeout (a 504 is a time-out; semantics:
//!   nginx-queued-504).
//! - The load starts in phase with the master's 1-s maintenance tick, which is armed
//!   when it logs "ready to handle connections" (semantics: php-fpm-tick).
//! - Counted in the logs: `server reached pm.max_children setting` (dynamic) and
//!   `server reached max_children setting` (ondemand), `seems busy`, nginx's
//!   `(11: Resource temporarily unavailable)` and `upstream timed out`.

use super::logs::{self, LogLine};
use super::nginx::{self, ms, NginxConf};
use super::shared::{
    fixed_tick, in_use, one_connection_per_process, probe_http, programs, start_in_phase, state,
    tail,
};
use crate::error::BadInput;
use crate::harness::servers::{Run, Servers};
use crate::harness::spec::{Endpoint, RunSpec, ServerLog};
use crate::harness::sys;
use crate::harness::target::{single, About, Report, Target};
use crate::model::{spares, start_servers, ListenerKind, MasterMode, Model, Service};
use anyhow::{anyhow, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

pub struct NginxPhpFpm;

/// The programs a run starts, found by `check_machine`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Programs {
    nginx: PathBuf,
    php_fpm: PathBuf,
}

const NAME: &str = "nginx-php-fpm";
const FPM_CONF: &str = "php-fpm.conf";
const FPM_LOG: &str = "php-fpm.log";
const NGINX_CONF: &str = "nginx.conf";
const SCRIPT: &str = "sleep.php";
/// What php-fpm logs when its event loop starts, with the maintenance timer.
const READY: &str = "ready to handle connections";

const LOG_LINES: &[LogLine] = &[
    // semantics: php-fpm-spawn-logs (the ondemand variant has no "pm.").
    LogLine {
        column: "log_max_children",
        file: FPM_LOG,
        needles: &[
            "server reached pm.max_children setting",
            "server reached max_children setting",
        ],
        shown: "server reached (pm.)max_children setting",
    },
    LogLine {
        column: "log_seems_busy",
        file: FPM_LOG,
        needles: &["seems busy"],
        shown: "seems busy",
    },
    // semantics: nginx-failure-status; one a 502.
    LogLine {
        column: "log_nginx_eagain",
        file: nginx::ERROR_LOG,
        needles: &["(11: Resource temporarily unavailable)"],
        shown: "(11: Resource temporarily unavailable)",
    },
    // fastcgi_read_timeout: one a 504.
    LogLine {
        column: "log_nginx_timed_out",
        file: nginx::ERROR_LOG,
        needles: &["upstream timed out"],
        shown: "upstream timed out",
    },
];

impl Target for NginxPhpFpm {
    /// Its pool's master is php-fpm, the first server it starts.
    fn about(&self) -> About {
        About::new(NAME, "nginx + PHP-FPM")
            .counts_pool()
            .burns_cpu()
    }

    fn check_model(&self, m: &Model, _run_limit_s: f64) -> Result<(), String> {
        let s = single(self, m)?;
        check_expressible(m, s).map_err(|e| format!("the {NAME} target cannot run {e}"))
    }

    fn check_machine(&self) -> Result<serde_json::Value, BadInput> {
        let found = programs(NAME, &[("nginx", "nginx"), ("php-fpm8.2", "php8.2-fpm")])?;
        let programs = Programs {
            nginx: found[0].clone(),
            php_fpm: found[1].clone(),
        };
        Ok(serde_json::to_value(programs).expect("paths serialise"))
    }

    /// The PHP script, php-fpm.conf and nginx.conf.
    fn prepare(&self, run: &Run) -> Result<()> {
        let dir = run.dir();
        if run.spec.socket.parent() != Some(dir) {
            return Err(BadInput(format!(
                "--socket {}: the {NAME} target keeps its pool's socket in the run's own \
                 folder (php-fpm removes whatever is at its listen path before it binds); \
                 leave --socket out",
                run.spec.socket.display()
            ))
            .into());
        }
        let service = single(self, run.model()).map_err(|e| anyhow!(e))?;
        let write = |name: &str, text: String| {
            let path = dir.join(name);
            std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
        };
        write(SCRIPT, SCRIPT_TEXT.to_string())?;
        write(FPM_CONF, fpm_conf(run.spec, service, sys::is_root()))?;
        write(
            NGINX_CONF,
            nginx_conf(run.spec).text(dir, run.port()?, sys::is_root()),
        )
    }

    /// php-fpm, once it is ready and its socket is there, then nginx, once it answers
    /// and (except ondemand, which would fork for it) once the script answers through
    /// the pool; then the load, in phase with the master's tick.
    fn start(&self, run: &Run, servers: &mut Servers) -> Result<Endpoint> {
        let programs: Programs = state(run)?;
        let mode = single(self, run.model())
            .map_err(|e| anyhow!(e))?
            .master
            .mode;
        let dir = run.dir();
        let stderr_path = dir.join("php-fpm-stderr.log");
        let stderr = std::fs::File::create(&stderr_path)
            .with_context(|| format!("cannot create {}", stderr_path.display()))?;
        let mut f = run.command(&programs.php_fpm);
        f.args(["-F", "-R", "-n", "-y"])
            .arg(dir.join(FPM_CONF))
            .current_dir(dir)
            .stderr(stderr);
        // The master and its children in the CPU quota; nginx stays outside.
        run.confine(&mut f)?;
        // SIGTERM: php-fpm's immediate stop (children included).
        servers.spawn(
            &mut f,
            libc::SIGTERM,
            &programs.php_fpm.display().to_string(),
        )?;
        let log = dir.join(FPM_LOG);
        let socket = run.spec.socket.clone();
        let origin = servers.wait_until(
            30.0,
            "php-fpm",
            || {
                let ready = std::fs::read_to_string(&log).is_ok_and(|t| t.contains(READY));
                (ready && socket.exists()).then(sys::mono)
            },
            |status| {
                let t = format!("{}\n{}", tail(&stderr_path, 10), tail(&log, 10));
                if in_use(&t) {
                    BadInput(format!(
                        "php-fpm cannot listen on {}:\n{t}",
                        socket.display()
                    ))
                    .into()
                } else {
                    anyhow!("php-fpm exited before it was ready ({status}):\n{t}")
                }
            },
        )?;
        nginx::start(
            run,
            servers,
            &programs.nginx,
            &dir.join(NGINX_CONF),
            nginx::READY,
        )?;
        let addr = ([127, 0, 0, 1], run.port()?).into();
        if mode != MasterMode::PhpFpmOndemand {
            servers.wait_until(
                15.0,
                "the PHP script through nginx and php-fpm",
                || probe_http(addr, "/?b=0").then_some(()),
                |status| anyhow!("a server exited ({status}):\n{}", tail(&log, 10)),
            )?;
        }
        logs::mark_start(dir, LOG_LINES);
        start_in_phase(run, origin, 1.0)?;
        Ok(Endpoint::FastCgi(addr))
    }

    fn read_logs(&self, run: &Run) -> ServerLog {
        logs::read(run, LOG_LINES)
    }

    fn report(&self, _m: &Model) -> Report {
        logs::report(LOG_LINES)
    }
}

/// The script: burns `c` seconds of the process's CPU time, sleeps `b` seconds,
/// answers OK.
const SCRIPT_TEXT: &str = r#"<?php
// Generated by eagain harness: burns the CPU time, then sleeps the blocking time the
// request names.
function eagain_cpu_s() {
    $r = getrusage();
    return $r['ru_utime.tv_sec'] + $r['ru_utime.tv_usec'] / 1e6
        + $r['ru_stime.tv_sec'] + $r['ru_stime.tv_usec'] / 1e6;
}
$c = isset($_GET['c']) ? (float) $_GET['c'] : 0.0;
if ($c > 0) {
    // Busy on the process's CPU clock: time spent waiting for a CPU is not work.
    $end = eagain_cpu_s() + $c;
    $x = 0;
    while (eagain_cpu_s() < $end) {
        for ($i = 0; $i < 200; $i++) {
            $x = ($x * 31 + $i) % 1000003;
        }
    }
}
$b = isset($_GET['b']) ? (float) $_GET['b'] : 0.0;
if ($b > 0) {
    usleep((int) round($b * 1000000));
}
header('Content-Type: text/plain');
echo "OK\n";
"#;

/// What PHP-FPM behind a single-server nginx upstream cannot run as model `m` and its
/// one service `s` say.
fn check_expressible(m: &Model, s: &Service) -> Result<(), String> {
    let mode = s.master.mode;
    if !matches!(
        mode,
        MasterMode::Prefork | MasterMode::PhpFpmDynamic | MasterMode::PhpFpmOndemand
    ) {
        return Err(format!(
            "`master.mode` = \"{mode}\": PHP-FPM's process managers are \"prefork\" (pm = \
             static), \"php-fpm-dynamic\" and \"php-fpm-ondemand\""
        ));
    }
    if s.listener.kind != ListenerKind::Unix {
        return Err(format!(
            "`listener.kind` = \"tcp\": nginx reaches the pool over a unix socket in the \
             run's folder; use \"unix\" with the {NAME} target"
        ));
    }
    one_connection_per_process(m, s, NAME)?;
    if mode.ticks() {
        fixed_tick(s, NAME, "PHP-FPM's master runs its maintenance")?;
    }
    let p = &s.pool;
    if mode == MasterMode::PhpFpmDynamic && spares(p, mode).0 == 0 {
        return Err(
            "`pool.min_spare` = 0: PHP-FPM refuses pm.min_spare_servers below 1 \
             (semantics: php-fpm-dynamic-config); give at least 1"
                .into(),
        );
    }
    if mode == MasterMode::PhpFpmOndemand
        && (p.idle_kill.fract() != 0.0 || p.idle_kill >= f64::from(u32::MAX))
    {
        return Err(format!(
            "`pool.idle_kill` = {}: pm.process_idle_timeout is whole seconds; give an \
             integer (0: never)",
            p.idle_kill
        ));
    }
    Ok(())
}

/// php-fpm.conf for one run: the master's files in the run's folder, one pool, of
/// service `s`.
fn fpm_conf(spec: &RunSpec, s: &Service, root: bool) -> String {
    let p = &s.pool;
    let d = |x: &str| spec.dir.join(x).display().to_string();
    let mode = s.master.mode;
    let pm = match mode {
        MasterMode::PhpFpmDynamic => {
            let (min, max) = spares(p, mode);
            format!(
                "pm = dynamic\n\
                 pm.start_servers = {}\n\
                 pm.min_spare_servers = {min}\n\
                 pm.max_spare_servers = {max}\n\
                 pm.max_spawn_rate = {}\n",
                start_servers(p, mode),
                s.master.max_spawn_rate
            )
        }
        MasterMode::PhpFpmOndemand => format!(
            "pm = ondemand\npm.process_idle_timeout = {}s\n",
            // 0 in the model is "never": a day is longer than any run.
            if p.idle_kill == 0.0 {
                86_400
            } else {
                p.idle_kill as u64
            }
        ),
        _ => "pm = static\n".to_string(),
    };
    format!(
        "; Generated by eagain harness for one run; removed with its folder.\n\
         [global]\n\
         pid = {pid}\n\
         error_log = {log}\n\
         log_level = debug\n\
         daemonize = no\n\
         [eagain]\n\
         {user}\
         listen = {sock}\n\
         listen.backlog = {backlog}\n\
         {pm}\
         pm.max_children = {children}\n\
         pm.max_requests = {requests}\n\
         clear_env = yes\n\
         catch_workers_output = no\n",
        pid = d("php-fpm.pid"),
        log = d(FPM_LOG),
        user = if root {
            "user = root\ngroup = root\n"
        } else {
            ""
        },
        sock = spec.socket.display(),
        backlog = s.listener.backlog.min(i32::MAX as u32),
        children = p.process_limit,
        requests = p.service_count,
    )
}

/// nginx.conf for one run: one worker, never short of worker_connections, its own
/// readiness probe, and `location /`: every request to the script, through the pool's
/// socket.
fn nginx_conf(spec: &RunSpec) -> NginxConf<'static> {
    let m = &spec.model;
    let connect = m.load.connect_timeout.map_or("60s".to_string(), ms);
    let read = m.load.timeout.map_or("60s".to_string(), ms);
    let location = format!(
        "\x20       location / {{\n\
         \x20           fastcgi_pass unix:{sock};\n\
         \x20           fastcgi_param SCRIPT_FILENAME {script};\n\
         \x20           fastcgi_param SCRIPT_NAME /{SCRIPT};\n\
         \x20           fastcgi_param QUERY_STRING $query_string;\n\
         \x20           fastcgi_param REQUEST_METHOD $request_method;\n\
         \x20           fastcgi_param REQUEST_URI $request_uri;\n\
         \x20           fastcgi_param SERVER_PROTOCOL $server_protocol;\n\
         \x20           fastcgi_param GATEWAY_INTERFACE CGI/1.1;\n\
         \x20           fastcgi_param REMOTE_ADDR $remote_addr;\n\
         \x20           fastcgi_param SERVER_NAME localhost;\n\
         \x20           fastcgi_param SERVER_PORT $server_port;\n\
         \x20           fastcgi_connect_timeout {connect};\n\
         \x20           fastcgi_send_timeout {read};\n\
         \x20           fastcgi_read_timeout {read};\n\
         \x20       }}\n",
        sock = spec.socket.display(),
        script = spec.dir.join(SCRIPT).display(),
    );
    NginxConf {
        workers: 1,
        connections: nginx::WORKER_CONNECTIONS,
        backlog: None,
        access_log: None,
        locations: nginx::ready_location() + &location,
    }
}
