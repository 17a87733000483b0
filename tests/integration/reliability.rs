//! Bounded in time and memory on any input: one test per class of input that once made
//! eagain panic, abort, hang or mix results (the reliability issue), each now refused
//! with exit 2 and a one-line message that names the field, or handled within its
//! stated bounds.

use crate::common::{eagain, write};
use std::path::Path;

const MODEL: &str = r#"name = "small"
[load]
rate = 5.0
duration = 10.0
[listener]
backlog = 16
[pool]
process_limit = 2
[work]
blocking = { dist = "exponential", mean = 0.1 }
"#;

/// Runs eagain with `args` and asserts exit 2, nothing on stdout, and one short line
/// on stderr containing every phrase.
fn refused(args: &[&str], phrases: &[&str]) -> String {
    let out = eagain().args(args).output().expect("eagain runs");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(out.stdout.is_empty(), "{args:?}: stdout not empty");
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    assert!(err.len() < 2_200, "{args:?}: {} bytes of stderr", err.len());
    for p in phrases {
        assert!(err.contains(p), "{args:?}: no `{p}` in {err}");
    }
    err
}

fn model_file(dir: &Path) -> String {
    write(dir, "m.toml", MODEL).display().to_string()
}

#[test]
fn class_2_loads_beyond_the_budget_or_memory_are_refused_before_they_run() {
    let d = tempfile::tempdir().unwrap();
    let m = model_file(d.path());
    refused(
        &["simulate", &m, "--set", "load.rate=1e9"],
        &["`load.duration`", "sim.max_connections"],
    );
    refused(
        &["simulate", &m, "--set", "pool.process_limit=1000000000"],
        &["`pool.process_limit`", "1000000"],
    );
    refused(
        &["simulate", &m, "--replications", "1000000000"],
        &["--replications", "at most 1000000"],
    );
    for file in ["/dev/zero", "/tmp"] {
        refused(
            &[
                "simulate",
                &m,
                "--set",
                &format!("work.blocking={{ dist = \"empirical\", file = \"{file}\" }}"),
            ],
            &["`work.blocking`", file],
        );
    }
}

/// Runs `cmd` to its end while sampling its peak resident memory (VmHWM), in KiB.
fn peak_memory_kib(mut cmd: std::process::Command) -> (std::process::Output, u64) {
    use std::process::Stdio;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("eagain starts");
    let status = format!("/proc/{}/status", child.id());
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut { stdout }, &mut out).unwrap();
        out
    });
    let mut peak = 0;
    while child.try_wait().unwrap().is_none() {
        if let Ok(s) = std::fs::read_to_string(&status) {
            if let Some(kib) = s
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            {
                peak = peak.max(kib);
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut out = child.wait_with_output().unwrap();
    out.stdout = reader.join().unwrap();
    (out, peak)
}

#[test]
fn class_2_many_replications_run_in_flat_memory() {
    // 100,000 replications of ten connections: their statistics are folded in as they
    // finish, so this needs a few dozen megabytes, where keeping each replication's
    // histograms took about 4 GB.
    let d = tempfile::tempdir().unwrap();
    let m = write(
        d.path(),
        "ten.toml",
        &MODEL.replace("duration = 10.0", "connections = 10"),
    );
    let mut cmd = std::process::Command::new(crate::common::bin());
    cmd.args(["simulate", m.to_str().unwrap(), "--format", "json"])
        .args(["--replications", "100000"]);
    let (out, peak) = peak_memory_kib(cmd);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["offered"], 1_000_000);
    assert_eq!(v["replications"], 100_000);
    assert!(peak < 300 * 1024, "peak memory {peak} KiB");
}

#[test]
fn class_3_distributions_that_overflow_are_refused_naming_the_parameter() {
    let d = tempfile::tempdir().unwrap();
    let m = model_file(d.path());
    for (dist, word) in [
        ("{ dist = \"gamma\", mean = 1e-200, sd = 1e200 }", "`sd`"),
        ("{ dist = \"gamma\", mean = 1e-200, sd = 1 }", "`mean`"),
        ("{ dist = \"lognormal\", mean = 1, sd = 1e200 }", "`sd`"),
        (
            "{ dist = \"lognormal\", mean = 1, sd = 1e8 }",
            "times the mean",
        ),
        (
            "{ dist = \"uniform\", low = 0, high = 1.7976931348623157e308 }",
            "`high`",
        ),
        ("{ dist = \"pareto\", scale = 1, shape = 0.001 }", "`shape`"),
        ("{ dist = \"constant\", value = 1e308 }", "`value`"),
    ] {
        refused(
            &["simulate", &m, "--set", &format!("work.blocking={dist}")],
            &["`work.blocking`", word],
        );
    }
}

#[test]
fn class_4_runs_without_end_are_refused_or_bounded() {
    let d = tempfile::tempdir().unwrap();
    let m = model_file(d.path());
    let conns = write(
        d.path(),
        "c.toml",
        &MODEL.replace("duration = 10.0", "connections = 1000000000000000"),
    );
    refused(
        &["simulate", conns.to_str().unwrap()],
        &["`load.connections`", "sim.max_connections"],
    );
    refused(
        &["simulate", &m, "--set", "load.duration=1e12"],
        &["`load.duration`", "sim.max_connections"],
    );
    refused(
        &[
            "simulate",
            &m,
            "--set",
            "load.on_refused=retry",
            "--set",
            "load.retry_pause={ dist = \"constant\", value = 1e-300 }",
        ],
        &["`load.retry_pause`", "1e-6"],
    );
    refused(
        &[
            "sweep",
            &m,
            "--vary",
            "load.rate=1:2:x1.0000000000000002",
            "--out",
            d.path().join("o").to_str().unwrap(),
        ],
        &["--vary", "at most 1000000"],
    );
    // A target that every rate meets: the search stops at the budget, not never.
    let out = eagain()
        .args(["plan", &m, "--solve", "load.rate"])
        .args(["--target", "refusal_probability<=1", "--replications", "2"])
        .args(["--set", "sim.max_connections=100000"])
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.ends_with("load.rate=inf\n"), "{text}");
}

#[test]
fn class_4_a_replication_past_its_event_budget_stops_with_the_setting_named() {
    // Clients that retry every microsecond for a long window against one busy
    // process: within the connection budget, but each connection retries thousands
    // of times, so the event budget (64 per connection) stops it.
    let d = tempfile::tempdir().unwrap();
    let m = write(
        d.path(),
        "r.toml",
        &MODEL
            .replace("rate = 5.0", "rate = 50.0")
            .replace(
                "[listener]",
                "on_refused = \"retry\"\nretry_for = 100\nretry_pause = { dist = \"constant\", value = 1e-4 }\n[listener]",
            )
            .replace("backlog = 16", "backlog = 0")
            .replace("process_limit = 2", "process_limit = 1")
            .replace("mean = 0.1", "mean = 10"),
    );
    refused(
        &[
            "simulate",
            m.to_str().unwrap(),
            "--replications",
            "1",
            "--set",
            "sim.max_connections=1000",
        ],
        &["events", "sim.max_connections"],
    );
}

/// A finished 4-point sweep into `out`, optionally one shard of it.
fn sweep(m: &str, out: &Path, extra: &[&str]) {
    let o = eagain()
        .args([
            "sweep",
            m,
            "--vary",
            "load.rate=2,4,6,8",
            "--replications",
            "2",
        ])
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// The lines of the progress file of the 4-point sweep run as shard 0/1, as an
/// interrupted run leaves them: its identity and the line of point `i`, each with the
/// integrity check a finished shard records for it (the same check).
fn interrupted(m: &str, out: &Path) -> (String, impl Fn(usize) -> String) {
    let d = tempfile::tempdir().unwrap();
    sweep(m, d.path(), &["--shard", "0/1"]);
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.path().join("results.json")).unwrap()).unwrap();
    let header = serde_json::json!({
        "arguments": results["arguments"],
        "shard": { "k": 0, "n": 1 },
        "build": results["sealed"]["build"],
    });
    let line = move |i: usize| {
        serde_json::json!({
            "record": results["points"][i],
            "wall_s": 0.1,
            "check": results["sealed"]["checks"][i],
        })
        .to_string()
    };
    std::fs::create_dir_all(out).unwrap();
    (header.to_string(), line)
}

const RESUME: [&str; 6] = [
    "--vary",
    "load.rate=2,4,6,8",
    "--replications",
    "2",
    "--shard",
    "0/1",
];

#[test]
fn class_5_resume_refuses_lines_of_another_sweep_duplicates_edits_and_foreign_indices() {
    let d = tempfile::tempdir().unwrap();
    let m = model_file(d.path());
    let out = d.path().join("o");
    let (header, line) = interrupted(&m, &out);
    let progress = out.join("progress.jsonl");
    let resume = |body: &[u8], phrases: &[&str]| {
        let mut text = format!("{header}\n").into_bytes();
        text.extend_from_slice(body);
        text.push(b'\n');
        std::fs::write(&progress, text).unwrap();
        let mut args = vec!["sweep", &m];
        args.extend(RESUME);
        args.extend(["--resume", "--out", out.to_str().unwrap()]);
        let mut want = vec!["--resume"];
        want.extend(phrases);
        refused(&args, &want);
    };
    resume(
        format!("{}\n{}", line(0), line(0)).as_bytes(),
        &["line 3", "appears twice"],
    );
    resume(
        format!("not json\n{}", line(1)).as_bytes(),
        &["line 2", "not a finished point"],
    );
    // A point's numbers or its index edited by hand: its integrity check says so.
    let refused_count = |l: &str| -> String {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        v["record"]["result"]["refused"].to_string()
    };
    let edited = line(1).replacen(
        &format!("\"refused\":{}", refused_count(&line(1))),
        &format!(
            "\"refused\":{}",
            refused_count(&line(1)).parse::<u64>().unwrap() + 1
        ),
        1,
    );
    assert_ne!(edited, line(1));
    resume(
        format!("{}\n{edited}", line(0)).as_bytes(),
        &["line 3", "changed after eagain wrote it", "integrity check"],
    );
    resume(
        line(0).replace("\"index\":0", "\"index\":9").as_bytes(),
        &["line 2", "integrity check"],
    );
    // A byte that is not UTF-8, named with its line and the file.
    let mut bad = line(0).into_bytes();
    bad.extend_from_slice(b"\n\xff\xfe{}");
    resume(&bad, &["line 3", "not UTF-8", "progress.jsonl"]);
    // A progress file of another build (or one that recorded none) is not resumed.
    let old = header.replace("\"build\":", "\"nobuild\":");
    std::fs::write(&progress, format!("{old}\n{}\n", line(0))).unwrap();
    let mut args = vec!["sweep", &m];
    args.extend(RESUME);
    args.extend(["--resume", "--out", out.to_str().unwrap()]);
    refused(&args, &["another build of eagain", "recorded no build"]);
}

#[test]
fn class_5_a_cut_short_last_line_resumes_to_the_bytes_of_an_uninterrupted_run() {
    let d = tempfile::tempdir().unwrap();
    let m = model_file(d.path());
    let out = d.path().join("o");
    let (header, line) = interrupted(&m, &out);
    // A kill while the third line was written: two whole lines, half of the third.
    let third = line(2);
    std::fs::write(
        out.join("progress.jsonl"),
        format!(
            "{header}\n{}\n{}\n{}",
            line(0),
            line(1),
            &third[..third.len() / 2]
        ),
    )
    .unwrap();
    let whole = d.path().join("whole");
    sweep(&m, &whole, &["--shard", "0/1"]);
    sweep(&m, &out, &["--shard", "0/1", "--resume"]);
    for f in ["results.csv", "results.json"] {
        assert_eq!(
            std::fs::read(whole.join(f)).unwrap(),
            std::fs::read(out.join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn class_5_a_progress_file_above_256_mib_is_refused_before_it_is_read() {
    let d = tempfile::tempdir().unwrap();
    let m = model_file(d.path());
    let out = d.path().join("o");
    std::fs::create_dir_all(&out).unwrap();
    // Sparse: 257 MiB long, no disk used.
    std::fs::File::create(out.join("progress.jsonl"))
        .unwrap()
        .set_len(257 << 20)
        .unwrap();
    let mut args = vec!["sweep", &m];
    args.extend(RESUME);
    args.extend(["--resume", "--out", out.to_str().unwrap()]);
    refused(&args, &["--resume", "progress.jsonl", "256 MiB"]);
}

#[test]
fn class_5_two_sweeps_into_one_folder_are_kept_apart_by_a_lock() {
    let d = tempfile::tempdir().unwrap();
    let m = model_file(d.path());
    let out = d.path().join("o");
    std::fs::create_dir_all(&out).unwrap();
    // The lock held by another process (this test), which names itself in it.
    let lock = std::fs::File::create(out.join(".eagain.lock")).unwrap();
    lock.try_lock().unwrap();
    std::fs::write(out.join(".eagain.lock"), "process 4242 on host elsewhere").unwrap();
    refused(
        &[
            "sweep",
            &m,
            "--vary",
            "load.rate=2,4",
            "--out",
            out.to_str().unwrap(),
        ],
        &[
            out.to_str().unwrap(),
            "being written by another eagain",
            "process 4242 on host elsewhere",
            "another --out",
        ],
    );
    // Released (its process ended): the folder is free again, whatever the file says.
    drop(lock);
    sweep(&m, &out, &[]);
    assert!(!out.join(".eagain.lock").exists());
}

#[test]
fn class_6_merge_refuses_edited_results() {
    let d = tempfile::tempdir().unwrap();
    let m = model_file(d.path());
    let shard = d.path().join("s0");
    sweep(&m, &shard, &["--shard", "0/2"]);
    let json = shard.join("results.json");
    let original = std::fs::read_to_string(&json).unwrap();
    let merge = |edited: &str, phrase: &str| {
        assert_ne!(edited, original);
        std::fs::write(&json, edited).unwrap();
        refused(
            &[
                "merge",
                shard.to_str().unwrap(),
                "--out",
                d.path().join("m").to_str().unwrap(),
            ],
            &[phrase],
        );
        assert!(
            !d.path().join("m").exists(),
            "a refused merge writes nothing"
        );
    };
    merge(
        &original.replace("\"index\": 2", "\"index\": 7"),
        "point 7 was changed after the shard wrote it",
    );
    merge(
        &original.replace("\"total_points\": 4", "\"total_points\": 1000000000000"),
        "its --vary axes make 4",
    );
    merge(&original.replace("\"n\": 2", "\"n\": 0"), "not a K/N");
    merge(
        &original.replace("\"index\": 2", "\"index\": 1"),
        "integrity check",
    );
    merge(
        &original.replacen("\"served\": ", "\"served\": 1", 1),
        "integrity check",
    );
    merge(
        &original.replacen("\"seed\": 1", "\"seed\": 2", 1),
        "integrity check",
    );
    std::fs::write(&json, &original).unwrap();
    // --out onto the shard itself would overwrite the input.
    refused(
        &[
            "merge",
            shard.to_str().unwrap(),
            "--out",
            shard.to_str().unwrap(),
        ],
        &["shard folder"],
    );
}

#[test]
fn class_7_an_infinite_metric_is_refused_at_its_source() {
    // Blocking of 1e308 s once made infinite sums written as null; durations are now
    // at most 1e9 s, so every metric is finite (and inf would read back as "inf").
    let d = tempfile::tempdir().unwrap();
    let m = model_file(d.path());
    refused(
        &[
            "simulate",
            &m,
            "--set",
            "work.blocking={ dist = \"constant\", value = 1e308 }",
        ],
        &["`work.blocking`", "31 years"],
    );
}

#[test]
fn class_9_a_geometric_rate_axis_keeps_its_fractions() {
    let d = tempfile::tempdir().unwrap();
    let m = model_file(d.path());
    let out = d.path().join("o");
    let o = eagain()
        .args([
            "sweep",
            &m,
            "--vary",
            "load.rate=1:10:x1.5",
            "--replications",
            "2",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read_to_string(out.join("results.csv")).unwrap();
    let rates: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(rates, ["1.0", "1.5", "2.25", "3.375", "5.0625", "7.59375"]);
    // A whole-number path keeps whole numbers.
    let out2 = d.path().join("p");
    let o = eagain()
        .args(["sweep", &m, "--vary", "pool.process_limit=1:10:x1.5"])
        .args(["--replications", "2", "--out", out2.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success());
    let csv = std::fs::read_to_string(out2.join("results.csv")).unwrap();
    let limits: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(limits, ["1", "2", "3", "5", "8"]);
}

#[test]
fn class_11_smaller_cases_exit_2_with_a_short_message() {
    let d = tempfile::tempdir().unwrap();
    let m = model_file(d.path());
    let file = write(d.path(), "a-file", "x");
    refused(
        &[
            "sweep",
            &m,
            "--vary",
            "load.rate=1,2",
            "--out",
            file.to_str().unwrap(),
        ],
        &["cannot create the output folder"],
    );
    let bad_csv = write(d.path(), "bad.csv", "a,b\n\"unclosed,1\n");
    refused(
        &["plot", bad_csv.to_str().unwrap(), "--out", "/tmp/x.png"],
        &["bad.csv"],
    );
    refused(
        &[
            "sweep",
            &m,
            "--vary",
            "load.rate=1,2",
            "--threads",
            "100000",
        ],
        &["--threads 100000", "at most 1024"],
    );
    let long = format!("load.rate={}", "9".repeat(100_000));
    let e = refused(&["simulate", &m, "--set", &long], &["characters"]);
    assert!(e.len() < 1_000, "{} bytes", e.len());
    refused(
        &["sweep", &m, "--vary", "load.rate=0:1e12:1e-12"],
        &["1.000e24 values"],
    );
    let csv = d.path().join("o");
    sweep(&m, &csv, &[]);
    refused(
        &[
            "plot",
            csv.join("results.csv").to_str().unwrap(),
            "--out",
            d.path().join("t.png").to_str().unwrap(),
            "--target",
            "nan",
        ],
        &["--target"],
    );
    refused(
        &[
            "analytic",
            "md1k",
            "--rate",
            "1",
            "--service",
            "1",
            "--capacity",
            "4294967295",
        ],
        &["--capacity", "at most"],
    );
    let conf = write(d.path(), "d.conf", "# 2.3.21: x\n");
    refused(
        &[
            "import",
            "doveconf",
            conf.to_str().unwrap(),
            "--out",
            conf.to_str().unwrap(),
        ],
        &["the file being imported"],
    );
    let fifo = d.path().join("fifo.toml");
    let path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
    refused(
        &["simulate", fifo.to_str().unwrap()],
        &["not a regular file"],
    );
}

#[test]
fn class_11_zero_offered_connections_give_no_refusal_probability_and_meet_no_target() {
    let d = tempfile::tempdir().unwrap();
    let m = model_file(d.path());
    let out = eagain()
        .args(["simulate", &m, "--format", "json"])
        .args(["--set", "sim.warmup=9.9", "--set", "load.rate=0.01"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["offered"], 0);
    assert!(v["refusal_probability"]["mean"].is_null(), "{v}");
}

#[test]
fn class_11_a_new_sweep_leaves_no_chart_of_the_old_one() {
    let d = tempfile::tempdir().unwrap();
    let m = model_file(d.path());
    let out = d.path().join("o");
    let o = eagain()
        .args([
            "sweep",
            &m,
            "--vary",
            "load.rate=2,4",
            "--vary",
            "pool.process_limit=1,2",
        ])
        .args(["--replications", "2", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(out.join("heatmap.png").exists());
    sweep(&m, &out, &[]);
    assert!(
        !out.join("heatmap.png").exists(),
        "the one-axis sweep draws no heat map"
    );
}

#[test]
fn class_8_doveconf_nested_without_end_is_refused_at_its_line() {
    let d = tempfile::tempdir().unwrap();
    let text = format!(
        "# 2.3.21 (abc): /etc/dovecot/dovecot.conf\n{}{}",
        "a {\n".repeat(200_000),
        "}\n".repeat(200_000)
    );
    let conf = write(d.path(), "deep.conf", &text);
    refused(
        &["import", "doveconf", conf.to_str().unwrap()],
        &["deep.conf line 34", "nested more than 32"],
    );
}

/// The issue-22 classes: what a model can make of a distribution's derived parameters,
/// and of the time steps and drains that escaped the event budget.
#[test]
fn class_12_a_spread_too_narrow_to_draw_is_refused_on_every_distribution_field() {
    // A gamma's scale (sd^2 / mean) underflowed to 0 and rand_distr refused it with a
    // panic; a lognormal's sigma was lost in rounding. Both kinds, any field.
    let d = tempfile::tempdir().unwrap();
    let m = model_file(d.path());
    for sd in ["1e-200", "5e-324", "1e-7"] {
        for kind in ["gamma", "lognormal"] {
            for field in ["work.blocking", "master.startup", "work.hold"] {
                let dist = format!("{field}={{ dist = \"{kind}\", mean = 1, sd = {sd} }}");
                refused(
                    &["simulate", &m, "--set", &dist],
                    &[&format!("`{field}`"), "`sd`", "1e-6", "`sd` = 0"],
                );
            }
        }
    }
    // In a file, the line and the service's own path.
    let chain = write(
        d.path(),
        "chain.toml",
        "name = \"c\"\n[load]\nrate = 1\nduration = 10\n[[services]]\nname = \"web\"\n\
         [services.listener]\nbacklog = 4\n[services.pool]\nprocess_limit = 1\n\
         [services.master]\nstartup = { dist = \"gamma\", mean = 1, sd = 1e-200 }\n\
         [services.work]\nblocking = 0.1\n",
    );
    refused(
        &["simulate", chain.to_str().unwrap()],
        &[
            "chain.toml line 12",
            "`services.web.master.startup`",
            "`sd`",
        ],
    );
}

/// A model whose one connection works for far longer than its arrivals last: the
/// apache-prefork master ticks on through the drain.
const DRAIN: &str = r#"name = "drain"
[load]
rate = 100.0
connections = 1
[listener]
kind = "tcp"
backlog = 511
[pool]
process_limit = 10
start_servers = 1
min_spare = 1
max_spare = 2
[master]
mode = "apache-prefork"
tick = 1.0
[work]
blocking = 1e9
"#;

#[test]
fn class_12_a_master_that_ticks_through_a_long_drain_stops_at_the_budget_naming_its_tick() {
    // 1e9 s of work at one tick a second: 1e9 ticks after the arrivals ended, which
    // no check of the arrival window saw. The ticks count against sim.max_connections.
    let d = tempfile::tempdir().unwrap();
    let m = write(d.path(), "drain.toml", DRAIN);
    let m = m.to_str().unwrap();
    let err = refused(
        &["simulate", m, "--set", "sim.max_connections=100000"],
        &[
            "`master.tick`",
            "sim.max_connections = 100000",
            "1 connection still open",
        ],
    );
    assert!(
        err.contains("1.000e5 s"),
        "stopped at the 100,000th tick: {err}"
    );
    refused(
        &[
            "simulate",
            m,
            "--set",
            "master.tick=0.001",
            "--set",
            "work.blocking=1e6",
            "--set",
            "sim.max_connections=100000",
        ],
        &["`master.tick`", "1.000e2 s"],
    );
    // The same work within the budget's ticks runs.
    eagain()
        .args(["simulate", m, "--set", "work.blocking=5000"])
        .args(["--set", "sim.max_connections=100000"])
        .assert()
        .success();
}

#[test]
fn class_12_a_timeline_longer_than_its_rows_is_refused_naming_a_bin_that_fits() {
    // 100 connections of 1e7 s each on two workers: the drain lasts far longer than
    // a million bins of the default width (the arrival window / 200), where memory
    // grew without end.
    let d = tempfile::tempdir().unwrap();
    let m = write(
        d.path(),
        "long.toml",
        &MODEL
            .replace("duration = 10.0", "connections = 100")
            .replace(
                "blocking = { dist = \"exponential\", mean = 0.1 }",
                "blocking = 1e7",
            ),
    );
    let m = m.to_str().unwrap();
    let out = d.path().join("o");
    let o = out.to_str().unwrap();
    let err = refused(
        &["simulate", m, "--out", o],
        &["sim.bin = 0.1 s", "1000000 rows", "the queue draining"],
    );
    assert!(
        !out.join("result.json").exists() && !out.join("timeline.csv").exists(),
        "nothing written after the refusal"
    );
    // The bin it names fits the run.
    let wider = err
        .split("--set sim.bin=")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .unwrap_or_else(|| panic!("no bin named: {err}"));
    let bin = format!("sim.bin={wider}");
    eagain()
        .args(["simulate", m, "--out", o, "--set", &bin])
        .assert()
        .success();
    let rows = std::fs::read_to_string(out.join("timeline.csv")).unwrap();
    let rows = rows.lines().count() - 1;
    assert!((100_000..=1_000_000).contains(&rows), "{rows} rows");
}

#[test]
fn class_12_idle_timers_have_a_shortest_step_and_count_against_the_budget() {
    // Dovecot re-arms an idle_kill timer for each process process_min_avail keeps:
    // at 1e-9 s the run never ended, and nothing counted those events.
    let d = tempfile::tempdir().unwrap();
    let m = write(
        d.path(),
        "dov.toml",
        &MODEL.replace(
            "process_limit = 2",
            "process_limit = 20\nprocess_min_avail = 10\nidle_kill = 60\n[master]\nmode = \"on-demand\"",
        ),
    );
    let m = m.to_str().unwrap();
    refused(
        &["simulate", m, "--set", "pool.idle_kill=1e-9"],
        &["`pool.idle_kill`", "0.001", "0 (never)"],
    );
    refused(
        &[
            "simulate",
            m,
            "--set",
            "sim.max_connections=10000",
            "--set",
            "pool.idle_kill=0.001",
        ],
        &[
            "(from --set pool.idle_kill=0.001)",
            "`pool.idle_kill`",
            "1.000e5 timer events",
        ],
    );
    refused(
        &[
            "simulate",
            m,
            "--set",
            "sim.max_connections=1000",
            "--set",
            "pool.idle_kill=0.05",
        ],
        &["`pool.idle_kill`", "sim.max_connections = 1000"],
    );
    eagain()
        .args(["simulate", m, "--set", "pool.idle_kill=0.01"])
        .assert()
        .success();
}
