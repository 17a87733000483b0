//! A model compiled once per model point and shared, by reference, by every
//! replication (and by every copy of a running one): each service's cold
//! specification (`ServiceSpec`: its name, distributions, the hop's rules, its SYN
//! schedule, its family's settings) and the constants its `Station` copies into its
//! hot fields at the start of a run. The services are read from the model here and
//! nowhere else in the simulator.

use super::family::Spawner;
use super::station::Behaviour;
use super::{Sim, NONE16};
use crate::dist::{Dist, DistSpec};
use crate::error::BadInput;
use crate::model::{Handoff, ListenerKind, Model, OnRefused, Service};
use crate::stats::RepStats;
use crate::workload::Workload;

/// How a client connects: the clients' rules (`load`) for the first service, a hop's
/// (`connect`) for the next.
#[derive(Debug, Clone)]
pub(super) struct Rules {
    pub on_refused: OnRefused,
    pub retry_for: f64,
    pub retry_pause: Dist,
    /// TCP: give up connecting after this long (infinity: the kernel's own limit).
    pub connect_timeout: f64,
    /// Give up waiting for the reply after this long.
    pub timeout: f64,
}

impl Rules {
    fn new(
        on_refused: OnRefused,
        retry_for: f64,
        retry_pause: &DistSpec,
        connect_timeout: Option<f64>,
        timeout: Option<f64>,
    ) -> Rules {
        Rules {
            on_refused,
            retry_for,
            retry_pause: retry_pause.sampler(),
            connect_timeout: connect_timeout.unwrap_or(f64::INFINITY),
            timeout: timeout.unwrap_or(f64::INFINITY),
        }
    }
}

/// One service compiled. Its first fields are the constants a `Station` copies into
/// its hot fields; the rest is read only off the connection's common path (a refusal,
/// a fork, a tick, a hop).
#[derive(Debug, Clone)]
pub(super) struct ServiceSpec {
    pub does: Behaviour,
    pub master: u16,
    pub client_limit: u32,
    pub threads: u32,
    pub process_limit: u32,
    pub capacity: usize,
    pub service_count: u64,
    /// The master's rules for when to fork and end processes (`family/`).
    pub spawner: Spawner,
    pub name: String,
    pub kind: ListenerKind,
    /// The next service (`NONE16` for none).
    pub next: u16,
    pub syn_times: &'static [f64],
    pub syn_give_up: f64,
    /// process_limit reached with no free slot: seconds before the master accepts
    /// and closes (semantics: dovecot-drop-timer).
    pub drop_timeout: Option<f64>,
    pub startup: Dist,
    pub fork_time: Dist,
    pub respawn_delay: Dist,
    /// The work of a connection handed on to this service (the first service's comes
    /// with the client's connection, from the workload).
    pub blocking: Dist,
    pub hold: Dist,
    /// The CPU seconds of that work (`work.cpu`), drawn from a stream of its own.
    pub cpu: Dist,
    /// How its processes hand a connection to `next`, and that hop's client rules.
    pub handoff: Handoff,
    pub hop: Rules,
}

impl ServiceSpec {
    fn new(s: &Service, master: usize, next: Option<usize>, host: bool) -> ServiceSpec {
        let spawner = Spawner::of(&s.pool, &s.master);
        let mut does = spawner.behaviour();
        if s.master.drop_timeout.is_some() {
            does = does.with(Behaviour::WATCHES | Behaviour::DROPS | Behaviour::AVAIL);
        }
        if s.pool.threads > 1 {
            does = does.with(Behaviour::THREADS);
        }
        if next.is_some() {
            does = does.with(Behaviour::HOP);
        }
        // Its CPU part is shared only on a host with CPUs, and only when it has one.
        if host && s.on_host() && s.work.uses_cpu() {
            does = does.with(Behaviour::CPU);
        }
        let (syn_times, syn_give_up) = s.listener.syn_schedule.times();
        let c = &s.connect;
        ServiceSpec {
            does,
            master: master as u16,
            client_limit: s.pool.client_limit,
            threads: s.pool.threads,
            process_limit: s.pool.process_limit,
            capacity: usize::try_from(s.queue_capacity()).unwrap_or(usize::MAX),
            service_count: s.pool.service_count,
            spawner,
            name: s.name.clone(),
            kind: s.listener.kind,
            next: next.map_or(NONE16, |n| n as u16),
            syn_times,
            syn_give_up,
            drop_timeout: s.master.drop_timeout,
            startup: s.master.startup.sampler(),
            fork_time: s.master.fork_time.sampler(),
            respawn_delay: s.master.respawn_delay.sampler(),
            blocking: s.work.blocking.sampler(),
            hold: s.work.hold.sampler(),
            cpu: s.work.cpu.sampler(),
            handoff: s.handoff.unwrap_or_default(),
            hop: Rules::new(
                c.on_refused,
                c.retry_for,
                &c.retry_pause,
                c.connect_timeout,
                c.timeout,
            ),
        }
    }
}

/// A model turned into samplers and constants, shared by every replication.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub model: Model,
    pub(super) workload: Workload,
    pub(super) client: Rules,
    pub(super) services: Vec<ServiceSpec>,
    /// The masters' labels (a service's own name when it shares none).
    pub(super) masters: Vec<String>,
    /// The model was written as a chain: a summary reports each service.
    chain: bool,
    /// `host.cpus`, when a station shares them (`host.rs`).
    pub(super) cpus: Option<f64>,
    pub(super) event_budget: u64,
    pub(super) timeline_bin: Option<f64>,
}

/// Each service's master, as an index into the masters' labels, from each service's
/// label: services whose masters have the same label share one.
fn masters_of(each: impl Iterator<Item = String>) -> (Vec<usize>, Vec<String>) {
    let mut labels: Vec<String> = Vec::new();
    let index = each
        .map(|label| match labels.iter().position(|m| *m == label) {
            Some(m) => m,
            None => {
                labels.push(label);
                labels.len() - 1
            }
        })
        .collect();
    (index, labels)
}

impl Compiled {
    /// Call with a model that passed `Model::check`.
    pub fn new(model: &Model) -> Compiled {
        // The one place the simulator reads the model's services.
        let (list, chain) = (&model.services, model.is_chain());
        let (master_of, masters) = masters_of(
            list.iter()
                .map(|s| s.master.process.clone().unwrap_or_else(|| s.name.clone())),
        );
        let next_of = |s: &Service| {
            let name = s.next.as_deref()?;
            list.iter().position(|t| t.name == name)
        };
        let host = model.host_cpus().is_some();
        let services: Vec<ServiceSpec> = list
            .iter()
            .zip(master_of)
            .map(|(s, m)| ServiceSpec::new(s, m, next_of(s), host))
            .collect();
        let shares_cpus = services.iter().any(|s| s.does.has(Behaviour::CPU));
        let l = &model.load;
        Compiled {
            workload: Workload::new(model),
            client: Rules::new(
                l.on_refused,
                l.retry_for,
                &l.retry_pause,
                l.connect_timeout,
                l.timeout,
            ),
            services,
            masters,
            chain,
            cpus: model.host_cpus().filter(|_| shares_cpus),
            event_budget: model.event_budget(),
            timeline_bin: None,
            model: model.clone(),
        }
    }

    /// Keeps a timeline of every replication in bins of `width` seconds.
    pub fn keep_timeline(&mut self, width: f64) {
        self.timeline_bin = Some(width);
    }

    /// For a chain: the services' names and queue capacities, and the masters'
    /// labels, as a summary reports them (empty for a single service).
    pub fn names(&self) -> (Vec<String>, Vec<u64>, Vec<String>) {
        if !self.chain {
            return (Vec::new(), Vec::new(), Vec::new());
        }
        (
            self.services.iter().map(|s| s.name.clone()).collect(),
            self.services.iter().map(|s| s.capacity as u64).collect(),
            self.masters.clone(),
        )
    }

    /// Runs replication number `replication` (0-based) with the model's streams for
    /// `seed`. A replication that goes past its budget (`sim.max_connections` x 64
    /// events, or `MAX_OPEN` connections open at once) stops with an error that says
    /// which.
    pub fn run(&self, seed: u64, replication: u64) -> Result<RepStats, BadInput> {
        Sim::new(self, seed, replication).run()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_that_name_the_same_master_share_it_and_the_others_get_their_own() {
        let labels = ["dovecot", "b", "dovecot"].map(String::from);
        let (index, masters) = masters_of(labels.into_iter());
        assert_eq!(index, vec![0, 1, 0]);
        assert_eq!(masters, vec!["dovecot".to_string(), "b".to_string()]);
    }
}
