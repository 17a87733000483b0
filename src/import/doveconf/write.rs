//! The model's text for one service alone (`Single`, in the order of
//! `crate::import::skeleton`), one function per part: the header comment (what the model
//! is and where each number comes from), then one function per TOML table. What a
//! configuration cannot say (the load, session lengths, start-up times, the kernel's
//! somaxconn) comes from the shipped Dovecot models and is marked with `MEASURE`. A
//! service's tables are written the same way alone and in the chain, which `chain.rs`
//! writes from the parts here (its header, load and hop are its own).

use super::settings::{DropTimer, Forking, Pool};
use super::{Service, Version, MEASURE};
use crate::families::dovecot::LOGIN_RETRY_S;
use crate::import::common::{LeftOut, Sourced};
use crate::import::server;
use crate::import::skeleton::{write_sources_title, ModelText};
use crate::import::text::{clean, float, secs_text, toml_string, Out};
use crate::model::MasterMode;
use std::path::Path;

/// One service's settings after Dovecot's defaults, and what the version makes of them.
pub(super) struct Part<'a> {
    pub(super) service: Service,
    pub(super) pool: &'a Pool,
    /// The listen() backlog, and how it follows from the pool and the version.
    pub(super) backlog: Sourced<u32>,
    pub(super) forking: Forking,
    pub(super) drop: DropTimer,
}

/// Everything the model's text is written from.
pub(super) struct Writing<'a> {
    pub(super) file: &'a str,
    pub(super) version: &'a Version,
    /// The service written alone; None: the chain imap-login -> imap.
    pub(super) only: Option<Service>,
    pub(super) imap: Part<'a>,
    pub(super) login: Part<'a>,
    pub(super) left_out: &'a LeftOut,
    pub(super) notes: &'a [String],
}

/// The label both services of a chain give `master.process`: Dovecot has one master.
pub(super) const MASTER: &str = "dovecot";

impl<'a> Writing<'a> {
    pub(super) fn part(&self, service: Service) -> &Part<'a> {
        match service {
            Service::Imap => &self.imap,
            Service::ImapLogin => &self.login,
        }
    }

    /// A table's header: `[NAME]` alone, `[services.NAME]` in a chain.
    pub(super) fn table(&self, o: &mut Out, name: &str) {
        match self.only {
            Some(_) => o.raw(&format!("[{name}]")),
            None => o.raw(&format!("[services.{name}]")),
        }
    }
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

/// A model of one service alone (`--service`).
pub(super) struct Single<'a> {
    pub(super) c: &'a Writing<'a>,
    pub(super) service: Service,
}

impl ModelText for Single<'_> {
    fn header(&self, o: &mut Out) {
        write_header(o, self.c, self.c.part(self.service));
    }
    fn left_out(&self) -> &LeftOut {
        self.c.left_out
    }
    fn notes(&self) -> &[String] {
        self.c.notes
    }
    fn notes_in_header(&self) -> bool {
        true
    }
    fn name(&self, o: &mut Out) {
        write_name(o, self.c, self.c.part(self.service));
    }
    fn load(&self, o: &mut Out) {
        write_load(o, self.c.part(self.service));
    }
    fn listener(&self, o: &mut Out, _: usize) {
        write_listener(o, self.c, self.c.part(self.service));
    }
    fn pool(&self, o: &mut Out, _: usize) {
        write_pool(o, self.c, self.c.part(self.service));
    }
    fn master(&self, o: &mut Out, _: usize) {
        write_master(o, self.c, self.c.part(self.service));
    }
    fn work(&self, o: &mut Out, _: usize) {
        write_work(o, self.c, self.c.part(self.service));
    }
    fn sim(&self, o: &mut Out) {
        write_sim(o, self.service == Service::Imap);
    }
}

/// 2.4 renamed service_count.
pub(super) fn service_count_key(v: &Version) -> &'static str {
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
fn fork_time_clause(p: &Part) -> &'static str {
    if p.forking.mode == MasterMode::PerConnection {
        ", the master's own time per fork"
    } else {
        ""
    }
}

/// The header: what the model is, where its numbers come from, and the notes.
fn write_header(o: &mut Out, c: &Writing, p: &Part) {
    let name = p.service.name();
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
    let intro = match p.service {
        Service::Imap => IMAP_INTRO,
        Service::ImapLogin => LOGIN_INTRO,
    };
    for line in intro {
        o.raw(line);
    }
    o.raw("#");
    write_sources_title(o);
    write_pool_sources(o, c, p);
    match p.service {
        Service::Imap => write_imap_sources(o, c, p),
        Service::ImapLogin => write_login_sources(o, c, p),
    }
}

/// `process_limit 1024 (line 7), client_limit 1 (imap's default, eagain semantics:
/// dovecot-defaults), ...`
pub(super) fn pool_settings(p: &Pool, service_count_key: &str) -> String {
    format!(
        "process_limit {} ({}), client_limit {} ({}), {service_count_key} {} ({}), \
         process_min_avail {} ({})",
        p.process_limit.value,
        p.process_limit.from(),
        p.client_limit.value,
        p.client_limit.from(),
        p.service_count.value,
        p.service_count.from(),
        p.process_min_avail.value,
        p.process_min_avail.from(),
    )
}

/// The bullets every service has: its pool, the backlog, the forking, the drop timer.
pub(super) fn write_pool_sources(o: &mut Out, c: &Writing, part: &Part) {
    let p = part.pool;
    o.bullet(&format!(
        "service {}: {}, {} {} ({}).",
        part.service.name(),
        pool_settings(p, service_count_key(c.version)),
        idle_kill_key(c.version),
        secs_text(p.idle_kill.value),
        p.idle_kill.from(),
    ));
    let listeners = match part.service {
        Service::Imap => "",
        Service::ImapLogin => {
            " Each inet listener (imap, imaps) has its own queue of this size; the model \
             simulates one of them."
        }
    };
    let capacity = match part.service {
        Service::Imap => "unix-capacity",
        Service::ImapLogin => "tcp-capacity",
    };
    o.bullet(&format!(
        "listen backlog = {} (eagain semantics: dovecot-backlog, dovecot-backlog-cap); the \
         kernel cuts it to somaxconn (eagain semantics: somaxconn-cap) and holds one \
         connection more (eagain semantics: {capacity}).{listeners}",
        part.backlog.from()
    ));
    o.bullet(&part.forking.why);
    o.bullet(&part.drop.why);
}

/// imap's clients (the imap-login processes and their retries) and what to measure.
fn write_imap_sources(o: &mut Out, c: &Writing, p: &Part) {
    let sc_key = service_count_key(c.version);
    let login = c.login.pool;
    let high_performance = if login.service_count.value == 0 {
        format!("; {sc_key} 0 is high-performance mode (eagain semantics: dovecot-login-modes)")
    } else {
        String::new()
    };
    o.bullet(&format!(
        "the clients are imap-login processes with {}{high_performance}. Their connect is \
         non-blocking and retries EAGAIN for {} ms with pauses of 10 to 100 ms, which block \
         the whole login process and every client it holds (eagain semantics: \
         dovecot-login-retry): on_refused = \"retry\", retry_for = {}.",
        pool_settings(login, sc_key),
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
        fork_time_clause(p),
    ));
}

/// imap-login's mode (semantics: dovecot-login-modes), where it hands over, and what to
/// measure.
fn write_login_sources(o: &mut Out, c: &Writing, p: &Part) {
    write_login_mode(o, c, p, "raise work.hold to your session length");
    o.bullet(&format!(
        "the logins hand over to service imap (process_limit {}, client_limit {}): model \
         that queue with `eagain import doveconf --service imap`.",
        c.imap.pool.process_limit.value, c.imap.pool.client_limit.value
    ));
    o.bullet(&format!(
        "Not in doveconf, so measure and --set them: the load (rate, duration, the clients' \
         connect timeout), the kernel's somaxconn, the time to start a login process{} and \
         the work per login. The values below are those of \
         models/dovecot-login-high-performance.toml; each such line says \"{MEASURE}\".",
        fork_time_clause(p),
    ));
}

/// imap-login's mode (semantics: dovecot-login-modes); `tls` says how to model a login
/// process that stays as the session's TLS proxy.
pub(super) fn write_login_mode(o: &mut Out, c: &Writing, p: &Part, tls: &str) {
    let sc_key = service_count_key(c.version);
    match p.pool.service_count.value {
        0 => o.bullet(&format!(
            "{sc_key} 0: high-performance mode (eagain semantics: dovecot-login-modes): a login \
             process never exits and multiplexes up to client_limit connections."
        )),
        1 => o.bullet(&format!(
            "{sc_key} 1: high-security mode (eagain semantics: dovecot-login-modes), one process \
             per connection. With TLS (imaps or STARTTLS) the login process stays for the \
             whole session as its TLS proxy: {tls}."
        )),
        _ => {}
    }
}

/// The top-level `name` and `description`.
fn write_name(o: &mut Out, c: &Writing, p: &Part) {
    write_title(o, c, p.service.name());
    let description = match p.service {
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

/// `name = "Dovecot VERSION WHAT (imported from FILE)"`.
pub(super) fn write_title(o: &mut Out, c: &Writing, what: &str) {
    let short = Path::new(c.file)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| c.file.to_string());
    o.raw(&format!(
        "name = {}",
        toml_string(&format!(
            "Dovecot {} {what} (imported from {short})",
            clean(&c.version.text),
        ))
    ));
}

/// [load]: the shipped models' load; for imap, imap-login's retries (semantics:
/// dovecot-login-retry).
fn write_load(o: &mut Out, p: &Part) {
    o.raw("[load]");
    write_arrival(o);
    match p.service {
        Service::Imap => {
            o.field(
                "rate = 12.0",
                &format!("logins per second at the peak; {MEASURE}"),
            );
            o.field("duration = 1800.0", &format!("a 30-minute peak; {MEASURE}"));
            write_login_retries(o, "imap-login: net_connect_unix_with_retries()");
        }
        Service::ImapLogin => {
            o.field("rate = 400.0", &format!("logins per second; {MEASURE}"));
            o.field("duration = 120.0", &format!("two minutes; {MEASURE}"));
            write_connect_timeout(o);
        }
    }
}

/// `arrival`: independent clients.
pub(super) fn write_arrival(o: &mut Out) {
    server::write_arrival(o, MEASURE);
}

/// An IMAP client's connect timeout.
pub(super) fn write_connect_timeout(o: &mut Out) {
    server::write_connect_timeout(o, 30.0, "a typical IMAP client's connect timeout", MEASURE);
}

/// imap-login's connect to imap: retry EAGAIN for 0.5 s with pauses of 10 to 100 ms
/// (semantics: dovecot-login-retry); `what` names the call on the first line.
pub(super) fn write_login_retries(o: &mut Out, what: &str) {
    o.field(
        "on_refused = \"retry\"",
        &format!("{what} (eagain semantics: dovecot-login-retry)"),
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

/// [listener]: the socket the service's clients queue on, with the version's backlog.
pub(super) fn write_listener(o: &mut Out, c: &Writing, p: &Part) {
    c.table(o, "listener");
    match p.service {
        Service::Imap => o.field("kind = \"unix\"", "login/imap"),
        Service::ImapLogin => o.field("kind = \"tcp\"", "inet_listener imap (port 143)"),
    }
    o.field(&format!("backlog = {}", p.backlog.value), &p.backlog.from());
    server::write_kernel(o, p.service == Service::ImapLogin, MEASURE);
}

/// [pool]: the service's settings after Dovecot's defaults, each saying where it came from.
pub(super) fn write_pool(o: &mut Out, c: &Writing, part: &Part) {
    let p = part.pool;
    c.table(o, "pool");
    o.field(
        &format!("process_limit = {}", p.process_limit.value),
        &p.process_limit.from(),
    );
    o.field(
        &format!("client_limit = {}", p.client_limit.value),
        &p.client_limit.from(),
    );
    let service_count_comment = match p.service_count.value {
        0 => format!("{}: never exit", p.service_count.from()),
        1 => format!(
            "{}: one connection per process, then exit",
            p.service_count.from()
        ),
        n => format!(
            "{}: {n} connections per process, then exit",
            p.service_count.from()
        ),
    };
    o.field(
        &format!("service_count = {}", p.service_count.value),
        &service_count_comment,
    );
    o.field(
        &format!("process_min_avail = {}", p.process_min_avail.value),
        &p.process_min_avail.from(),
    );
    let idle_comment = if p.idle_kill.value == 0.0 {
        format!("{}; 0 = never", p.idle_kill.from())
    } else {
        p.idle_kill.from()
    };
    o.field(
        &format!("idle_kill = {}", float(p.idle_kill.value)),
        &idle_comment,
    );
}

/// [master]: the fork mode and the drop timer of the version, start-up times to measure;
/// in a chain, the one master both services share (semantics: dovecot-fork-serial).
pub(super) fn write_master(o: &mut Out, c: &Writing, p: &Part) {
    c.table(o, "master");
    o.field(
        &format!("mode = \"{}\"", p.forking.mode),
        &p.forking.comment,
    );
    o.field(
        &format!("dovecot_version = \"{}\"", c.version.numbers()),
        "doveconf's first line: the backlog cap (eagain semantics: dovecot-backlog-cap), the \
         fork mode (eagain semantics: dovecot-fork)",
    );
    if c.only.is_none() {
        o.field(
            &format!("process = \"{MASTER}\""),
            "Dovecot's one master forks for both services, one fork at a time (eagain \
             semantics: dovecot-fork-serial)",
        );
    }
    // Only imap's start-up is the slow fork of models/dovecot-2.2-slow-fork.toml.
    if c.version.slow_host_lookup_at_startup() && p.service == Service::Imap {
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
    // A shared master's time per fork matters in every mode.
    if p.forking.mode == MasterMode::PerConnection || c.only.is_none() {
        o.field(
            "fork_time = { dist = \"constant\", value = 0.001 }",
            &format!("the master's own time per fork (a guess); {MEASURE}"),
        );
    }
    match p.drop.timeout {
        Some(d) => o.field(&format!("drop_timeout = {}", float(d)), &p.drop.comment),
        None => o.raw(
            "# no drop_timeout: Dovecot 2.0 keeps a login service's connections queued \
                 (eagain semantics: dovecot-drop-timer)",
        ),
    }
}

/// [work]: the shipped models' session length (imap) or login work (imap-login; in a
/// chain only its own CPU, since a service that hands its connection on has no hold).
pub(super) fn write_work(o: &mut Out, c: &Writing, p: &Part) {
    c.table(o, "work");
    match p.service {
        Service::Imap => o.field(
            "blocking = { dist = \"lognormal\", mean = 60.0, sd = 120.0 }",
            &format!("session length (a guess); {MEASURE}"),
        ),
        Service::ImapLogin if c.only.is_none() => o.field(
            "blocking = { dist = \"constant\", value = 0.003 }",
            &format!("the login's own CPU per client (a guess); {MEASURE}"),
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
pub(super) fn write_sim(o: &mut Out, has_imap: bool) {
    o.raw("[sim]");
    o.raw("seed = 1");
    o.raw("replications = 10");
    if has_imap {
        o.field("warmup = 300.0", "let the pool reach its steady size");
    }
}
