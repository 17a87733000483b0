//! One run, as `eagain __internal supervise SPEC`: the process that owns everything a
//! run starts. The harness starts it as the leader of a new process group, with
//! PR_SET_PDEATHSIG = SIGTERM (so it cleans up if the harness dies), and, as root, in
//! new network and PID namespaces. There it brings the loopback up, sets the model's
//! somaxconn, starts a PID-1 placeholder (when it dies, the kernel kills every process
//! left in the namespace), finds the run's target by its name and has it prepare its
//! folder and start its servers (handing it the `Run` and `Servers` of `servers.rs`),
//! runs the load generator, has the target stop its servers and read its logs,
//! removes the run's folder and writes a `RunOutcome`.

use super::cgroup::{self, Cgroup};
use super::servers::{interrupted, Run, Servers};
use super::spec::{Endpoint, LoadResult, RunOutcome, RunSpec};
use super::sys;
use super::target::Target;
use super::targets;
use crate::error::BadInput;
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Child;
use std::time::Duration;

const LOAD_FILE: &str = "load.json";
const ENDPOINT_FILE: &str = "endpoint.json";

/// The processes of one run.
#[derive(Default)]
struct Procs {
    init: Option<Child>,
    servers: Servers,
    loadgen: Option<Child>,
}

impl Procs {
    /// The load generator, then the target's servers, then the namespace's PID 1.
    fn stop(&mut self, target: &dyn Target, run: &Run) {
        if let Some(mut c) = self.loadgen.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        target.stop(run, &mut self.servers);
        // Whatever the target left running, and the run's socket paths.
        self.servers.stop();
        if let Some(mut c) = self.init.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn supervise(spec_path: &Path) -> Result<()> {
    let spec = RunSpec::read(spec_path)?;
    sys::catch_signals(false);
    let target = targets::find(&spec.target)?;
    // The run's CPU quota (host.cpus): the group is made before the servers start and
    // removed after they stop (its drop also removes it on an error).
    let mut group = match quota_group(&spec, target) {
        Ok(g) => g,
        Err(e) => {
            let outcome = RunOutcome::BadInput(e);
            std::fs::write(&spec.result, serde_json::to_string(&outcome)?)
                .with_context(|| format!("cannot write {}", spec.result.display()))?;
            return Ok(());
        }
    };
    let run = Run::new(&spec, spec_path, group.as_ref().map(|g| g.procs()));
    let mut procs = Procs::default();
    let mut samples = Vec::new();
    let measured = measure(target, &run, &mut procs, &mut samples);
    procs.stop(target, &run);
    let throttling = group.as_ref().map(|g| g.summary());
    let removed = group.as_mut().map_or(Ok(()), |g| g.remove());
    let outcome = match measured {
        Ok(load) => {
            let mut server = target.read_logs(&run);
            server.notes.extend(throttling);
            if let Err(e) = removed {
                server.notes.push(e);
            }
            if !samples.is_empty() && server.max_processes == 0 {
                server.max_processes = samples.iter().copied().max().unwrap_or(0);
            }
            server.processes_per_s = samples;
            RunOutcome::Measured {
                load,
                server: Box::new(server),
            }
        }
        Err(e) => match e.downcast_ref::<BadInput>() {
            Some(b) => RunOutcome::BadInput(b.0.clone()),
            None => RunOutcome::Failed(format!("{e:#}")),
        },
    };
    let _ = std::fs::remove_dir_all(&spec.dir);
    if sys::stop_signal().is_some() {
        // The harness is gone or was interrupted: leave nothing of it behind.
        let _ = std::fs::remove_dir_all(&spec.base);
        return Ok(());
    }
    std::fs::write(&spec.result, serde_json::to_string(&outcome)?)
        .with_context(|| format!("cannot write {}", spec.result.display()))?;
    Ok(())
}

/// The run's CPU-quota cgroup when the model gives `host.cpus` and the target runs a
/// real pool, or why it cannot be made (the harness checked the machine before the
/// run, so this is rare: another program took the place meanwhile).
fn quota_group(spec: &RunSpec, target: &dyn Target) -> Result<Option<Cgroup>, String> {
    let Some(cpus) = spec.model.host.as_ref().and_then(|h| h.cpus) else {
        return Ok(None);
    };
    if !target.about().forks {
        return Ok(None);
    }
    let place = cgroup::find().map_err(|e| format!("host.cpus = {cpus}: {e}"))?;
    let name = cgroup::name_for(&spec.base, &spec.dir);
    Cgroup::create(&place, &name, cpus)
        .map(Some)
        .map_err(|e| format!("host.cpus = {cpus}: {e}"))
}

/// Counts the children of a pool's master half-way through each second of the load.
struct PoolSampler {
    master: Option<i32>,
    start: f64,
    counts: Vec<u64>,
}

impl PoolSampler {
    fn sample(&mut self) {
        let Some(master) = self.master else { return };
        let due = self.start + self.counts.len() as f64 + 0.5;
        if sys::mono() >= due {
            self.counts.push(sys::children_of(master));
        }
    }
}

fn measure(
    target: &dyn Target,
    run: &Run,
    procs: &mut Procs,
    samples: &mut Vec<u64>,
) -> Result<LoadResult> {
    let spec = run.spec;
    if spec.namespace {
        sys::loopback_up().context("cannot bring up the loopback interface in the namespace")?;
        // One namespace, one somaxconn: the services of a chain give the same (the
        // job's check).
        let somaxconn = spec.model.front().listener.somaxconn;
        sys::set_somaxconn(somaxconn).map_err(|e| {
            BadInput(format!(
                "cannot set net.core.somaxconn = {somaxconn} in the run's network namespace: {e}"
            ))
        })?;
        // PID 1 of the new PID namespace: when it exits, every process left in the
        // namespace is killed by the kernel, whatever happened to the others.
        procs.init = Some(
            run.internal("init")
                .spawn()
                .context("cannot start the namespace's first process")?,
        );
    }
    target.prepare(run)?;
    let endpoint = target.start(run, &mut procs.servers)?;
    interrupted()?;
    let endpoint_path = spec.dir.join(ENDPOINT_FILE);
    std::fs::write(&endpoint_path, serde_json::to_string(&endpoint)?)
        .with_context(|| format!("cannot write {}", endpoint_path.display()))?;
    let mut cmd = run.internal("loadgen");
    let spawned = sys::mono();
    procs.loadgen = Some(cmd.spawn().context("cannot start the load generator")?);
    let mut sampler = PoolSampler {
        // The pool's master is the first server the target started.
        master: if target.about().counts_pool {
            procs.servers.pid(0)
        } else {
            None
        },
        start: super::loadgen::start_at(&spec.dir).unwrap_or(spawned),
        counts: Vec::new(),
    };
    let limit = sys::mono() + spec.run_limit_s + 30.0;
    loop {
        interrupted()?;
        sampler.sample();
        let lg = procs.loadgen.as_mut().expect("started above");
        if let Some(status) = lg.try_wait()? {
            if !status.success() {
                bail!("the load generator failed ({status})");
            }
            break;
        }
        if let Some(status) = procs.servers.ended()? {
            bail!("the server exited during the run ({status})");
        }
        if sys::mono() > limit {
            bail!(
                "the load generator did not finish within {:.0} s",
                spec.run_limit_s + 30.0
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    procs.loadgen = None;
    *samples = sampler.counts;
    let path = spec.dir.join(LOAD_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(serde_json::from_str(&text)?)
}

/// `eagain __internal loadgen SPEC`: runs the load and writes what it measured.
pub fn loadgen(spec_path: &Path) -> Result<()> {
    let spec = RunSpec::read(spec_path)?;
    let text = std::fs::read_to_string(spec.dir.join(ENDPOINT_FILE))?;
    let endpoint: Endpoint = serde_json::from_str(&text)?;
    let result = match endpoint {
        Endpoint::Simulated => targets::mock::measure(&spec)?,
        _ => super::loadgen::run(&spec, &endpoint)?,
    };
    std::fs::write(spec.dir.join(LOAD_FILE), serde_json::to_string(&result)?)?;
    Ok(())
}

/// `eagain __internal init`: PID 1 of a run's PID namespace. It reaps orphans and
/// dies with the supervisor; its death ends the namespace.
pub fn init() -> Result<()> {
    loop {
        if !sys::wait_any() {
            // No children right now: sleep until one appears (or a signal ends us).
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
