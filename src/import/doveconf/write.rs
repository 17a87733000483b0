//! The model's text, one function per part: the header comment (what the model is and
//! where each number comes from), the settings it leaves out, then one function per
//! TOML table. What a configuration cannot say (the load, session lengths, start-up
//! times, the kernel's somaxconn) comes from the shipped Dovecot models and is marked
//! with `MEASURE`.

use super::settings::{Backlog, DropTimer, Forking, Pool};
use super::text::{capitalise, clean, float, secs_text, toml_string, Out};
use super::{ignored_line, mode_name, Service, Unused, Version, MEASURE};
use crate::dovecot::LOGIN_RETRY_S;
use crate::model::MasterMode;
use std::path::Path;

/// Everything the model's text is written from.
pub(super) struct Writing<'a> {
    pub(super) file: &'a str,
    pub(super) version: &'a Version,
    pub(super) service: Service,
    pub(super) pool: &'a Pool,
    /// The other service's settings (the clients of imap, or where imap-login hands over).
    pub(super) other: &'a Pool,
    pub(super) backlog: Backlog,
    pub(super) forking: Forking,
    pub(super) drop: DropTimer,
    pub(super) unused: &'a [Unused],
    pub(super) ignored: usize,
    pub(super) notes: &'a [String],
}

/// What the header says about imap: where the EAGAIN that eagain predicts is logged.
const IMAP_INTRO: &[&str] = &[
    "# After a user logs in, imap-login connects to the imap service's unix listener",
    "# login/imap; an imap process with client_limit = 1 is blocked for the whole IMAP",
    "# session. When its listen queue is full, imap-login logs",
    "#   net_connect_unix(imap) failed: Resource temporarily unavailable",
    "# after half a second of retries, and the user is disconnected.",
];

/// What the header says about imap-login: what its queue holds and what a full one does.
const LOGIN_INTRO: &[&str] = &[
    "# IMAP clients connect over TCP to imap-login (inet_listener imap, port 143, and",
    "# imaps, port 993, by default). A login process holds up to client_limit",
    "# connections and serves their short pre-login work (banner, CAPABILITY, LOGIN,",
    "# the auth round trip, then the hand-over to imap) one after another. When the",
    "# listen queue is full, the kernel drops the client's SYN and the client",
    "# retransmits it (eagain semantics: tcp-syn-drop, tcp-syn-retries).",
];

/// The model file: the comment block, `name` and `description`, then the tables.
pub(super) fn write_model(c: &Writing) -> String {
    let mut o = Out::default();
    write_header(&mut o, c);
    write_unused(&mut o, c);
    write_name(&mut o, c);
    let tables: [fn(&mut Out, &Writing); 6] = [
        write_load,
        write_listener,
        write_pool,
        write_master,
        write_work,
        write_sim,
    ];
    for write_table in tables {
        o.raw("");
        write_table(&mut o, c);
    }
    o.into_text()
}

/// 2.4 renamed service_count.
fn service_count_key(v: &Version) -> &'static str {
    if v.is_2_4() {
        "restart_request_count"
    } else {
        "service_count"
    }
}

/// 2.4 renamed idle_kill.
fn idle_kill_key(v: &Version) -> &'static str {
    if v.is_2_4() {
        "idle_kill_interval"
    } else {
        "idle_kill"
    }
}

/// The clause the "Not in doveconf" bullet adds when the master's time per fork matters.
fn fork_time_clause(c: &Writing) -> &'static str {
    if c.forking.mode == MasterMode::PerConnection {
        ", the master's own time per fork"
    } else {
        ""
    }
}

/// The header: what the model is, where its numbers come from, and the notes.
fn write_header(o: &mut Out, c: &Writing) {
    let name = c.service.name();
    o.wrap(
        "#",
        "#",
        &format!(
            "Dovecot {} `service {name}`, written by `eagain import doveconf` from {} \
             (the output of `doveconf -n`).",
            clean(&c.version.text),
            clean(c.file)
        ),
    );
    o.raw("#");
    let intro = match c.service {
        Service::Imap => IMAP_INTRO,
        Service::ImapLogin => LOGIN_INTRO,
    };
    for line in intro {
        o.raw(line);
    }
    o.raw("#");
    o.raw("# Where the numbers come from (docs/semantics.md in the eagain repository; each");
    o.raw("# \"eagain semantics: ID\" is one of its sections):");
    write_pool_sources(o, c);
    match c.service {
        Service::Imap => write_imap_sources(o, c),
        Service::ImapLogin => write_login_sources(o, c),
    }
    if !c.notes.is_empty() {
        o.raw("#");
        o.raw("# Notes:");
        for n in c.notes {
            o.bullet(n);
        }
    }
}

/// `process_limit 1024 (line 7), client_limit 1 (imap's default, eagain semantics:
/// dovecot-defaults), ...`
fn pool_settings(p: &Pool, service_count_key: &str) -> String {
    format!(
        "process_limit {} ({}), client_limit {} ({}), {service_count_key} {} ({}), \
         process_min_avail {} ({})",
        p.process_limit,
        p.process_limit_from,
        p.client_limit,
        p.client_limit_from,
        p.service_count,
        p.service_count_from,
        p.process_min_avail,
        p.process_min_avail_from,
    )
}

/// The bullets every service has: its pool, the backlog, the forking, the drop timer.
fn write_pool_sources(o: &mut Out, c: &Writing) {
    let p = c.pool;
    o.bullet(&format!(
        "service {}: {}, {} {} ({}).",
        c.service.name(),
        pool_settings(p, service_count_key(c.version)),
        idle_kill_key(c.version),
        secs_text(p.idle_kill),
        p.idle_kill_from,
    ));
    let listeners = match c.service {
        Service::Imap => "",
        Service::ImapLogin => {
            " Each inet listener (imap, imaps) has its own queue of this size; the model \
             simulates one of them."
        }
    };
    let capacity = match c.service {
        Service::Imap => "unix-capacity",
        Service::ImapLogin => "tcp-capacity",
    };
    o.bullet(&format!(
        "listen backlog = {} (eagain semantics: dovecot-backlog, dovecot-backlog-cap); the \
         kernel cuts it to somaxconn (eagain semantics: somaxconn-cap) and holds one \
         connection more (eagain semantics: {capacity}).{listeners}",
        c.backlog.why
    ));
    o.bullet(&c.forking.why);
    o.bullet(&c.drop.why);
}

/// imap's clients (the imap-login processes and their retries) and what to measure.
fn write_imap_sources(o: &mut Out, c: &Writing) {
    let sc_key = service_count_key(c.version);
    let high_performance = if c.other.service_count == 0 {
        format!("; {sc_key} 0 is high-performance mode (eagain semantics: dovecot-login-modes)")
    } else {
        String::new()
    };
    o.bullet(&format!(
        "the clients are imap-login processes with {}{high_performance}. Their connect is \
         non-blocking and retries EAGAIN for {} ms with pauses of 10 to 100 ms, which block \
         the whole login process and every client it holds (eagain semantics: \
         dovecot-login-retry): on_refused = \"retry\", retry_for = {}.",
        pool_settings(c.other, sc_key),
        LOGIN_RETRY_S * 1000.0,
        float(LOGIN_RETRY_S),
    ));
    let slow_startup = if c.version.slow_host_lookup_at_startup() {
        " (start-up: models/dovecot-2.2-slow-fork.toml)"
    } else {
        ""
    };
    o.bullet(&format!(
        "Not in doveconf, so measure and --set them: the load (rate, duration), the \
         kernel's somaxconn, the time to start an imap process{} and the session lengths. \
         The values below are those of models/dovecot-imap.toml{slow_startup}; each such \
         line says \"{MEASURE}\".",
        fork_time_clause(c),
    ));
}

/// imap-login's mode (semantics: dovecot-login-modes), where it hands over, and what to
/// measure.
fn write_login_sources(o: &mut Out, c: &Writing) {
    let sc_key = service_count_key(c.version);
    match c.pool.service_count {
        0 => o.bullet(&format!(
            "{sc_key} 0: high-performance mode (eagain semantics: dovecot-login-modes): a login \
             process never exits and multiplexes up to client_limit connections."
        )),
        1 => o.bullet(&format!(
            "{sc_key} 1: high-security mode (eagain semantics: dovecot-login-modes), one process \
             per connection. With TLS (imaps or STARTTLS) the login process stays for the \
             whole session as its TLS proxy: raise work.hold to your session length."
        )),
        _ => {}
    }
    o.bullet(&format!(
        "the logins hand over to service imap (process_limit {}, client_limit {}): model \
         that queue with `eagain import doveconf --service imap`.",
        c.other.process_limit, c.other.client_limit
    ));
    o.bullet(&format!(
        "Not in doveconf, so measure and --set them: the load (rate, duration, the clients' \
         connect timeout), the kernel's somaxconn, the time to start a login process{} and \
         the work per login. The values below are those of \
         models/dovecot-login-high-performance.toml; each such line says \"{MEASURE}\".",
        fork_time_clause(c),
    ));
}

/// The settings of the two services the model leaves out, and the count of the rest.
fn write_unused(o: &mut Out, c: &Writing) {
    o.raw("#");
    if c.unused.is_empty() {
        o.raw(
            "# Settings of service imap and service imap-login that the model does not use: none.",
        );
    } else {
        o.wrap(
            "#",
            "#",
            &format!(
                "Settings of service imap and service imap-login that the model does not \
                 use ({}):",
                c.unused.len()
            ),
        );
        for u in c.unused {
            o.bullet(&u.describe());
        }
    }
    o.wrap(
        "#",
        "#",
        &format!("{}.", capitalise(&ignored_line(c.ignored))),
    );
}

/// The top-level `name` and `description`.
fn write_name(o: &mut Out, c: &Writing) {
    let short = Path::new(c.file)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| c.file.to_string());
    o.raw(&format!(
        "name = {}",
        toml_string(&format!(
            "Dovecot {} {} (imported from {short})",
            clean(&c.version.text),
            c.service.name()
        ))
    ));
    let description = match c.service {
        Service::Imap => format!(
            "imap-login -> imap over login/imap; from `doveconf -n` in {}",
            c.file
        ),
        Service::ImapLogin => format!(
            "IMAP clients -> imap-login over TCP; from `doveconf -n` in {}",
            c.file
        ),
    };
    o.raw(&format!("description = {}", toml_string(&description)));
}

/// [load]: the shipped models' load; for imap, imap-login's retries (semantics:
/// dovecot-login-retry).
fn write_load(o: &mut Out, c: &Writing) {
    o.raw("[load]");
    o.field(
        "arrival = \"poisson\"",
        &format!("independent clients; {MEASURE}"),
    );
    match c.service {
        Service::Imap => {
            o.field(
                "rate = 12.0",
                &format!("logins per second at the peak; {MEASURE}"),
            );
            o.field("duration = 1800.0", &format!("a 30-minute peak; {MEASURE}"));
            o.field(
                "on_refused = \"retry\"",
                "imap-login: net_connect_unix_with_retries() (eagain semantics: dovecot-login-retry)",
            );
            o.field(
                &format!("retry_for = {}", float(LOGIN_RETRY_S)),
                "SOCKET_CONNECT_RETRY_MSECS (eagain semantics: dovecot-login-retry)",
            );
            o.field(
                "retry_pause = { dist = \"uniform\", low = 0.01, high = 0.1 }",
                "i_rand_minmax(1,10) * 10 ms (eagain semantics: dovecot-login-retry)",
            );
        }
        Service::ImapLogin => {
            o.field("rate = 400.0", &format!("logins per second; {MEASURE}"));
            o.field("duration = 120.0", &format!("two minutes; {MEASURE}"));
            o.field(
                "connect_timeout = 30.0",
                &format!("a typical IMAP client's connect timeout; {MEASURE}"),
            );
        }
    }
}

/// [listener]: the socket the service's clients queue on, with the version's backlog.
fn write_listener(o: &mut Out, c: &Writing) {
    o.raw("[listener]");
    match c.service {
        Service::Imap => o.field("kind = \"unix\"", "login/imap"),
        Service::ImapLogin => o.field("kind = \"tcp\"", "inet_listener imap (port 143)"),
    }
    o.field(&format!("backlog = {}", c.backlog.value), &c.backlog.why);
    o.field(
        "somaxconn = 4096",
        &format!(
            "net.core.somaxconn: 4096 since Linux 5.4, 128 before (eagain semantics: \
             somaxconn-default); {MEASURE}"
        ),
    );
    if c.service == Service::ImapLogin {
        o.field(
            "syn_schedule = \"linux-6.5\"",
            &format!(
                "SYN retransmissions of Linux >= 6.5 (eagain semantics: tcp-syn-retries); \
                 {MEASURE}"
            ),
        );
    }
}

/// [pool]: the service's settings after Dovecot's defaults, each saying where it came from.
fn write_pool(o: &mut Out, c: &Writing) {
    let p = c.pool;
    o.raw("[pool]");
    o.field(
        &format!("process_limit = {}", p.process_limit),
        &p.process_limit_from,
    );
    o.field(
        &format!("client_limit = {}", p.client_limit),
        &p.client_limit_from,
    );
    let service_count_comment = match p.service_count {
        0 => format!("{}: never exit", p.service_count_from),
        1 => format!(
            "{}: one connection per process, then exit",
            p.service_count_from
        ),
        n => format!(
            "{}: {n} connections per process, then exit",
            p.service_count_from
        ),
    };
    o.field(
        &format!("service_count = {}", p.service_count),
        &service_count_comment,
    );
    o.field(
        &format!("process_min_avail = {}", p.process_min_avail),
        &p.process_min_avail_from,
    );
    let idle_comment = if p.idle_kill == 0.0 {
        format!("{}; 0 = never", p.idle_kill_from)
    } else {
        p.idle_kill_from.clone()
    };
    o.field(
        &format!("idle_kill = {}", float(p.idle_kill)),
        &idle_comment,
    );
}

/// [master]: the fork mode and the drop timer of the version, start-up times to measure.
fn write_master(o: &mut Out, c: &Writing) {
    o.raw("[master]");
    o.field(
        &format!("mode = \"{}\"", mode_name(c.forking.mode)),
        &c.forking.comment,
    );
    o.field(
        &format!("dovecot_version = \"{}\"", c.version.numbers()),
        "doveconf's first line: the backlog cap (eagain semantics: dovecot-backlog-cap), the \
         fork mode (eagain semantics: dovecot-fork)",
    );
    // Only imap's start-up is the slow fork of models/dovecot-2.2-slow-fork.toml.
    if c.version.slow_host_lookup_at_startup() && c.service == Service::Imap {
        o.field(
            "startup = { dist = \"lognormal\", mean = 0.5, sd = 0.3 }",
            &format!("fork + init + the slow host name lookup of 2.2.0 to 2.2.6; {MEASURE}"),
        );
    } else {
        o.field(
            "startup = { dist = \"constant\", value = 0.02 }",
            &format!("fork + exec + init (a guess); {MEASURE}"),
        );
    }
    if c.forking.mode == MasterMode::PerConnection {
        o.field(
            "fork_time = { dist = \"constant\", value = 0.001 }",
            &format!("the master's own time per fork (a guess); {MEASURE}"),
        );
    }
    match c.drop.timeout {
        Some(d) => o.field(&format!("drop_timeout = {}", float(d)), &c.drop.comment),
        None => o.raw(
            "# no drop_timeout: Dovecot 2.0 keeps a login service's connections queued \
                 (eagain semantics: dovecot-drop-timer)",
        ),
    }
}

/// [work]: the shipped models' session length (imap) or login work (imap-login).
fn write_work(o: &mut Out, c: &Writing) {
    o.raw("[work]");
    match c.service {
        Service::Imap => o.field(
            "blocking = { dist = \"lognormal\", mean = 60.0, sd = 120.0 }",
            &format!("session length (a guess); {MEASURE}"),
        ),
        Service::ImapLogin => {
            o.field(
                "blocking = { dist = \"exponential\", mean = 0.003 }",
                &format!("CPU per login (a guess); {MEASURE}"),
            );
            o.field(
                "hold = { dist = \"constant\", value = 0.2 }",
                &format!("connection open until the hand-over (a guess); {MEASURE}"),
            );
        }
    }
}

/// [sim]: a fixed seed; imap's pool needs a warm-up to reach its steady size.
fn write_sim(o: &mut Out, c: &Writing) {
    o.raw("[sim]");
    o.raw("seed = 1");
    o.raw("replications = 10");
    if c.service == Service::Imap {
        o.field("warmup = 300.0", "let the pool reach its steady size");
    }
}
