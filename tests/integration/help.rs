//! The command line as a newcomer meets it: `eagain` alone prints its help (formatted),
//! every command's `--help` has examples and every example runs, the man page and the
//! completions made from the same definitions, and the two common slips of issue 19
//! (a bare number for a distribution, a range without its step) answered in words.
//!
//! The examples are the lines of each `--help` after "Example" that start with
//! `eagain ` (a line ending in `\` goes on the next); they run in order, with bash, in
//! a temporary folder holding copies of `models/` and `tests/data/`, as from the
//! repository's root. A harness target (real servers, timing) is swapped for the
//! hidden `mock` target, which runs the same pipeline on the simulator's replications.

use crate::common::{bin, eagain, root};
use rayon::prelude::*;
use std::path::Path;
use std::process::Command;

/// The names `--help` lists under "Commands:" (clap's own `help` left out).
fn listed_commands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(String::from)
        .collect()
}

fn help_of(path: &[String]) -> String {
    let out = eagain().args(path).arg("--help").output().unwrap();
    assert!(out.status.success(), "eagain {path:?} --help failed");
    String::from_utf8(out.stdout).unwrap()
}

/// Every command path with its `--help`: [] for eagain itself, ["analytic", "mmck"]...
fn every_command() -> Vec<(Vec<String>, String)> {
    let mut done = Vec::new();
    let mut todo = vec![Vec::<String>::new()];
    while let Some(path) = todo.pop() {
        let help = help_of(&path);
        for name in listed_commands(&help) {
            let mut sub = path.clone();
            sub.push(name);
            todo.push(sub);
        }
        done.push((path, help));
    }
    done.sort();
    done
}

/// The example commands of one `--help`, continuation lines joined.
fn examples(help: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut pending = String::new();
    let section = help.lines().skip_while(|l| !l.starts_with("Example"));
    for line in section {
        let line = line.trim();
        if pending.is_empty() && !line.starts_with("eagain ") {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => pending.push_str(part),
            None => {
                pending.push_str(line);
                commands.push(std::mem::take(&mut pending));
            }
        }
    }
    commands
}

/// Copies a folder of the repository into `to`, recursively.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A folder that looks like the repository's root to the examples, and a PATH whose
/// `eagain` is the binary under test.
fn workplace() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&root("models"), &dir.path().join("models"));
    copy_tree(&root("tests/data"), &dir.path().join("tests/data"));
    std::fs::create_dir(dir.path().join("output")).unwrap();
    let bin_dir = dir.path().join(".bin");
    std::fs::create_dir(&bin_dir).unwrap();
    std::os::unix::fs::symlink(bin(), bin_dir.join("eagain")).unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    (dir, path)
}

/// `--target NAME` of a real server (harness, validate) becomes `--target mock`.
fn with_mock_target(command: &str) -> String {
    if !command.starts_with("eagain harness ") && !command.starts_with("eagain validate ") {
        return command.to_string();
    }
    let words: Vec<&str> = command.split(' ').collect();
    let mut out = Vec::with_capacity(words.len());
    let mut next_is_target = false;
    for w in words {
        out.push(if next_is_target { "mock" } else { w });
        next_is_target = w == "--target";
    }
    out.join(" ")
}

#[test]
fn eagain_alone_prints_its_whole_help_formatted_on_stderr_and_exits_2() {
    let out = eagain().output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("\nUsage: eagain <COMMAND>\n"), "{err}");
    assert!(err.contains("\nCommands:\n  simulate "), "{err}");
    assert!(err.contains("\nExamples:\n  eagain sweep "), "{err}");
    assert!(err.lines().count() > 15, "squashed:\n{err}");
    // The same for a command whose subcommand is missing.
    let out = eagain().arg("import").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("\nCommands:\n  doveconf "), "{err}");
}

#[test]
fn every_command_shows_examples_and_every_example_runs_from_the_repository_root() {
    let commands = every_command();
    let names: Vec<String> = commands.iter().map(|(p, _)| p.join(" ")).collect();
    for expected in [
        "simulate",
        "sweep",
        "merge",
        "plot",
        "plan",
        "analytic",
        "analytic mmck",
    ]
    .into_iter()
    .chain(["harness", "validate", "import", "import nginx-log"])
    {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} not in {names:?}"
        );
    }
    let failures: Vec<String> = commands
        .par_iter()
        .flat_map(|(path, help)| {
            let shown = format!("eagain {}", path.join(" "));
            let examples = examples(help);
            if examples.is_empty() {
                return vec![format!("`{shown} --help` shows no example")];
            }
            let (dir, path_var) = workplace();
            let mut failed = Vec::new();
            for example in &examples {
                let run = with_mock_target(example);
                let out = Command::new("bash")
                    .args(["-c", &run])
                    .current_dir(dir.path())
                    .env("PATH", &path_var)
                    .output()
                    .unwrap();
                if !out.status.success() {
                    failed.push(format!(
                        "`{shown} --help`: `{run}` exited {:?}:\n{}",
                        out.status.code(),
                        String::from_utf8_lossy(&out.stderr)
                    ));
                    break;
                }
            }
            failed
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_man_page_has_a_section_for_every_command_and_renders_without_warnings() {
    let out = eagain().args(["generate", "man"]).output().unwrap();
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    assert_eq!(page.matches(".TH eagain 1").count(), 1, "{page}");
    for (path, _) in every_command().iter().filter(|(p, _)| !p.is_empty()) {
        let name = format!("eagain {}", path.join(" ")).replace('-', "\\-");
        assert!(
            page.contains(&format!(".SS \"{name}\"")),
            "no section {name}"
        );
    }
    assert!(!page.contains("__internal") && !page.contains("generate"));
    // groff (man-db's renderer) reads it without a warning, and the reader sees every
    // command and flag with plain hyphens.
    if Command::new("groff").arg("-v").output().is_err() {
        eprintln!("groff is not installed: the page's text is checked, not its rendering");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("eagain.1");
    std::fs::write(&file, &page).unwrap();
    let out = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-P-cbou"])
        .arg(&file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.is_empty(), "{err}");
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "eagain simulate",
        "eagain analytic erlang-b",
        "eagain import nginx-log",
        "--max-replications",
        "eagain sweep models/nginx-gunicorn.toml --set load.arrival=poisson",
    ] {
        assert!(text.contains(needle), "the rendered page lacks {needle}");
    }
}

#[test]
fn bash_completion_completes_commands_subcommands_and_flags() {
    let out = eagain()
        .args(["generate", "completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("eagain.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    // As bash calls the function on TAB: the words so far and the one completed.
    let complete = |words: &str| -> String {
        let n = words.split(' ').count() - 1;
        let current = words.rsplit(' ').next().unwrap();
        let previous = words.split(' ').nth(n.saturating_sub(1)).unwrap();
        let line = format!(
            "source '{}'; COMP_WORDS=({words}); COMP_CWORD={n}; _eagain eagain '{current}' \
             '{previous}'; echo \"${{COMPREPLY[@]}}\"",
            script.display()
        );
        let out = Command::new("bash").args(["-c", &line]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    assert_eq!(complete("eagain s"), "simulate sweep");
    // Hidden commands (the harness's own processes) are not offered.
    assert!(!String::from_utf8_lossy(&out.stdout).contains("__internal"));
    assert_eq!(complete("eagain analytic m"), "mmck md1k");
    assert_eq!(complete("eagain sweep --sh"), "--shard");
    for shell in ["zsh", "fish"] {
        let out = eagain()
            .args(["generate", "completions", shell])
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        for name in ["simulate", "sweep", "nginx-log", "erlang-c"] {
            assert!(text.contains(name), "{shell} completions lack {name}");
        }
    }
}

#[test]
fn a_bare_number_is_a_constant_distribution_in_set_vary_and_the_model_file() {
    let json = |args: &[&str], model: &Path| {
        let out = eagain()
            .args(["simulate", model.to_str().unwrap(), "--replications", "2"])
            .args(["--format", "json"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v.as_object_mut().unwrap().remove("wall_s");
        v.as_object_mut().unwrap().remove("model");
        v
    };
    let mmck = root("models/mmck.toml");
    let table = json(
        &["--set", "work.blocking={ dist = \"constant\", value = 2 }"],
        &mmck,
    );
    assert_eq!(json(&["--set", "work.blocking=2"], &mmck), table);
    assert_eq!(json(&["--set", "work.blocking=2.0"], &mmck), table);
    let dir = tempfile::tempdir().unwrap();
    let text: String = std::fs::read_to_string(&mmck)
        .unwrap()
        .lines()
        .map(|l| match l.starts_with("blocking = ") {
            true => "blocking = 2\n".to_string(),
            false => format!("{l}\n"),
        })
        .collect();
    assert!(text.contains("\nblocking = 2\n"));
    let file = crate::common::write(dir.path(), "m.toml", &text);
    assert_eq!(json(&[], &file), table);
    // A sweep's axis too; its results.json writes the table back.
    let out_dir = dir.path().join("sweep");
    eagain()
        .args(["sweep", "models/mmck.toml", "--replications", "1"])
        .args(["--vary", "work.blocking=1,2", "--out"])
        .arg(&out_dir)
        .assert()
        .success();
    let results = std::fs::read_to_string(out_dir.join("results.json")).unwrap();
    assert!(
        results.contains("\"dist\": \"constant\""),
        "{}",
        &results[..400]
    );
}

#[test]
fn a_distribution_given_a_word_says_how_to_write_one_without_rust_type_names() {
    let out = eagain()
        .args([
            "simulate",
            "models/mmck.toml",
            "--set",
            "work.blocking=fast",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        err,
        "eagain: models/mmck.toml (from --set work.blocking=fast): `work.blocking`: invalid \
         type: string \"fast\", expected a distribution: a number (a constant) or a table \
         such as { dist = \"exponential\", mean = 1.0 }\n"
    );
}

#[test]
fn a_range_without_its_step_says_that_a_range_needs_a_step() {
    let out = eagain()
        .args([
            "sweep",
            "models/nginx-gunicorn.toml",
            "--vary",
            "load.rate=0.1:2.4",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        err,
        "eagain: --vary load.rate=0.1:2.4: a range needs a step: write start:stop:step (stop \
         included), e.g. 0.1:2.4:STEP, or start:stop:xF for a geometric one, e.g. 0.1:2.4:x2\n"
    );
    assert!(!err.contains("f64"));
}
