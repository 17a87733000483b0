//! `eagain import doveconf`: the sample `doveconf -n` outputs under tests/data/doveconf
//! give the expected models (by default the chain imap-login -> imap; with `--service`
//! one service, byte for byte as before the chain), the models load and simulate,
//! unused settings are listed, and bad input exits 2 with a message that names the
//! file and the line.

use crate::common::{eagain, import_file, load_imported, root};
use eagain::model::{ListenerKind, MasterMode, OnRefused};
use predicates::str::contains;
use std::path::PathBuf;

fn data(name: &str) -> PathBuf {
    root("tests/data/doveconf").join(name)
}

/// Runs the import of a sample; returns the model text (stdout) and stderr.
fn import(name: &str, extra: &[&str]) -> (String, String) {
    import_file("doveconf", &data(name), extra)
}

/// A bad sample: exit 2, and stderr names the file and the line.
fn refused(name: &str, line: usize) -> String {
    let out = eagain()
        .args(["import", "doveconf"])
        .arg(data(name))
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(out.stdout.is_empty(), "no model on stdout for a bad input");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(&format!("{name} line {line}:")),
        "stderr should name {name} line {line}: {err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "one paragraph: {err}");
    err
}

#[test]
fn doveconf_2_3_imap_model_has_process_limit_512_and_2_3_rules() {
    let (toml, err) = import("dovecot-2.3.conf", &["--service", "imap"]);
    let m = load_imported(&toml);
    assert_eq!(m.front().pool.process_limit, 512);
    assert_eq!(m.front().pool.client_limit, 1);
    assert_eq!(m.front().pool.service_count, 1);
    assert_eq!(m.front().pool.process_min_avail, 0);
    assert_eq!(m.front().pool.idle_kill, 60.0);
    assert_eq!(m.front().listener.kind, ListenerKind::Unix);
    assert_eq!(m.front().listener.backlog, 512);
    assert_eq!(m.front().listener.somaxconn, 4096);
    assert_eq!(m.front().master.mode, MasterMode::OnDemand);
    assert_eq!(m.front().master.drop_timeout, Some(10.0));
    assert_eq!(m.load.on_refused, OnRefused::Retry);
    assert_eq!(m.load.retry_for, 0.5);
    assert!(m.name.contains("2.3.19.1"), "{}", m.name);
    // Commented like the shipped models: where each number comes from.
    assert!(
        toml.contains("process_limit = 512          # line 42"),
        "{toml}"
    );
    assert!(toml.contains("backlog = 512"), "{toml}");
    assert!(
        toml.contains("# - the clients are imap-login processes"),
        "{toml}"
    );
    assert!(toml.contains("high-performance mode"), "{toml}");
    assert!(err.contains("service imap: process_limit 512"), "{err}");
}

#[test]
fn doveconf_2_3_imap_login_model_is_high_performance_mode() {
    let (toml, _) = import("dovecot-2.3.conf", &["--service", "imap-login"]);
    let m = load_imported(&toml);
    assert_eq!(m.front().pool.process_limit, 100, "default_process_limit");
    assert_eq!(m.front().pool.client_limit, 1000, "default_client_limit");
    assert_eq!(m.front().pool.service_count, 0);
    assert_eq!(m.front().pool.process_min_avail, 4);
    assert_eq!(m.front().listener.kind, ListenerKind::Tcp);
    assert_eq!(m.front().listener.backlog, 100_000);
    assert_eq!(m.front().master.mode, MasterMode::OnDemand);
    assert_eq!(m.load.on_refused, OnRefused::Fail);
    assert!(m.load.connect_timeout.is_some());
    assert!(toml.contains("service_count = 0            # service_count at line 38: never exit"));
}

#[test]
fn doveconf_2_3_lists_unused_service_settings_and_counts_the_rest() {
    let (toml, err) = import("dovecot-2.3.conf", &[]);
    for entry in [
        "line 31: service imap-login { inet_listener imap { port = 143 } }",
        "line 34: service imap-login { inet_listener imaps { port = 993 } }",
        "line 35: service imap-login { inet_listener imaps { ssl = yes } }",
        "line 39: service imap-login { vsz_limit = 1 G }: memory limit per process",
    ] {
        assert!(err.contains(entry), "stderr lacks {entry}: {err}");
        assert!(
            toml.contains(entry),
            "the model's comments lack {entry}: {toml}"
        );
    }
    assert!(err.contains("4 settings in service imap and service imap-login are not in the model"));
    assert!(err.contains("ignored 18 settings outside service imap and service imap-login"));
    assert!(toml.contains("# Ignored 18 settings outside service imap and service imap-login"));
}

#[test]
fn doveconf_2_2_10_caps_the_backlog_at_511() {
    let (toml, err) = import("dovecot-2.2.10.conf", &["--service", "imap"]);
    let m = load_imported(&toml);
    assert_eq!(m.front().pool.process_limit, 2048);
    assert_eq!(m.front().listener.backlog, 511);
    assert_eq!(m.front().master.dovecot_version.as_deref(), Some("2.2.10"));
    assert_eq!(m.queue_capacity(), 512);
    assert_eq!(m.front().master.mode, MasterMode::OnDemand);
    assert_eq!(m.front().master.drop_timeout, Some(10.0));
    assert!(
        toml.contains("cut to 511, the cap of Dovecot 2.0.13 to 2.2.25"),
        "{toml}"
    );
    // imap-login's process_limit comes from default_process_limit at line 4.
    let (login, _) = import("dovecot-2.2.10.conf", &["--service", "imap-login"]);
    assert_eq!(load_imported(&login).front().pool.process_limit, 200);
    assert!(
        login.contains("process_limit = 200          # default_process_limit at line 4"),
        "{login}"
    );
    assert!(err.contains("ignored 9 settings outside"), "{err}");
}

#[test]
fn doveconf_2_2_10_lists_privilege_and_memory_settings() {
    let (toml, err) = import("dovecot-2.2.10.conf", &[]);
    for entry in [
        "line 13: service imap-login { chroot = login }",
        "line 14: service imap-login { executable = imap-login }",
        "line 15: service imap-login { user = dovenull }",
        "line 19: service imap { drop_priv_before_exec = no }",
        "line 20: service imap { executable = imap }",
        "line 21: service imap { extra_groups = mail }",
        "line 23: service imap { vsz_limit = 512 M }",
    ] {
        assert!(err.contains(entry), "stderr lacks {entry}: {err}");
        assert!(toml.contains(entry), "the model's comments lack {entry}");
    }
    assert!(err.contains("7 settings in service imap and service imap-login are not in the model"));
}

#[test]
fn doveconf_2_4_2_forks_per_connection_with_restart_request_count() {
    let (toml, err) = import("dovecot-2.4.2.conf", &["--service", "imap"]);
    let m = load_imported(&toml);
    assert_eq!(m.front().pool.process_limit, 256);
    assert_eq!(m.front().pool.service_count, 100);
    assert_eq!(m.front().pool.process_min_avail, 8);
    assert_eq!(m.front().pool.idle_kill, 120.0);
    assert_eq!(m.front().listener.backlog, 256);
    assert_eq!(m.front().master.mode, MasterMode::PerConnection);
    assert!(m.front().master.fork_time.mean() > 0.0);
    assert!(toml.contains("restart_request_count at line 23"), "{toml}");
    assert!(err.contains("every setting in service imap and service imap-login is in the model"));
    assert!(err.contains("ignored 8 settings outside"), "{err}");
}

#[test]
fn doveconf_2_4_2_imap_login_with_client_limit_1000_stays_on_demand() {
    let (toml, _) = import("dovecot-2.4.2.conf", &["--service", "imap-login"]);
    let m = load_imported(&toml);
    assert_eq!(m.front().pool.client_limit, 1000);
    assert_eq!(
        m.front().pool.service_count,
        0,
        "restart_request_count = unlimited"
    );
    assert_eq!(m.front().pool.process_min_avail, 2);
    assert_eq!(m.front().master.mode, MasterMode::OnDemand);
}

#[test]
fn out_writes_the_model_file_and_simulate_runs_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("imap.toml");
    let assert = eagain()
        .args(["import", "doveconf"])
        .arg(data("dovecot-2.3.conf"))
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    assert!(
        assert.get_output().stdout.is_empty(),
        "--out: nothing on stdout"
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(load_imported(&text).services[1].pool.process_limit, 512);
    // This file caps imap at 512 processes: at 12 logins a second of 60-s sessions
    // (about 720 at once) imap refuses; imap-login, in high-performance mode, does not.
    let stdout = eagain()
        .arg("simulate")
        .arg(&out)
        .args(["--set", "load.duration=900", "--set", "sim.warmup=300"])
        .args(["--replications", "2", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&stdout).unwrap();
    let refused = |s: &str| json["services"][s]["refused"].as_f64().unwrap();
    assert_eq!(refused("imap-login"), 0.0, "{json}");
    assert!(refused("imap") > 0.0, "{json}");
    assert!(json["refusal_probability"]["mean"].as_f64().unwrap() > 0.0);
    assert!(json["masters"]["dovecot"]["forks"].as_f64().unwrap() > 0.0);
}

#[test]
fn every_line_the_config_cannot_know_says_measure_and_set() {
    for (name, service) in [
        ("dovecot-2.3.conf", Some("imap")),
        ("dovecot-2.3.conf", Some("imap-login")),
        ("dovecot-2.4.2.conf", Some("imap")),
        ("dovecot-2.3.conf", None),
        ("dovecot-2.4.2.conf", None),
    ] {
        let args: Vec<&str> = service.map_or(vec![], |s| vec!["--service", s]);
        let (toml, _) = import(name, &args);
        for key in [
            "arrival =",
            "rate =",
            "duration =",
            "somaxconn =",
            "startup =",
            "blocking =",
        ] {
            let lines: Vec<&str> = toml.lines().filter(|l| l.starts_with(key)).collect();
            assert!(!lines.is_empty(), "{name} {service:?}: no `{key}`");
            for line in lines {
                assert!(
                    line.contains("not in doveconf: measure and --set"),
                    "{name} --service {service:?}: {line}"
                );
            }
        }
    }
}

#[test]
fn the_default_model_is_the_imap_login_to_imap_chain_with_one_master() {
    let (toml, err) = import("dovecot-2.3.conf", &[]);
    let m = load_imported(&toml);
    assert!(m.is_chain());
    let (login, imap) = (&m.services[0], &m.services[1]);
    assert_eq!(
        (login.name.as_str(), imap.name.as_str()),
        ("imap-login", "imap")
    );
    assert_eq!(login.next.as_deref(), Some("imap"));
    assert_eq!(login.connect.on_refused, OnRefused::Retry);
    assert_eq!(login.connect.retry_for, 0.5);
    // Each service's pool, listener and fork mode as `--service` writes it alone: this
    // file's imap-login is in high-performance mode (lines 37 and 38), its imap has
    // process_limit 512 (line 42).
    for (s, alone) in [(login, "imap-login"), (imap, "imap")] {
        let alone = load_imported(&import("dovecot-2.3.conf", &["--service", alone]).0);
        assert_eq!(s.pool, alone.front().pool);
        assert_eq!(s.listener, alone.front().listener);
        assert_eq!(s.master.mode, alone.front().master.mode);
        assert_eq!(s.master.process.as_deref(), Some("dovecot"));
        assert_eq!(s.master.dovecot_version.as_deref(), Some("2.3.19.1"));
    }
    assert_eq!(
        (login.pool.service_count, imap.pool.process_limit),
        (0, 512)
    );
    assert_eq!(m.load.on_refused, OnRefused::Fail);
    assert!(m.load.connect_timeout.is_some());
    assert!(err.contains("the chain imap-login -> imap"), "{err}");
    assert!(err.contains("  service imap: process_limit 512"), "{err}");
}

#[test]
fn service_writes_one_service_byte_for_byte_as_before_the_chain() {
    // tests/data/doveconf/single/ holds what `import doveconf --service` wrote before
    // the chain became the default, run from the repository root like this.
    for conf in [
        "debian-2.3.19.1-default",
        "dovecot-2.2.10",
        "dovecot-2.3",
        "dovecot-2.4.2",
    ] {
        for service in ["imap", "imap-login"] {
            let out = eagain()
                .args(["import", "doveconf"])
                .arg(format!("tests/data/doveconf/{conf}.conf"))
                .args(["--service", service])
                .assert()
                .success()
                .get_output()
                .stdout
                .clone();
            let expected = root(&format!("tests/data/doveconf/single/{conf}.{service}.toml"));
            let expected = std::fs::read(&expected).unwrap();
            assert!(
                out == expected,
                "{conf} --service {service} changed:\n{}",
                String::from_utf8_lossy(&out)
            );
        }
    }
}

#[test]
fn a_toml_file_is_refused_at_its_table_header() {
    let err = refused("bad-not-doveconf.toml", 4);
    assert!(err.contains("TOML"), "{err}");
}

#[test]
fn random_text_is_refused_at_its_first_line() {
    let err = refused("bad-random-text.conf", 1);
    assert!(err.contains("not a doveconf line"), "{err}");
}

#[test]
fn an_unclosed_section_is_refused_at_the_line_that_opens_it() {
    let err = refused("bad-unbalanced.conf", 3);
    assert!(err.contains("never closed"), "{err}");
}

#[test]
fn an_extra_closing_brace_is_refused_at_its_line() {
    let err = refused("bad-extra-brace.conf", 5);
    assert!(err.contains("closes no section"), "{err}");
}

#[test]
fn a_process_limit_that_is_not_a_number_is_refused() {
    let err = refused("bad-process-limit.conf", 4);
    assert!(
        err.contains("`process_limit = lots` in `service imap`"),
        "{err}"
    );
    assert!(err.contains("whole number of processes"), "{err}");
}

#[test]
fn a_service_count_that_is_not_a_number_is_refused() {
    let err = refused("bad-service-count.conf", 3);
    assert!(
        err.contains("`service_count = once` in `service imap-login`"),
        "{err}"
    );
}

#[test]
fn more_idle_processes_than_the_process_limit_is_refused() {
    let err = refused("bad-min-avail.conf", 4);
    assert!(err.contains("higher than its process_limit (16"), "{err}");
}

#[test]
fn dovecot_1_is_refused() {
    let err = refused("bad-dovecot-1.conf", 1);
    assert!(err.contains("Dovecot 2.0 to 2.4"), "{err}");
}

#[test]
fn a_missing_file_exits_2_and_names_it() {
    eagain()
        .args(["import", "doveconf", "no/such/doveconf.txt"])
        .assert()
        .code(2)
        .stderr(contains(
            "cannot read the doveconf file no/such/doveconf.txt",
        ));
}

#[test]
fn an_unknown_service_exits_2() {
    eagain()
        .args(["import", "doveconf"])
        .arg(data("dovecot-2.3.conf"))
        .args(["--service", "pop3"])
        .assert()
        .code(2)
        .stderr(contains("imap-login"));
}

#[test]
fn real_doveconf_output_of_debians_default_configuration_imports_with_the_2_3_defaults() {
    // `doveconf -n` of Debian 12's dovecot-imapd 2.3.19.1 as installed, unchanged: no
    // service sections at all, so every setting is Dovecot's default (semantics:
    // dovecot-defaults). The model cites that rule by its section name.
    let (text, err) = import("debian-2.3.19.1-default.conf", &[]);
    assert!(
        text.contains(
            "process_limit = 1024         # imap's default, eagain semantics: dovecot-defaults"
        ),
        "{text}"
    );
    assert!(
        text.contains("drop_timeout = 10.0          # SERVICE_DROP_TIMEOUT_MSECS (eagain semantics: dovecot-drop-timer)"),
        "{text}"
    );
    let m = load_imported(&text);
    let (login, imap) = (&m.services[0], &m.services[1]);
    assert_eq!(imap.pool.process_limit, 1024);
    assert_eq!(imap.pool.client_limit, 1);
    assert_eq!(imap.pool.service_count, 1);
    assert_eq!(imap.queue_capacity(), 1025);
    assert_eq!(imap.master.mode, MasterMode::OnDemand);
    assert_eq!(imap.master.dovecot_version.as_deref(), Some("2.3.19.1"));
    // imap-login in its default high-security mode: one login per process.
    assert_eq!(login.pool.service_count, 1);
    assert_eq!(login.pool.process_limit, 100);
    assert_eq!(login.queue_capacity(), 4097);
    assert!(err.contains("no `service imap` section"), "{err}");
    assert!(err.contains("no `service imap-login` section"), "{err}");
}
