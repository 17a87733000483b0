//! The shipped scheduler files run as their scheduler would run them, without the
//! scheduler: the Kubernetes Indexed Job's container command, read from
//! `deploy/kubernetes/sweep-job.yaml`, run once per index with `JOB_COMPLETION_INDEX`
//! set and `$(VAR)` expanded as the kubelet does; and `deploy/slurm/sweep.sbatch` run
//! once per array index with `SLURM_ARRAY_TASK_ID` set. Each merge must give the bytes
//! of one unsharded sweep. (The real Slurm cluster test is in `tests/realservers`.)

use crate::common::{assert_same_file, bin, root};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const INDEX_VARIABLES: [&str; 3] = [
    "SLURM_ARRAY_TASK_ID",
    "JOB_COMPLETION_INDEX",
    "AWS_BATCH_JOB_ARRAY_INDEX",
];

/// A YAML scalar as written in the manifest: plain, 'single' or "double" quoted.
fn scalar(raw: &str) -> String {
    let raw = raw.trim();
    if raw.starts_with('"') {
        serde_json::from_str(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
    } else if let Some(inner) = raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        inner.replace("''", "'")
    } else {
        raw.to_string()
    }
}

/// The value of the first `key: value` line of the manifest.
fn field(yaml: &str, key: &str) -> String {
    yaml.lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{key}:")))
        .map(scalar)
        .unwrap_or_else(|| panic!("the manifest has no {key}"))
}

/// The items of the block sequence under the manifest's `command:` key: the lines
/// after it that start with `- ` at its indentation or deeper, up to the first that
/// does not. (The manifest keeps its command in this plain form so that this simple
/// reading is the whole of YAML it needs.)
fn command(yaml: &str) -> Vec<String> {
    let lines: Vec<&str> = yaml.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.trim() == "command:")
        .expect("the manifest has a command: block");
    let indent = lines[at].len() - lines[at].trim_start().len();
    lines[at + 1..]
        .iter()
        .take_while(|l| {
            let i = l.len() - l.trim_start().len();
            i >= indent && l.trim_start().starts_with("- ")
        })
        .map(|l| scalar(&l.trim_start()[2..]))
        .collect()
}

/// `$(NAME)` replaced by the value of a variable the container defines, as the kubelet
/// expands a command (`$$` escapes a `$`; an undefined name stays as written).
fn expand(arg: &str, env: &[(&str, String)]) -> String {
    let mut out = String::new();
    let mut rest = arg;
    while let Some(i) = rest.find('$') {
        out += &rest[..i];
        let after = &rest[i + 1..];
        if let Some(a) = after.strip_prefix('$') {
            out.push('$');
            rest = a;
        } else if let Some((name, a)) = after.strip_prefix('(').and_then(|a| a.split_once(')')) {
            match env.iter().find(|(k, _)| *k == name) {
                Some((_, v)) => out += v,
                None => out += &format!("$({name})"),
            }
            rest = a;
        } else {
            out.push('$');
            rest = after;
        }
    }
    out + rest
}

/// A folder standing for the volume the pods mount: the repository's models in it.
fn study_volume(dir: &Path) -> PathBuf {
    let study = dir.join("study");
    std::fs::create_dir_all(&study).unwrap();
    std::os::unix::fs::symlink(root("models"), study.join("models")).unwrap();
    study
}

/// eagain's sweep arguments without the ones that make it a shard.
fn unsharded(sweep: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut args = sweep.iter();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--shard" | "--out" | "--threads" => {
                args.next();
            }
            "--resume" => {}
            _ => out.push(a.clone()),
        }
    }
    out
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Merges `shards` and checks the bytes against one unsharded sweep of `sweep`.
fn merge_equals_one_sweep(cwd: &Path, shards: &[String], sweep: &[String]) {
    let o = Command::new(bin())
        .current_dir(cwd)
        .arg("merge")
        .args(shards)
        .args(["--out", "merged"])
        .output()
        .unwrap();
    assert!(o.status.success(), "merge: {}", stderr(&o));
    let o = Command::new(bin())
        .current_dir(cwd)
        .args(unsharded(sweep))
        .args(["--out", "whole"])
        .output()
        .unwrap();
    assert!(o.status.success(), "the unsharded sweep: {}", stderr(&o));
    for f in ["results.csv", "results.json"] {
        assert_same_file(&cwd.join("whole").join(f), &cwd.join("merged").join(f));
    }
}

#[test]
fn the_kubernetes_manifests_command_run_for_each_index_merges_to_one_sweeps_bytes() {
    let yaml = std::fs::read_to_string(root("deploy/kubernetes/sweep-job.yaml")).unwrap();
    assert_eq!(field(&yaml, "completionMode"), "Indexed");
    assert_eq!(field(&yaml, "restartPolicy"), "Never");
    assert_eq!(field(&yaml, "workingDir"), "/study");
    let completions: usize = field(&yaml, "completions").parse().unwrap();
    // Bad input fails the Job instead of being retried.
    assert!(
        yaml.contains("action: FailJob") && yaml.contains("values: [2]"),
        "exit code 2 must fail the Job"
    );
    // The container defines the variable its command expands.
    assert!(yaml.contains("- name: JOB_COMPLETION_INDEX"));
    let cmd = command(&yaml);
    assert_eq!(cmd[..2], ["eagain", "sweep"], "{cmd:?}");
    let shard = cmd.iter().position(|a| a == "--shard").unwrap();
    assert_eq!(
        cmd[shard + 1],
        format!("auto/{completions}"),
        "--shard auto/N must match completions"
    );
    assert!(cmd.contains(&"--resume".to_string()));

    let dir = tempfile::tempdir().unwrap();
    let study = study_volume(dir.path());
    let mut folders = Vec::new();
    for index in 0..completions {
        let env = [("JOB_COMPLETION_INDEX", index.to_string())];
        let argv: Vec<String> = cmd.iter().map(|a| expand(a, &env)).collect();
        let out = argv.last().unwrap().clone();
        assert_eq!(out, format!("shards/{index}"));
        let mut c = Command::new(bin());
        c.current_dir(&study).args(&argv[1..]);
        for v in INDEX_VARIABLES {
            c.env_remove(v);
        }
        let o = c
            .env("JOB_COMPLETION_INDEX", index.to_string())
            .output()
            .unwrap();
        assert!(o.status.success(), "pod {index}: {}", stderr(&o));
        assert!(study.join(&out).join("results.json").exists());
        folders.push(out);
    }
    merge_equals_one_sweep(&study, &folders, &cmd[1..]);
}

#[test]
fn the_slurm_script_run_for_each_array_index_merges_to_one_sweeps_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let study = study_volume(dir.path());
    let script = root("deploy/slurm/sweep.sbatch");
    let sweep: Vec<String> = [
        "models/mmck.toml",
        "--set",
        "load.duration=500",
        "--replications",
        "3",
        "--vary",
        "load.rate=6,9,12",
        "--vary",
        "pool.process_limit=8,10",
    ]
    .map(String::from)
    .to_vec();
    let task = |index: Option<usize>| -> Output {
        let mut c = Command::new("bash");
        c.current_dir(&study)
            .arg(&script)
            .args(["3", "shards"])
            .args(&sweep)
            .env("EAGAIN", bin());
        for v in INDEX_VARIABLES {
            c.env_remove(v);
        }
        if let Some(i) = index {
            c.env("SLURM_ARRAY_TASK_ID", i.to_string());
        }
        c.output().unwrap()
    };
    // Outside a job array it says how to submit it, and runs nothing.
    let o = task(None);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("sbatch --array=0-2"), "{}", stderr(&o));
    assert!(!study.join("shards").exists());
    // An index the array should not have: eagain's own message, exit code 2.
    let o = task(Some(3));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("SLURM_ARRAY_TASK_ID is 3"),
        "{}",
        stderr(&o)
    );
    for i in 0..3 {
        let o = task(Some(i));
        assert!(o.status.success(), "task {i}: {}", stderr(&o));
    }
    let mut args = vec!["sweep".to_string()];
    args.extend(sweep);
    merge_equals_one_sweep(
        &study,
        &(0..3).map(|k| format!("shards/{k}")).collect::<Vec<_>>(),
        &args,
    );
}

#[test]
fn the_manifest_reader_expands_as_the_kubelet_and_reads_quoted_scalars() {
    let env = [("JOB_COMPLETION_INDEX", "7".to_string())];
    assert_eq!(expand("shards/$(JOB_COMPLETION_INDEX)", &env), "shards/7");
    assert_eq!(
        expand("$$(JOB_COMPLETION_INDEX)", &env),
        "$(JOB_COMPLETION_INDEX)"
    );
    assert_eq!(expand("$(UNSET)/x", &env), "$(UNSET)/x");
    assert_eq!(scalar("\"1\""), "1");
    assert_eq!(scalar("'it''s'"), "it's");
    let yaml = "a:\n  command:\n  - eagain\n  - \"two words\"\n  resources: {}\n";
    assert_eq!(command(yaml), ["eagain", "two words"]);
}
