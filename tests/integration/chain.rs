//! Chains of services (SPEC section 8), against exact and hand-computed answers: a
//! tandem whose back service sees Poisson arrivals (Burke's theorem) refuses as
//! M/M/c/K; a master shared by two services forks for both, halving what the chain
//! carries; a proxy holds its slot for the next service's whole time; a process that
//! retries its hop accepts nothing meanwhile; a chain of one is the single service.

use crate::common::{assert_close, assert_covers, eagain, model, refusal, replications, run_once};
use eagain::analytic::mmck;

/// A chain of two services; `front` and `back` are the bodies of their tables after
/// `name`.
fn chain(load: &str, front: &str, back: &str) -> String {
    format!(
        "name = \"chain\"\n[load]\n{load}\n\n[[services]]\nname = \"front\"\nnext = \"back\"\n{front}\n\n[[services]]\nname = \"back\"\n{back}\n"
    )
}

#[test]
fn a_tandem_whose_back_sees_poisson_arrivals_refuses_as_mm_c_k() {
    // Front: M/M/3 with room for every connection (a queue far longer than it ever
    // gets); by Burke's theorem it hands connections on as a Poisson stream, so the
    // back, M/M/2 with a queue of 4 places (K = 6), refuses its exact p_K.
    let text = chain(
        "arrival = \"poisson\"\nrate = 8.0\nduration = 20000.0",
        "[services.listener]\nbacklog = 100000\nsomaxconn = 100000\n[services.pool]\nprocess_limit = 3\n[services.work]\nblocking = { dist = \"exponential\", mean = 0.2 }",
        "[services.listener]\nbacklog = 3\n[services.pool]\nprocess_limit = 2\n[services.work]\nblocking = { dist = \"exponential\", mean = 0.2 }",
    );
    let m = model(&text);
    let reps = replications(&m, 5, 20);
    let exact = mmck(8.0, 5.0, 2, 6).refusal_probability;
    assert_covers("end-to-end refusal", &refusal(&reps), exact, 0.05);
    assert!(
        reps.iter().all(|r| r.services[0].refused == 0),
        "the front refuses nothing"
    );
}

/// Forks per connection at one or both services, a fork time of 10 ms, arrivals far
/// above what the masters can fork for: the served rate over 100 s.
fn served_rate(front_master: &str, back_master: &str) -> f64 {
    let pool = |master: &str| {
        // A prefork pool keeps its processes (it forks only at the start).
        let count = if master.contains("prefork") { 0 } else { 1 };
        format!(
            "[services.listener]\nbacklog = 16\n[services.pool]\nprocess_limit = 50\n\
             service_count = {count}\n[services.master]\n{master}\n\
             fork_time = {{ dist = \"constant\", value = 0.01 }}\n[services.work]\n\
             blocking = {{ dist = \"constant\", value = 0.001 }}"
        )
    };
    let text = chain(
        "arrival = \"constant\"\nrate = 200.0\nduration = 100.0",
        &pool(front_master),
        &pool(back_master),
    );
    let s = run_once(&text);
    s.served as f64 / 100.0
}

#[test]
fn one_master_forking_for_both_services_carries_half_of_what_two_masters_do() {
    // A fork per connection at each service, f = 10 ms: one master forks 100 a
    // second, so the chain carries 1 / (2 f) = 50 connections a second; two masters
    // carry 1 / f = 100 each; a front that does not fork leaves the master to the back.
    let shared = "mode = \"per-connection\"\nprocess = \"dovecot\"";
    let one = served_rate(shared, shared);
    assert_close("one master", one, 50.0, 1.0);
    let two = served_rate("mode = \"per-connection\"", "mode = \"per-connection\"");
    assert_close("two masters", two, 100.0, 1.5);
    let prefork_front = served_rate("mode = \"prefork\"\nprocess = \"dovecot\"", shared);
    assert_close("a front that does not fork", prefork_front, 100.0, 1.5);
}

#[test]
fn a_proxy_holds_its_slot_for_the_next_services_whole_time() {
    // One front process (a queue of one), one back process busy 1 s a connection; ten
    // connections 0.1 s apart. Proxy: #1 holds the front until its reply at 1.1 s,
    // #2 waits in the front's queue, #3 to #10 find it full: 2 served, 8 refused.
    // Pass: the front lets each go to the back's long queue: all 10 served.
    let text = |handoff: &str| {
        chain(
            "arrival = \"constant\"\nrate = 10.0\nconnections = 10",
            &format!(
                "handoff = \"{handoff}\"\n[services.listener]\nbacklog = 0\n[services.pool]\nprocess_limit = 1\n[services.work]\nblocking = {{ dist = \"constant\", value = 0.0 }}"
            ),
            "[services.listener]\nbacklog = 100\n[services.pool]\nprocess_limit = 1\n[services.work]\nblocking = { dist = \"constant\", value = 1.0 }",
        )
    };
    let s = run_once(&text("proxy"));
    assert_eq!((s.served, s.refused), (2, 8));
    assert_close("#2's latency", s.latency_s.max, 2.1 - 0.2, 1e-9);
    let s = run_once(&text("pass"));
    assert_eq!((s.served, s.refused), (10, 0));
}

#[test]
fn a_process_retrying_its_hop_accepts_nothing_until_it_gives_up() {
    // imap-login with two slots retries a full imap every 50 ms for 0.5 s. #1 and #2
    // reach imap (one served, one queued); #3 retries from 0.3 s, blocking its
    // process until it gives up at 0.75 s: #4 (0.4 s) and #5 (0.5 s) wait in the
    // front queue until then (0.35 s and 0.25 s), then retry in turn and give up.
    let text = chain(
        "arrival = \"constant\"\nrate = 10.0\nconnections = 5",
        "[services.connect]\non_refused = \"retry\"\nretry_pause = { dist = \"constant\", value = 0.05 }\n[services.listener]\nbacklog = 10\n[services.pool]\nprocess_limit = 1\nclient_limit = 2\n[services.work]\nblocking = { dist = \"constant\", value = 0.0 }",
        "[services.listener]\nbacklog = 0\n[services.pool]\nprocess_limit = 1\n[services.work]\nblocking = { dist = \"constant\", value = 10.0 }",
    );
    let reps = replications(&model(&text), 1, 1);
    let s = crate::common::summary(&reps[0]);
    assert_eq!((s.served, s.refused), (2, 3));
    assert_close(
        "front queue wait (mean)",
        s.queue_wait_s.mean,
        (0.35 + 0.25) / 5.0,
        1e-6,
    );
    assert_close("front queue wait (p99)", s.queue_wait_s.p99, 0.35, 1e-3);
    assert_eq!(
        reps[0].services[1].refused, 3,
        "refused at imap, after the retries"
    );
}

#[test]
fn a_chain_of_one_service_is_the_single_service_model() {
    let single = r#"name = "one"
[load]
rate = 9.0
duration = 2000.0
[listener]
backlog = 9
[pool]
process_limit = 10
[work]
blocking = { dist = "exponential", mean = 1.0 }
"#;
    let one = r#"name = "one"
[load]
rate = 9.0
duration = 2000.0
[[services]]
name = "only"
[services.listener]
backlog = 9
[services.pool]
process_limit = 10
[services.work]
blocking = { dist = "exponential", mean = 1.0 }
"#;
    let a = replications(&model(single), 3, 4);
    let b = replications(&model(one), 3, 4);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            (x.offered, x.served, x.refused, x.events),
            (y.offered, y.served, y.refused, y.events)
        );
    }
}

#[test]
fn bad_chains_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let good_back = "[services.listener]\nbacklog = 1\n[services.pool]\nprocess_limit = 1\n[services.work]\nblocking = { dist = \"constant\", value = 1.0 }";
    let front = |extra: &str| format!("{extra}\n{good_back}");
    let case = |text: String, phrases: &[&str]| {
        let p = crate::common::write(dir.path(), "c.toml", &text);
        let out = eagain()
            .args(["simulate", p.to_str().unwrap()])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(2), "{err}");
        for ph in phrases {
            assert!(err.contains(ph), "no `{ph}` in {err}");
        }
    };
    let load = "rate = 1.0\nduration = 10.0";
    case(
        chain(load, &front(""), good_back).replace("next = \"back\"", "next = \"nope\""),
        &["`services.front.next`", "names no service"],
    );
    case(
        chain(load, &front(""), &format!("next = \"front\"\n{good_back}")),
        &["makes a cycle"],
    );
    case(
        chain(load, &front(""), good_back).replace("name = \"back\"", "name = \"front\""),
        &["two services are named `front`"],
    );
    case(
        chain(
            load,
            &front(""),
            &format!("handoff = \"proxy\"\n{good_back}"),
        ),
        &["`services.back.handoff`", "no next"],
    );
    case(
        chain(
            load,
            &front(""),
            &format!("{good_back}\n[services.connect]\non_refused = \"retry\""),
        ),
        &["`services.back.connect`", "no next"],
    );
    let p = crate::common::write(dir.path(), "c.toml", &chain(load, &front(""), good_back));
    let out = eagain()
        .args(["simulate", p.to_str().unwrap()])
        .args(["--set", "services.imap.pool.process_limit=2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no service is named `imap`"));
}

#[test]
fn a_dovecot_version_applies_to_every_service_of_its_master() {
    // Only imap names the version; imap-login shares its master, so it too leaves
    // its backlog out and gets 2.2.25's: 1000 × 1 cut to 511 (semantics:
    // dovecot-backlog-cap), a queue of 512.
    let text = |login_version: &str| {
        format!(
            "name = \"dovecot\"\n[load]\nrate = 1.0\nduration = 10.0\n\n\
             [[services]]\nname = \"imap-login\"\nnext = \"imap\"\n\
             master = {{ mode = \"on-demand\", process = \"dovecot\"{login_version} }}\n\
             pool = {{ process_limit = 1000 }}\n\
             work = {{ blocking = {{ dist = \"constant\", value = 0.01 }} }}\n\n\
             [[services]]\nname = \"imap\"\n\
             master = {{ mode = \"on-demand\", process = \"dovecot\", dovecot_version = \"2.2.25\" }}\n\
             pool = {{ process_limit = 2 }}\n\
             work = {{ blocking = {{ dist = \"constant\", value = 0.1 }} }}\n"
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let p = crate::common::write(dir.path(), "d.toml", &text(""));
    let out = eagain()
        .args(["simulate", p.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cap = |s: &str| v["services"][s]["effective"]["queue_capacity"].as_u64();
    assert_eq!(cap("imap-login"), Some(512));
    assert_eq!(
        cap("imap"),
        Some(5),
        "2 × 1 raised to Dovecot's least backlog, 4"
    );

    let p = crate::common::write(
        dir.path(),
        "d.toml",
        &text(", dovecot_version = \"2.3.21\""),
    );
    let out = eagain()
        .args(["simulate", p.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("`services.imap.master.dovecot_version`"),
        "{err}"
    );
    assert!(err.contains("one master runs one version"), "{err}");
}

#[test]
fn a_saturated_master_is_busy_all_of_the_window_and_no_more() {
    // The shared master of the halving test, asked for more forks of 10 ms than it
    // can make: it is busy the whole window, and the forks still queued when the
    // window ends are not counted as time inside it.
    let shared = "mode = \"per-connection\"\nprocess = \"dovecot\"\n\
                  fork_time = { dist = \"constant\", value = 0.01 }";
    let pool = format!(
        "[services.listener]\nbacklog = 16\n[services.pool]\nprocess_limit = 50\n\
         service_count = 1\n[services.master]\n{shared}\n[services.work]\n\
         blocking = {{ dist = \"constant\", value = 0.001 }}"
    );
    let text = chain(
        "arrival = \"constant\"\nrate = 200.0\nduration = 100.0",
        &pool,
        &pool,
    );
    let rep = &replications(&model(&text), 1, 1)[0];
    let busy = rep.masters[0].busy_s / rep.window;
    assert!((0.99..=1.0).contains(&busy), "busy fraction {busy}");
}

#[test]
fn an_error_inside_a_service_names_the_service_and_its_line_and_a_set_is_blamed_on_the_set() {
    // toml names no entry of an array of tables ("services.handoff",
    // "services.pool.process_limit", paths no file has): the entry is found and named.
    let dir = tempfile::tempdir().unwrap();
    let good_back = "[services.listener]\nbacklog = 1\n[services.pool]\nprocess_limit = 1\n[services.work]\nblocking = { dist = \"constant\", value = 1.0 }";
    let load = "rate = 1.0\nduration = 10.0";
    let run = |text: &str, sets: &[&str]| {
        let p = crate::common::write(dir.path(), "c.toml", text);
        let mut c = eagain();
        c.args(["simulate", p.to_str().unwrap()]);
        for s in sets {
            c.args(["--set", s]);
        }
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(out.stdout.is_empty());
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let good = chain(load, good_back, good_back);
    let line_of = |text: &str, l: &str| text.lines().position(|x| x == l).unwrap() + 1;
    let bad_handoff = chain(
        load,
        &format!("handoff = \"proxxy\"\n{good_back}"),
        good_back,
    );
    let err = run(&bad_handoff, &[]);
    assert!(
        err.contains(&format!(
            "c.toml line {}: `services.front.handoff`: unknown variant `proxxy`",
            line_of(&bad_handoff, "handoff = \"proxxy\"")
        )),
        "{err}"
    );
    let negative = good.replace(
        "name = \"back\"\n[services.listener]\nbacklog = 1\n[services.pool]\nprocess_limit = 1",
        "name = \"back\"\n[services.listener]\nbacklog = 1\n[services.pool]\nprocess_limit = -2",
    );
    let line = line_of(&negative, "process_limit = -2");
    let err = run(&negative, &[]);
    assert!(
        err.contains(&format!(
            "c.toml line {line}: `services.back.pool.process_limit`: invalid value"
        )),
        "{err}"
    );
    let unknown = chain(load, &format!("nxt = 1\n{good_back}"), good_back);
    let err = run(&unknown, &[]);
    assert!(
        err.contains(&format!(
            "line {}: `services.front.nxt`: unknown field `nxt`",
            line_of(&unknown, "nxt = 1")
        )),
        "{err}"
    );
    // An entry with no name is named by its place, at its header's line.
    let nameless = good.replace("name = \"back\"\n", "");
    let header = nameless.rfind("[[services]]").unwrap();
    let line = nameless[..header].matches('\n').count() + 1;
    let err = run(&nameless, &[]);
    assert!(
        err.contains(&format!("line {line}: `services[1]`: missing field `name`")),
        "{err}"
    );
    // A --set's bad value is the --set's, not the file's.
    for (set, path) in [
        (
            "services.back.pool.process_limit=-1",
            "`services.back.pool.process_limit`: invalid value",
        ),
        (
            "services.front.handoff=bogus",
            "`services.front.handoff`: unknown variant `bogus`",
        ),
        (
            "services.back.pool.process_limit=0",
            "`services.back.pool.process_limit`: must be at least 1",
        ),
    ] {
        let err = run(&good, &[set]);
        assert!(
            err.contains(&format!("c.toml (from --set {set}): {path}")),
            "{err}"
        );
    }
}

#[test]
fn a_chain_of_more_than_100_services_is_refused_naming_the_cap() {
    let text = |n: usize| {
        let mut t = "name = \"long\"\n[load]\nrate = 1.0\nduration = 10.0\n".to_string();
        for i in 0..n {
            t += &format!("\n[[services]]\nname = \"s{i}\"\n");
            if i + 1 < n {
                t += &format!("next = \"s{}\"\n", i + 1);
            }
            t += "pool = { process_limit = 1 }\nlistener = { backlog = 1 }\n\
                  work = { blocking = { dist = \"constant\", value = 0.001 } }\n";
        }
        t
    };
    assert_eq!(model(&text(100)).services.len(), 100);
    let dir = tempfile::tempdir().unwrap();
    let p = crate::common::write(dir.path(), "long.toml", &text(101));
    let out = eagain()
        .args(["simulate", p.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("long.toml line 6: `services`: 101 services: a chain has at most 100"),
        "{err}"
    );
}
