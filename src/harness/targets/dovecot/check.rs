//! What Debian's Dovecot 2.3 can run as a model says, each refusal one paragraph naming
//! the field: the single imap service fed by imap-login processes (the clients of the
//! model are imap-login's connects to login/imap), or the chain imap-login -> imap
//! (the clients are IMAP clients connecting to imap-login over TCP, and the hop is
//! imap-login's connect to login/imap).

use crate::dist::DistSpec;
use crate::families::dovecot::{backlog, Version, DROP_TIMEOUT_S, LOGIN_RETRY_S};
use crate::model::{Handoff, ListenerKind, MasterMode, Model, OnRefused, Service};

/// The most processes the harness starts for one Dovecot service.
pub(super) const MAX_PROCESS_LIMIT: u32 = 1000;

/// What the dovecot target cannot run as `m` says, naming the field.
pub(super) fn expressible(m: &Model) -> Result<(), String> {
    let Ok(s) = m.single() else {
        return chain(m);
    };
    // What imap must be first: a client_limit above 1 would otherwise be reported as
    // the backlog it implies.
    imap(s)?;
    service(s)?;
    let l = &m.load;
    retries(
        "load.",
        "the clients of login/imap are imap-login processes",
        l.on_refused,
        l.retry_for,
        &l.retry_pause,
    )
}

/// The chain: imap-login (TCP, passing the client on) -> imap, one master for both.
fn chain(m: &Model) -> Result<(), String> {
    let [login, imap_service] = m.services.as_slice() else {
        return Err(format!(
            "`services`: a chain of {} services; Dovecot's is two, imap-login and the imap \
             service it hands clients to (next)",
            m.services.len()
        ));
    };
    let (lp, ip) = (|f: &str| login.path(f), |f: &str| imap_service.path(f));
    service(login)?;
    imap(imap_service)?;
    service(imap_service)?;
    if login.listener.kind != ListenerKind::Tcp {
        return Err(format!(
            "`{}` = \"unix\": the clients connect to imap-login's inet listener \
             on loopback; use \"tcp\" with the dovecot target",
            lp("listener.kind")
        ));
    }
    if login.handoff == Some(Handoff::Proxy) {
        return Err(format!(
            "`{}` = \"proxy\": without TLS imap-login passes the client's descriptor \
             to imap and lets it go (semantics: dovecot-login-retry); the harness runs IMAP \
             without TLS, so use \"pass\"",
            lp("handoff")
        ));
    }
    if login.work.hold.mean() != 0.0 {
        return Err(format!(
            "`{}`: imap-login hands the client on when its login is done and keeps \
             nothing open; leave hold at constant 0",
            lp("work.hold")
        ));
    }
    let c = &login.connect;
    retries(
        &lp("connect."),
        "imap-login connects to login/imap",
        c.on_refused,
        c.retry_for,
        &c.retry_pause,
    )?;
    if let Some(t) = c.connect_timeout {
        return Err(format!(
            "`{}` = {t}: imap-login's connect to the unix listener \
             login/imap succeeds or fails at once (semantics: dovecot-login-retry); leave it out",
            lp("connect.connect_timeout")
        ));
    }
    if let Some(t) = c.timeout {
        return Err(format!(
            "`{}` = {t}: imap-login lets the client go once it is in imap's \
             queue (pass); leave it out",
            lp("connect.timeout")
        ));
    }
    let (a, b) = (&login.master.process, &imap_service.master.process);
    if a.is_none() || a != b {
        let shown = |x: &Option<String>| x.as_deref().map_or("none".into(), |l| format!("\"{l}\""));
        return Err(format!(
            "`{}` = {} and `{}` = {}: Dovecot's one master \
             forks for imap-login and imap one fork at a time (semantics: dovecot-fork-serial); \
             give both services the same label, such as master.process = \"dovecot\"",
            lp("master.process"),
            shown(a),
            ip("master.process"),
            shown(b)
        ));
    }
    Ok(())
}

/// What every Dovecot service must say: its master's rules and Dovecot's backlog.
fn service(s: &Service) -> Result<(), String> {
    let p = |f: &str| s.path(f);
    let (listener, pool, master) = (&s.listener, &s.pool, &s.master);
    if master.mode != MasterMode::OnDemand {
        return Err(format!(
            "`{}` = \"{}\": Dovecot 2.3 forks its processes on demand (semantics: \
             dovecot-fork); use \"on-demand\" with the dovecot target",
            p("master.mode"),
            master.mode
        ));
    }
    if let Some(raw) = &master.dovecot_version {
        let v = Version::parse(raw);
        if !v.is_some_and(|v| v.at_least(2, 2, 26) && !v.at_least(2, 4, 2)) {
            return Err(format!(
                "`{}` = \"{raw}\": the installed Dovecot is 2.3, which \
                 behaves as 2.2.26 to 2.4.1 (no backlog cap, on-demand forks); leave it out \
                 or give a version in that range",
                p("master.dovecot_version")
            ));
        }
    }
    if pool.process_limit > MAX_PROCESS_LIMIT {
        return Err(format!(
            "`{}` = {}: the harness starts at most {MAX_PROCESS_LIMIT} real \
             processes of a Dovecot service",
            p("pool.process_limit"),
            pool.process_limit
        ));
    }
    let backlog = backlog(pool.process_limit, pool.client_limit);
    if listener.backlog != backlog {
        return Err(format!(
            "`{}` = {}: Dovecot passes process_limit x client_limit (at least \
             4) = {backlog} to listen() (semantics: dovecot-backlog); --set \
             {}={backlog}, or give {} and leave the \
             backlog out",
            p("listener.backlog"),
            listener.backlog,
            p("listener.backlog"),
            p("master.dovecot_version")
        ));
    }
    if pool.process_min_avail > pool.process_limit {
        return Err(format!(
            "`{}` = {} is above {} = {}",
            p("pool.process_min_avail"),
            pool.process_min_avail,
            p("pool.process_limit"),
            pool.process_limit
        ));
    }
    if pool.idle_kill.fract() != 0.0 || pool.idle_kill >= 4_294_967_295.0 {
        return Err(format!(
            "`{}` = {}: Dovecot's idle_kill is whole seconds; give an integer \
             (0: never)",
            p("pool.idle_kill"),
            pool.idle_kill
        ));
    }
    if master.drop_timeout != Some(DROP_TIMEOUT_S) {
        return Err(format!(
            "`{}` = {}: Dovecot's master drops connections after 10 s at \
             process_limit (SERVICE_DROP_TIMEOUT_MSECS; semantics: dovecot-drop-timer); set 10",
            p("master.drop_timeout"),
            master
                .drop_timeout
                .map_or("none".to_string(), |d| d.to_string())
        ));
    }
    Ok(())
}

/// What the imap service must say: a unix listener, one session per process, the
/// session all blocking.
fn imap(s: &Service) -> Result<(), String> {
    let p = |f: &str| s.path(f);
    if s.listener.kind != ListenerKind::Unix {
        return Err(format!(
            "`{}` = \"tcp\": imap-login reaches imap over the unix listener \
             login/imap; use \"unix\" with the dovecot target",
            p("listener.kind")
        ));
    }
    if s.pool.client_limit != 1 {
        return Err(format!(
            "`{}` = {}: an imap process with more than one client does not \
             serialise their sessions as the model's processes do (Dovecot says client_limit \
             must be 1 for imap); use 1 with the dovecot target",
            p("pool.client_limit"),
            s.pool.client_limit
        ));
    }
    if s.work.hold.mean() != 0.0 {
        return Err(format!(
            "`{}`: an IMAP session keeps its imap process (client_limit 1) for its \
             whole length; put the session in {} and leave hold at constant 0",
            p("work.hold"),
            p("work.blocking")
        ));
    }
    Ok(())
}

/// imap-login's connect to login/imap: EAGAIN retried for 0.5 s with pauses of 10 to
/// 100 ms (semantics: dovecot-login-retry). `p` is "load." or "services.NAME.connect.".
fn retries(
    p: &str,
    who: &str,
    on_refused: OnRefused,
    retry_for: f64,
    retry_pause: &DistSpec,
) -> Result<(), String> {
    if on_refused != OnRefused::Retry {
        return Err(format!(
            "`{p}on_refused` = \"fail\": {who}, and imap-login retries EAGAIN (semantics: \
             dovecot-login-retry); use \"retry\" with the dovecot target"
        ));
    }
    if retry_for != LOGIN_RETRY_S {
        return Err(format!(
            "`{p}retry_for` = {retry_for}: imap-login retries for 0.5 s \
             (SOCKET_CONNECT_RETRY_MSECS); set 0.5"
        ));
    }
    let expected = DistSpec::Uniform {
        low: 0.01,
        high: 0.1,
    };
    if *retry_pause != expected {
        let pause = serde_json::to_value(retry_pause).unwrap_or_default();
        return Err(format!(
            "`{p}retry_pause` = {pause}: imap-login pauses i_rand_minmax(1,10) x 10 ms; set \
             {{ dist = \"uniform\", low = 0.01, high = 0.1 }}"
        ));
    }
    Ok(())
}
