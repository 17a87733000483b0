//! The chain `imap-login -> imap` (SPEC section 8), the import's default model: IMAP
//! clients connect over TCP to imap-login, whose processes log them in and pass each
//! connection to imap's unix listener login/imap, retrying EAGAIN for half a second
//! (semantics: dovecot-login-retry); one master forks for both services (semantics:
//! dovecot-fork-serial). This file writes what only a chain has: its header, `[load]`,
//! the `[[services]]` entries around the tables `write.rs` writes for a service alone,
//! and the hop's `[services.connect]`, in the order of `crate::import::skeleton`.

use super::write::{
    write_arrival, write_connect_timeout, write_listener, write_login_mode, write_login_retries,
    write_master, write_pool, write_pool_sources, write_sim, write_title, write_work, Part,
    Writing, MASTER,
};
use super::{Service, MEASURE};
use crate::families::dovecot::LOGIN_RETRY_S;
use crate::import::common::LeftOut;
use crate::import::skeleton::{write_sources_title, ModelText};
use crate::import::text::{clean, toml_string, Out};

/// What the header says about the chain: the way a login goes, and where it is refused.
const CHAIN_INTRO: &[&str] = &[
    "# IMAP clients connect over TCP to imap-login (inet_listener imap, port 143). A login",
    "# process does a client's pre-login work (banner, CAPABILITY, LOGIN, the auth round",
    "# trip), then connects to the imap service's unix listener login/imap and passes the",
    "# client's connection to it; an imap process with client_limit = 1 is blocked for",
    "# the whole IMAP session. When imap's listen queue is full, imap-login logs",
    "#   net_connect_unix(imap) failed: Resource temporarily unavailable",
    "# after half a second of retries, and the user is disconnected. When imap-login's",
    "# own queue is full, the kernel drops the client's SYN and the client retransmits it",
    "# (eagain semantics: tcp-syn-drop, tcp-syn-retries). One master process forks the",
    "# processes of both services.",
];

/// The chain's model file: imap-login first, the service the clients connect to.
pub(super) struct Chain<'a>(pub(super) &'a Writing<'a>);

impl Chain<'_> {
    fn part(&self, i: usize) -> &Part<'_> {
        if i == 0 {
            &self.0.login
        } else {
            &self.0.imap
        }
    }
}

impl ModelText for Chain<'_> {
    fn header(&self, o: &mut Out) {
        write_chain_header(o, self.0);
    }
    fn left_out(&self) -> &LeftOut {
        self.0.left_out
    }
    fn notes(&self) -> &[String] {
        self.0.notes
    }
    fn notes_in_header(&self) -> bool {
        true
    }
    fn name(&self, o: &mut Out) {
        write_title(o, self.0, "imap-login -> imap");
        o.raw(&format!(
            "description = {}",
            toml_string(&format!(
                "IMAP clients -> imap-login over TCP -> imap over login/imap; from \
                 `doveconf -n` in {}",
                self.0.file
            ))
        ));
    }
    fn load(&self, o: &mut Out) {
        write_chain_load(o);
    }
    fn services(&self) -> usize {
        2
    }
    fn entry_head(&self, o: &mut Out, i: usize) {
        let p = self.part(i);
        o.raw("[[services]]");
        o.raw(&format!("name = \"{}\"", p.service.name()));
        if p.service == Service::ImapLogin {
            o.field(
                "next = \"imap\"",
                "after login, imap-login connects to imap's login/imap",
            );
            o.field(
                "handoff = \"pass\"",
                "it passes the client's connection on and its slot frees",
            );
        }
    }
    fn entry_tail(&self, o: &mut Out, i: usize) {
        if self.part(i).service == Service::ImapLogin {
            o.raw("");
            o.raw("[services.connect]");
            write_login_retries(o, "net_connect_unix_with_retries()");
        }
    }
    fn listener(&self, o: &mut Out, i: usize) {
        write_listener(o, self.0, self.part(i));
    }
    fn pool(&self, o: &mut Out, i: usize) {
        write_pool(o, self.0, self.part(i));
    }
    fn master(&self, o: &mut Out, i: usize) {
        write_master(o, self.0, self.part(i));
    }
    fn work(&self, o: &mut Out, i: usize) {
        write_work(o, self.0, self.part(i));
    }
    fn sim(&self, o: &mut Out) {
        write_sim(o, true);
    }
}

/// The header: what the chain is, where each service's numbers come from, the hop, the
/// shared master, and the notes.
fn write_chain_header(o: &mut Out, c: &Writing) {
    o.wrap(
        "#",
        "#",
        &format!(
            "Dovecot {} `service imap-login` -> `service imap`, written by `eagain import \
             doveconf` from {} (the output of `doveconf -n`); `--service imap` or \
             `--service imap-login` writes one of them alone.",
            clean(&c.version.text),
            clean(c.file)
        ),
    );
    o.raw("#");
    for line in CHAIN_INTRO {
        o.raw(line);
    }
    o.raw("#");
    write_sources_title(o);
    o.raw("# imap-login, the first service:");
    write_pool_sources(o, c, &c.login);
    write_login_mode(
        o,
        c,
        &c.login,
        "set services.imap-login.handoff = \"proxy\"",
    );
    o.bullet(&format!(
        "the hand-over: when its work is done a login process connects to login/imap \
         (next = \"imap\") and passes the client's connection on, which frees its slot \
         (handoff = \"pass\"). The connect is non-blocking and retries EAGAIN for {} ms \
         with pauses of 10 to 100 ms, which block the whole login process and every client \
         it holds (eagain semantics: dovecot-login-retry): [services.connect] on_refused = \
         \"retry\", retry_for = {}.",
        LOGIN_RETRY_S * 1000.0,
        LOGIN_RETRY_S,
    ));
    o.raw("# imap, the second service:");
    write_pool_sources(o, c, &c.imap);
    o.raw("# Both:");
    o.bullet(&shared_master(c));
    o.bullet(
        "the clients connect over TCP; one whose SYN finds imap-login's queue full \
         retransmits it on the kernel's schedule and gives up at load.connect_timeout \
         (eagain semantics: tcp-syn-drop, tcp-syn-retries): on_refused = \"fail\". A client \
         counts as refused whether imap-login's queue or imap's (after the retries) refused \
         it; simulate's per-service lines say which.",
    );
    o.bullet(&format!(
        "Not in doveconf, so measure and --set them: the load (rate, duration, the \
         clients' connect timeout), the kernel's somaxconn, the time to start each \
         service's processes, the master's time per fork, the login's work and the \
         session lengths. The values below are those of models/dovecot-login-imap.toml; \
         each such line says \"{MEASURE}\"."
    ));
}

/// The bullet on the one master: what it forks per login in this login mode
/// (semantics: dovecot-fork-serial, dovecot-login-modes).
fn shared_master(c: &Writing) -> String {
    let per_login = match c.login.pool.service_count.value {
        1 => "imap-login is in high-security mode, so every login costs two forks: an \
              imap-login process, then an imap one"
            .to_string(),
        0 => "imap-login is in high-performance mode: its processes stay, so a login costs \
              about one fork, the imap process"
            .to_string(),
        n => format!(
            "imap-login's processes serve {n} logins each, so a login costs about 1 + 1/{n} \
             forks"
        ),
    };
    format!(
        "one master: master.process = \"{MASTER}\" on both services. Dovecot's master \
         forks every process of every service in its one loop, one fork at a time, each \
         taking master.fork_time (eagain semantics: dovecot-fork-serial), so imap-login's \
         forks and imap's wait for each other. Here {per_login} (eagain semantics: \
         dovecot-login-modes)."
    )
}

/// [load]: IMAP clients logging in at the imap model's peak rate, over TCP.
fn write_chain_load(o: &mut Out) {
    o.raw("[load]");
    write_arrival(o);
    o.field(
        "rate = 12.0",
        &format!("logins per second at the peak; {MEASURE}"),
    );
    o.field("duration = 1800.0", &format!("a 30-minute peak; {MEASURE}"));
    write_connect_timeout(o);
    o.field(
        "on_refused = \"fail\"",
        "TCP: a dropped SYN is retransmitted on syn_schedule until connect_timeout \
         (eagain semantics: tcp-syn-drop, tcp-syn-retries)",
    );
}
