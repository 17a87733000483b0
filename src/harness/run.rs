//! The harness's side of a measurement: one temporary folder for the whole command,
//! one supervisor process per run (a new process group; as root, new network and PID
//! namespaces), the wait for it with Ctrl-C and SIGTERM handled (the run's group is
//! stopped and the folder removed), runs repeated when the load generator fell behind
//! its schedule, the notes a run's target left said, and the measured counts turned
//! into the simulator's `RepStats`.

use super::spec::{LoadResult, RunOutcome, RunSpec, ServerLog};
use super::sys;
use crate::error::BadInput;
use crate::model::Model;
use crate::stats::RepStats;
use anyhow::{anyhow, bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Where the harness says what it is doing while it runs (the caller shows it).
pub type Notes<'a> = &'a dyn Fn(&str);

/// One grid point's runs: the simulator's statistics per run, and what only a real
/// server shows (its log lines summed over the runs, IMAP login latencies, and the
/// services of a chain whose outcomes its records tell).
pub struct Measured {
    pub reps: Vec<RepStats>,
    pub server_log: BTreeMap<String, u64>,
    pub login_latencies: Vec<f64>,
    /// Each run's pool processes half-way through each second of its load.
    pub processes_per_s: Vec<Vec<u64>>,
    pub known_services: BTreeSet<String>,
}

/// How many times a run is tried when its load generator fell behind its schedule.
const ATTEMPTS: u32 = 5;

/// How the runs of a measurement are made: what every `RunSpec` says besides the
/// point's model and the run's number.
pub struct Settings {
    /// The target's name, and what its `check_machine` found.
    pub target: String,
    pub target_state: serde_json::Value,
    pub namespace: bool,
    pub runs: u32,
    pub seed: u64,
    pub max_lag_s: f64,
    pub port: u16,
    pub socket: Option<PathBuf>,
    /// Where a target keeps files of its runs (`--out`), when it keeps any.
    pub keep: Option<PathBuf>,
}

/// Runs the supervisor for each run of each point.
pub struct Runner {
    pub settings: Settings,
    base: PathBuf,
    exe: PathBuf,
}

/// A folder that nginx's workers (another user) can enter.
fn make_dir(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path).with_context(|| format!("cannot create {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot set the permissions of {}", path.display()))
}

impl Runner {
    pub fn new(settings: Settings) -> Result<Runner> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let base =
            std::env::temp_dir().join(format!("eagain-harness-{}-{nanos:08x}", std::process::id()));
        // Sockets live in here: their paths must fit in sun_path (108 bytes).
        if base.as_os_str().len() > 70 {
            return Err(BadInput(format!(
                "the temporary folder {} is too long for unix socket paths: set TMPDIR to a \
                 shorter folder such as /tmp",
                base.display()
            ))
            .into());
        }
        Ok(Runner {
            settings,
            base,
            exe: std::env::current_exe().context("cannot find the eagain executable")?,
        })
    }

    /// Measures one grid point `runs` times.
    pub fn measure(
        &self,
        index: usize,
        label: &str,
        model: &Model,
        run_limit_s: f64,
        notes: Notes<'_>,
    ) -> Result<Measured> {
        // From here on a stop signal ends the runs cleanly (before, the default action
        // is right: nothing has been started yet).
        make_dir(&self.base)?;
        if let Some(keep) = &self.settings.keep {
            crate::output::create_dir(keep)?;
        }
        sys::catch_signals(false);
        let mut reps = Vec::new();
        let mut server_log: BTreeMap<String, u64> = BTreeMap::new();
        let mut login_latencies = Vec::new();
        let mut processes_per_s = Vec::new();
        let mut known_services = BTreeSet::new();
        let runs = self.settings.runs;
        for r in 0..runs {
            let mut attempt = 1;
            let started = std::time::Instant::now();
            let (load, server) = loop {
                let spec = self.spec(index, r, attempt, model, run_limit_s)?;
                let outcome = self.run(&spec)?;
                let (load, server) = match outcome {
                    RunOutcome::Measured { load, server } => (load, *server),
                    RunOutcome::BadInput(m) => return Err(BadInput(m).into()),
                    RunOutcome::Failed(m) => bail!("{label}, run {}: {m}", r + 1),
                };
                for note in &server.notes {
                    notes(note);
                }
                if !load.unexpected.is_empty() {
                    bail!(
                        "{label}, run {}: outcomes the model has no place for: {}",
                        r + 1,
                        super::loadgen::unexpected_text(&load.unexpected)
                    );
                }
                if load.unfinished > 0 {
                    bail!(
                        "{label}, run {}: {} connections had no outcome {:.0} s after the load \
                         started; --set a load.timeout",
                        r + 1,
                        load.unfinished,
                        run_limit_s
                    );
                }
                if load.max_lag_s <= self.settings.max_lag_s {
                    break (load, server);
                }
                let lag = format!(
                    "the load generator fell {:.1} ms behind its schedule (connection {}), \
                     more than --max-lag-ms {}",
                    load.max_lag_s * 1e3,
                    load.lag_connection,
                    self.settings.max_lag_s * 1e3
                );
                if attempt >= ATTEMPTS {
                    bail!(
                        "{label}, run {}: {lag} in {ATTEMPTS} attempts: this machine is too busy \
                         to measure the server rather than the client; stop other work or \
                         lower load.rate",
                        r + 1
                    );
                }
                notes(&format!("{label}, run {}: {lag}; running it again", r + 1));
                attempt += 1;
            };
            notes(&format!(
                "{label}, run {}/{}: offered {}, served {}, refused {}, dropped {}, timed out {} \
                 ({:.1} s, lag at most {:.2} ms)",
                r + 1,
                runs,
                load.offered,
                load.served,
                load.refused,
                load.dropped,
                load.timed_out,
                started.elapsed().as_secs_f64(),
                load.max_lag_s * 1e3
            ));
            if !server.lines.is_empty() {
                notes(&format!(
                    "{label}, run {}/{runs}: server log: {}",
                    r + 1,
                    server
                        .lines
                        .iter()
                        .map(|(k, v)| format!("{k} {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if !server.processes_per_s.is_empty() {
                notes(&format!(
                    "{label}, run {}/{runs}: pool processes second by second: {}",
                    r + 1,
                    counts_text(&server.processes_per_s)
                ));
            }
            for (k, v) in &server.lines {
                *server_log.entry(k.clone()).or_default() += v;
            }
            login_latencies.extend(load.login_latencies.iter().copied());
            known_services.extend(server.services.keys().cloned());
            reps.push(rep_stats(model, &load, &server));
            processes_per_s.push(server.processes_per_s);
        }
        Ok(Measured {
            reps,
            server_log,
            login_latencies,
            processes_per_s,
            known_services,
        })
    }

    fn spec(
        &self,
        index: usize,
        r: u32,
        attempt: u32,
        model: &Model,
        run_limit_s: f64,
    ) -> Result<RunSpec> {
        let dir = self.base.join(format!("p{index}-r{r}-a{attempt}"));
        make_dir(&dir)?;
        let s = &self.settings;
        Ok(RunSpec {
            model: model.clone(),
            target: s.target.clone(),
            target_state: s.target_state.clone(),
            seed: s.seed,
            replication: u64::from(r),
            socket: s.socket.clone().unwrap_or_else(|| dir.join("server.sock")),
            result: self
                .base
                .join(format!("result-p{index}-r{r}-a{attempt}.json")),
            dir,
            base: self.base.clone(),
            namespace: s.namespace,
            port: s.port,
            max_lag_s: s.max_lag_s,
            run_limit_s,
            point: index,
            keep: s.keep.clone(),
        })
    }

    /// Runs one supervisor and waits for it; on a stop signal, stops its process group
    /// and removes the folder.
    fn run(&self, spec: &RunSpec) -> Result<RunOutcome> {
        if let Some(sig) = sys::stop_signal() {
            bail!("stopped by signal {sig}");
        }
        let spec_path = spec.dir.join("spec.json");
        spec.write(&spec_path)?;
        let mut cmd = Command::new(&self.exe);
        cmd.arg("__internal")
            .arg("supervise")
            .arg(&spec_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .process_group(0);
        // If the harness dies, the supervisor gets SIGTERM and cleans up.
        sys::die_with_me(&mut cmd, libc::SIGTERM);
        let namespace = self.settings.namespace;
        if namespace {
            sys::new_namespaces(&mut cmd);
        }
        let mut child = cmd.spawn().map_err(|e| -> anyhow::Error {
            if namespace && e.raw_os_error() == Some(libc::EPERM) {
                BadInput(format!(
                    "no permission to create a network namespace ({e}): the harness runs each \
                     measurement in one of its own to apply listener.somaxconn; run it as root, \
                     or with --no-namespace when the model's somaxconn does not cap the backlog"
                ))
                .into()
            } else {
                anyhow!("cannot start the run's supervisor: {e}")
            }
        })?;
        let group = child.id() as i32;
        let status = loop {
            if let Some(sig) = sys::stop_signal() {
                sys::kill_group(group, libc::SIGTERM);
                let end = sys::mono() + 5.0;
                while sys::mono() < end && child.try_wait()?.is_none() {
                    std::thread::sleep(Duration::from_millis(10));
                }
                sys::kill_group(group, libc::SIGKILL);
                let _ = child.wait();
                let _ =
                    super::cgroup::remove_named(&super::cgroup::name_for(&spec.base, &spec.dir));
                self.cleanup();
                bail!("stopped by signal {sig}: the servers were stopped and their files removed");
            }
            if let Some(status) = child.try_wait()? {
                break status;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        // Anything the supervisor left in its group (outside a PID namespace).
        sys::kill_group(group, libc::SIGKILL);
        // Its CPU-quota cgroup, if a killed supervisor left it.
        let _ = super::cgroup::remove_named(&super::cgroup::name_for(&spec.base, &spec.dir));
        let _ = std::fs::remove_dir_all(&spec.dir);
        let text = std::fs::read_to_string(&spec.result).map_err(|e| {
            anyhow!(
                "the run's supervisor ended ({status}) without a result in {}: {e}",
                spec.result.display()
            )
        })?;
        let _ = std::fs::remove_file(&spec.result);
        Ok(serde_json::from_str(&text)?)
    }

    fn cleanup(&self) {
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// Counts separated by spaces (a cell of a CSV, a note).
pub fn counts_text(counts: &[u64]) -> String {
    counts
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// One run's measurement as the simulator's per-replication statistics. Levels the
/// client cannot see (queue length, busy processes) stay 0; the builtin master's fork
/// count and largest process count are kept. A chain has a share for each service and
/// each master, as a simulated replication has: the outcomes at the services the
/// server's records tell, 0 elsewhere.
pub fn rep_stats(model: &Model, load: &LoadResult, server: &ServerLog) -> RepStats {
    let (forks, max_processes) = (server.forks, server.max_processes);
    let services = &model.services;
    let masters = crate::server::Compiled::new(model).names().2.len().max(1);
    let mut s = RepStats::with(model.sim.warmup, services.len(), masters);
    for (stats, service) in s.services.iter_mut().zip(services) {
        if let Some(o) = server.services.get(&service.name) {
            stats.offered = o.offered;
            stats.refused = o.refused;
            stats.dropped = o.dropped;
            stats.timed_out = o.timed_out;
        }
    }
    s.offered = load.offered;
    s.refused = load.refused;
    s.dropped = load.dropped;
    s.timed_out = load.timed_out;
    for &l in &load.latencies {
        s.served(l);
    }
    s.front().forks = forks;
    let from = model.sim.warmup;
    s.start_window(from);
    s.front().processes.set(from, max_processes);
    s.front().processes.set(from, 0);
    // As the simulator: the window ends at load.duration, or at the last outcome of
    // a run of load.connections.
    let end = model.load.duration.unwrap_or(load.end_s);
    s.close_window(end.max(from));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::testing::model;
    use crate::replicate::CONFIDENCE;
    use crate::stats::Summary;

    #[test]
    fn measured_counts_become_the_columns_of_a_sweep() {
        let m = model(&[]);
        let load = LoadResult {
            offered: 10,
            served: 3,
            refused: 5,
            dropped: 1,
            timed_out: 1,
            latencies: vec![0.1, 0.2, 0.3],
            end_s: 5.0,
            ..LoadResult::default()
        };
        let server = ServerLog {
            forks: 4,
            max_processes: 2,
            ..ServerLog::default()
        };
        let s = Summary::combine(&[rep_stats(&m, &load, &server)], CONFIDENCE);
        assert_eq!((s.offered, s.served, s.refused, s.dropped), (10, 3, 5, 1));
        assert_eq!(s.refusal_probability.mean, 0.6);
        assert!((s.latency_s.p50 - 0.2).abs() < 1e-3, "{}", s.latency_s.p50);
        assert_eq!((s.processes.forks, s.processes.max), (4, 2));
        assert_eq!(s.queue_length.mean, 0.0);
    }
}
