//! `eagain import doveconf`: a model from the output of `doveconf -n` (Dovecot 2.x): the
//! chain imap-login -> imap with one master (`chain.rs`), or with `--service` one of the
//! two alone.
//!
//! Three steps, a file each: `parse` turns doveconf's text into a tree of sections and
//! settings that keeps line numbers; `settings` reads `service imap` and `service
//! imap-login` with Dovecot's own defaults for what the file leaves out (semantics:
//! dovecot-defaults) and works out what the version makes of them: the listen backlog
//! (semantics: dovecot-backlog, dovecot-backlog-cap), the master's forking (semantics:
//! dovecot-fork) and the drop timer (semantics: dovecot-drop-timer), by the rules of
//! `crate::families::dovecot`; `write` writes the commented model, one function per TOML table,
//! citing each rule as `(eagain semantics: ID)`, a section of docs/semantics.md. What a
//! configuration cannot say (the load, session lengths, start-up times, the kernel's
//! somaxconn) comes from the shipped Dovecot models and is marked "not in doveconf:
//! measure and --set". Every setting of the two services that the model does not use is
//! listed, never dropped in silence; settings elsewhere are only counted. This file
//! holds the entry points and what they return.

mod chain;
mod parse;
mod settings;
mod write;

use crate::error::BadInput;
pub use crate::families::dovecot::Version;
use crate::import::common::{load_written, Imported, LeftOut, Notation, Unused};
use crate::import::skeleton::write_model;
use crate::import::text::clean;
use crate::model::{MasterMode, Model};
use chain::Chain;
use parse::{parse, SHAPE};
use settings::{
    backlog, check_version, count_ignored, drop_timeout, find_version, master_mode, protocol_notes,
    read_globals, read_service, resolve, version_notes, ServiceConf,
};
use std::path::Path;
use write::{Part, Single, Writing};

/// The mark on every model line whose value the configuration cannot know.
pub const MEASURE: &str = "not in doveconf: measure and --set";

/// The Dovecot service a model describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// `service imap`: its unix listener login/imap is where imap-login's
    /// net_connect_unix(imap) gets EAGAIN (semantics: unix-eagain, dovecot-login-retry).
    Imap,
    /// `service imap-login`: the TCP listeners IMAP clients connect to.
    ImapLogin,
}

impl Service {
    pub fn from_name(name: &str) -> Result<Service, BadInput> {
        match name {
            "imap" => Ok(Service::Imap),
            "imap-login" => Ok(Service::ImapLogin),
            other => Err(BadInput(format!(
                "--service {other}: give imap (the service imap-login hands logged-in users \
                 to) or imap-login (the one IMAP clients connect to)"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Service::Imap => "imap",
            Service::ImapLogin => "imap-login",
        }
    }

    fn other(self) -> Service {
        match self {
            Service::Imap => Service::ImapLogin,
            Service::ImapLogin => Service::Imap,
        }
    }
}

/// What the import writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The chain imap-login -> imap, one master forking for both (the default).
    Chain,
    /// One service alone (`--service`).
    Only(Service),
}

impl Scope {
    /// `--service NAME`, or the chain without it.
    pub fn from_arg(service: Option<&str>) -> Result<Scope, BadInput> {
        service.map_or(Ok(Scope::Chain), |s| Service::from_name(s).map(Scope::Only))
    }
}

/// The lines that say what was modelled: the service alone, or the chain's two.
fn summary(file: &str, version: &Version, scope: Scope, model: &Model) -> Vec<String> {
    let version = clean(&version.text);
    match scope {
        Scope::Only(service) => {
            let one = model.front();
            vec![format!(
                "{file}: Dovecot {version}, service {}: {}",
                service.name(),
                pool_summary(&one.pool, one.listener.backlog, one.master.mode)
            )]
        }
        Scope::Chain => {
            let mut lines = vec![format!(
                "{file}: Dovecot {version}, the chain imap-login -> imap with one master \
                 (--service imap or --service imap-login writes one service alone):"
            )];
            for s in &model.services {
                lines.push(format!(
                    "  service {}: {}",
                    s.name,
                    pool_summary(&s.pool, s.listener.backlog, s.master.mode)
                ));
            }
            lines
        }
    }
}

/// `process_limit 1024, client_limit 1, ..., backlog 1024, master on-demand`.
fn pool_summary(p: &crate::model::Pool, backlog: u32, mode: MasterMode) -> String {
    format!(
        "process_limit {}, client_limit {}, service_count {}, process_min_avail {}, \
         backlog {backlog}, master {}",
        p.process_limit, p.client_limit, p.service_count, p.process_min_avail, mode,
    )
}

/// Reads a saved `doveconf -n` from disk and writes the model of `service` (`--service`),
/// or of the chain imap-login -> imap without it.
pub fn import_file(file: &Path, service: Option<&str>) -> Result<Imported, BadInput> {
    let scope = Scope::from_arg(service)?;
    let name = file.display().to_string();
    let text = super::read_text(
        file,
        "doveconf file",
        "Give the saved output of `doveconf -n`, for example after `doveconf -n > dovecot.txt`.",
        &format!("so it is not the output of `doveconf -n`: {SHAPE}."),
    )?;
    import(&text, &name, scope)
}

/// Reads doveconf's output (`file` names it in messages) and writes the model `scope` asks for.
pub fn import(text: &str, file: &str, scope: Scope) -> Result<Imported, BadInput> {
    let parsed = parse(text, file)?;
    let globals = read_globals(&parsed.root, file)?;
    let version = find_version(&parsed, &globals, file)?;
    let mut notes: Vec<String> = check_version(&version, &parsed, &globals, file)?
        .into_iter()
        .collect();
    // The service written (the chain's first) is read first: its errors come first.
    let (first, second) = match scope {
        Scope::Only(s) => (s, s.other()),
        Scope::Chain => (Service::ImapLogin, Service::Imap),
    };
    let first_conf = read_service(&parsed.root, first, file)?;
    let second_conf = read_service(&parsed.root, second, file)?;
    let first_pool = resolve(&first_conf, &globals, file)?;
    let second_pool = resolve(&second_conf, &globals, file)?;
    let ((imap, imap_pool), (login, login_pool)) = match first {
        Service::Imap => ((&first_conf, &first_pool), (&second_conf, &second_pool)),
        Service::ImapLogin => ((&second_conf, &second_pool), (&first_conf, &first_pool)),
    };
    let unused = unused_in_line_order(imap, login);
    let ignored = count_ignored(&parsed.root);
    notes.extend(protocol_notes(&parsed.root));
    let written: &[(Service, &ServiceConf)] = match scope {
        Scope::Only(Service::Imap) => &[(Service::Imap, imap)],
        Scope::Only(Service::ImapLogin) => &[(Service::ImapLogin, login)],
        Scope::Chain => &[(Service::ImapLogin, login), (Service::Imap, imap)],
    };
    for (service, conf) in written {
        let pool = if *service == Service::Imap {
            imap_pool
        } else {
            login_pool
        };
        for n in version_notes(&version, pool, conf, *service) {
            // Notes about the version alone would come once per service.
            if !notes.contains(&n) {
                notes.push(n);
            }
        }
    }
    let part = |service, pool| Part {
        service,
        pool,
        backlog: backlog(&version, pool),
        forking: master_mode(&version, pool),
        drop: drop_timeout(&version, service),
    };
    const BOTH: &str = "service imap and service imap-login";
    let left_out = LeftOut {
        part: BOTH.into(),
        part_in_report: format!("in {BOTH}"),
        unused,
        ignored,
        ignored_place: format!("outside {BOTH}"),
        notation: Notation::Nested,
    };
    let writing = Writing {
        file,
        version: &version,
        only: match scope {
            Scope::Only(s) => Some(s),
            Scope::Chain => None,
        },
        imap: part(Service::Imap, imap_pool),
        login: part(Service::ImapLogin, login_pool),
        left_out: &left_out,
        notes: &notes,
    };
    let (toml, made_from) = match scope {
        Scope::Only(service) => (
            write_model(&Single {
                c: &writing,
                service,
            }),
            format!("service {} above", service.name()),
        ),
        Scope::Chain => (write_model(&Chain(&writing)), format!("{BOTH} above")),
    };
    let model = load_written(&toml, file, &made_from, false)?;
    Ok(Imported {
        summary: summary(file, &version, scope, &model),
        toml,
        beside: Vec::new(),
        warnings: Vec::new(),
        notes,
        left_out: Some(left_out),
    })
}

/// The unused settings of both services, in the order of their lines in the file.
fn unused_in_line_order(imap: &ServiceConf, login: &ServiceConf) -> Vec<Unused> {
    let mut unused: Vec<Unused> = imap.unused.iter().chain(&login.unused).cloned().collect();
    unused.sort_by_key(|u| u.setting.line);
    unused
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::DistSpec;
    use crate::model::load_str;
    use crate::model::{Handoff, ListenerKind, Master, MasterMode, OnRefused};

    const V23: &str = "# 2.3.19.1 (9b53102964): /etc/dovecot/dovecot.conf\n";

    fn imap(text: &str) -> Imported {
        import(text, "test.conf", Scope::Only(Service::Imap))
            .unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    fn login(text: &str) -> Imported {
        import(text, "test.conf", Scope::Only(Service::ImapLogin))
            .unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    fn chain(text: &str) -> Imported {
        import(text, "test.conf", Scope::Chain).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    /// A model's comments as one line of prose, wherever they were wrapped.
    fn prose(toml: &str) -> String {
        let words = toml.lines().map(|l| l.trim_start_matches('#').trim());
        words.collect::<Vec<_>>().join(" ")
    }

    /// The error of the default import, the chain, which reads both services.
    fn error(text: &str) -> String {
        match import(text, "test.conf", Scope::Chain) {
            Ok(i) => panic!("expected an error, got\n{}", i.toml),
            Err(e) => e.0,
        }
    }

    #[test]
    fn empty_config_gives_the_imap_defaults_of_2_3() {
        let i = imap(&format!("{V23}ssl = no\n"));
        let m = i.model();
        assert_eq!(m.front().pool.process_limit, 1024);
        assert_eq!(m.front().pool.client_limit, 1);
        assert_eq!(m.front().pool.service_count, 1);
        assert_eq!(m.front().pool.process_min_avail, 0);
        assert_eq!(m.front().pool.idle_kill, 60.0);
        assert_eq!(m.front().listener.backlog, 1024);
        assert_eq!(m.front().listener.kind, ListenerKind::Unix);
        assert_eq!(m.front().master.mode, MasterMode::OnDemand);
        assert_eq!(m.front().master.drop_timeout, Some(10.0));
        assert_eq!(m.load.on_refused, OnRefused::Retry);
        assert_eq!(m.load.retry_for, 0.5);
        assert_eq!(i.ignored(), 1);
        assert!(i.unused().is_empty());
        assert!(i
            .notes
            .iter()
            .any(|n| n.contains("no `service imap` section")));
    }

    #[test]
    fn written_model_matches_shipped_dovecot_imap_numbers() {
        // The defaults of 2.3.21 must give the pool, listener and master of
        // models/dovecot-imap.toml.
        let i = imap("# 2.3.21 (47349e2482): /etc/dovecot/dovecot.conf\nssl = no\n");
        let shipped = load_str(
            include_str!("../../../models/dovecot-imap.toml"),
            "dovecot-imap.toml",
            Path::new("."),
            &[],
        )
        .unwrap();
        assert_eq!(i.model().front().pool, shipped.front().pool);
        assert_eq!(i.model().front().listener, shipped.front().listener);
        assert_eq!(i.model().front().master, shipped.front().master);
        assert_eq!(i.model().front().work, shipped.front().work);
        assert_eq!(i.model().load, shipped.load);
    }

    #[test]
    fn imap_settings_and_login_high_performance_mode_are_read() {
        let text = format!(
            "{V23}service imap-login {{\n  service_count = 0\n  process_min_avail = 4\n}}\n\
             service imap {{\n  process_limit = 512\n}}\n"
        );
        let i = imap(&text);
        assert_eq!(i.model().front().pool.process_limit, 512);
        assert_eq!(i.model().front().listener.backlog, 512);
        assert!(i.toml.contains("process_limit = 512          # line 7"));
        assert!(i.toml.contains("high-performance mode"));
        let l = login(&text);
        assert_eq!(l.model().front().pool.process_limit, 100);
        assert_eq!(l.model().front().pool.client_limit, 1000);
        assert_eq!(l.model().front().pool.service_count, 0);
        assert_eq!(l.model().front().pool.process_min_avail, 4);
        assert_eq!(l.model().front().listener.kind, ListenerKind::Tcp);
        assert_eq!(l.model().front().listener.backlog, 100_000);
        assert_eq!(l.model().front().master.mode, MasterMode::OnDemand);
    }

    #[test]
    fn backlog_is_capped_by_the_version() {
        let cfg = |v: &str, pl: u32, cl: u32| {
            format!(
                "# {v}: /etc/dovecot/dovecot.conf\nservice imap {{\n  process_limit = {pl}\n  \
                 client_limit = {cl}\n}}\n"
            )
        };
        assert_eq!(
            imap(&cfg("2.0.12", 1024, 1))
                .model()
                .front()
                .listener
                .backlog,
            128
        );
        assert_eq!(
            imap(&cfg("2.0.13", 1024, 1))
                .model()
                .front()
                .listener
                .backlog,
            511
        );
        assert_eq!(
            imap(&cfg("2.2.25", 1024, 1))
                .model()
                .front()
                .listener
                .backlog,
            511
        );
        assert_eq!(
            imap(&cfg("2.2.25.4", 1024, 1))
                .model()
                .front()
                .listener
                .backlog,
            511
        );
        assert_eq!(
            imap(&cfg("2.2.26", 1024, 1))
                .model()
                .front()
                .listener
                .backlog,
            1024
        );
        assert_eq!(
            imap(&cfg("2.2.10", 100, 2))
                .model()
                .front()
                .listener
                .backlog,
            200
        );
        assert_eq!(
            imap(&cfg("2.3.21", 2, 1)).model().front().listener.backlog,
            4
        );
        assert_eq!(
            imap(&cfg("2.0.5", 1, 1)).model().front().listener.backlog,
            4
        );
        let huge = imap(&cfg("2.3.21", 100_000, 100_000));
        assert_eq!(huge.model().front().listener.backlog, i32::MAX as u32);
    }

    #[test]
    fn dovecot_version_is_recorded_as_dotted_numbers() {
        let i = imap("# 2.4.1-4 (7d8c0e5759): /etc/dovecot/dovecot.conf\nssl = no\n");
        assert_eq!(
            i.model().front().master.dovecot_version.as_deref(),
            Some("2.4.1")
        );
        let j = imap(&format!("{V23}ssl = no\n"));
        assert_eq!(
            j.model().front().master.dovecot_version.as_deref(),
            Some("2.3.19.1")
        );
        // The written backlog already has the version's cap: the model's own cut is a no-op.
        let k = imap("# 2.2.10: x\nservice imap {\n  process_limit = 2048\n}\n");
        assert_eq!(k.model().front().listener.backlog, 511);
        assert_eq!(k.model().listen_backlog(), 511);
    }

    #[test]
    fn master_mode_follows_version_and_client_limit() {
        let cfg = |v: &str, cl: u32| {
            format!("# {v} (x): /etc/dovecot/dovecot.conf\nservice imap {{\n  client_limit = {cl}\n}}\n")
        };
        assert_eq!(
            imap(&cfg("2.4.1", 1)).model().front().master.mode,
            MasterMode::OnDemand
        );
        let per = imap(&cfg("2.4.2", 1));
        assert_eq!(per.model().front().master.mode, MasterMode::PerConnection);
        assert!(per.toml.contains("fork_time ="));
        // 2.4.2 pre-accepts only with client_limit = 1; otherwise the child accepts
        // (semantics: dovecot-master-accept, dovecot-fork).
        let multi = imap(&cfg("2.4.2", 4));
        assert_eq!(multi.model().front().master.mode, MasterMode::OnDemand);
        assert!(multi
            .notes
            .iter()
            .any(|n| n.contains("client_limit = 4 for imap")));
        assert_eq!(
            imap(&cfg("2.3.21", 1)).model().front().master.mode,
            MasterMode::OnDemand
        );
    }

    #[test]
    fn drop_timer_follows_the_version() {
        let imap20 = imap("# 2.0.15: /etc/dovecot/dovecot.conf\nssl = no\n");
        assert_eq!(imap20.model().front().master.drop_timeout, Some(0.0));
        let login20 = login("# 2.0.15: /etc/dovecot/dovecot.conf\nssl = no\n");
        assert_eq!(login20.model().front().master.drop_timeout, None);
        let imap21 = imap("# 2.1.0: /etc/dovecot/dovecot.conf\nssl = no\n");
        assert_eq!(imap21.model().front().master.drop_timeout, Some(10.0));
    }

    #[test]
    fn version_2_4_names_and_unlimited_are_accepted() {
        let text = "# 2.4.2 (0962ed2104): /etc/dovecot/dovecot.conf\n\
                    dovecot_config_version = 2.4.2\n\
                    default_idle_kill_interval = 30 secs\n\
                    service imap {\n  restart_request_count = unlimited\n  \
                    idle_kill_interval = 2 mins\n}\n\
                    service imap-login {\n  restart_request_count = 100\n}\n";
        let i = imap(text);
        assert_eq!(i.model().front().pool.service_count, 0);
        assert_eq!(i.model().front().pool.idle_kill, 120.0);
        let l = login(text);
        assert_eq!(l.model().front().pool.service_count, 100);
        assert_eq!(l.model().front().pool.idle_kill, 30.0);
        assert_eq!(i.ignored(), 0);
    }

    #[test]
    fn service_count_and_restart_request_count_are_one_setting() {
        let text =
            format!("{V23}service imap {{\n  service_count = 5\n  restart_request_count = 7\n}}\n");
        let i = imap(&text);
        assert_eq!(i.model().front().pool.service_count, 7);
        assert_eq!(i.unused().len(), 1);
        assert_eq!(i.unused()[0].setting.line, 3);
        assert!(i.unused()[0].why.contains("overridden by line 4"));
    }

    #[test]
    fn zero_limits_mean_the_global_defaults() {
        let text = format!(
            "{V23}default_process_limit = 300\ndefault_client_limit = 50\n\
             default_idle_kill = 5 mins\nservice imap {{\n  process_limit = 0\n  \
             idle_kill = 0\n}}\n"
        );
        let i = imap(&text);
        assert_eq!(i.model().front().pool.process_limit, 300);
        assert_eq!(i.model().front().pool.idle_kill, 300.0);
        let l = login(&text);
        assert_eq!(l.model().front().pool.process_limit, 300);
        assert_eq!(l.model().front().pool.client_limit, 50);
        assert_eq!(l.model().front().listener.backlog, 15_000);
    }

    #[test]
    fn idle_kill_infinite_means_never() {
        let i = imap(&format!(
            "{V23}service imap {{\n  idle_kill = infinite\n}}\n"
        ));
        assert_eq!(i.model().front().pool.idle_kill, 0.0);
    }

    #[test]
    fn unknown_and_unsupported_settings_are_listed_with_their_lines() {
        let text = format!(
            "{V23}mail_location = maildir:~/Maildir\nservice imap {{\n  vsz_limit = 512 M\n  \
             chroot = \n  executable = imap postlogin\n  user = vmail\n  extra_groups = mail\n  \
             drop_priv_before_exec = yes\n  frobnicate = 3\n  unix_listener imap-master {{\n    \
             mode = 0600\n  }}\n}}\nservice imap-login {{\n  inet_listener imaps {{\n    \
             port = 993\n    ssl = yes\n  }}\n}}\nservice auth {{\n  unix_listener auth-userdb {{\n    \
             mode = 0666\n  }}\n}}\n"
        );
        let i = imap(&text);
        let keys: Vec<(usize, &str)> = i
            .unused()
            .iter()
            .map(|u| (u.setting.line, u.setting.key.as_str()))
            .collect();
        assert_eq!(
            keys,
            vec![
                (4, "vsz_limit"),
                (5, "chroot"),
                (6, "executable"),
                (7, "user"),
                (8, "extra_groups"),
                (9, "drop_priv_before_exec"),
                (10, "frobnicate"),
                (12, "mode"),
                (17, "port"),
                (18, "ssl"),
            ]
        );
        assert!(i.unused()[6].why.contains("unknown to eagain"));
        assert_eq!(
            i.unused()[7].describe(Notation::Nested),
            "line 12: service imap { unix_listener imap-master { mode = 0600 } }: \
             socket file and permissions: no effect on the queue"
        );
        // mail_location and the auth listener's mode are outside the two services.
        assert_eq!(i.ignored(), 2);
        for u in i.unused() {
            assert!(
                i.toml.contains(&format!("line {}: ", u.setting.line)),
                "{}",
                i.toml
            );
        }
        assert!(i.toml.contains("Ignored 2 settings outside service imap"));
    }

    #[test]
    fn missing_protocol_imap_is_a_note() {
        let i = imap(&format!("{V23}protocols = pop3 lmtp\n"));
        assert!(i.notes.iter().any(|n| n.contains("does not enable imap")));
        let j = imap(&format!("{V23}protocols = \" imap lmtp\"\n"));
        assert!(!j.notes.iter().any(|n| n.contains("does not enable imap")));
    }

    #[test]
    fn every_unknowable_field_says_measure_and_set() {
        for i in [
            imap(&format!("{V23}ssl = no\n")),
            login(&format!("{V23}ssl = no\n")),
            imap("# 2.4.2: x\nssl = no\n"),
            chain(&format!("{V23}ssl = no\n")),
            chain("# 2.4.2: x\nssl = no\n"),
        ] {
            for key in [
                "rate =",
                "duration =",
                "arrival =",
                "startup =",
                "blocking =",
                "somaxconn =",
                "fork_time =",
                "connect_timeout =",
            ] {
                let lines: Vec<&str> = i.toml.lines().filter(|l| l.starts_with(key)).collect();
                if !matches!(key, "fork_time =" | "connect_timeout =") {
                    assert!(!lines.is_empty(), "no `{key}` in\n{}", i.toml);
                }
                for line in lines {
                    assert!(line.contains(MEASURE), "{line}");
                }
            }
        }
    }

    #[test]
    fn the_default_is_the_chain_imap_login_to_imap_with_one_master() {
        let i = chain(&format!("{V23}ssl = no\n"));
        let m = i.model();
        assert!(i.model().is_chain());
        let names: Vec<&str> = m.services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["imap-login", "imap"]);
        let (l, p) = (&m.services[0], &m.services[1]);
        // imap-login: 2.3's defaults (high-security mode), TCP, backlog 100 x 1000.
        let pool = &l.pool;
        assert_eq!(
            (pool.process_limit, pool.client_limit, pool.service_count),
            (100, 1000, 1)
        );
        assert_eq!(pool.process_min_avail, 0);
        assert_eq!(l.listener.kind, ListenerKind::Tcp);
        assert_eq!(l.listener.backlog, 100_000);
        // It passes each login to imap, retrying EAGAIN for 0.5 s.
        assert_eq!(l.next.as_deref(), Some("imap"));
        assert_eq!(l.handoff, Some(Handoff::Pass));
        assert_eq!(l.connect.on_refused, OnRefused::Retry);
        assert_eq!(l.connect.retry_for, 0.5);
        let pause = DistSpec::Uniform {
            low: 0.01,
            high: 0.1,
        };
        assert_eq!(l.connect.retry_pause, pause);
        assert!(l.work.blocking.mean() > 0.0);
        for s in [l, p] {
            assert_eq!(s.master.process.as_deref(), Some("dovecot"));
            assert_eq!(s.master.dovecot_version.as_deref(), Some("2.3.19.1"));
            assert_eq!(s.master.mode, MasterMode::OnDemand);
            assert_eq!(s.master.drop_timeout, Some(10.0));
            assert!(s.master.fork_time.mean() > 0.0);
        }
        // IMAP clients over TCP: a refused SYN is retried until connect_timeout.
        assert_eq!(m.load.on_refused, OnRefused::Fail);
        assert_eq!(m.load.connect_timeout, Some(30.0));
        assert_eq!(m.sim.warmup, 300.0);
        // imap as `--service imap` writes it, but for the shared master and its forks.
        let alone = imap(&format!("{V23}ssl = no\n"));
        let alone = alone.model();
        assert_eq!(p.listener, alone.front().listener);
        assert_eq!(p.pool, alone.front().pool);
        assert_eq!(p.work, alone.front().work);
        let master = Master {
            process: None,
            fork_time: DistSpec::constant(0.0),
            ..p.master.clone()
        };
        assert_eq!(master, alone.front().master);
        assert!(prose(&i.toml).contains("service_count 1: high-security mode"));
        assert!(prose(&i.toml).contains("every login costs two forks"));
    }

    #[test]
    fn high_performance_login_settings_give_the_chain_a_login_that_stays() {
        let i = chain(&format!(
            "{V23}service imap-login {{\n  service_count = 0\n  process_min_avail = 4\n}}\n"
        ));
        let model = i.model();
        let pool = &model.services[0].pool;
        assert_eq!(
            (pool.process_limit, pool.client_limit, pool.service_count),
            (100, 1000, 0)
        );
        assert_eq!(pool.process_min_avail, 4);
        assert_eq!(i.model().services[0].listener.backlog, 100_000);
        assert!(prose(&i.toml).contains("service_count 0: high-performance mode"));
        assert!(prose(&i.toml).contains("a login costs about one fork"));
        let j = chain(&format!(
            "{V23}service imap-login {{\n  service_count = 100\n}}\n"
        ));
        assert_eq!(j.model().services[0].pool.service_count, 100);
        assert!(prose(&j.toml).contains("1 + 1/100 forks"));
    }

    #[test]
    fn in_the_chain_each_service_forks_as_its_version_and_client_limit_say() {
        let i = chain("# 2.4.2 (x): /etc/dovecot/dovecot.conf\nssl = no\n");
        let (l, p) = (&i.model().services[0], &i.model().services[1]);
        assert_eq!(l.master.mode, MasterMode::OnDemand, "client_limit 1000");
        assert_eq!(p.master.mode, MasterMode::PerConnection);
        let j = chain(
            "# 2.4.2 (x): /etc/dovecot/dovecot.conf\nservice imap-login {\n  client_limit = 1\n}\n",
        );
        assert_eq!(j.model().services[0].master.mode, MasterMode::PerConnection);
        // The cap of 2.0.13 to 2.2.25 applies to both listeners.
        let k = chain("# 2.2.10: x\nssl = no\n");
        assert_eq!(k.model().services[0].listener.backlog, 511);
        assert_eq!(k.model().services[1].listener.backlog, 511);
        assert_eq!(k.model().services[1].queue_capacity(), 512);
    }

    #[test]
    fn the_chain_notes_each_service_and_a_version_note_once() {
        let i = chain(
            "# 2.3.10 (x): /etc/dovecot/dovecot.conf\nservice imap {\n  process_min_avail = 2\n}\n\
             service imap-login {\n  process_min_avail = 2\n}\n",
        );
        let count = |needle: &str| i.notes.iter().filter(|n| n.contains(needle)).count();
        assert_eq!(count("idle_kill with Dovecot 2.3.10"), 1);
        assert_eq!(count("process_min_avail with Dovecot 2.3.10"), 1);
        let j = chain(&format!("{V23}ssl = no\n"));
        assert!(j
            .notes
            .iter()
            .any(|n| n.contains("no `service imap` section")));
        assert!(j
            .notes
            .iter()
            .any(|n| n.contains("no `service imap-login` section")));
        let report = j.report();
        assert!(
            report[0].contains("the chain imap-login -> imap"),
            "{report:?}"
        );
        assert!(report[1].starts_with("  service imap-login: process_limit 100"));
        assert!(report[2].starts_with("  service imap: process_limit 1024"));
    }

    #[test]
    fn chains_of_2_3_21_defaults_are_the_shipped_login_imap_models() {
        let shipped = |text: &str| load_str(text, "shipped.toml", Path::new("."), &[]).unwrap();
        let v = "# 2.3.21 (47349e2482): /etc/dovecot/dovecot.conf\n";
        let i = chain(&format!("{v}ssl = no\n"));
        let s = shipped(include_str!("../../../models/dovecot-login-imap.toml"));
        assert_eq!(i.model().services, s.services);
        assert_eq!(i.model().load, s.load);
        assert_eq!(i.model().sim, s.sim);
        let hp = chain(&format!(
            "{v}service imap-login {{\n  service_count = 0\n  process_min_avail = 4\n}}\n"
        ));
        let s = shipped(include_str!(
            "../../../models/dovecot-login-imap-high-performance.toml"
        ));
        assert_eq!(hp.model().services, s.services);
        assert_eq!(hp.model().load, s.load);
    }

    #[test]
    fn wrong_kind_of_value_names_the_line_and_what_is_allowed() {
        let e = error(&format!(
            "{V23}service imap {{\n  process_limit = lots\n}}\n"
        ));
        assert!(
            e.starts_with("test.conf line 3: `process_limit = lots` in `service imap`"),
            "{e}"
        );
        assert!(e.contains("whole number of processes"), "{e}");
        let e = error(&format!(
            "{V23}service imap-login {{\n  service_count = once\n}}\n"
        ));
        assert!(
            e.starts_with("test.conf line 3: `service_count = once`"),
            "{e}"
        );
        let e = error(&format!("{V23}service imap {{\n  idle_kill = soon\n}}\n"));
        assert!(e.contains("line 3") && e.contains("a time such as"), "{e}");
        let e = error(&format!(
            "{V23}service imap {{\n  client_limit = 99999999999\n}}\n"
        ));
        assert!(e.contains("at most 4294967295"), "{e}");
        let e = error(&format!("{V23}default_process_limit = -1\n"));
        assert!(e.starts_with("test.conf line 2:"), "{e}");
    }

    #[test]
    fn settings_the_model_cannot_represent_are_refused() {
        let e = error(&format!(
            "{V23}service imap {{\n  process_limit = 8\n  process_min_avail = 9\n}}\n"
        ));
        assert!(e.starts_with("test.conf line 4:"), "{e}");
        assert!(e.contains("higher than its process_limit (8"), "{e}");
        let e = error(&format!("{V23}default_client_limit = 0\n"));
        // imap has its own client_limit 1; imap-login falls back on the global 0.
        assert!(e.contains("line 2") && e.contains("client_limit"), "{e}");
        let e = error("# 1.2.17: /etc/dovecot.conf\nprotocols = imap\n");
        assert!(e.contains("line 1") && e.contains("2.0"), "{e}");
    }

    #[test]
    fn text_that_is_not_doveconf_output_is_refused_with_its_line() {
        let e = error(&format!("{V23}service imap {{\n  process_limit = 5\n"));
        assert!(
            e.starts_with("test.conf line 2:") && e.contains("never closed"),
            "{e}"
        );
        let e = error(&format!("{V23}ssl = no\n}}\n"));
        assert!(
            e.starts_with("test.conf line 3:") && e.contains("closes no section"),
            "{e}"
        );
        let e = error("# a model\nname = \"x\"\n\n[load]\nrate = 1.0\n");
        assert!(
            e.starts_with("test.conf line 4:") && e.contains("TOML"),
            "{e}"
        );
        let e = error("Dear admin,\nthe mail server is slow today.\n");
        assert!(
            e.starts_with("test.conf line 1:") && e.contains("not a doveconf line"),
            "{e}"
        );
        let e = error("");
        assert!(e.contains("empty"), "{e}");
        let e = error("# 2.3.19.1 (9b53102964): /etc/dovecot/dovecot.conf\n# only comments\n");
        assert!(e.contains("no settings"), "{e}");
        let e = error("ssl = no\n");
        assert!(
            e.starts_with("test.conf line 1:") && e.contains("version"),
            "{e}"
        );
        let e = error(&format!("{V23}!include conf.d/*.conf\n"));
        assert!(
            e.contains("line 2") && e.contains("dovecot.conf itself"),
            "{e}"
        );
    }

    #[test]
    fn byte_order_mark_and_crlf_line_ends_are_accepted() {
        let i = imap("\u{feff}# 2.3.21 (x): /etc/dovecot/dovecot.conf\r\nservice imap {\r\n  process_limit = 64\r\n}\r\n");
        assert_eq!(i.model().front().pool.process_limit, 64);
        assert!(i.toml.contains("# line 3"));
    }

    #[test]
    fn version_can_come_from_dovecot_config_version() {
        let i = imap("dovecot_config_version = 2.4.2\nssl = no\n");
        assert_eq!(
            i.model().front().master.dovecot_version.as_deref(),
            Some("2.4.2")
        );
        assert_eq!(i.model().front().master.mode, MasterMode::PerConnection);
    }

    #[test]
    fn slow_fork_versions_get_the_slow_start_up() {
        let i = imap("# 2.2.5: /etc/dovecot/dovecot.conf\nssl = no\n");
        assert!(i.toml.contains("slow host name lookup"));
        assert_eq!(i.model().front().master.startup.mean(), 0.5);
        let j = imap("# 2.2.10: /etc/dovecot/dovecot.conf\nssl = no\n");
        assert_eq!(j.model().front().master.startup.mean(), 0.02);
    }

    #[test]
    fn the_model_cites_eagains_semantics_by_section_name() {
        for service in [
            Scope::Only(Service::Imap),
            Scope::Only(Service::ImapLogin),
            Scope::Chain,
        ] {
            let i = import(&format!("{V23}ssl = no\n"), "test.conf", service).unwrap();
            assert!(
                i.toml.contains("(eagain semantics: dovecot-drop-timer"),
                "{}",
                i.toml
            );
            assert!(i
                .toml
                .contains("Dovecot's default, eagain semantics: dovecot-defaults"));
            assert!(i
                .toml
                .contains("docs/semantics.md in the eagain repository"));
            // No id of the research notes eagain's reference replaced.
            for line in i.toml.lines().chain(i.notes.iter().map(String::as_str)) {
                assert!(!line.contains(&["shared", "reference"].join("/")), "{line}");
                let old = line.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| {
                    w.len() >= 2
                        && w.len() <= 3
                        && matches!(w.as_bytes()[0], b'A'..=b'F')
                        && w[1..].bytes().all(|b| b.is_ascii_digit())
                });
                assert!(!old, "an old citation id in: {line}");
            }
        }
    }

    #[test]
    fn names_with_quotes_and_odd_characters_stay_valid_toml() {
        let i = import(
            &format!("{V23}ssl = no\n"),
            "dir/we\"ird\tname.conf",
            Scope::Chain,
        )
        .unwrap();
        assert!(i.model().name.contains("we\"ird"));
    }
}
