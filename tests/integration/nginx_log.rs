//! `eagain import nginx-log` (SPEC section 10): a log written from a FIFO run the test
//! computes itself gives back every work time to the log's millisecond, the exact status
//! counts, the queue's capacity, and a model whose simulation refuses the log's share; a
//! gunicorn log gives its own work times; the shipped example imports with the format
//! its script documents; bad input exits 2 naming the file, the line or the flag.

use crate::common::{eagain, root, write};
use rand::{Rng, SeedableRng};
use std::path::Path;

/// A format with what the importer reads and some text it does not.
const FORMAT: &str =
    "msec=$msec rt=$request_time \"$request\" $status urt=\"$upstream_response_time\"";

/// One request of the test's own FIFO run.
#[derive(Debug, Clone, Copy)]
struct Request {
    arrival: f64,
    work: f64,
    /// None: refused.
    end: Option<f64>,
}

/// `n` requests at about `rate` a second (gaps of at least 2 ms, so that the order of
/// arrivals survives the log's milliseconds), exponential work with `mean` (at least 5
/// ms), served FIFO by `workers` with `queue` places for waiting connections: the
/// simulator's rule for a unix listener (a queue of backlog + 1).
fn fifo_run(n: usize, rate: f64, mean: f64, workers: usize, queue: usize) -> Vec<Request> {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(20261129);
    let mut free = vec![0.0f64; workers];
    let mut starts: Vec<f64> = Vec::new();
    let mut t = 1_795_953_600.0;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        t += 0.002 + -(1.0 - rng.random::<f64>()).ln() / rate;
        let work = 0.005 + -(1.0 - rng.random::<f64>()).ln() * mean;
        let waiting = starts.iter().filter(|&&s| s > t).count();
        let end = if waiting >= queue {
            None
        } else {
            let (w, earliest) = free
                .iter()
                .copied()
                .enumerate()
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap();
            let start = t.max(earliest);
            free[w] = start + work;
            starts.push(start);
            Some(start + work)
        };
        out.push(Request {
            arrival: t,
            work,
            end,
        });
    }
    out
}

/// nginx's millisecond stamps: the cached clock, truncated.
fn ms(t: f64) -> i64 {
    (t * 1000.0).floor() as i64
}

fn secs(n: i64) -> String {
    format!("{}.{:03}", n / 1000, n % 1000)
}

/// The run's access log, in the order nginx writes it (by end), as nginx writes it:
/// a 502 at once with urt 0.000 (semantics: log-nginx-eagain-502).
fn nginx_log(run: &[Request]) -> String {
    let mut lines: Vec<(f64, String)> = run
        .iter()
        .enumerate()
        .map(|(i, r)| match r.end {
            Some(end) => {
                let took = secs(ms(end) - ms(r.arrival));
                let line = format!(
                    "msec={} rt={took} \"GET /app?i={i} HTTP/1.1\" 200 urt=\"{took}\"",
                    secs(ms(end))
                );
                (end, line)
            }
            None => {
                let line = format!(
                    "msec={} rt=0.000 \"GET /app?i={i} HTTP/1.1\" 502 urt=\"0.000\"",
                    secs(ms(r.arrival))
                );
                (r.arrival, line)
            }
        })
        .collect();
    lines.sort_by(|a, b| a.0.total_cmp(&b.0));
    lines.into_iter().map(|(_, l)| l + "\n").collect()
}

/// Runs the import; returns (exit code, stdout, stderr).
fn import(log: &Path, format: &str, extra: &[&str]) -> (i32, String, String) {
    let out = eagain()
        .args(["import", "nginx-log"])
        .arg(log)
        .args(["--log-format", format])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// trace.csv's rows: (t, blocking or None).
fn trace(dir: &Path) -> Vec<(f64, Option<f64>)> {
    let text = std::fs::read_to_string(dir.join("trace.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("t,blocking"));
    lines
        .map(|l| {
            let (t, b) = l.split_once(',').unwrap();
            (t.parse().unwrap(), b.parse().ok())
        })
        .collect()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Asserts that the trace has the run's arrivals (to the millisecond, from the first)
/// and every served request's work within 2 ms (two truncated stamps), and no work for
/// a refused one; returns the largest error.
fn assert_work_times(run: &[Request], rows: &[(f64, Option<f64>)]) -> f64 {
    assert_eq!(rows.len(), run.len());
    let first = ms(run[0].arrival);
    let mut worst: f64 = 0.0;
    for (k, (r, (t, blocking))) in run.iter().zip(rows).enumerate() {
        let want_t = (ms(r.arrival) - first) as f64 / 1000.0;
        assert!((t - want_t).abs() < 1e-6, "row {k}: t {t}, want {want_t}");
        match (r.end, blocking) {
            (Some(_), Some(b)) => {
                worst = worst.max((b - r.work).abs());
                assert!(
                    (b - r.work).abs() <= 0.002 + 1e-9,
                    "request {k}: work {} reconstructed as {b}",
                    r.work
                );
            }
            (None, None) => {}
            other => panic!("request {k}: served/refused differs: {other:?}"),
        }
    }
    worst
}

/// `eagain simulate MODEL --set SET`'s mean refusal probability.
fn predicted_refusal(model: &Path, set: &str) -> f64 {
    let sim = eagain()
        .args(["simulate", model.to_str().unwrap(), "--set", set])
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        sim.status.success(),
        "{}",
        String::from_utf8_lossy(&sim.stderr)
    );
    let result: serde_json::Value = serde_json::from_slice(&sim.stdout).unwrap();
    result["refusal_probability"]["mean"].as_f64().unwrap()
}

#[test]
fn a_logged_fifo_run_gives_back_its_work_times_status_counts_and_refusal_share() {
    // 3 workers, backlog 4 (5 waiting places), offered 12 a second against a capacity
    // of about 10: the queue fills and the log has 502s.
    let (workers, backlog) = (3, 4);
    let run = fifo_run(1500, 12.0, 0.3, workers, backlog + 1);
    let refused = run.iter().filter(|r| r.end.is_none()).count();
    assert!(
        refused > 100,
        "the run should overflow its queue: {refused} refused"
    );
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "access.log", &nginx_log(&run));
    let out = dir.path().join("out");
    let (code, stdout, stderr) = import(
        &log,
        FORMAT,
        &["--workers", "3", "--out", out.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("1500 requests") && stdout.contains("status: 200 × "),
        "{stdout}"
    );

    let worst = assert_work_times(&run, &trace(&out));

    let observed = json(&out.join("observed.json"));
    assert_eq!(observed["requests"], 1500);
    assert_eq!(observed["status"]["200"], (run.len() - refused) as u64);
    assert_eq!(observed["status"]["502"], refused as u64);
    let share = refused as f64 / run.len() as f64;
    assert!((observed["refusal_probability"].as_f64().unwrap() - share).abs() < 1e-12);
    // The replay found the queue's capacity at the 502s, so the model's backlog is right.
    assert_eq!(observed["queue_at_refusals"], (backlog + 1) as u64);
    let model = std::fs::read_to_string(out.join("model.toml")).unwrap();
    assert!(
        model.contains("backlog = 4 ") && model.contains("ESTIMATED"),
        "{model}"
    );
    assert!(
        model.contains("somaxconn = 4096") && model.contains("NOT KNOWN from the log"),
        "{model}"
    );

    // The model, with the backlog the test knows, predicts the log's share.
    let predicted = predicted_refusal(&out.join("model.toml"), "listener.backlog=4");
    // Shown with --nocapture, to see how much room the test has.
    eprintln!(
        "{refused} refused of {}; work within {worst:.6} s; refusal share {share}, predicted {predicted}",
        run.len()
    );
    assert!(
        (predicted - share).abs() <= 0.02,
        "predicted refusal share {predicted}, the log's {share}"
    );
}

#[test]
fn a_gunicorn_log_with_its_own_request_time_gives_the_work_directly() {
    // gunicorn's recommended format (semantics: log-gunicorn-format): %(h)s is empty
    // behind a unix socket, %(t)s is the end to the second.
    let format = "%(h)s %(t)s pid=%(p)s \"%(r)s\" %(s)s %(b)s L=%(L)s";
    let lines = [
        (38, "0.200454"),
        (38, "0.100000"),
        (38, "0.300001"),
        (39, "1.250000"),
    ];
    let text: String = lines
        .iter()
        .map(|(sec, l)| {
            format!(
                " [29/Nov/2026:12:31:{sec} +0000] pid=<24375> \"GET /a HTTP/1.0\" 200 3 L={l}\n"
            )
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "gunicorn.log", &text);
    let out = dir.path().join("out");
    let (code, stdout, stderr) = import(
        &log,
        format,
        &["--workers", "2", "--out", out.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("observed refusal share: not known from this log"),
        "{stdout}"
    );
    assert!(
        stderr.contains("gunicorn's log has no arrival times"),
        "{stderr}"
    );
    // Ends spread within their second: 38 + 1/6, 38.5, 38 + 5/6, 39.5; starts = end - L.
    let ends = [38.0 + 1.0 / 6.0, 38.5, 38.0 + 5.0 / 6.0, 39.5];
    let mut want: Vec<(f64, f64)> = lines
        .iter()
        .zip(ends)
        .map(|((_, l), end)| {
            let l: f64 = l.parse().unwrap();
            (end - l, l)
        })
        .collect();
    want.sort_by(|a, b| a.0.total_cmp(&b.0));
    let rows = trace(&out);
    for ((t, blocking), (start, l)) in rows.iter().zip(&want) {
        assert_eq!(*blocking, Some(*l), "the work is L itself");
        assert!(
            (t - (start - want[0].0)).abs() < 2e-6,
            "t {t}, want {}",
            start - want[0].0
        );
    }
    let observed = json(&out.join("observed.json"));
    assert_eq!(observed["status"]["200"], 4);
    assert!(observed["refusal_probability"].is_null());
    let model = std::fs::read_to_string(out.join("model.toml")).unwrap();
    assert!(
        model.contains("blocking = { dist = \"empirical\", values = [")
            && model.contains("0.200454"),
        "a few work times are written into the model: {model}"
    );
    assert!(model.contains("process_limit = 2"), "{model}");
}

/// A bad import: exit 2 and one line on stderr; returns it.
fn refused(log: &Path, format: &str, extra: &[&str]) -> String {
    let (code, stdout, stderr) = import(log, format, extra);
    assert_eq!(code, 2, "stdout {stdout} stderr {stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "one paragraph: {stderr}"
    );
    stderr
}

#[test]
fn bad_formats_logs_and_flags_exit_2_naming_the_format_the_line_or_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    let good = "msec=1795953600.438 rt=0.197 \"GET / HTTP/1.1\" 200 urt=\"0.197\"\n";
    let log = write(dir.path(), "access.log", good);

    let e = refused(&log, "$remote_addr \"$request\"", &["--out", out]);
    assert!(
        e.contains("--log-format '$remote_addr \"$request\"'"),
        "{e}"
    );
    assert!(
        e.contains("no time of the request") && e.contains("no $status"),
        "{e}"
    );

    let noise = write(dir.path(), "noise.log", "GET / 200\nmore noise\n");
    let e = refused(&noise, FORMAT, &["--out", out]);
    assert!(
        e.contains("noise.log line 1: no line of the file matches") && e.contains("`GET / 200`"),
        "{e}"
    );

    let e = refused(&log, FORMAT, &["--listener", "udp", "--out", out]);
    assert!(
        e.contains("--listener") && e.contains("unix") && e.contains("tcp"),
        "{e}"
    );
    let e = refused(&log, FORMAT, &["--workers", "0", "--out", out]);
    assert!(e.contains("--workers 0"), "{e}");
    let e = refused(Path::new("/dev/null"), FORMAT, &["--out", out]);
    assert!(e.contains("/dev/null is not a regular file"), "{e}");
    // The log inside --out under a name the import writes.
    let inside = dir.path().join("inside");
    std::fs::create_dir(&inside).unwrap();
    let victim = write(&inside, "trace.csv", good);
    let e = refused(&victim, FORMAT, &["--out", inside.to_str().unwrap()]);
    assert!(e.contains("is the access log being imported"), "{e}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), good);
}

#[test]
fn lines_that_do_not_match_are_counted_and_the_first_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let text = "msec=1795953600.438 rt=0.197 \"GET / HTTP/1.1\" 200 urt=\"0.197\"\n\
        msec=1795953600.500 rt=0.000 \"GET / HTTP/1.1\" 502 urt=\"0.000\"\n\
        a line from something else\n\
        msec=1795953601.000 rt=0.2x0 \"GET / HTTP/1.1\" 200 urt=\"0.200\"\n\
        msec=1795953601.900 rt=0.300 \"GET / HTTP/1.1\" 200 urt=\"0.300\"\n";
    let log = write(dir.path(), "access.log", text);
    let out = dir.path().join("out");
    let (code, stdout, stderr) = import(&log, FORMAT, &["--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("2 of 5 lines do not match the format (the first is line 3)"),
        "{stderr}"
    );
    assert!(stdout.contains("3 requests (5 lines"), "{stdout}");
    let observed = json(&out.join("observed.json"));
    assert_eq!(
        (
            observed["unmatched_lines"].as_u64(),
            observed["first_unmatched_line"].as_u64()
        ),
        (Some(2), Some(3))
    );
    assert_eq!(observed["status"]["502"], 1);
}

#[test]
fn the_shipped_example_log_imports_with_the_format_its_script_documents() {
    // The script's docstring gives the command; its --log-format is the one to use.
    let script = std::fs::read_to_string(root("models/examples/make-access-log.py")).unwrap();
    let format = script
        .lines()
        .find_map(|l| l.trim().strip_prefix("--log-format '"))
        .and_then(|f| f.strip_suffix('\''))
        .expect("the script documents its --log-format");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("peak");
    let log = root("models/examples/peak-access.log");
    let args = ["--workers", "4", "--out", out.to_str().unwrap()];
    let (code, stdout, stderr) = import(&log, format, &args);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("do not match"), "{stderr}");
    let observed = json(&out.join("observed.json"));
    let share = observed["refusal_probability"].as_f64().unwrap();
    assert!(share > 0.03, "the example's peak has 502s: {stdout}");
    // The script's pool: 4 workers, backlog 16.
    assert_eq!(observed["queue_at_refusals"], 17);
    let predicted = predicted_refusal(&out.join("model.toml"), "listener.backlog=16");
    assert!(
        (predicted - share).abs() <= 0.02,
        "predicted {predicted}, observed {share}"
    );
}

/// The shipped example's format, as its script documents it.
fn example_format() -> String {
    let script = std::fs::read_to_string(root("models/examples/make-access-log.py")).unwrap();
    script
        .lines()
        .find_map(|l| l.trim().strip_prefix("--log-format '"))
        .and_then(|f| f.strip_suffix('\''))
        .expect("the script documents its --log-format")
        .to_string()
}

/// `eagain simulate MODEL ARGS --format json`: (the JSON, stderr).
fn simulate_json(model: &Path, args: &[&str]) -> (serde_json::Value, String) {
    let sim = eagain()
        .arg("simulate")
        .arg(model)
        .args(args)
        .args(["--replications", "2", "--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(sim.stderr).unwrap();
    assert!(sim.status.success(), "{stderr}");
    (serde_json::from_slice(&sim.stdout).unwrap(), stderr)
}

#[test]
fn a_missing_workers_is_a_warning_and_the_model_and_observed_json_mark_the_guess() {
    let dir = tempfile::tempdir().unwrap();
    let log = root("models/examples/peak-access.log");
    let guess = dir.path().join("guess");
    let (code, stdout, stderr) =
        import(&log, &example_format(), &["--out", guess.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("eagain: import nginx-log: warning: --workers not given: the replay and the model assume 1 worker"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("note: --workers"),
        "a warning, not a note: {stderr}"
    );
    assert!(stdout.contains("a guess: --workers not given"), "{stdout}");
    let model = std::fs::read_to_string(guess.join("model.toml")).unwrap();
    assert!(
        model.contains("# GUESS: --workers was not given"),
        "{model}"
    );
    let observed = json(&guess.join("observed.json"));
    assert_eq!(observed["workers"]["value"], 1);
    assert_eq!(observed["workers"]["given"], false);

    let given = dir.path().join("given");
    let args = ["--workers", "4", "--out", given.to_str().unwrap()];
    let (code, _, stderr) = import(&log, &example_format(), &args);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let model = std::fs::read_to_string(given.join("model.toml")).unwrap();
    assert!(!model.contains("GUESS"), "{model}");
    let observed = json(&given.join("observed.json"));
    assert_eq!(
        (
            observed["workers"]["value"].as_u64(),
            observed["workers"]["given"].as_bool()
        ),
        (Some(4), Some(true))
    );
}

#[test]
fn the_model_has_nginxs_read_timeout_marked_as_its_default_unless_given() {
    let dir = tempfile::tempdir().unwrap();
    let log = root("models/examples/peak-access.log");
    let out = dir.path().join("out");
    let (code, _, stderr) = import(
        &log,
        &example_format(),
        &["--workers", "4", "--out", out.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{stderr}");
    let model = std::fs::read_to_string(out.join("model.toml")).unwrap();
    let line = model
        .lines()
        .find(|l| l.starts_with("timeout = "))
        .expect(&model);
    assert!(
        line.starts_with("timeout = 60.0 ")
            && line.contains("proxy_read_timeout")
            && line.contains("nginx's default"),
        "{line}"
    );
    assert!(
        stderr.contains("note: load.timeout is nginx's default proxy_read_timeout, 60 s"),
        "{stderr}"
    );
    let loaded = eagain::model::load(&out.join("model.toml"), &[]).unwrap();
    assert_eq!(loaded.model.load.timeout, Some(60.0));
    // No load.rate: the trace replays at its own rate, and the model says how to rescale it.
    assert!(!model.lines().any(|l| l.starts_with("rate")), "{model}");
    let prose = model.replace("\n# ", " ");
    assert!(
        prose.contains("--set load.rate=R replays it at R a second"),
        "{model}"
    );

    let args = [
        "--workers",
        "4",
        "--read-timeout",
        "30",
        "--out",
        out.to_str().unwrap(),
    ];
    let (code, _, stderr) = import(&log, &example_format(), &args);
    assert_eq!(code, 0, "{stderr}");
    let model = std::fs::read_to_string(out.join("model.toml")).unwrap();
    assert!(model.contains("timeout = 30.0 "), "{model}");
    assert!(
        !stderr.contains("load.timeout is nginx's default"),
        "{stderr}"
    );
    let e = refused(
        &log,
        &example_format(),
        &["--read-timeout", "0", "--out", out.to_str().unwrap()],
    );
    assert!(e.contains("--read-timeout 0"), "{e}");
}

/// A log in nginx's `combined` format (semantics: log-nginx-combined): 100 seconds, four
/// requests a second, every seventeenth a 502.
fn combined_log() -> String {
    (0..400)
        .map(|i| {
            let (m, s) = (i / 4 / 60, i / 4 % 60);
            let status = if i % 17 == 0 { 502 } else { 200 };
            format!(
                "10.0.0.{} - - [29/Nov/2026:12:{m:02}:{s:02} +0000] \"GET /a?i={i} HTTP/1.1\" \
                 {status} 157 \"-\" \"curl/7.88.1\"\n",
                i % 250
            )
        })
        .collect()
}

#[test]
fn nginxs_predefined_combined_format_is_known_by_its_name_and_by_its_text() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "access.log", &combined_log());
    let text = "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \
                \"$http_referer\" \"$http_user_agent\"";
    for format in ["combined", text] {
        let out = dir.path().join("out");
        let (code, stdout, stderr) = import(
            &log,
            format,
            &["--workers", "3", "--out", out.to_str().unwrap()],
        );
        assert_eq!(code, 0, "{stderr}");
        assert!(
            stdout.contains("400 requests") && stdout.contains("502 × 24"),
            "{stdout}"
        );
        assert!(stderr.contains("no work time is known"), "{stderr}");
        let observed = json(&out.join("observed.json"));
        assert_eq!(observed["status"]["502"], 24);
        assert_eq!(observed["time"], "$time_local");
        eagain::model::load(&out.join("model.toml"), &[]).unwrap();
    }
    // A log_format's name other than combined: said to be a name, not a format missing
    // its $status.
    let e = refused(
        &log,
        "main",
        &["--out", dir.path().join("x").to_str().unwrap()],
    );
    assert!(
        e.contains("that is the name of a log_format") && !e.contains("no $status"),
        "{e}"
    );
}

#[test]
fn with_whole_second_times_the_replays_misfits_are_put_down_to_the_resolution_not_to_workers() {
    // Three requests logged in the same second, spread within it in file order: the
    // short one first. Replayed through 2 workers, it ends before a worker is free.
    let format = "$time_local|$status|$request_time|$upstream_response_time";
    let text = "29/Nov/2026:12:31:40 +0000|200|0.100|0.100\n\
                29/Nov/2026:12:31:40 +0000|200|5.000|5.000\n\
                29/Nov/2026:12:31:40 +0000|200|5.000|5.000\n\
                29/Nov/2026:12:31:45 +0000|200|0.100|0.100\n";
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "access.log", text);
    let out = dir.path().join("out");
    let (code, _, stderr) = import(
        &log,
        format,
        &["--workers", "2", "--out", out.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{stderr}");
    let note = stderr
        .lines()
        .find(|l| l.contains("could start them"))
        .unwrap_or_else(|| panic!("no note on the replay: {stderr}"));
    assert!(
        note.contains("whole seconds")
            && note.contains("not from --workers")
            && !note.contains("check --workers"),
        "{note}"
    );
}

#[test]
fn importing_again_into_the_same_folder_leaves_no_file_of_the_previous_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let args = ["--workers", "4", "--out", out.to_str().unwrap()];
    let (code, _, stderr) = import(
        &root("models/examples/peak-access.log"),
        &example_format(),
        &args,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        out.join("work.txt").exists(),
        "more than 20 work times go to work.txt"
    );
    // A small log: its few work times go into the model, and work.txt must go.
    let small = write(
        dir.path(),
        "small.log",
        "msec=1795953600.438 rt=0.197 \"GET / HTTP/1.1\" 200 urt=\"0.197\"\n\
        msec=1795953601.438 rt=0.197 \"GET / HTTP/1.1\" 200 urt=\"0.197\"\n",
    );
    let (code, stdout, stderr) = import(&small, FORMAT, &args);
    assert_eq!(code, 0, "{stderr}");
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["model.toml", "observed.json", "trace.csv"],
        "{stdout}"
    );
    assert_eq!(trace(&out).len(), 2);
}

#[test]
fn a_log_whose_times_cannot_be_a_trace_is_refused_at_its_line_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // Every request at the same instant.
    let same = write(
        dir.path(),
        "same.log",
        "msec=1795953600.438 rt=0.000 \"GET / HTTP/1.1\" 502 urt=\"0.000\"\n\
        msec=1795953600.438 rt=0.000 \"GET / HTTP/1.1\" 502 urt=\"0.000\"\n",
    );
    let e = refused(
        &same,
        FORMAT,
        &["--workers", "2", "--out", out.to_str().unwrap()],
    );
    assert!(
        e.contains("same.log line 1:")
            && e.contains("(the last on line 2) all arrive at")
            && e.contains("times that advance"),
        "{e}"
    );
    assert!(!out.exists(), "nothing is written for a refused log");
    // One line's time is 0: a span of 1.8e9 s, named at that line.
    let good = "msec=1795953600.438 rt=0.197 \"GET / HTTP/1.1\" 200 urt=\"0.197\"\n";
    let zero = write(
        dir.path(),
        "zero.log",
        &format!("{good}msec=0.000 rt=0.000 \"GET / HTTP/1.1\" 502 urt=\"0.000\"\n{good}"),
    );
    // An earlier import's files stay as they were.
    let args = ["--workers", "4", "--out", out.to_str().unwrap()];
    let (code, _, stderr) = import(
        &root("models/examples/peak-access.log"),
        &example_format(),
        &args,
    );
    assert_eq!(code, 0, "{stderr}");
    let before = std::fs::read(out.join("model.toml")).unwrap();
    let e = refused(&zero, FORMAT, &args);
    assert!(
        e.contains("zero.log line 2: its request arrives at 1970-01-01 00:00:00 UTC")
            && e.contains("at most 1e9 s"),
        "{e}"
    );
    assert_eq!(std::fs::read(out.join("model.toml")).unwrap(), before);
    assert!(out.join("work.txt").exists());
    assert!(!out.join(".eagain-staging").exists());
}

#[test]
fn pool_gives_the_log_the_pool_of_a_php_fpm_dynamic_model() {
    let dir = tempfile::tempdir().unwrap();
    let log = root("models/examples/peak-access.log");
    let pool_model = root("models/php-fpm-dynamic.toml");
    let out = dir.path().join("pool");
    let args = [
        "--pool",
        pool_model.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    let (code, stdout, stderr) = import(&log, &example_format(), &args);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        !stderr.contains("warning"),
        "the pool gives the workers: {stderr}"
    );
    assert!(
        stdout.contains("php-fpm-dynamic.toml's listener, pool and master"),
        "{stdout}"
    );
    let text = std::fs::read_to_string(out.join("model.toml")).unwrap();
    // The pool model's tables, with their comments; the log's load, with no rate.
    assert!(
        text.contains("min_spare = 1                # pm.min_spare_servers"),
        "{text}"
    );
    assert!(!text.lines().any(|l| l.starts_with("rate")), "{text}");
    let m = eagain::model::load(&out.join("model.toml"), &[])
        .unwrap()
        .model;
    let s = m.front();
    assert_eq!(s.master.mode, eagain::model::MasterMode::PhpFpmDynamic);
    assert_eq!(
        (
            s.pool.process_limit,
            s.pool.start_servers,
            s.pool.min_spare,
            s.pool.max_spare
        ),
        (5, Some(2), Some(1), Some(3))
    );
    assert_eq!((s.listener.backlog, m.load.timeout), (4096, Some(60.0)));
    assert_eq!(m.load.arrival, eagain::model::Arrival::Trace);
    let observed = json(&out.join("observed.json"));
    assert_eq!(observed["workers"]["value"], 5);
    // The dynamic pool forks and shrinks; the fixed pool of the same five never does.
    let (dynamic, _) = simulate_json(&out.join("model.toml"), &[]);
    assert!(
        dynamic["processes"]["forks"].as_f64().unwrap() > 0.0,
        "{dynamic}"
    );
    assert!(
        dynamic["processes"]["mean"].as_f64().unwrap() < 5.0,
        "{dynamic}"
    );
    let fixed = dir.path().join("fixed");
    let args = ["--workers", "5", "--out", fixed.to_str().unwrap()];
    let (code, _, stderr) = import(&log, &example_format(), &args);
    assert_eq!(code, 0, "{stderr}");
    let (prefork, _) = simulate_json(&fixed.join("model.toml"), &[]);
    assert_eq!(
        prefork["processes"]["forks"].as_f64(),
        Some(0.0),
        "{prefork}"
    );
    assert_eq!(
        prefork["processes"]["mean"].as_f64(),
        Some(5.0),
        "{prefork}"
    );

    // What the pool gives cannot also be given by flag; a chain is not a pool.
    let e = refused(
        &log,
        &example_format(),
        &[
            "--pool",
            pool_model.to_str().unwrap(),
            "--backlog",
            "16",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(e.contains("--backlog") && e.contains("--pool"), "{e}");
    let chain = root("models/nginx-gunicorn-chain.toml");
    let e = refused(
        &log,
        &example_format(),
        &[
            "--pool",
            chain.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(
        e.contains("--pool") && e.contains("nginx-gunicorn-chain.toml") && e.contains("chain"),
        "{e}"
    );
}

#[test]
fn simulate_says_when_a_trace_is_replayed_at_a_rate_other_than_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let args = ["--workers", "4", "--out", out.to_str().unwrap()];
    let (code, _, stderr) = import(
        &root("models/examples/peak-access.log"),
        &example_format(),
        &args,
    );
    assert_eq!(code, 0, "{stderr}");
    let model = out.join("model.toml");
    let (own, stderr) = simulate_json(&model, &[]);
    assert!(!stderr.contains("replayed at"), "{stderr}");
    let (faster, stderr) = simulate_json(&model, &["--set", "load.rate=10"]);
    assert!(
        stderr.contains(
            "load.trace is replayed at load.rate = 10 a second, not at its own 8.3327 a second"
        ),
        "{stderr}"
    );
    // The same arrivals, closer together: the window shrinks.
    assert_eq!(own["offered"], faster["offered"]);
}
