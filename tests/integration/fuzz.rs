//! A mutation fuzz test of model files and command lines, bounded in time: every
//! shipped model is mutated at random (a value replaced by an extreme one, a line
//! deleted, duplicated or cut, a key added, bytes changed), and command lines get
//! extreme values; each case must end within its time limit with exit 0 (a result) or
//! exit 2 (one short line on stderr, nothing on stdout), never a panic, an abort or a
//! hang. The seed is fixed, so a failure repeats; `EAGAIN_FUZZ_CASES` runs more cases.

use crate::common::{bin, root};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Values that broke or nearly broke eagain: signs, zero, extremes, non-numbers.
pub(crate) const EXTREMES: &[&str] = &[
    "0",
    "-1",
    "1",
    "0.5",
    "1e-300",
    "1e-9",
    "1e300",
    "-1e300",
    "1.7976931348623157e308",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "9223372036854775807",
    "nan",
    "inf",
    "-inf",
    "\"x\"",
    "true",
    "[]",
    "{}",
    "{ dist = \"constant\", value = 1e308 }",
    "{ dist = \"gamma\", mean = 1e-200, sd = 1e200 }",
    "{ dist = \"empirical\", file = \"/dev/zero\" }",
    "{ dist = \"uniform\", low = 0, high = 1e300 }",
    "\"retry\"",
    "\"tcp\"",
    "\"per-connection\"",
    "\"2.4.2\"",
];

/// Ordinary values, so that half the mutations leave a model that runs and the
/// simulator's own paths get exercised.
const ORDINARY: &[&str] = &["2", "3", "10", "0.01", "0.2", "100", "1000", "\"unix\""];

/// An extreme value half the time, an ordinary one otherwise.
pub(crate) fn value(rng: &mut Pcg64) -> &'static str {
    if rng.random_bool(0.5) {
        EXTREMES.choose(rng).unwrap()
    } else {
        ORDINARY.choose(rng).unwrap()
    }
}

/// One mutation of a model's text.
pub(crate) fn mutate(text: &str, rng: &mut Pcg64) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let n = lines.len().max(1);
    let i = rng.random_range(0..n);
    match rng.random_range(0..7) {
        // A value replaced by an extreme one.
        0..=2 => {
            let candidates: Vec<usize> = (0..lines.len())
                .filter(|&k| lines[k].contains('=') && !lines[k].trim_start().starts_with('#'))
                .collect();
            if let Some(&k) = candidates.choose(rng) {
                let key = lines[k].split('=').next().unwrap_or("").to_string();
                lines[k] = format!("{key}= {}", value(rng));
            }
        }
        3 => {
            if !lines.is_empty() {
                lines.remove(i);
            }
        }
        4 => {
            if let Some(l) = lines.get(i).cloned() {
                lines.insert(i, l);
            }
        }
        5 => {
            let key = ["unknown", "process_limit", "rate", "dist", "backlog"]
                .choose(rng)
                .unwrap();
            lines.insert(i, format!("{key} = {}", value(rng)));
        }
        _ => {
            // Cut the text, or change a byte to another printable one.
            let mut t = lines.join("\n");
            if rng.random_bool(0.5) && !t.is_empty() {
                let cut = rng.random_range(0..t.len());
                let cut = (0..=cut)
                    .rev()
                    .find(|&c| t.is_char_boundary(c))
                    .unwrap_or(0);
                t.truncate(cut);
            } else if !t.is_empty() {
                let at = rng.random_range(0..t.len());
                if t.is_char_boundary(at) && t.is_char_boundary(at + 1) {
                    let c = char::from(rng.random_range(b' '..=b'~'));
                    t.replace_range(at..at + 1, &c.to_string());
                }
            }
            return t;
        }
    }
    lines.join("\n")
}

/// What one case did.
#[derive(Debug, Default)]
struct Outcomes {
    ok: usize,
    refused: usize,
}

/// Runs eagain with `args` and checks the contract; returns whether it succeeded.
fn check(args: &[String], limit: Duration, what: &str) -> bool {
    let started = Instant::now();
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("eagain starts");
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?}: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => true,
        Some(2) => {
            assert!(out.stdout.is_empty(), "{what}: stdout on exit 2: {args:?}");
            assert_eq!(
                stderr.trim_end().lines().count(),
                1,
                "{what}: not one line: {args:?}\n{stderr}"
            );
            assert!(
                stderr.len() <= 2_100,
                "{what}: {} bytes: {args:?}",
                stderr.len()
            );
            assert!(stderr.starts_with("eagain: "), "{what}: {stderr}");
            false
        }
        other => panic!("{what}: exit {other:?} (a panic or an abort): {args:?}\n{stderr}"),
    }
}

fn cases() -> usize {
    std::env::var("EAGAIN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

#[test]
fn mutated_model_files_end_in_a_result_or_a_one_line_refusal() {
    let mut models: Vec<(String, String)> = std::fs::read_dir(root("models"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    models.sort();
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Pcg64::seed_from_u64(20261129);
    let mut seen = Outcomes::default();
    for case in 0..cases() {
        let (name, text) = models.choose(&mut rng).unwrap();
        let mut mutated = text.clone();
        for _ in 0..rng.random_range(1..=2) {
            mutated = mutate(&mutated, &mut rng);
        }
        let file = dir.path().join(format!("case-{case}.toml"));
        std::fs::write(&file, &mutated).unwrap();
        // A small budget keeps every valid case short; the budget itself may be mutated
        // in the file, and this flag wins.
        let args: Vec<String> = [
            "simulate",
            file.to_str().unwrap(),
            "--replications",
            "1",
            "--format",
            "json",
            "--set",
            "sim.max_connections=1000000",
        ]
        .map(String::from)
        .to_vec();
        if check(
            &args,
            Duration::from_secs(30),
            &format!("case {case} from {name}"),
        ) {
            seen.ok += 1;
        } else {
            seen.refused += 1;
        }
        let _ = std::fs::remove_file(&file);
    }
    eprintln!("fuzz: {} cases: {seen:?}", cases());
    assert!(seen.ok > 0 && seen.refused > 0, "{seen:?}");
}

#[test]
fn extreme_command_lines_end_in_a_result_or_a_one_line_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let m = "models/mmck.toml";
    let mut rng = Pcg64::seed_from_u64(7);
    let value = |rng: &mut Pcg64| value(rng).to_string();
    let mut seen = Outcomes::default();
    for case in 0..cases() / 3 {
        let v = value(&mut rng);
        let o = out.display().to_string();
        let args: Vec<String> = match case % 6 {
            0 => vec![
                "sweep".into(),
                m.into(),
                "--vary".into(),
                format!("load.rate={v},{}", value(&mut rng)),
                "--set".into(),
                "sim.max_connections=1000000".into(),
                "--replications".into(),
                "2".into(),
                "--out".into(),
                o,
            ],
            1 => vec![
                "sweep".into(),
                m.into(),
                "--vary".into(),
                format!("load.rate={v}:{}:{}", value(&mut rng), value(&mut rng)),
                "--set".into(),
                "sim.max_connections=1000000".into(),
                "--set".into(),
                "load.duration=2".into(),
                "--replications".into(),
                "2".into(),
                "--out".into(),
                o,
            ],
            2 => vec![
                "plan".into(),
                m.into(),
                "--solve".into(),
                "pool.process_limit".into(),
                "--target".into(),
                format!("refusal_probability<={v}"),
                "--max".into(),
                "64".into(),
                "--replications".into(),
                "2".into(),
                "--set".into(),
                "sim.max_connections=1000000".into(),
            ],
            3 => vec![
                "analytic".into(),
                ["mmck", "md1k", "erlang-b", "erlang-c"]
                    .choose(&mut rng)
                    .unwrap()
                    .to_string(),
                "--rate".into(),
                v,
                "--mu".into(),
                value(&mut rng),
                "--servers".into(),
                value(&mut rng),
                "--capacity".into(),
                value(&mut rng),
            ],
            4 => vec![
                "simulate".into(),
                m.into(),
                "--seed".into(),
                v,
                "--precision".into(),
                value(&mut rng),
                "--max-replications".into(),
                "20".into(),
                "--set".into(),
                "sim.max_connections=1000000".into(),
            ],
            _ => vec![
                "simulate".into(),
                m.into(),
                "--set".into(),
                format!(
                    "{}={v}",
                    [
                        "load.rate",
                        "pool.process_limit",
                        "listener.backlog",
                        "load.timeout"
                    ]
                    .choose(&mut rng)
                    .unwrap()
                ),
                "--set".into(),
                "sim.max_connections=1000000".into(),
                "--replications".into(),
                "2".into(),
            ],
        };
        if check(&args, Duration::from_secs(60), &format!("command {case}")) {
            seen.ok += 1;
        } else {
            seen.refused += 1;
        }
    }
    eprintln!("fuzz: {} command lines: {seen:?}", cases() / 3);
    assert!(seen.ok > 0 && seen.refused > 0, "{seen:?}");
    assert!(Path::new(&out).exists() || seen.ok < cases() / 3);
}
