//! `eagain import php-fpm` and `eagain import apache`: the sample configurations under
//! tests/data/php-fpm and tests/data/apache (Debian's own files among them) give the
//! expected model fields, the models load and simulate, unused settings are listed with
//! their lines, and bad input exits 2 with one paragraph that names the file and line.

use crate::common::{eagain, import_file, load_imported, root, write};
use eagain::model::{ListenerKind, MasterMode, OnRefused};
use predicates::str::contains;
use std::path::{Path, PathBuf};

fn data(dir: &str, name: &str) -> PathBuf {
    root("tests/data").join(dir).join(name)
}

/// Runs `eagain import SOURCE` on a sample; returns the model text (stdout) and stderr.
fn import(source: &str, name: &str, extra: &[&str]) -> (String, String) {
    import_file(source, &data(source, name), extra)
}

/// A bad sample: exit 2, nothing on stdout, one paragraph naming the file and the line.
fn refused(source: &str, name: &str, line: Option<usize>, extra: &[&str]) -> String {
    let out = eagain()
        .args(["import", source])
        .arg(data(source, name))
        .args(extra)
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(out.stdout.is_empty(), "no model on stdout for a bad input");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains(name), "stderr should name {name}: {err}");
    if let Some(line) = line {
        assert!(
            err.contains(&format!("{name} line {line}:")),
            "stderr should name {name} line {line}: {err}"
        );
    }
    assert_eq!(err.trim_end().lines().count(), 1, "one paragraph: {err}");
    err
}

/// Simulates a written model briefly; returns the JSON result.
fn simulate(model: &Path, extra: &[&str]) -> serde_json::Value {
    let stdout = eagain()
        .arg("simulate")
        .arg(model)
        .args(extra)
        .args(["--replications", "2", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&stdout).unwrap()
}

#[test]
fn php_fpm_debian_www_pool_gives_the_dynamic_master_with_its_spares() {
    let (toml, err) = import("php-fpm", "debian-www.conf", &[]);
    let m = load_imported(&toml);
    assert_eq!(m.front().master.mode, MasterMode::PhpFpmDynamic);
    assert_eq!(m.front().pool.process_limit, 5);
    assert_eq!(
        (
            m.front().pool.start_servers,
            m.front().pool.min_spare,
            m.front().pool.max_spare
        ),
        (Some(2), Some(1), Some(3))
    );
    assert_eq!(
        (m.front().master.tick, m.front().master.max_spawn_rate),
        (1.0, 32)
    );
    assert_eq!(
        (m.front().pool.client_limit, m.front().pool.service_count),
        (1, 0)
    );
    assert_eq!(m.front().listener.kind, ListenerKind::Unix);
    assert_eq!(m.front().listener.backlog, 4096);
    assert_eq!(m.load.on_refused, OnRefused::Fail);
    assert!(toml.contains("-1 on Linux for PHP 8.2"), "{toml}");
    // Debian's file: user, group, listen.owner, listen.group are listed with their lines.
    assert!(
        err.contains("4 settings of PHP-FPM pool [www] are not in the model"),
        "{err}"
    );
    assert!(err.contains("line 28: [www] user = www-data"), "{err}");
    assert!(
        err.contains("line 54: [www] listen.group = www-data"),
        "{err}"
    );
    assert!(toml.contains("pm.max_children (line 127)"), "{toml}");
}

#[test]
fn php_fpm_static_tcp_pool_is_a_prefork_pool_with_its_backlog() {
    let (toml, err) = import("php-fpm", "static-tcp.conf", &[]);
    let m = load_imported(&toml);
    assert_eq!(m.front().master.mode, MasterMode::Prefork);
    assert_eq!(m.front().pool.process_limit, 16);
    assert_eq!(m.front().pool.service_count, 500);
    assert_eq!(m.front().pool.min_spare, None);
    assert_eq!(m.front().listener.kind, ListenerKind::Tcp);
    assert_eq!(m.front().listener.backlog, 511);
    assert_eq!(m.load.connect_timeout, Some(60.0));
    assert!(
        err.contains("line 11: [api] pm.min_spare_servers = 2: read only with pm = dynamic"),
        "{err}"
    );
    assert!(
        err.contains("request_terminate_timeout = 30s (line 12) is left as a comment"),
        "{err}"
    );
    assert!(
        err.contains("line 13: [api] php_admin_value[memory_limit] = 128M"),
        "{err}"
    );
}

#[test]
fn php_fpm_ondemand_pool_takes_its_idle_timeout_and_simulates() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ondemand.toml");
    let assert = eagain()
        .args(["import", "php-fpm"])
        .arg(data("php-fpm", "ondemand.conf"))
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stderr(contains("wrote"));
    assert!(
        assert.get_output().stdout.is_empty(),
        "--out: nothing on stdout"
    );
    let m = load_imported(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(m.front().master.mode, MasterMode::PhpFpmOndemand);
    assert_eq!(m.front().pool.process_limit, 20);
    assert_eq!(m.front().pool.idle_kill, 30.0);
    assert_eq!(m.front().pool.service_count, 1000);
    let json = simulate(&out, &["--set", "load.duration=60"]);
    assert!(json["offered"].as_f64().unwrap() > 0.0, "{json}");
    assert!(json["served"].as_f64().unwrap() > 0.0, "{json}");
}

#[test]
fn php_fpm_debian_model_simulates_and_refuses_when_overloaded() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("www.toml");
    eagain()
        .args(["import", "php-fpm"])
        .arg(data("php-fpm", "debian-www.conf"))
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let json = simulate(&out, &["--set", "load.duration=60"]);
    assert_eq!(json["refused"].as_f64().unwrap(), 0.0, "{json}");
    // 5 children of 0.15 s serve about 33 a second; 200 a second fill 4097 places.
    let json = simulate(
        &out,
        &["--set", "load.duration=60", "--set", "load.rate=200"],
    );
    assert!(json["refused"].as_f64().unwrap() > 0.0, "{json}");
}

#[test]
fn php_fpm_pools_are_picked_with_pool_or_listed() {
    let err = refused("php-fpm", "two-pools.conf", None, &[]);
    assert!(
        err.contains("2 pools, [www], [admin]") && err.contains("--pool"),
        "{err}"
    );
    let (toml, err) = import("php-fpm", "two-pools.conf", &["--pool", "www"]);
    let m = load_imported(&toml);
    assert_eq!(m.front().pool.start_servers, Some(4), "2 + (6 - 2) / 2");
    assert!(
        err.contains("ignored 4 settings outside pool [www]"),
        "{err}"
    );
    let (toml, _) = import("php-fpm", "two-pools.conf", &["--pool", "admin"]);
    let m = load_imported(&toml);
    assert_eq!(
        (m.front().master.mode, m.front().pool.process_limit),
        (MasterMode::Prefork, 2)
    );
    assert_eq!(m.front().listener.kind, ListenerKind::Tcp);
    let err = refused("php-fpm", "two-pools.conf", None, &["--pool", "api"]);
    assert!(err.contains("its pools are [www], [admin]"), "{err}");
}

/// A pool file of `n` small pools `[p0]` to `[pN-1]`, four lines each.
fn many_pools(n: usize) -> String {
    (0..n)
        .map(|i| format!("[p{i}]\nlisten = /run/p{i}.sock\npm = static\npm.max_children = 5\n"))
        .collect()
}

#[test]
fn php_fpm_a_file_of_many_pools_is_read_in_one_pass_and_past_the_cap_refused_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    // As many pools as a file may hold: the last is found and modelled.
    let most = write(dir.path(), "most.conf", &many_pools(10_000));
    let (toml, err) = import_file("php-fpm", &most, &["--pool", "p9999"]);
    assert!(
        err.contains("ignored 29997 settings outside pool [p9999]"),
        "{err}"
    );
    assert_eq!(load_imported(&toml).front().pool.process_limit, 5);
    // Without --pool the names are listed, ten of them.
    let e = eagain()
        .args(["import", "php-fpm"])
        .arg(&most)
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    let e = String::from_utf8(e).unwrap();
    assert!(
        e.contains("10000 pools, [p0], [p1]") && e.contains("[p9] and 9990 more"),
        "{e}"
    );
    // One pool more: exit 2 at the line of the pool past the cap.
    let over = write(dir.path(), "over.conf", &many_pools(10_001));
    let e = eagain()
        .args(["import", "php-fpm"])
        .arg(&over)
        .args(["--pool", "p0"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(e.stdout.is_empty());
    let e = String::from_utf8(e.stderr).unwrap();
    assert!(
        e.contains("over.conf line 40001: [p10000] is pool 10001 of this file")
            && e.contains("at most 10000 pools a file"),
        "{e}"
    );
    assert_eq!(e.trim_end().lines().count(), 1, "one paragraph: {e}");
}

#[test]
fn php_fpm_bad_input_exits_2_naming_the_file_line_and_setting() {
    let err = refused("php-fpm", "bad-pm.conf", Some(3), &[]);
    assert!(
        err.contains("pm must be static, dynamic or ondemand"),
        "{err}"
    );
    let err = refused("php-fpm", "bad-number.conf", Some(4), &[]);
    assert!(
        err.contains("pm.max_children must be a whole number"),
        "{err}"
    );
    let err = refused("php-fpm", "bad-spares.conf", Some(6), &[]);
    assert!(
        err.contains("pm.max_spare_servers") && err.contains("pm.min_spare_servers"),
        "{err}"
    );
    let err = refused("php-fpm", "no-max-children.conf", Some(1), &[]);
    assert!(err.contains("pm.max_children"), "{err}");
    let err = refused("php-fpm", "not-a-pool.conf", Some(3), &[]);
    assert!(err.contains("not a pool file line"), "{err}");
    let err = refused("php-fpm", "debian-php-fpm.conf", None, &[]);
    assert!(
        err.contains("no pool section") && err.contains("not followed"),
        "{err}"
    );
    let err = refused("php-fpm", "../apache/debian-mpm_prefork.conf", Some(1), &[]);
    assert!(err.contains("`;` comments only"), "{err}");
}

#[test]
fn apache_debian_mpm_prefork_conf_gives_the_shipped_numbers() {
    let (toml, err) = import("apache", "debian-mpm_prefork.conf", &[]);
    let m = load_imported(&toml);
    assert_eq!(m.front().master.mode, MasterMode::ApachePrefork);
    assert_eq!(m.front().pool.process_limit, 150);
    assert_eq!(
        (
            m.front().pool.start_servers,
            m.front().pool.min_spare,
            m.front().pool.max_spare
        ),
        (Some(5), Some(5), Some(10))
    );
    assert_eq!(
        (m.front().pool.client_limit, m.front().pool.service_count),
        (1, 0)
    );
    assert_eq!(
        (m.front().master.tick, m.front().master.max_spawn_rate),
        (1.0, 32)
    );
    assert_eq!(m.front().listener.kind, ListenerKind::Tcp);
    assert_eq!(m.front().listener.backlog, 511);
    assert_eq!(m.load.connect_timeout, Some(30.0));
    assert!(
        err.contains("every setting of Apache prefork is in the model"),
        "{err}"
    );
    assert!(err.contains("no Listen in this file"), "{err}");
}

#[test]
fn apache_ifmodule_sections_old_names_and_the_server_limit_clamp() {
    let (toml, err) = import("apache", "ifmodule.conf", &[]);
    let m = load_imported(&toml);
    // MaxClients 400 is clamped to the default ServerLimit 256, and stderr says so.
    assert_eq!(m.front().pool.process_limit, 256);
    assert!(
        err.contains("MaxRequestWorkers 400 (line 11) is above ServerLimit 256"),
        "{err}"
    );
    assert_eq!(
        (
            m.front().pool.start_servers,
            m.front().pool.min_spare,
            m.front().pool.max_spare
        ),
        (Some(10), Some(10), Some(20))
    );
    assert_eq!(m.front().pool.service_count, 1000);
    assert_eq!(m.front().listener.backlog, 1024);
    assert!(toml.contains("Listen 127.0.0.1:8080 (line 2)"), "{toml}");
    // The event MPM's section, the keep-alive settings and Include are listed.
    for needle in [
        "line 4: KeepAlive On",
        "line 16: <IfModule mpm_event_module> StartServers 2: for another MPM",
        "line 17: <IfModule mpm_event_module> ThreadsPerChild 25",
        "line 18: <IfModule mpm_event_module> MaxRequestWorkers 150",
        "line 21: Include ports.conf: not followed",
    ] {
        assert!(err.contains(needle), "no `{needle}` in {err}");
    }
    let (toml, err) = import("apache", "server-limit.conf", &[]);
    assert_eq!(load_imported(&toml).front().pool.process_limit, 400);
    assert!(!err.contains("clamps"), "{err}");
}

#[test]
fn apache_whole_apache2_conf_has_the_defaults_and_simulates() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("apache.toml");
    let assert = eagain()
        .args(["import", "apache"])
        .arg(data("apache", "debian-apache2.conf"))
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stderr(contains("none of prefork's directives"))
        .stderr(contains(
            "IncludeOptional mods-enabled/*.conf: not followed",
        ));
    assert!(assert.get_output().stdout.is_empty());
    let m = load_imported(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(m.front().pool.process_limit, 256);
    assert_eq!(m.front().pool.start_servers, Some(5));
    let json = simulate(&out, &["--set", "load.duration=30"]);
    assert!(json["served"].as_f64().unwrap() > 0.0, "{json}");
}

#[test]
fn apache_debians_mpm_event_and_mpm_worker_conf_are_threads_in_processes_said_to_be_approximated() {
    for (name, mpm) in [
        ("debian-mpm_event.conf", "event"),
        ("debian-mpm_worker.conf", "worker"),
    ] {
        let (toml, err) = import("apache", name, &[]);
        let m = load_imported(&toml);
        let p = &m.front().pool;
        // ThreadsPerChild 25, MaxRequestWorkers 150: 6 processes of 25 threads; the
        // spare threads 25 and 75 as 1 and 3 idle processes.
        assert_eq!(m.front().master.mode, MasterMode::ApachePrefork);
        assert_eq!((p.process_limit, p.threads, p.client_limit), (6, 25, 25));
        assert_eq!(
            (p.start_servers, p.min_spare, p.max_spare, p.service_count),
            (Some(2), Some(1), Some(3), 0)
        );
        assert!(
            err.contains(&format!("Apache {mpm}: process_limit 6"))
                && err.contains("note: APPROXIMATED"),
            "{err}"
        );
        assert!(
            toml.contains("APPROXIMATED: the") && toml.contains("idle THREADS"),
            "{toml}"
        );
        let json = simulate(
            &write(tempfile::tempdir().unwrap().path(), "m.toml", &toml),
            &["--set", "load.duration=20"],
        );
        assert!(json["served"].as_f64().unwrap() > 0.0, "{json}");
    }
}

#[test]
fn apache_whole_apache2_conf_says_which_mpm_debians_mods_enabled_loads() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("apache2.conf");
    std::fs::copy(data("apache", "debian-apache2.conf"), &conf).unwrap();
    let enabled = dir.path().join("mods-enabled");
    std::fs::create_dir(&enabled).unwrap();
    write(
        &enabled,
        "mpm_event.load",
        "LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so\n",
    );
    let (toml, err) = import_file("apache", &conf, &[]);
    assert!(
        err.contains("note: mpm_event is the MPM this server loads (")
            && err.contains("mods-enabled/mpm_event.load): the model is of event"),
        "{err}"
    );
    assert!(err.contains("none of event's directives"), "{err}");
    // Apache's defaults for event: 16 processes of 25 threads.
    let m = load_imported(&toml);
    assert_eq!(
        (m.front().pool.process_limit, m.front().pool.threads),
        (16, 25)
    );
    // The same file next to a prefork server: the prefork defaults, and it says so.
    std::fs::remove_file(enabled.join("mpm_event.load")).unwrap();
    write(&enabled, "mpm_prefork.load", "");
    let (toml, err) = import_file("apache", &conf, &[]);
    assert!(
        err.contains("mpm_prefork is the MPM this server loads"),
        "{err}"
    );
    assert_eq!(load_imported(&toml).front().pool.process_limit, 256);
}

#[test]
fn apache_bad_input_exits_2_naming_the_file_and_line() {
    let err = refused("apache", "bad-number.conf", Some(3), &[]);
    assert!(
        err.contains("MaxRequestWorkers must be a whole number"),
        "{err}"
    );
    let err = refused("apache", "unbalanced.conf", Some(1), &[]);
    assert!(err.contains("never closed"), "{err}");
    let err = refused("apache", "not-apache.conf", Some(2), &[]);
    assert!(err.contains("not an Apache directive"), "{err}");
    let err = refused("apache", "../php-fpm/debian-www.conf", Some(1), &[]);
    assert!(err.contains("not an Apache directive"), "{err}");
}
