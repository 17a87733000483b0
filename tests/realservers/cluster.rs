//! A real one-node Slurm cluster, started by the test from Debian's `munged`,
//! `slurmctld` and `slurmd` (a minimal slurm.conf, every file in a temporary folder,
//! ports of its own, all three stopped at the end, also when the test fails), running
//! sweeps through the shipped `deploy/slurm/sweep.sbatch` (SPEC section 15):
//! 1. every command of docs/cluster.md's `sh` blocks, in order (`sbatch` with `--wait`
//!    added; `kubectl` ones are not run here: `tests/integration/deploy.rs` runs the
//!    manifest's command), and the merged study compared byte for byte with one
//!    unsharded sweep;
//! 2. a task stopped by SIGTERM through Slurm (`scancel --signal=TERM --full`) ends with
//!    exit code 75 and its progress saved; submitted again it resumes, and the merge is
//!    again the bytes of one sweep.
//!
//! It prints SKIPPED with the reason when this is not root (munged and slurmd run as
//! root here) or a program is missing (apt-get install -y slurmctld slurmd slurm-client
//! munge).

use crate::harness::{installed, is_root};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The programs the test runs, and the Debian package of each.
const PROGRAMS: [(&str, &str); 8] = [
    ("munged", "munge"),
    ("slurmctld", "slurmctld"),
    ("slurmd", "slurmd"),
    ("sbatch", "slurm-client"),
    ("squeue", "slurm-client"),
    ("scancel", "slurm-client"),
    ("scontrol", "slurm-client"),
    ("sinfo", "slurm-client"),
];

/// The longest any one step may take before the test fails (and cleans up).
const STEP_LIMIT: Duration = Duration::from_secs(300);

/// A running one-node cluster; dropping it cancels its jobs and stops its daemons.
struct Cluster {
    dir: tempfile::TempDir,
    conf: PathBuf,
    /// munged, slurmctld, slurmd, in the order they were started.
    daemons: Vec<(&'static str, Child)>,
}

/// A port no one listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    fn start() -> Cluster {
        // munged wants every folder above its socket searchable by all.
        let dir = tempfile::Builder::new()
            .prefix("eagain-slurm")
            .tempdir()
            .unwrap();
        let d = dir.path().to_path_buf();
        let d = d.as_path();
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        for sub in ["state", "spool", "work"] {
            std::fs::create_dir(d.join(sub)).unwrap();
        }
        let mut key = vec![0u8; 1024];
        std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom").unwrap(), &mut key)
            .unwrap();
        std::fs::write(d.join("munge.key"), key).unwrap();
        std::fs::set_permissions(d.join("munge.key"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        let host = host.trim().split('.').next().unwrap().to_string();
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let p = |name: &str| d.join(name).display().to_string();
        let conf = format!(
            "ClusterName=eagaintest\n\
             SlurmctldHost={host}(127.0.0.1)\n\
             SlurmctldPort={ctld}\n\
             SlurmdPort={slurmd}\n\
             SlurmUser=root\n\
             SlurmdUser=root\n\
             AuthType=auth/munge\n\
             AuthInfo=socket={socket}\n\
             CredType=cred/munge\n\
             StateSaveLocation={state}\n\
             SlurmdSpoolDir={spool}\n\
             SlurmctldPidFile={ctld_pid}\n\
             SlurmdPidFile={slurmd_pid}\n\
             SlurmctldLogFile={ctld_log}\n\
             SlurmdLogFile={slurmd_log}\n\
             ProctrackType=proctrack/linuxproc\n\
             TaskPlugin=task/none\n\
             JobAcctGatherType=jobacct_gather/none\n\
             AccountingStorageType=accounting_storage/none\n\
             SelectType=select/cons_tres\n\
             SelectTypeParameters=CR_CPU\n\
             MpiDefault=none\n\
             ReturnToService=2\n\
             NodeName=eagain-node NodeHostname={host} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN\n\
             PartitionName=eagain Nodes=ALL Default=YES MaxTime=INFINITE State=UP\n",
            ctld = free_port(),
            slurmd = free_port(),
            socket = p("munge.socket"),
            state = p("state"),
            spool = p("spool"),
            ctld_pid = p("slurmctld.pid"),
            slurmd_pid = p("slurmd.pid"),
            ctld_log = p("slurmctld.log"),
            slurmd_log = p("slurmd.log"),
        );
        let conf_path = d.join("slurm.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let mut cluster = Cluster {
            conf: conf_path.clone(),
            dir,
            daemons: Vec::new(),
        };
        let conf = conf_path.display().to_string();
        let socket = p("munge.socket");
        cluster.daemon(
            "munged",
            &[
                "-F",
                &format!("--socket={socket}"),
                &format!("--key-file={}", p("munge.key")),
                &format!("--pid-file={}", p("munged.pid")),
                &format!("--log-file={}", p("munged.log")),
                &format!("--seed-file={}", p("munged.seed")),
            ],
        );
        cluster.wait_for("munged's socket", |_| Path::new(&socket).exists());
        cluster.daemon("slurmctld", &["-D", "-f", &conf]);
        cluster.daemon("slurmd", &["-D", "-f", &conf, "-N", "eagain-node"]);
        cluster.wait_for("the node to be idle", |c| {
            c.run("sinfo", &["-h", "-N", "-o", "%T"])
                .is_ok_and(|s| s.trim() == "idle")
        });
        cluster
    }

    fn daemon(&mut self, name: &'static str, args: &[&str]) {
        let log = std::fs::File::create(self.dir.path().join(format!("{name}.out"))).unwrap();
        let child = Command::new(name)
            .args(args)
            .env("SLURM_CONF", &self.conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        self.daemons.push((name, child));
    }

    /// Waits up to a minute for `ready`, failing with the daemons' logs.
    fn wait_for(&mut self, what: &str, ready: impl Fn(&Cluster) -> bool) {
        let started = Instant::now();
        while !ready(self) {
            let ended = self
                .daemons
                .iter_mut()
                .find_map(|(name, child)| Some((*name, child.try_wait().ok()??)));
            if let Some((name, status)) = ended {
                panic!("{name} ended ({status}) before {what}:\n{}", self.logs());
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "no {what} after 60 s:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A client command of this cluster.
    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", &self.conf);
        c
    }

    /// Runs a client command; its stdout, or its failure in words.
    fn run(&self, program: &str, args: &[&str]) -> Result<String, String> {
        let o = self
            .command(program)
            .args(args)
            .output()
            .map_err(|e| e.to_string())?;
        if o.status.success() {
            Ok(String::from_utf8_lossy(&o.stdout).into_owned())
        } else {
            Err(format!(
                "{program} {args:?}: {}: {}",
                o.status,
                String::from_utf8_lossy(&o.stderr)
            ))
        }
    }

    /// The end of every daemon's log, for a failure's message.
    fn logs(&self) -> String {
        let mut text = String::new();
        for name in [
            "munged.out",
            "munged.log",
            "slurmctld.out",
            "slurmctld.log",
            "slurmd.out",
            "slurmd.log",
        ] {
            let t = std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
            let lines: Vec<&str> = t.lines().collect();
            text += &format!(
                "--- {name}\n{}\n",
                lines[lines.len().saturating_sub(15)..].join("\n")
            );
        }
        text
    }

    /// Waits until the cluster runs no job.
    fn wait_idle(&self, limit: Duration) -> bool {
        let started = Instant::now();
        while started.elapsed() < limit {
            if self
                .run("squeue", &["-h"])
                .is_ok_and(|s| s.trim().is_empty())
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        false
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Jobs first (a failed test may leave some), then the daemons, last started
        // first; SIGKILL for one that does not end on SIGTERM.
        let _ = self.run("scancel", &["--full", "--user=root"]);
        let _ = self.wait_idle(Duration::from_secs(20));
        for (_, child) in self.daemons.iter_mut().rev() {
            // SAFETY: kill has no memory preconditions; the pid is our own child's.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let started = Instant::now();
            while matches!(child.try_wait(), Ok(None)) {
                if started.elapsed() > Duration::from_secs(10) {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// Runs `c` to its end, at most `STEP_LIMIT`; its exit code, stdout and stderr.
fn bounded(mut c: Command, what: &str, dir: &Path) -> (Option<i32>, String, String) {
    let (out, err) = (dir.join("step.out"), dir.join("step.err"));
    c.stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap());
    let mut child = c.spawn().unwrap_or_else(|e| panic!("{what}: {e}"));
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > STEP_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not end in {STEP_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    (status.code(), read(&out), read(&err))
}

/// The commands of docs/cluster.md's `sh` blocks, continuation lines joined.
fn documented_commands() -> Vec<String> {
    let text = std::fs::read_to_string(crate::common::root("docs/cluster.md")).unwrap();
    let mut commands = Vec::new();
    let mut in_block = false;
    let mut pending = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block && line.trim() == "```sh";
            continue;
        }
        if !in_block || line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        match line.trim_end().strip_suffix('\\') {
            Some(part) => pending += part,
            None => {
                pending += line;
                commands.push(pending.split_whitespace().collect::<Vec<_>>().join(" "));
                pending.clear();
            }
        }
    }
    commands
}

/// The `eagain sweep` arguments an sbatch line of the shipped script gives, and its N.
fn sweep_of(sbatch: &str) -> (Vec<String>, usize) {
    let words: Vec<&str> = sbatch.split_whitespace().collect();
    let script = words
        .iter()
        .position(|w| w.ends_with("sweep.sbatch"))
        .expect("the shipped script");
    let n = words[script + 1].parse().unwrap();
    let mut args = vec!["sweep".to_string()];
    args.extend(words[script + 3..].iter().map(|w| w.to_string()));
    (args, n)
}

/// Runs one unsharded sweep of `args` in `cwd` into `out`, and compares its results
/// with `merged`'s, byte for byte.
fn assert_one_sweeps_bytes(cwd: &Path, args: &[String], merged: &Path, out: &str) {
    let mut c = Command::new(crate::common::bin());
    c.current_dir(cwd).args(args).args(["--out", out]);
    let (code, _, err) = bounded(c, "the unsharded sweep", cwd);
    assert_eq!(code, Some(0), "{err}");
    for f in ["results.csv", "results.json"] {
        crate::common::assert_same_file(&cwd.join(out).join(f), &merged.join(f));
    }
}

#[test]
fn a_slurm_job_array_runs_the_documented_study_and_a_task_stopped_by_sigterm_resumes() {
    let test = "a_slurm_job_array_runs_the_documented_study_and_a_task_stopped_by_sigterm_resumes";
    let missing: Vec<&str> = PROGRAMS
        .iter()
        .filter(|(p, _)| !installed(p))
        .map(|(_, pkg)| *pkg)
        .collect();
    if !missing.is_empty() {
        let mut pkgs = missing.clone();
        pkgs.dedup();
        eprintln!(
            "SKIPPED {test}: Slurm is not installed (apt-get install -y {})",
            pkgs.join(" ")
        );
        return;
    }
    if !is_root() {
        eprintln!("SKIPPED {test}: the one-node Slurm cluster runs its daemons as root");
        return;
    }
    let _serial = crate::harness::serial();
    let started = Instant::now();
    let cluster = Cluster::start();
    eprintln!(
        "{test}: the cluster started in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let work = cluster.dir.path().join("work");
    for link in ["models", "deploy", "docs"] {
        std::os::unix::fs::symlink(crate::common::root(link), work.join(link)).unwrap();
    }
    // `eagain` on PATH, as the docs assume; the jobs inherit it (sbatch --export=ALL).
    let bin_dir = cluster.dir.path().join("bin");
    std::fs::create_dir(&bin_dir).unwrap();
    std::os::unix::fs::symlink(crate::common::bin(), bin_dir.join("eagain")).unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let shell = |line: &str| -> (Option<i32>, String, String) {
        let mut c = cluster.command("bash");
        c.current_dir(&work).args(["-c", line]).env("PATH", &path);
        for v in [
            "SLURM_ARRAY_TASK_ID",
            "JOB_COMPLETION_INDEX",
            "AWS_BATCH_JOB_ARRAY_INDEX",
        ] {
            c.env_remove(v);
        }
        bounded(c, line, cluster.dir.path())
    };

    // 1. The documented study, command by command.
    let commands = documented_commands();
    let first_sbatch = commands
        .iter()
        .find(|c| c.starts_with("sbatch "))
        .expect("docs/cluster.md submits a job array")
        .clone();
    let mut ran = 0;
    for line in &commands {
        let line = match line.split_whitespace().next() {
            Some("kubectl") => continue,
            Some("sbatch") => line.replacen("sbatch ", "sbatch --wait ", 1),
            Some("eagain") => line.clone(),
            _ => panic!("docs/cluster.md shows `{line}`, which this test cannot run"),
        };
        let (code, out, err) = shell(&line);
        assert_eq!(
            code,
            Some(0),
            "`{line}`:\n{out}\n{err}\ntask logs:\n{}",
            task_logs(&work)
        );
        ran += 1;
    }
    assert!(
        ran >= 3,
        "docs/cluster.md has {ran} commands this test runs"
    );
    let (args, n) = sweep_of(&first_sbatch);
    assert_eq!(n, 4);
    assert_one_sweeps_bytes(&work, &args, &work.join("study"), "whole");
    eprintln!(
        "{test}: the documented study ran and merged at {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // 2. A task stopped by SIGTERM through Slurm, then submitted again.
    // Two shards of three points of about 0.9 s each: task 1 has points left when
    // its first one is recorded.
    let script = "deploy/slurm/sweep.sbatch 2 pre models/mmck.toml --set load.duration=400000 \
                  --replications 2 --vary load.rate=5:7.5:0.5";
    let (code, out, err) = shell(&format!("sbatch --parsable --array=0-1 {script}"));
    assert_eq!(code, Some(0), "{err}");
    let job = out.trim().split(';').next().unwrap().to_string();
    let progress = work.join("pre/1/progress.jsonl");
    let waited = Instant::now();
    while std::fs::read_to_string(&progress).map_or(0, |t| t.lines().count()) < 2 {
        assert!(
            waited.elapsed() < STEP_LIMIT,
            "task 1 recorded no point:\n{}",
            task_logs(&work)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // As Slurm stops a task (preemption, a time limit). scancel may report an error
    // when the task has already ended by the time it retries: what counts is below.
    let scancel = cluster.run("scancel", &["--signal=TERM", "--full", &format!("{job}_1")]);
    assert!(cluster.wait_idle(STEP_LIMIT), "the array did not end");
    let shown = cluster
        .run("scontrol", &["show", "job", &format!("{job}_1")])
        .unwrap();
    assert!(
        shown.contains("ExitCode=75:0"),
        "task 1 did not exit with 75 (scancel: {scancel:?}):\n{shown}\n{}",
        task_logs(&work)
    );
    let log = task_logs(&work);
    assert!(log.contains("stopped on request (SIGTERM)"), "{log}");
    assert!(progress.exists() && !work.join("pre/1/results.csv").exists());
    assert!(work.join("pre/0/results.csv").exists(), "{log}");
    // Before task 1 is run again, merge names it.
    let (code, _, err) = shell("eagain merge pre/0 pre/1 --out pre-merged");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("pre/1 holds a shard that has not finished"),
        "{err}"
    );
    let (code, out, err) = shell(&format!("sbatch --wait --array=1 {script}"));
    assert_eq!(code, Some(0), "{out}{err}\n{}", task_logs(&work));
    let (code, _, err) = shell("eagain merge pre/0 pre/1 --out pre-merged");
    assert_eq!(code, Some(0), "{err}");
    let (args, _) = sweep_of(&format!("sbatch --array=0-1 {script}"));
    assert_one_sweeps_bytes(&work, &args, &work.join("pre-merged"), "pre-whole");
    eprintln!(
        "{test}: done in {:.1} s (cluster start, documented study, SIGTERM and resume)",
        started.elapsed().as_secs_f64()
    );
}

/// Every task's Slurm log in `dir` (slurm-JOB_K.out), for a failure's message.
fn task_logs(dir: &Path) -> String {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("slurm-"))
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
        .iter()
        .map(|p| {
            format!(
                "--- {}\n{}",
                p.display(),
                std::fs::read_to_string(p).unwrap_or_default()
            )
        })
        .collect()
}
