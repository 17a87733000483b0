//! What a model says nginx and gunicorn are, checked and written out. Two kinds of
//! model:
//!
//! - gunicorn's pool alone (the model's one service), nginx in front as a fixed
//!   proxy: one worker, 16384 worker_connections, its default listen backlog (511),
//!   proxy_connect_timeout = load.connect_timeout and proxy_read_timeout =
//!   load.timeout (60 s where unset).
//! - The chain nginx -> gunicorn (any names: the first service is nginx, its `next`
//!   gunicorn). nginx's service: `handoff = "proxy"` (it keeps the client's
//!   connection until gunicorn's reply comes back through it), a TCP listener (the
//!   clients connect over loopback) whose backlog is nginx's `listen ... backlog=`,
//!   pool.process_limit = worker_processes, pool.client_limit = the proxied requests a
//!   worker holds, each with two connections (the client's and gunicorn's), and its
//!   `connect` table: on_refused = "fail" (a single upstream: an immediate 502;
//!   semantics: nginx-single-server), connect_timeout = proxy_connect_timeout and
//!   timeout = proxy_read_timeout (semantics: nginx-timeouts).
//!
//! gunicorn, for either: `--workers` = pool.process_limit, sync workers,
//! `--backlog` = listener.backlog, `--max-requests` = pool.service_count, on a unix
//! socket (or loopback TCP for listener.kind = "tcp").

use crate::harness::spec::RunSpec;
use crate::harness::targets::nginx::{ms, NginxConf, MAX_WORKER_CONNECTIONS, WORKER_CONNECTIONS};
use crate::model::{Handoff, ListenerKind, MasterMode, Model, OnRefused, Service};

/// nginx's side of a run.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Nginx {
    pub worker_processes: u32,
    pub worker_connections: u32,
    /// `listen ... backlog=N`, or None for nginx's default (511 on Linux).
    pub backlog: Option<u32>,
    pub connect_timeout: Option<f64>,
    pub read_timeout: Option<f64>,
}

/// Connections a worker takes from its worker_connections besides the proxied
/// requests: its listening socket and its channel to the master each hold one
/// (ngx_event_process_init(), ngx_add_channel_event()). Measured with nginx 1.22.1:
/// worker_connections 4 proxies one request at a time; a second one is accepted and
/// closed at once ("4 worker_connections are not enough"), where the model's service
/// would queue it, so a chain's nginx client_limit should stay above what the load
/// holds open at once.
const OWN_CONNECTIONS: u32 = 2;

/// What a run of `m` configures: nginx, and gunicorn's service (the model's one, or
/// the chain's last).
pub(super) fn plan(m: &Model) -> (Nginx, &Service) {
    match m.services.as_slice() {
        [nginx, gunicorn] => (
            Nginx {
                worker_processes: nginx.pool.process_limit,
                worker_connections: nginx
                    .pool
                    .client_limit
                    .saturating_mul(2)
                    .saturating_add(OWN_CONNECTIONS),
                backlog: Some(nginx.listener.backlog),
                connect_timeout: nginx.connect.connect_timeout,
                read_timeout: nginx.connect.timeout,
            },
            gunicorn,
        ),
        _ => (
            Nginx {
                worker_processes: 1,
                worker_connections: WORKER_CONNECTIONS,
                backlog: None,
                connect_timeout: m.load.connect_timeout,
                read_timeout: m.load.timeout,
            },
            m.front(),
        ),
    }
}

/// What gunicorn's sync workers and a single-server nginx upstream cannot do, naming
/// the field.
pub(super) fn expressible(m: &Model) -> Result<(), String> {
    if let Ok(one) = m.single() {
        gunicorn(one)?;
        if m.load.on_refused != OnRefused::Fail {
            return Err(
                "`load.on_refused` = \"retry\": nginx answers 502 at once for a single \
                 upstream (it does not retry; semantics: nginx-single-server); use \"fail\" \
                 with the nginx-gunicorn target"
                    .into(),
            );
        }
        return Ok(());
    }
    let [nginx, back] = m.services.as_slice() else {
        return Err(format!(
            "`services`: a chain of {} services; the nginx-gunicorn target runs two, nginx \
             and the gunicorn it proxies to (next)",
            m.services.len()
        ));
    };
    gunicorn(back)?;
    let p = format!("services.{}.", nginx.name);
    if nginx.handoff != Some(Handoff::Proxy) {
        return Err(format!(
            "`{p}handoff` = \"pass\": nginx proxies, keeping the client's connection until \
             gunicorn's reply comes back through it; set {p}handoff = \"proxy\""
        ));
    }
    if nginx.listener.kind != ListenerKind::Tcp {
        return Err(format!(
            "`{p}listener.kind` = \"unix\": the clients connect to nginx over loopback TCP; \
             use \"tcp\""
        ));
    }
    if nginx.master.mode != MasterMode::Prefork {
        return Err(format!(
            "`{p}master.mode` = \"{}\": nginx's master keeps worker_processes workers; use \
             \"prefork\"",
            nginx.master.mode
        ));
    }
    if nginx.master.drop_timeout.is_some() {
        return Err(format!(
            "`{p}master.drop_timeout`: nginx has no drop timer (it is Dovecot's); leave it out"
        ));
    }
    if nginx.pool.service_count != 0 {
        return Err(format!(
            "`{p}pool.service_count` = {}: nginx's workers never exit after a number of \
             connections; use 0",
            nginx.pool.service_count
        ));
    }
    let most = (MAX_WORKER_CONNECTIONS - OWN_CONNECTIONS) / 2;
    if nginx.pool.client_limit > most {
        return Err(format!(
            "`{p}pool.client_limit` = {}: each proxied request holds two of a worker's \
             worker_connections (the client's and gunicorn's), and the harness gives nginx at \
             most {MAX_WORKER_CONNECTIONS}; give at most {most}",
            nginx.pool.client_limit
        ));
    }
    if nginx.work.hold.mean() != 0.0 {
        return Err(format!(
            "`{p}work.hold`: nginx closes the client's connection with the reply (HTTP/1.0); \
             leave hold at constant 0"
        ));
    }
    if nginx.connect.on_refused != OnRefused::Fail {
        return Err(format!(
            "`{p}connect.on_refused` = \"retry\": nginx answers 502 at once for a single \
             upstream (it does not retry; semantics: nginx-single-server); use \"fail\""
        ));
    }
    Ok(())
}

/// What a gunicorn sync pool must say.
fn gunicorn(s: &Service) -> Result<(), String> {
    let p = |f: &str| s.path(f);
    if s.master.mode != MasterMode::Prefork {
        return Err(format!(
            "`{}` = \"{}\": gunicorn's arbiter keeps a fixed pool of workers; \
             use \"prefork\" with the nginx-gunicorn target (the builtin target forks on demand)",
            p("master.mode"),
            s.master.mode
        ));
    }
    if s.pool.client_limit != 1 {
        return Err(format!(
            "`{}` = {}: a gunicorn sync worker serves one request at a time; \
             use 1 with the nginx-gunicorn target",
            p("pool.client_limit"),
            s.pool.client_limit
        ));
    }
    if s.work.hold.mean() != 0.0 {
        return Err(format!(
            "`{}`: the app cannot keep a connection open after its reply; use the \
             builtin target, or a hold of constant 0",
            p("work.hold")
        ));
    }
    if s.master.drop_timeout.is_some() {
        return Err(format!(
            "`{}`: gunicorn has no drop timer (it is Dovecot's); leave it \
             out with the nginx-gunicorn target",
            p("master.drop_timeout")
        ));
    }
    Ok(())
}

/// The WSGI module's name in the run's folder.
pub(super) const APP_MODULE: &str = "eagain_app";

/// gunicorn's command line.
pub(super) fn gunicorn_args(spec: &RunSpec, bind: &str) -> Vec<String> {
    let (_, g) = plan(&spec.model);
    let d = |p: &str| spec.dir.join(p).display().to_string();
    let mut a: Vec<String> = vec![
        "--workers".into(),
        g.pool.process_limit.to_string(),
        "--worker-class".into(),
        "sync".into(),
        "--backlog".into(),
        g.listener.backlog.min(i32::MAX as u32).to_string(),
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
    if g.pool.service_count > 0 {
        a.extend(["--max-requests".into(), g.pool.service_count.to_string()]);
    }
    a.push(format!("{APP_MODULE}:app"));
    a
}

/// The access log's file name in the run's folder.
pub(super) const ACCESS_LOG: &str = "nginx-access.log";

/// nginx.conf for one run.
pub(super) fn nginx_conf(spec: &RunSpec, port: u16, upstream: &str, root: bool) -> String {
    let (n, _) = plan(&spec.model);
    let connect = n.connect_timeout.map_or("60s".to_string(), ms);
    let read = n.read_timeout.map_or("60s".to_string(), ms);
    NginxConf {
        workers: n.worker_processes,
        connections: n.worker_connections,
        backlog: n.backlog,
        access_log: Some(ACCESS_LOG),
        locations: format!(
            "\x20       location / {{\n\
             \x20           proxy_pass {upstream};\n\
             \x20           proxy_set_header X-Request-ID $request_id;\n\
             \x20           proxy_connect_timeout {connect};\n\
             \x20           proxy_read_timeout {read};\n\
             \x20           proxy_send_timeout {read};\n\
             \x20       }}\n"
        ),
    }
    .text(&spec.dir, port, root)
}

/// nginx's proxy_pass to gunicorn for its listener kind.
pub(super) fn upstream(spec: &RunSpec, gunicorn_port: u16) -> String {
    match plan(&spec.model).1.listener.kind {
        ListenerKind::Unix => format!("http://unix:{}:", spec.socket.display()),
        ListenerKind::Tcp => format!("http://127.0.0.1:{gunicorn_port}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::testing::{model, spec};
    use crate::model::{Connect, Service};

    /// The testing model as the chain nginx -> gunicorn.
    fn chain() -> Model {
        let mut m = model(&[]);
        let one = m.front().clone();
        let service = |name| Service::new(name, &one.listener, &one.pool, &one.master, &one.work);
        let mut nginx = service("nginx");
        nginx.next = Some("gunicorn".into());
        nginx.handoff = Some(Handoff::Proxy);
        nginx.listener.kind = ListenerKind::Tcp;
        nginx.listener.backlog = 77;
        nginx.pool.process_limit = 2;
        nginx.pool.client_limit = 100;
        nginx.connect = Connect {
            connect_timeout: Some(0.5),
            timeout: Some(3.0),
            ..Connect::default()
        };
        let mut g = service("gunicorn");
        g.pool.process_limit = 3;
        g.listener.backlog = 9;
        m.services = vec![nginx, g];
        m
    }

    #[test]
    fn a_chain_writes_nginx_and_gunicorn_from_their_services() {
        let m = chain();
        assert_eq!(expressible(&m), Ok(()));
        let s = spec(m, 0);
        let conf = nginx_conf(&s, 8080, "http://unix:/x:", true);
        for want in [
            "worker_processes 2;",
            "worker_connections 202;",
            "listen 127.0.0.1:8080 backlog=77;",
            "proxy_connect_timeout 500ms;",
            "proxy_read_timeout 3000ms;",
            "log_format qtiming 'msec=$msec rt=$request_time ct=$connection_time rid=$request_id \
             cr=$connection_requests addr=$remote_addr \"$request\" $status $body_bytes_sent \
             ua=\"$upstream_addr\" us=\"$upstream_status\" uct=\"$upstream_connect_time\" \
             uht=\"$upstream_header_time\" urt=\"$upstream_response_time\"';",
        ] {
            assert!(conf.contains(want), "`{want}` not in:\n{conf}");
        }
        let args = gunicorn_args(&s, "fd://3").join(" ");
        assert!(
            args.starts_with("--workers 3 --worker-class sync --backlog 9 "),
            "{args}"
        );
    }

    #[test]
    fn a_single_service_keeps_nginx_as_it_was() {
        let s = spec(model(&[]), 0);
        let conf = nginx_conf(&s, 8080, "http://unix:/x:", true);
        assert!(conf.contains("worker_processes 1;"), "{conf}");
        assert!(conf.contains("worker_connections 16384;"), "{conf}");
        assert!(conf.contains("listen 127.0.0.1:8080;"), "{conf}");
    }

    #[test]
    fn a_chain_nginx_cannot_be_is_refused_naming_the_field() {
        type Change = fn(&mut Model);
        let cases: [(Change, &str); 5] = [
            (|m| m.services[0].handoff = None, "`services.nginx.handoff`"),
            (
                |m| m.services[0].listener.kind = ListenerKind::Unix,
                "`services.nginx.listener.kind`",
            ),
            (
                |m| m.services[0].connect.on_refused = OnRefused::Retry,
                "`services.nginx.connect.on_refused`",
            ),
            (
                |m| m.services[0].pool.client_limit = 40000,
                "`services.nginx.pool.client_limit`",
            ),
            (
                |m| m.services[1].pool.client_limit = 2,
                "`services.gunicorn.pool.client_limit`",
            ),
        ];
        for (change, field) in cases {
            let mut m = chain();
            change(&mut m);
            let e = expressible(&m).unwrap_err();
            assert!(e.starts_with(field), "{e}");
        }
    }
}
