//! The `nginx-gunicorn` target: Debian's nginx as a reverse proxy to gunicorn sync
//! workers, with every file (configuration, pid, logs, temporary paths, the WSGI app,
//! the socket) generated into the run's folder.
//!
//! - gunicorn: `--workers` = pool.process_limit, sync workers, `--backlog` =
//!   listener.backlog, `--max-requests` = pool.service_count, listening on the run's
//!   unix socket, which the supervisor binds (only where nothing is) and passes as
//!   `--bind fd://N`, so that gunicorn never removes a file at the path; or bound to
//!   127.0.0.1 for listener.kind = "tcp".
//! - The app sleeps the blocking time the request names (`/?b=0.0734`), so the load
//!   generator, and through it the simulator's random stream, decides every draw.
//! - nginx: `daemon off`, one worker, listening on 127.0.0.1, one upstream server
//!   (so EAGAIN is an immediate 502, reference E3), proxy_connect_timeout =
//!   load.connect_timeout and proxy_read_timeout = load.timeout where set.

use super::{find_program, in_use, tail, Target};
use crate::error::BadInput;
use crate::harness::spec::{Endpoint, RunSpec};
use crate::harness::supervisor::{Run, Servers};
use crate::harness::sys;
use crate::model::{ListenerKind, MasterMode, Model};
use anyhow::{anyhow, Context, Result};
use serde::{Deserialize, Serialize};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::Duration;

pub struct NginxGunicorn;

/// The programs a run starts, found by `check_machine`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Programs {
    nginx: PathBuf,
    gunicorn: PathBuf,
}

impl Target for NginxGunicorn {
    fn name(&self) -> &'static str {
        "nginx-gunicorn"
    }

    fn title(&self) -> &'static str {
        "nginx + gunicorn"
    }

    fn check_model(&self, m: &Model, _run_limit_s: f64) -> Result<(), String> {
        check_expressible(m).map_err(|e| format!("the nginx-gunicorn target cannot run {e}"))
    }

    fn check_machine(&self) -> Result<serde_json::Value, BadInput> {
        Ok(serde_json::to_value(programs()?).expect("paths serialise"))
    }

    /// The WSGI app and nginx.conf, with the ports of this run.
    fn prepare(&self, run: &Run) -> Result<()> {
        let dir = run.dir();
        std::fs::write(dir.join(format!("{APP_MODULE}.py")), APP)
            .context("cannot write the WSGI app")?;
        let upstream = upstream(run.spec, gunicorn_port(run)?);
        let conf = dir.join(NGINX_CONF);
        std::fs::write(
            &conf,
            nginx_conf(run.spec, run.port()?, &upstream, sys::is_root()),
        )
        .with_context(|| format!("cannot write {}", conf.display()))
    }

    /// gunicorn, once its workers have all started, then nginx, once it answers.
    fn start(&self, run: &Run, servers: &mut Servers) -> Result<Endpoint> {
        let programs: Programs = super::state(run)?;
        let dir = run.dir();
        let mut g = run.command(&programs.gunicorn);
        let (bind, unix) = match run.model().listener.kind {
            ListenerKind::Unix => {
                let sock = servers.bind_unix(&run.spec.socket)?;
                sys::keep_fd(&mut g, sock.as_raw_fd());
                (format!("fd://{}", sock.as_raw_fd()), Some(sock))
            }
            ListenerKind::Tcp => (format!("127.0.0.1:{}", run.backend_port()?), None),
        };
        g.args(gunicorn_args(run.spec, &bind))
            .current_dir(dir)
            .env("EAGAIN_READY_DIR", dir)
            .env("PYTHONDONTWRITEBYTECODE", "1");
        // SIGQUIT: gunicorn's quick shutdown.
        servers.spawn(
            &mut g,
            libc::SIGQUIT,
            &programs.gunicorn.display().to_string(),
        )?;
        // gunicorn has its own copy now.
        drop(unix);
        let workers = run.model().pool.process_limit as usize;
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
        let err_log = dir.join("nginx-error.log");
        let mut n = run.command(&programs.nginx);
        n.arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(dir.join(NGINX_CONF))
            .arg("-e")
            .arg(&err_log);
        servers.spawn(&mut n, libc::SIGTERM, &programs.nginx.display().to_string())?;
        let port = run.port()?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        servers.wait_until(
            15.0,
            "nginx",
            || probe(addr).then_some(()),
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
        )?;
        Ok(Endpoint::Http(addr))
    }
}

/// nginx.conf's name in the run's folder.
const NGINX_CONF: &str = "nginx.conf";

/// gunicorn's port on loopback for listener.kind = "tcp" (0 for a unix socket).
fn gunicorn_port(run: &Run) -> Result<u16> {
    match run.model().listener.kind {
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

/// One GET through nginx; true on a 200.
fn probe(addr: SocketAddr) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /?b=0 HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap_or(0);
    let head = String::from_utf8_lossy(&buf[..n]);
    head.split_whitespace().nth(1) == Some("200")
}

/// The WSGI app: marks its worker ready when imported (after fork), sleeps `b`.
const APP: &str = r#"# Generated by eagain harness: sleeps the blocking time the request names.
import os
import time
from urllib.parse import parse_qs

_ready = os.environ.get("EAGAIN_READY_DIR")
if _ready:
    open(os.path.join(_ready, "worker-ready.%d" % os.getpid()), "w").close()


def app(environ, start_response):
    query = parse_qs(environ.get("QUERY_STRING", ""))
    blocking = float(query.get("b", ["0"])[0])
    if blocking > 0:
        time.sleep(blocking)
    body = b"OK\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"#;

const APP_MODULE: &str = "eagain_app";
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

/// What gunicorn's sync workers and a single-server nginx upstream cannot do.
fn check_expressible(m: &Model) -> Result<(), String> {
    if m.master.mode != MasterMode::Prefork {
        let mode = serde_json::to_value(m.master.mode).unwrap_or_default();
        return Err(format!(
            "`master.mode` = {mode}: gunicorn's arbiter keeps a fixed pool of workers; \
             use \"prefork\" with the nginx-gunicorn target (the builtin target forks on demand)"
        ));
    }
    if m.pool.client_limit != 1 {
        return Err(format!(
            "`pool.client_limit` = {}: a gunicorn sync worker serves one request at a time; \
             use 1 with the nginx-gunicorn target",
            m.pool.client_limit
        ));
    }
    if m.work.hold.mean() != 0.0 {
        return Err(
            "`work.hold`: the app cannot keep a connection open after its reply; \
             use the builtin target, or a hold of constant 0"
                .into(),
        );
    }
    if m.master.drop_timeout.is_some() {
        return Err(
            "`master.drop_timeout`: gunicorn has no drop timer (it is Dovecot's); \
             leave it out with the nginx-gunicorn target"
                .into(),
        );
    }
    if m.load.on_refused != crate::model::OnRefused::Fail {
        return Err(
            "`load.on_refused` = \"retry\": nginx answers 502 at once for a single upstream \
             (it does not retry); use \"fail\" with the nginx-gunicorn target"
                .into(),
        );
    }
    Ok(())
}

/// gunicorn's command line.
fn gunicorn_args(spec: &RunSpec, bind: &str) -> Vec<String> {
    let m = &spec.model;
    let d = |p: &str| spec.dir.join(p).display().to_string();
    let mut a: Vec<String> = vec![
        "--workers".into(),
        m.pool.process_limit.to_string(),
        "--worker-class".into(),
        "sync".into(),
        "--backlog".into(),
        m.listener.backlog.min(i32::MAX as u32).to_string(),
        "--bind".into(),
        bind.into(),
        "--timeout".into(),
        "60".into(),
        "--graceful-timeout".into(),
        "1".into(),
        "--chdir".into(),
        spec.dir.display().to_string(),
        "--pid".into(),
        d("gunicorn.pid"),
        "--error-logfile".into(),
        d("gunicorn.log"),
        "--log-level".into(),
        "warning".into(),
        "--worker-tmp-dir".into(),
        spec.dir.display().to_string(),
    ];
    if m.pool.service_count > 0 {
        a.extend(["--max-requests".into(), m.pool.service_count.to_string()]);
    }
    a.push(format!("{APP_MODULE}:app"));
    a
}

fn ms(seconds: f64) -> String {
    format!("{}ms", (seconds * 1000.0).round().max(1.0) as u64)
}

/// nginx.conf for one run.
fn nginx_conf(spec: &RunSpec, port: u16, upstream: &str, root: bool) -> String {
    let m = &spec.model;
    let d = |p: &str| spec.dir.join(p).display().to_string();
    let connect = m.load.connect_timeout.map_or("60s".to_string(), ms);
    let read = m.load.timeout.map_or("60s".to_string(), ms);
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
         \x20       location / {{\n\
         \x20           proxy_pass {upstream};\n\
         \x20           proxy_connect_timeout {connect};\n\
         \x20           proxy_read_timeout {read};\n\
         \x20           proxy_send_timeout {read};\n\
         \x20       }}\n\
         \x20   }}\n\
         }}\n",
        user = if root { "user root;\n" } else { "" },
        pid = d("nginx.pid"),
        err = d("nginx-error.log"),
        cb = d("nginx-client-body"),
        pt = d("nginx-proxy"),
        ft = d("nginx-fastcgi"),
        ut = d("nginx-uwsgi"),
        st = d("nginx-scgi"),
    )
}

/// nginx's proxy_pass to gunicorn for the model's listener kind.
fn upstream(spec: &RunSpec, gunicorn_port: u16) -> String {
    match spec.model.listener.kind {
        ListenerKind::Unix => format!("http://unix:{}:", spec.socket.display()),
        ListenerKind::Tcp => format!("http://127.0.0.1:{gunicorn_port}"),
    }
}
