//! The Apache importer on small texts: Debian's prefork, event and worker files, the
//! old directive names, the MPM each file is read as, and what Apache adjusts.

use super::*;
use crate::model::{ListenerKind, MasterMode};

const DEBIAN: &str = "# prefork MPM\n\nStartServers\t\t\t 5\nMinSpareServers\t\t  5\n\
    MaxSpareServers\t\t 10\nMaxRequestWorkers\t  150\nMaxConnectionsPerChild   0\n";

fn ok(text: &str) -> Imported {
    import(text, "prefork.conf", &[]).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn error(text: &str) -> String {
    match import(text, "prefork.conf", &[]) {
        Ok(i) => panic!("expected an error, got\n{}", i.toml),
        Err(e) => e.0,
    }
}

#[test]
fn debians_mpm_prefork_conf_is_the_shipped_apache_model() {
    let i = ok(DEBIAN);
    let m = i.model();
    assert_eq!(m.front().master.mode, MasterMode::ApachePrefork);
    assert_eq!(m.front().listener.kind, ListenerKind::Tcp);
    let shipped = crate::model::load_str(
        include_str!("../../../models/apache-prefork.toml"),
        "apache-prefork.toml",
        Path::new("."),
        &[],
    )
    .unwrap();
    assert_eq!(m.front().pool, shipped.front().pool);
    assert_eq!(m.front().listener, shipped.front().listener);
    assert_eq!(m.front().master.tick, 1.0);
    assert_eq!(m.front().master.max_spawn_rate, 32);
    assert!(i.unused().is_empty());
}

#[test]
fn directives_are_case_insensitive_with_their_old_names_and_ifmodule() {
    let i = ok(
        "<IfModule mpm_prefork_module>\n  startservers 2\n  MaxClients 40\n  \
                MaxRequestsPerChild 1000\n</IfModule>\nlistenbacklog 100\nListen 127.0.0.1:8080\n",
    );
    let model = i.model();
    let p = &model.front().pool;
    assert_eq!(
        (p.start_servers, p.process_limit, p.service_count),
        (Some(2), 40, 1000)
    );
    assert_eq!(i.model().front().listener.backlog, 100);
}

#[test]
fn max_request_workers_is_clamped_to_server_limit_with_a_note() {
    let i = ok("MaxRequestWorkers 3522\n");
    assert_eq!(i.model().front().pool.process_limit, 256);
    assert!(
        i.notes.iter().any(|n| n.contains("clamps it to 256")),
        "{:?}",
        i.notes
    );
    let j = ok("ServerLimit 1000\nMaxRequestWorkers 600\n");
    assert_eq!(j.model().front().pool.process_limit, 600);
    let k = ok("ServerLimit 20\n");
    assert_eq!(k.model().front().pool.process_limit, 20);
    assert_eq!(k.model().front().pool.max_spare, Some(10));
}

#[test]
fn other_mpms_sections_includes_and_keepalive_are_listed_the_rest_counted() {
    let i = ok(
        "Timeout 300\nKeepAlive On\nIncludeOptional mods-enabled/*.conf\n\
         ErrorLog /var/log/x\n<IfModule mpm_event_module>\n  StartServers 2\n  \
         ThreadsPerChild 25\n</IfModule>\n<Directory />\n  Require all denied\n\
         </Directory>\n<IfModule mod_ssl.c>\n  Listen 443\n</IfModule>\n\
         <IfModule mpm_prefork_module>\n  MaxRequestWorkers 20\n</IfModule>\n",
    );
    let lines: Vec<usize> = i.unused().iter().map(|u| u.setting.line).collect();
    assert_eq!(lines, vec![1, 2, 3, 6, 7, 13]);
    assert!(i.unused()[2].why.starts_with("not followed"));
    assert!(i.unused()[3]
        .why
        .contains("another MPM (<IfModule mpm_event_module>, line 5): the model is of prefork"));
    assert_eq!(i.ignored(), 2);
    assert_eq!(i.model().front().pool.process_limit, 20);
    assert!(i.notes.iter().any(|n| n.contains("no Listen")));
    assert!(
        i.notes
            .iter()
            .any(|n| n.contains("sections of several MPMs (event, prefork)")),
        "{:?}",
        i.notes
    );
}

/// Debian's mods-available/mpm_event.conf (other-servers research, "Event/worker MPM").
const DEBIAN_EVENT: &str = "<IfModule mpm_event_module>\n\tStartServers\t\t\t 2\n\
    \tMinSpareThreads\t\t 25\n\tMaxSpareThreads\t\t 75\n\tThreadLimit\t\t\t 64\n\
    \tThreadsPerChild\t\t 25\n\tMaxRequestWorkers\t  150\n\tMaxConnectionsPerChild   0\n\
    </IfModule>\n";

#[test]
fn debians_mpm_event_conf_is_threads_in_six_processes_with_the_spares_in_processes() {
    for (mpm, text) in [
        ("event", DEBIAN_EVENT.to_string()),
        (
            "worker",
            DEBIAN_EVENT.replace("mpm_event_module", "mpm_worker_module"),
        ),
    ] {
        let i = ok(&text);
        let m = i.model();
        let p = &m.front().pool;
        assert_eq!(m.front().master.mode, MasterMode::ApachePrefork);
        assert_eq!((p.process_limit, p.threads, p.client_limit), (6, 25, 25));
        // 25 / 25 rounded up, 75 / 25 rounded down.
        assert_eq!(
            (p.start_servers, p.min_spare, p.max_spare, p.service_count),
            (Some(2), Some(1), Some(3), 0)
        );
        assert_eq!(m.front().listener.backlog, 511);
        assert!(i.unused().is_empty(), "{:?}", i.unused());
        assert!(
            i.summary[0].contains(&format!("Apache {mpm}")),
            "{:?}",
            i.summary
        );
        assert!(
            i.notes.iter().any(|n| n.starts_with("APPROXIMATED")),
            "{:?}",
            i.notes
        );
        assert!(i.toml.contains("# - APPROXIMATED"), "{}", i.toml);
        assert!(
            i.toml
                .contains(&format!("name = \"Apache {mpm}, 6 processes of 25 threads")),
            "{}",
            i.toml
        );
    }
}

#[test]
fn the_threaded_mpms_adjustments_are_applied_as_apache_does() {
    let event = |body: &str| ok(&format!("<IfModule mpm_event_module>\n{body}</IfModule>\n"));
    // Not a multiple of ThreadsPerChild: rounded down (AH00513).
    let i = event("ThreadsPerChild 25\nMaxRequestWorkers 160\n");
    assert_eq!(i.model().front().pool.process_limit, 6);
    assert!(
        i.notes.iter().any(|n| n.contains("lowers it to 150")),
        "{:?}",
        i.notes
    );
    // Above ServerLimit x ThreadsPerChild: 16 processes by default (AH00515).
    let i = event("ThreadsPerChild 10\nMaxRequestWorkers 1000\n");
    assert_eq!(i.model().front().pool.process_limit, 16);
    // Below ThreadsPerChild: one process.
    let i = event("ThreadsPerChild 50\nMaxRequestWorkers 10\n");
    assert_eq!(i.model().front().pool.process_limit, 1);
    // ThreadsPerChild above ThreadLimit is lowered to it.
    let i = event("ThreadLimit 32\nThreadsPerChild 40\nMaxRequestWorkers 320\n");
    let m = i.model();
    assert_eq!(
        (m.front().pool.threads, m.front().pool.process_limit),
        (32, 10)
    );
    // MaxSpareThreads raised to MinSpareThreads + ThreadsPerChild; max_spare above min.
    let i = event("ThreadsPerChild 25\nMinSpareThreads 30\nMaxSpareThreads 40\n");
    let m = i.model();
    assert_eq!(
        (m.front().pool.min_spare, m.front().pool.max_spare),
        (Some(2), Some(3))
    );
    assert!(
        i.notes.iter().any(|n| n.contains("raises it to 55")),
        "{:?}",
        i.notes
    );
    // Apache's defaults: 3 processes at the start, 75 to 250 spare threads, 16 x 25.
    let i = event("  ServerName x\n");
    let p = &i.model().front().pool.clone();
    assert_eq!(
        (
            p.process_limit,
            p.threads,
            p.start_servers,
            p.min_spare,
            p.max_spare
        ),
        (16, 25, Some(3), Some(3), Some(10))
    );
    assert!(i
        .notes
        .iter()
        .any(|n| n.contains("none of event's directives")));
}

#[test]
fn the_loaded_mpm_is_said_and_chooses_the_model_when_the_file_has_no_mpm_section() {
    let i =
        ok("ServerName x\nLoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so\n");
    assert_eq!(i.model().front().pool.threads, 25);
    assert!(
        i.notes.iter().any(|n| n.contains(
            "mpm_event is the MPM this server loads (line 2: LoadModule mpm_event_module)"
        )),
        "{:?}",
        i.notes
    );
    let on_disk = [Enabled {
        mpm: Mpm::Event,
        by: "/etc/apache2/mods-enabled/mpm_event.load".into(),
    }];
    // A prefork file while the server loads event: the file's MPM, and a note.
    let i = import(DEBIAN, "mpm_prefork.conf", &on_disk).unwrap();
    assert_eq!(i.model().front().pool.process_limit, 150);
    assert!(
        i.notes
            .iter()
            .any(|n| n.contains("but this file configures prefork")),
        "{:?}",
        i.notes
    );
    // Thread directives at the top level and nothing loaded: a threaded MPM.
    let i = ok("ThreadsPerChild 10\nMaxRequestWorkers 40\n");
    assert_eq!(i.model().front().pool.process_limit, 4);
    assert!(i
        .notes
        .iter()
        .any(|n| n.contains("thread directives at the top level")));
}

#[test]
fn debians_mods_enabled_beside_the_file_or_its_folder_names_the_loaded_mpm() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("apache2.conf");
    std::fs::write(&conf, "ServerName x\n").unwrap();
    assert_eq!(mods_enabled(&conf), []);
    let enabled = dir.path().join("mods-enabled");
    std::fs::create_dir(&enabled).unwrap();
    std::fs::write(enabled.join("mpm_worker.load"), "").unwrap();
    std::fs::write(enabled.join("mpm_worker.conf"), "").unwrap();
    std::fs::write(enabled.join("ssl.load"), "").unwrap();
    let found = mods_enabled(&conf);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].mpm, Mpm::Worker);
    let available = dir.path().join("mods-available");
    std::fs::create_dir(&available).unwrap();
    assert_eq!(
        mods_enabled(&available.join("mpm_prefork.conf"))[0].mpm,
        Mpm::Worker
    );
}

#[test]
fn spare_settings_are_adjusted_as_prefork_does() {
    let i = ok("MinSpareServers 8\nMaxSpareServers 4\n");
    assert_eq!(
        (
            i.model().front().pool.min_spare,
            i.model().front().pool.max_spare
        ),
        (Some(8), Some(9))
    );
    let j = ok("MaxRequestWorkers 3\n");
    let model = j.model();
    let p = &model.front().pool;
    assert_eq!(
        (p.start_servers, p.min_spare, p.max_spare),
        (Some(3), Some(3), Some(3))
    );
}

#[test]
fn bad_numbers_and_listens_name_the_line() {
    let e = error("StartServers 5\nMaxRequestWorkers lots\n");
    assert!(
        e.starts_with("prefork.conf line 2: `MaxRequestWorkers lots`"),
        "{e}"
    );
    let e = error("Listen http\n");
    assert!(e.starts_with("prefork.conf line 1: `Listen http`"), "{e}");
    let e = error("ListenBacklog -5\n");
    assert!(e.starts_with("prefork.conf line 1:"), "{e}");
}
