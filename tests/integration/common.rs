//! Helpers shared by the test modules, written once: the binary, files in the
//! repository and in temporary folders, models from TOML text, replications run in
//! parallel, the 99.9 % Student-t interval the statistical tests assert with, files
//! compared byte for byte, and the size of a PNG.

use eagain::model::{load_str, Model};
use eagain::server::Compiled;
use eagain::stats::{t_quantile, RepStats, Summary};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The eagain binary, run from the repository root so that `models/...` resolves.
pub fn eagain() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::new(bin());
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// The path of the eagain binary.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_eagain")
}

/// A path inside the repository.
pub fn root(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// Writes `text` as `name` in `dir`; returns its path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("the temporary directory is writable");
    path
}

/// Confidence of the intervals the statistical tests assert with: wide enough that a
/// correct simulator fails about once in a thousand runs of a test, and each test has
/// a fixed seed, so a pass stays a pass.
pub const CONFIDENCE: f64 = 0.999;

/// A model from TOML text, checked like a model file.
pub fn model(text: &str) -> Model {
    load_str(text, "test.toml", Path::new("."), &[])
        .unwrap_or_else(|e| panic!("the test's model does not load: {e}\n{text}"))
}

/// A model from a shipped file under `models/`.
pub fn shipped(name: &str) -> Model {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(name);
    eagain::model::load(&path, &[])
        .unwrap_or_else(|e| panic!("{name} does not load: {e}"))
        .model
}

/// Replications 0..n of `model` with `seed`, in parallel (each is single-threaded and
/// has its own streams, so the order of the result is the replication order).
pub fn replications(model: &Model, seed: u64, n: u64) -> Vec<RepStats> {
    let compiled = Compiled::new(model);
    (0..n)
        .into_par_iter()
        .map(|r| compiled.run(seed, r).expect("the replication runs"))
        .collect()
}

/// The summary of one replication on its own (its time means, its latencies).
pub fn summary(rep: &RepStats) -> Summary {
    Summary::combine(std::slice::from_ref(rep), 0.95)
}

/// One replication of a deterministic model: seed and replication do not matter.
pub fn run_once(text: &str) -> Summary {
    let m = model(text);
    summary(&Compiled::new(&m).run(1, 0).expect("the replication runs"))
}

/// A mean with the half-width of its 99.9 % Student-t interval.
#[derive(Debug, Clone, Copy)]
pub struct Interval {
    pub mean: f64,
    pub half: f64,
    pub n: usize,
}

impl Interval {
    /// From independent per-replication estimates.
    pub fn of(xs: &[f64]) -> Interval {
        let n = xs.len();
        assert!(n >= 2, "an interval needs at least two replications");
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        Interval {
            mean,
            half: t_quantile(CONFIDENCE, n) * (var / n as f64).sqrt(),
            n,
        }
    }

    pub fn contains(&self, x: f64) -> bool {
        (self.mean - x).abs() <= self.half
    }
}

/// Asserts that the 99.9 % interval of `xs` contains `exact`, and that it is narrow:
/// its half-width is at most `max_relative_half` of `exact`, so that a model wrong by
/// a few percent would fall outside it.
pub fn assert_covers(what: &str, xs: &[f64], exact: f64, max_relative_half: f64) {
    let i = Interval::of(xs);
    // Shown with --nocapture, to see how much room a test has.
    eprintln!(
        "{what}: exact {exact}, simulated {} ± {} ({:.2} %)",
        i.mean,
        i.half,
        100.0 * i.half / exact.abs()
    );
    assert!(
        i.contains(exact),
        "{what}: exact value {exact} outside the 99.9 % interval {} ± {} ({} replications)",
        i.mean,
        i.half,
        i.n
    );
    assert!(
        i.half <= max_relative_half * exact.abs(),
        "{what}: the 99.9 % interval {} ± {} is too wide to test {exact} \
         (half-width {:.2} % > {:.2} %): run longer",
        i.mean,
        i.half,
        100.0 * i.half / exact.abs(),
        100.0 * max_relative_half
    );
}

/// Per-replication refusal probabilities.
pub fn refusal(reps: &[RepStats]) -> Vec<f64> {
    reps.iter().map(RepStats::refusal_probability).collect()
}

/// Asserts |a - b| <= tol, with a message naming the quantity.
#[track_caller]
pub fn assert_close(what: &str, got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got}, want {want} (tolerance {tol})"
    );
}

/// The bytes of a file, naming it when it cannot be read.
pub fn bytes(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Asserts two files have the same bytes, naming the first line that differs.
pub fn assert_same_file(a: &Path, b: &Path) {
    let (x, y) = (bytes(a), bytes(b));
    if x == y {
        return;
    }
    let (x, y) = (String::from_utf8_lossy(&x), String::from_utf8_lossy(&y));
    let line = x
        .lines()
        .zip(y.lines())
        .position(|(p, q)| p != q)
        .unwrap_or(x.lines().count().min(y.lines().count()));
    panic!(
        "{} and {} differ at line {}:\n{}\n{}",
        a.display(),
        b.display(),
        line + 1,
        x.lines().nth(line).unwrap_or("(end)"),
        y.lines().nth(line).unwrap_or("(end)")
    );
}

/// The width and height of a PNG file.
pub fn png_size(p: &Path) -> (u32, u32) {
    let decoder = png::Decoder::new(std::fs::File::open(p).unwrap());
    let reader = decoder.read_info().unwrap();
    let info = reader.info();
    (info.width, info.height)
}

/// Runs eagain with its temporary files under `tmp`.
pub fn run_in(tmp: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .env("TMPDIR", tmp)
        .output()
        .expect("eagain runs")
}

/// An output's exit code, stdout and stderr, for an assertion's message.
pub fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Every file and folder under `dir`.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.filter_map(|e| e.ok()) {
            out.push(e.path());
            out.extend(walk(&e.path()));
        }
    }
    out
}

/// A fixed pool of 2 or 3 processes, constant arrivals (the n-th at n/rate) and
/// 73 ms of constant blocking: 27.4 or 41 connections per second at most.
pub const PREFORK: &str = r#"
name = "harness prefork"
[load]
arrival = "constant"
rate = 20.0
duration = 3.0
[listener]
backlog = 4
[pool]
process_limit = 2
[master]
mode = "prefork"
[work]
blocking = { dist = "constant", value = 0.073 }
"#;

/// Runs a command that must be refused with exit code 2, a message naming `words`, and
/// nothing on stdout.
pub fn refused(tmp: &Path, args: &[&str], words: &[&str]) {
    let o = run_in(tmp, args);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(o.stdout.is_empty(), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    for w in words {
        assert!(err.contains(w), "`{w}` not in: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

/// The number of processes in each 1-s bin of one run of `text`: requests that each
/// hold a child for 1000 s, all sent in the first moment.
pub fn processes_per_second(text: &str, seconds: usize) -> Vec<f64> {
    let mut c = Compiled::new(&model(text));
    c.keep_timeline(1.0);
    let rep = c.run(1, 0).unwrap();
    let t = rep.timeline.expect("a timeline was kept");
    t.processes[..seconds].to_vec()
}

/// Runs `eagain import SOURCE FILE EXTRA...`, which must succeed; returns the model
/// text (stdout) and stderr.
pub fn import_file(source: &str, file: &Path, extra: &[&str]) -> (String, String) {
    let out = eagain()
        .args(["import", source])
        .arg(file)
        .args(extra)
        .assert()
        .success()
        .get_output()
        .clone();
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// An imported model's text, loaded (it must load).
pub fn load_imported(text: &str) -> Model {
    load_str(text, "imported.toml", Path::new("."), &[])
        .unwrap_or_else(|e| panic!("the imported model does not load: {e}\n{text}"))
}
