//! A mutation fuzz test of what came after the first fuzzer (issue 22): chains and
//! `--set services.NAME...`, load profiles and traces, threads and spare-server
//! fields, `simulate --out`, `sweep --resume`, `merge`, `plan` and the four importers
//! (nginx-log, doveconf, php-fpm, apache), each fed inputs a careless or hostile user
//! might give. Every case runs in a child with a wall-time limit and a cap on its address
//! space, and must: exit 0 or 2 (never a panic, an abort, a kill or a hang); on exit 2
//! print one line naming something the user gave (a file they gave, with a line that
//! exists in it, a flag, or a field whose name is in their model or arguments), a
//! service named only if the model has it; and leave nothing half-written (no results
//! file without a finished run, no chart of an earlier run beside new results, a resumed
//! or merged sweep byte-identical to one never interrupted). The seed is fixed, so a
//! failure repeats; `EAGAIN_FUZZ_FEATURE_CASES` runs more cases, `EAGAIN_FUZZ_SEED`
//! other ones, `EAGAIN_FUZZ_VERBOSE` prints each case's outcome.

use crate::common::{bin, root, write};
use crate::fuzz::{mutate, value, EXTREMES};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The seed of the whole test.
const SEED: u64 = 22;
/// Wall time one child may take: a valid case here runs in well under a second.
const TIME_LIMIT: Duration = Duration::from_secs(20);
/// Address space one child may map: 20,000 services once took 1.5 GB.
const MEMORY_LIMIT: u64 = 3 << 30;
/// The budget every simulation gets unless the case mutates it, so valid cases are short.
const BUDGET: &str = "sim.max_connections=200000";

fn cases() -> usize {
    std::env::var("EAGAIN_FUZZ_FEATURE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(800)
}

/// The binary under test: this build's, or another one to see what this test finds in
/// it (`EAGAIN_FUZZ_BIN`).
fn binary() -> String {
    std::env::var("EAGAIN_FUZZ_BIN").unwrap_or_else(|_| bin().to_string())
}

/// What the user gave a case: its arguments and the files it wrote for them.
struct Given {
    args: Vec<String>,
    files: Vec<PathBuf>,
}

impl Given {
    fn new(args: &[&str], files: &[&Path]) -> Given {
        Given {
            args: args.iter().map(|a| a.to_string()).collect(),
            files: files.iter().map(|f| f.to_path_buf()).collect(),
        }
    }

    /// Every text the user gave: the arguments and the files' contents.
    fn texts(&self) -> Vec<String> {
        let mut t = self.args.clone();
        for f in &self.files {
            if let Ok(b) = std::fs::read(f) {
                t.push(String::from_utf8_lossy(&b).into_owned());
            }
        }
        t
    }
}

/// How a case ended.
struct Ended {
    code: i32,
    stderr: String,
}

/// Runs eagain on `given` under the time and memory limits and checks the exit
/// contract; returns the exit code (0 or 2) and stderr.
fn run(given: &Given, what: &str) -> Ended {
    let started = Instant::now();
    let mut cmd = Command::new(binary());
    cmd.args(&given.args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe and only touches the child.
    unsafe {
        cmd.pre_exec(|| {
            let r = libc::rlimit {
                rlim_cur: MEMORY_LIMIT,
                rlim_max: MEMORY_LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &r) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("eagain starts");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        b
    });
    let err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        b
    });
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{what}: still running after {TIME_LIMIT:?}: {:?}",
                given.args
            );
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let stdout = out.join().unwrap();
    let stderr = String::from_utf8_lossy(&err.join().unwrap()).into_owned();
    let args = &given.args;
    let code = status.code().unwrap_or_else(|| {
        panic!("{what}: killed by a signal (an abort, or out of memory): {args:?}\n{stderr}")
    });
    assert!(
        !stderr.contains("panicked"),
        "{what}: a panic: {args:?}\n{stderr}"
    );
    match code {
        0 => {}
        2 => {
            assert!(stdout.is_empty(), "{what}: stdout on exit 2: {args:?}");
            // One line, after any notes printed before the run.
            let lines: Vec<&str> = stderr.trim_end().lines().collect();
            let (error, notes) = lines.split_last().expect("a message on exit 2");
            assert!(
                notes.iter().all(|l| l.contains(": note: ")),
                "{what}: not one line: {args:?}\n{stderr}"
            );
            assert!(error.starts_with("eagain: "), "{what}: {stderr}");
            assert!(
                error.len() <= 2_100,
                "{what}: {} bytes: {args:?}",
                error.len()
            );
            names_what_was_given(error, given, what);
        }
        other => panic!("{what}: exit {other}: {args:?}\n{stderr}"),
    }
    if std::env::var_os("EAGAIN_FUZZ_VERBOSE").is_some() {
        eprintln!("{what}: exit {code}: {}", stderr.trim_end());
    }
    Ended { code, stderr }
}

/// The words of a message in backticks.
fn quoted(msg: &str) -> Vec<&str> {
    msg.split('`').skip(1).step_by(2).collect()
}

/// An exit-2 message names something the user gave, and nothing they did not: a given
/// file (by its name), and any line of it within the file; a flag or a `--set` they
/// gave; or a field whose last part is in their model or arguments. A service it
/// names (`services.NAME.`) is one the model or the arguments have.
fn names_what_was_given(msg: &str, given: &Given, what: &str) {
    let texts = given.texts();
    let in_given = |w: &str| texts.iter().any(|t| t.contains(w));
    let args = &given.args;
    // Every "FILE line N" of a file the user gave is a line of it.
    for f in &given.files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let lines = std::fs::read(f)
            .map(|b| b.split(|&c| c == b'\n').count())
            .unwrap_or(0);
        for (at, _) in msg.match_indices(&format!("{name} line ")) {
            let n: String = msg[at + name.len() + 6..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            let n: usize = n.parse().unwrap_or(0);
            assert!(
                (1..=lines.max(1)).contains(&n),
                "{what}: `{name} line {n}` of a file of {lines} lines: {args:?}\n{msg}"
            );
        }
    }
    // A service it names is one the user has (the TOML reader names a table as its
    // header has it, `[services.pool]`, and the line).
    let toml = msg.contains("(the file must be TOML)");
    for q in quoted(msg).into_iter().filter(|_| !toml) {
        if let Some(rest) = q.strip_prefix("services.") {
            let name = rest.split('.').next().unwrap_or("");
            if name == "NAME" {
                continue; // how to write one, with the names after it
            }
            assert!(
                in_given(&format!("\"{name}\"")) || in_given(&format!("services.{name}.")),
                "{what}: names a service `{name}` the user has nowhere: {args:?}\n{msg}"
            );
        }
    }
    let file = given.files.iter().any(|f| {
        let name = f.file_name().unwrap().to_string_lossy();
        msg.contains(&*name)
    });
    let arg = given
        .args
        .iter()
        .any(|a| (a.starts_with("--") || a.contains('=') || a.contains('/')) && msg.contains(a));
    let set = given.args.iter().any(|a| {
        a.split_once('=')
            .is_some_and(|(path, _)| msg.contains(&format!("`{path}`")))
    });
    let field = quoted(msg).iter().any(|q| {
        let last = q.rsplit('.').next().unwrap_or(q);
        !last.is_empty() && in_given(last)
    });
    assert!(
        file || arg || set || field,
        "{what}: names no file, flag, line or field the user gave: {args:?}\n{msg}"
    );
}

/// One mutation of any text file, byte by byte: a number replaced by an extreme one, a
/// line deleted, duplicated or cut, a byte changed (also to one that is not UTF-8), the
/// file cut, or a long line added.
fn mutate_bytes(text: &[u8], rng: &mut Pcg64) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = text.split(|&c| c == b'\n').map(<[u8]>::to_vec).collect();
    let i = rng.random_range(0..lines.len());
    match rng.random_range(0..8) {
        0..=2 => {
            // A number of a line replaced.
            let l = &lines[i];
            let starts: Vec<usize> = (0..l.len())
                .filter(|&k| l[k].is_ascii_digit() && (k == 0 || !l[k - 1].is_ascii_digit()))
                .collect();
            if let Some(&s) = starts.choose(rng) {
                let e = (s..l.len())
                    .find(|&k| !(l[k].is_ascii_digit() || l[k] == b'.'))
                    .unwrap_or(l.len());
                let v = [
                    "0",
                    "-1",
                    "1e-300",
                    "5e-324",
                    "1e300",
                    "4294967296",
                    "18446744073709551616",
                    "0.000000001",
                    "99999999999",
                    "nan",
                    "1",
                ]
                .choose(rng)
                .unwrap();
                let mut n = l[..s].to_vec();
                n.extend_from_slice(v.as_bytes());
                n.extend_from_slice(&l[e..]);
                lines[i] = n;
            }
        }
        3 => {
            lines.remove(i);
        }
        4 => {
            let l = lines[i].clone();
            for _ in 0..rng.random_range(1..50) {
                lines.insert(i, l.clone());
            }
        }
        5 => {
            if !lines[i].is_empty() {
                let at = rng.random_range(0..lines[i].len());
                lines[i][at] = *[0xff, 0xc3, 0, b'{', b'"', b'=', b'#', b';']
                    .choose(rng)
                    .unwrap();
            }
        }
        6 => {
            let cut = rng.random_range(0..=lines[i].len());
            lines[i].truncate(cut);
            lines.truncate(i + 1);
        }
        _ => lines.insert(i, vec![b'9'; rng.random_range(1..200_000)]),
    }
    lines.join(&b'\n')
}

fn read(p: &str) -> String {
    std::fs::read_to_string(root(p)).unwrap()
}

/// The fields that take a distribution.
const DIST_FIELDS: [&str; 6] = [
    "blocking",
    "hold",
    "startup",
    "fork_time",
    "respawn_delay",
    "retry_pause",
];

/// Distributions at the edges of what can be drawn: a spread too narrow for a gamma's
/// scale or a lognormal's sigma, tails too heavy, empty or reversed ranges, and work
/// far longer than any run (a drain that a ticking master used to tick through).
const DISTS: &[&str] = &[
    "{ dist = \"gamma\", mean = 1, sd = 1e-200 }",
    "{ dist = \"gamma\", mean = 1, sd = 5e-324 }",
    "{ dist = \"lognormal\", mean = 1, sd = 1e-200 }",
    "{ dist = \"gamma\", mean = 0.1, sd = 1e-9 }",
    "{ dist = \"gamma\", mean = 1e-9, sd = 1e3 }",
    "{ dist = \"lognormal\", mean = 1, sd = 1e7 }",
    "{ dist = \"pareto\", scale = 1, shape = 0.05 }",
    "{ dist = \"uniform\", low = 1, high = 0 }",
    "{ dist = \"empirical\", values = [] }",
    "{ dist = \"empirical\", values = [1e300] }",
    "1e9",
    "1e6",
    "5e-324",
];

/// `simulate` of a mutated model, with mutated `--set`s of its own fields.
fn simulate_case(dir: &Path, rng: &mut Pcg64, models: &[(&str, &[&str])], what: &str) -> Ended {
    let (name, sets) = models.choose(rng).unwrap();
    let mut text = read(name);
    let pristine = rng.random_bool(0.4);
    if !pristine {
        for _ in 0..rng.random_range(1..=2) {
            text = mutate(&text, rng);
        }
    }
    let file = write(dir, "model.toml", &text);
    let path = sets.choose(rng).unwrap();
    let v = if DIST_FIELDS.iter().any(|f| path.ends_with(f)) && rng.random_bool(0.5) {
        DISTS.choose(rng).unwrap()
    } else {
        value(rng)
    };
    let set = format!("{path}={v}");
    let args = [
        "simulate",
        file.to_str().unwrap(),
        "--replications",
        "1",
        "--format",
        "json",
        "--set",
        &set,
        "--set",
        BUDGET,
    ];
    let given = Given::new(&args, &[&file]);
    let e = run(&given, &format!("{what} ({name}, --set {set})"));
    // A bad value of a --set on a model as shipped is blamed on the --set.
    if pristine && e.code == 2 && set.starts_with("services.") {
        assert!(
            e.stderr.contains("--set"),
            "{what}: {set} on {name} refused without naming the --set: {}",
            e.stderr
        );
    }
    e
}

/// A chain, with `--set services.NAME.FIELD` of real and unknown services.
fn chain(dir: &Path, rng: &mut Pcg64, what: &str) -> Ended {
    let dovecot: &[&str] = &[
        "services.imap-login.pool.process_min_avail",
        "services.imap-login.connect.retry_pause",
        "services.imap-login.handoff",
        "services.imap.pool.idle_kill",
        "services.imap.pool.process_limit",
        "services.imap.master.fork_time",
        "services.imap.master.process",
        "services.nobody.pool.process_limit",
    ];
    simulate_case(
        dir,
        rng,
        &[
            (
                "models/nginx-gunicorn-chain.toml",
                &[
                    "services.nginx.pool.client_limit",
                    "services.nginx.connect.timeout",
                    "services.nginx.handoff",
                    "services.gunicorn.pool.process_limit",
                    "services.gunicorn.work.blocking",
                    "services.gunicorn.master.startup",
                    "services.gunicorn.listener.backlog",
                    "services.gunicorn.next",
                    "services.nobody.pool.process_limit",
                    "pool.process_limit",
                ],
            ),
            ("models/dovecot-login-imap.toml", dovecot),
            ("models/dovecot-login-imap-high-performance.toml", dovecot),
        ],
        what,
    )
}

/// Profiles and traces: a profile's points, and a trace file mutated.
fn load_over_time(dir: &Path, rng: &mut Pcg64, what: &str) -> Ended {
    if rng.random_bool(0.5) {
        return simulate_case(
            dir,
            rng,
            &[(
                "models/nginx-gunicorn-chain.toml",
                &[
                    "load.profile",
                    "load.rate",
                    "load.duration",
                    "sim.bin",
                    "load.profile.repeat",
                    "load.profile.shape",
                ],
            )],
            what,
        );
    }
    let mut trace = String::from("t,blocking\n");
    let mut t = 1_000.0;
    for _ in 0..rng.random_range(1..400) {
        t += rng.random_range(0.0..0.5);
        trace.push_str(&format!("{t:.3},{:.3}\n", rng.random_range(0.0..1.0)));
    }
    let trace = mutate_bytes(trace.as_bytes(), rng);
    std::fs::write(dir.join("trace.csv"), &trace).unwrap();
    let mut model = read("models/mmck.toml")
        .lines()
        .filter(|l| !l.starts_with("rate") && !l.starts_with("duration"))
        .map(|l| {
            if l.starts_with("arrival") {
                "arrival = \"trace\"\ntrace = \"trace.csv\"".to_string()
            } else if l.starts_with("warmup") {
                "warmup = 0".into()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    if rng.random_bool(0.3) {
        model = mutate(&model, rng);
    }
    let file = write(dir, "model.toml", &model);
    let set = format!(
        "{}={}",
        ["load.rate", "load.connections", "sim.bin", "load.duration"]
            .choose(rng)
            .unwrap(),
        value(rng)
    );
    let out = dir.join("o");
    let args = [
        "simulate",
        file.to_str().unwrap(),
        "--replications",
        "1",
        "--set",
        &set,
        "--set",
        BUDGET,
        "--out",
        out.to_str().unwrap(),
    ];
    let given = Given::new(&args, &[&file, &dir.join("trace.csv")]);
    run(&given, &format!("{what} (trace, --set {set})"))
}

/// Threads and the spare-server masters' fields.
fn spares(dir: &Path, rng: &mut Pcg64, what: &str) -> Ended {
    if rng.random_bool(0.3) {
        let threads = ["0", "1", "2", "3", "64", "100000", "-1", "x"]
            .choose(rng)
            .unwrap();
        let out = dir.join("t");
        let rate = format!("load.rate={},{}", value(rng), value(rng));
        let args = [
            "sweep",
            "models/php-fpm-dynamic.toml",
            "--vary",
            &rate,
            "--threads",
            threads,
            "--replications",
            "2",
            "--set",
            "sim.max_connections=20000",
            "--out",
            out.to_str().unwrap(),
        ];
        return run(&Given::new(&args, &[]), &format!("{what} (--threads)"));
    }
    let fields: &[&str] = &[
        "master.tick",
        "pool.start_servers",
        "pool.min_spare",
        "pool.max_spare",
        "pool.threads",
        "pool.idle_kill",
        "pool.process_limit",
        "master.startup",
        "master.fork_time",
        "pool.client_limit",
        "work.blocking",
    ];
    simulate_case(
        dir,
        rng,
        &[
            ("models/apache-prefork.toml", fields),
            ("models/php-fpm-dynamic.toml", fields),
            ("models/php-fpm-ondemand.toml", fields),
            ("models/php-fpm-static.toml", fields),
            ("models/gunicorn-gthread.toml", fields),
        ],
        what,
    )
}

/// `simulate --out` into a folder holding an earlier run's files: on exit 0 none of
/// them is left as it was; on exit 2 no result is written.
fn out_folder(dir: &Path, rng: &mut Pcg64, what: &str) -> Ended {
    let out = dir.join("out");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    const STALE: &[u8] = b"an earlier run";
    for f in ["result.json", "timeline.csv", "timeline.png"] {
        std::fs::write(out.join(f), STALE).unwrap();
    }
    let name = ["models/mmck.toml", "models/php-fpm-ondemand.toml"]
        .choose(rng)
        .unwrap();
    let mut text = read(name);
    if rng.random_bool(0.5) {
        text = mutate(&text, rng);
    }
    let file = write(dir, "model.toml", &text);
    let bin = format!(
        "sim.bin={}",
        ["1e-300", "0.001", "1", "100", "1e9", "300", "-1", "\"x\""]
            .choose(rng)
            .unwrap()
    );
    let dur = format!(
        "load.duration={}",
        ["1", "10", "1000", "0.5"].choose(rng).unwrap()
    );
    let args = [
        "simulate",
        file.to_str().unwrap(),
        "--replications",
        "1",
        "--set",
        &bin,
        "--set",
        &dur,
        "--set",
        "sim.warmup=0",
        "--set",
        BUDGET,
        "--out",
        out.to_str().unwrap(),
    ];
    let e = run(&Given::new(&args, &[&file]), &format!("{what} (--out)"));
    for f in ["result.json", "timeline.csv", "timeline.png"] {
        let now = std::fs::read(out.join(f)).ok();
        if e.code == 0 {
            assert!(
                now.as_deref() != Some(STALE),
                "{what}: {f} of the earlier run left beside new results: {args:?}"
            );
        } else if f != "timeline.png" {
            assert!(
                now.is_none() || now.as_deref() == Some(STALE),
                "{what}: {f} written by a run that failed: {args:?}\n{}",
                e.stderr
            );
        }
    }
    if e.code == 0 {
        let r = std::fs::read(out.join("result.json")).unwrap();
        serde_json::from_slice::<serde_json::Value>(&r)
            .unwrap_or_else(|e| panic!("{what}: result.json is not JSON: {e}"));
    }
    e
}

/// The arguments of the sweep that resume and merge cases finish.
const SWEEP: [&str; 12] = [
    "--vary",
    "load.rate=4,8,16",
    "--replications",
    "2",
    "--set",
    "load.duration=50",
    "--set",
    "sim.warmup=5",
    "--set",
    "listener.backlog=4",
    "--set",
    "sim.max_connections=100000",
];

/// A finished sweep's results, and what a progress file of it says.
struct Finished {
    csv: Vec<u8>,
    header: String,
    lines: Vec<String>,
}

fn finish(out: &Path, extra: &[&str]) {
    let mut args = vec!["sweep", "models/mmck.toml"];
    args.extend(SWEEP);
    args.extend(extra);
    args.extend(["--out", out.to_str().unwrap()]);
    let e = run(&Given::new(&args, &[]), "a finished sweep");
    assert_eq!(e.code, 0, "{}", e.stderr);
}

fn finished(dir: &Path) -> Finished {
    let out = dir.join("reference");
    finish(&out, &["--shard", "0/1"]);
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    let header = serde_json::json!({
        "arguments": results["arguments"],
        "shard": { "k": 0, "n": 1 },
        "build": results["sealed"]["build"],
    })
    .to_string();
    let n = results["points"].as_array().unwrap().len();
    let lines = (0..n)
        .map(|i| {
            serde_json::json!({
                "record": results["points"][i],
                "wall_s": 0.1,
                "check": results["sealed"]["checks"][i],
            })
            .to_string()
        })
        .collect();
    Finished {
        csv: std::fs::read(out.join("results.csv")).unwrap(),
        header,
        lines,
    }
}

/// `sweep --resume` from a progress file of some finished points, mutated: on exit 0
/// the results are those of the sweep never interrupted; on exit 2 there are none.
fn resume(dir: &Path, rng: &mut Pcg64, f: &Finished, what: &str) -> Ended {
    let out = dir.join("resumed");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let mut text = format!("{}\n", f.header);
    for l in &f.lines {
        if rng.random_bool(0.6) {
            text.push_str(l);
            text.push('\n');
        }
    }
    let mut bytes = text.into_bytes();
    for _ in 0..rng.random_range(0..=2) {
        bytes = mutate_bytes(&bytes, rng);
    }
    let progress = out.join("progress.jsonl");
    std::fs::write(&progress, &bytes).unwrap();
    let mut args = vec!["sweep", "models/mmck.toml"];
    args.extend(SWEEP);
    args.extend(["--shard", "0/1", "--resume", "--out", out.to_str().unwrap()]);
    let e = run(
        &Given::new(&args, &[&progress]),
        &format!("{what} (resume)"),
    );
    let csv = std::fs::read(out.join("results.csv")).ok();
    if e.code == 0 {
        assert!(
            csv.as_deref() == Some(&f.csv[..]),
            "{what}: a resumed sweep's results differ from one never interrupted"
        );
    } else {
        assert!(csv.is_none(), "{what}: results.csv of a refused resume");
    }
    e
}

/// `merge` of two shards, one of their files mutated: on exit 0 the results are the
/// unsharded sweep's; on exit 2 there are none.
fn merge(dir: &Path, rng: &mut Pcg64, shards: &Path, f: &Finished, what: &str) -> Ended {
    let copy = dir.join("shards");
    let _ = std::fs::remove_dir_all(&copy);
    for k in ["0", "1"] {
        std::fs::create_dir_all(copy.join(k)).unwrap();
        for e in std::fs::read_dir(shards.join(k)).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), copy.join(k).join(e.file_name())).unwrap();
        }
    }
    let k = ["0", "1"].choose(rng).unwrap();
    let name = ["results.csv", "results.json", "timing.csv"]
        .choose(rng)
        .unwrap();
    let target = copy.join(k).join(name);
    let before = std::fs::read(&target).unwrap();
    let mut after = mutate_bytes(&before, rng);
    if rng.random_bool(0.2) {
        after.clear();
    }
    std::fs::write(&target, &after).unwrap();
    let out = dir.join("merged");
    let _ = std::fs::remove_dir_all(&out);
    let mut args = vec![
        "merge".to_string(),
        copy.join("0").display().to_string(),
        copy.join("1").display().to_string(),
    ];
    if rng.random_bool(0.1) {
        args.push(copy.join(k).display().to_string());
    }
    args.extend(["--out".into(), out.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let e = run(&Given::new(&args, &[&target]), &format!("{what} (merge)"));
    let csv = std::fs::read(out.join("results.csv")).ok();
    if e.code == 0 {
        assert!(
            csv.as_deref() == Some(&f.csv[..]),
            "{what}: merged results differ from the unsharded sweep ({k}/{name} mutated)"
        );
    } else {
        assert!(csv.is_none(), "{what}: results.csv of a refused merge");
    }
    e
}

/// `plan` of a mutated model, a mutated target and bound.
fn plan(dir: &Path, rng: &mut Pcg64, what: &str) -> Ended {
    let plans: [(&str, &[&str]); 3] = [
        (
            "models/mmck.toml",
            &["pool.process_limit", "listener.backlog", "load.rate"][..],
        ),
        (
            "models/php-fpm-dynamic.toml",
            &["pool.process_limit", "pool.client_limit"][..],
        ),
        (
            "models/nginx-gunicorn-chain.toml",
            &[
                "services.gunicorn.pool.process_limit",
                "services.gunicorn.listener.backlog",
            ][..],
        ),
    ];
    let (name, solves) = plans.choose(rng).unwrap();
    let mut text = read(name);
    let careful = rng.random_bool(0.5);
    if !careful {
        text = mutate(&text, rng);
    }
    let file = write(dir, "model.toml", &text);
    let solve = if careful || rng.random_bool(0.5) {
        solves.choose(rng).unwrap()
    } else {
        [
            "pool.min_spare",
            "work.blocking",
            "services.nobody.pool.process_limit",
            "x",
        ]
        .choose(rng)
        .unwrap()
    };
    let target = if careful || rng.random_bool(0.5) {
        [
            "refusal_probability<=0.01",
            "latency_s_p99<=2",
            "failure_probability<=0.1",
        ]
        .choose(rng)
        .unwrap()
        .to_string()
    } else {
        format!(
            "{}{}{}",
            [
                "refusal_probability",
                "failure_probability",
                "latency_s_p99",
                "x"
            ]
            .choose(rng)
            .unwrap(),
            ["<=", ">=", "<"].choose(rng).unwrap(),
            value(rng)
        )
    };
    let max = if careful || rng.random_bool(0.5) {
        "64"
    } else {
        ["0", "-1", "1e9", "4294967296", "1000000"]
            .choose(rng)
            .unwrap()
    };
    let args = [
        "plan",
        file.to_str().unwrap(),
        "--solve",
        solve,
        "--target",
        &target,
        "--max",
        max,
        "--replications",
        "2",
        "--set",
        "load.duration=100",
        "--set",
        "sim.warmup=0",
        "--set",
        "sim.max_connections=20000",
    ];
    run(
        &Given::new(&args, &[&file]),
        &format!("{what} (plan {solve} {target})"),
    )
}

/// An importer of a mutated sample: on exit 0 what it wrote is there; on exit 2
/// nothing is.
fn import(dir: &Path, rng: &mut Pcg64, what: &str) -> Ended {
    let (kind, sample) = [
        ("nginx-log", "models/examples/peak-access.log"),
        ("doveconf", "tests/data/doveconf/dovecot-2.3.conf"),
        ("doveconf", "tests/data/doveconf/dovecot-2.4.2.conf"),
        ("php-fpm", "tests/data/php-fpm/debian-www.conf"),
        ("php-fpm", "tests/data/php-fpm/ondemand.conf"),
        ("apache", "tests/data/apache/debian-mpm_prefork.conf"),
        ("apache", "tests/data/apache/debian-apache2.conf"),
    ]
    .choose(rng)
    .unwrap();
    let mut bytes = std::fs::read(root(sample)).unwrap();
    if *kind == "nginx-log" {
        // A few hundred requests, sometimes all at one time or one at time 0.
        let lines: Vec<&[u8]> = bytes.split(|&c| c == b'\n').take(300).collect();
        bytes = lines.join(&b'\n');
        let text = String::from_utf8_lossy(&bytes).into_owned();
        bytes = match rng.random_range(0..4) {
            0 => text
                .lines()
                .filter_map(|l| Some(format!("msec=1795953600.438{}", &l[l.find(" rt=")?..])))
                .collect::<Vec<_>>()
                .join("\n")
                .into_bytes(),
            1 => text
                .replacen("msec=1795953600.438", "msec=0", 1)
                .into_bytes(),
            _ => bytes,
        };
    }
    for _ in 0..rng.random_range(1..=2) {
        bytes = mutate_bytes(&bytes, rng);
    }
    let input = dir.join(format!("input-{kind}"));
    std::fs::write(&input, &bytes).unwrap();
    let out = dir.join(format!("imported-{kind}"));
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_file(&out);
    let mut args: Vec<String> = vec![
        "import".into(),
        kind.to_string(),
        input.display().to_string(),
    ];
    match *kind {
        "nginx-log" => {
            args.extend([
                "--log-format".into(),
                "msec=$msec rt=$request_time ct=$connection_time rid=$request_id cr=$connection_requests addr=$remote_addr \"$request\" $status $body_bytes_sent ua=\"$upstream_addr\" us=\"$upstream_status\" uct=\"$upstream_connect_time\" uht=\"$upstream_header_time\" urt=\"$upstream_response_time\"".into(),
            ]);
            let flag = ["--workers", "--backlog", "--somaxconn", "--read-timeout"]
                .choose(rng)
                .unwrap();
            args.extend([flag.to_string(), EXTREMES.choose(rng).unwrap().to_string()]);
        }
        "doveconf" if rng.random_bool(0.5) => {
            let s = ["imap", "imap-login", "pop3", "nobody"]
                .choose(rng)
                .unwrap();
            args.extend(["--service".into(), s.to_string()]);
        }
        _ => {}
    }
    args.extend(["--out".into(), out.display().to_string()]);
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let e = run(
        &Given::new(&a, &[&input]),
        &format!("{what} (import {kind})"),
    );
    let written: Vec<PathBuf> = if *kind == "nginx-log" {
        ["model.toml", "trace.csv", "observed.json"]
            .iter()
            .map(|f| out.join(f))
            .collect()
    } else {
        vec![out.clone()]
    };
    for w in &written {
        assert_eq!(
            w.exists(),
            e.code == 0,
            "{what}: import {kind} exit {} and {} {}: {args:?}\n{}",
            e.code,
            w.display(),
            if w.exists() { "written" } else { "missing" },
            e.stderr
        );
    }
    if e.code == 0 {
        // What an import wrote loads, or is refused for what it asks of the machine.
        let model = if *kind == "nginx-log" {
            out.join("model.toml")
        } else {
            out.clone()
        };
        let m = model.display().to_string();
        let args = [
            "simulate",
            &m,
            "--replications",
            "1",
            "--set",
            "sim.max_connections=20000",
        ];
        run(
            &Given::new(&args, &[&model]),
            &format!("{what} (simulate what import {kind} wrote)"),
        );
    }
    e
}

#[test]
fn mutated_chains_loads_spares_outputs_resumes_merges_plans_and_imports_end_in_a_result_or_a_named_refusal(
) {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let reference = finished(d);
    let shards = d.join("shard");
    for k in ["0", "1"] {
        finish(&shards.join(k), &["--shard", &format!("{k}/2")]);
    }
    let seed = std::env::var("EAGAIN_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(SEED);
    let mut rng = Pcg64::seed_from_u64(seed);
    let families = [
        "chain", "load", "spares", "out", "resume", "merge", "plan", "import",
    ];
    let mut seen = vec![(0usize, 0usize); families.len()];
    for case in 0..cases() {
        let f = case % families.len();
        let what = format!("case {case} ({})", families[f]);
        let e = match f {
            0 => chain(d, &mut rng, &what),
            1 => load_over_time(d, &mut rng, &what),
            2 => spares(d, &mut rng, &what),
            3 => out_folder(d, &mut rng, &what),
            4 => resume(d, &mut rng, &reference, &what),
            5 => merge(d, &mut rng, &shards, &reference, &what),
            6 => plan(d, &mut rng, &what),
            _ => import(d, &mut rng, &what),
        };
        if e.code == 0 {
            seen[f].0 += 1;
        } else {
            seen[f].1 += 1;
        }
    }
    eprintln!(
        "fuzz-features: {} cases in {:.1} s; (exit 0, exit 2) by family: {:?}",
        cases(),
        started.elapsed().as_secs_f64(),
        families.iter().zip(&seen).collect::<Vec<_>>()
    );
    // Each family reached both its results and its refusals.
    for (name, (ok, refused)) in families.iter().zip(&seen) {
        assert!(*refused > 0, "{name}: no case refused");
        if cases() >= 800 {
            assert!(*ok > 0, "{name}: no case succeeded");
        }
    }
}
