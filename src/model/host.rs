//! The machine the servers run on (SPEC section 13): `[host]` with its CPUs (cores, or
//! a cgroup CPU quota in cores) and its memory, each service's share of it (`work.cpu`,
//! `pool.process_memory_mib`), and whether a chain's service runs on it
//! (`services.NAME.host`). A model without `[host]` has no CPU contention and no
//! memory check: it means exactly what it meant before this section. How the CPUs
//! are shared is the simulator's (`server/host.rs`; docs/cpu.md); here are the fields,
//! their checks and the memory sum that `simulate`, `sweep` and `plan` read.

use super::{bad, FieldError, Model, Service};
use serde::{Deserialize, Serialize};

/// `[host]`: what the servers' processes share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// CPUs the servers share: cores, or a cgroup CPU quota in cores (fractional
    /// allowed). Left out: no CPU contention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    /// Memory for the servers' processes, in MiB. Left out: no memory check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mib: Option<f64>,
}

/// The most CPUs a host may have: beyond it no pool could keep them busy.
pub const MAX_CPUS: f64 = 1.0e6;

/// The most memory a host may have, in MiB (an exbibyte).
pub const MAX_MEMORY_MIB: f64 = 1024.0 * 1024.0 * 1024.0 * 1024.0;

impl Host {
    pub(super) fn check(&self) -> Result<(), FieldError> {
        if self.cpus.is_none() && self.memory_mib.is_none() {
            return Err(bad(
                "host",
                "is empty: give host.cpus (cores, or a CPU quota in cores), host.memory_mib, \
                 or both; leave [host] out for no CPU contention and no memory check",
            ));
        }
        if let Some(c) = self.cpus {
            if !(c.is_finite() && c > 0.0 && c <= MAX_CPUS) {
                return Err(bad(
                    "host.cpus",
                    format!(
                        "must be a number of CPUs above 0 and at most {MAX_CPUS:e} (cores, or \
                         a cgroup quota in cores such as 0.5 for cpu.cfs_quota_us = 50000 of a \
                         100000 period), got {c}"
                    ),
                ));
            }
        }
        if let Some(m) = self.memory_mib {
            if !(m.is_finite() && m > 0.0 && m <= MAX_MEMORY_MIB) {
                return Err(bad(
                    "host.memory_mib",
                    format!(
                        "must be a number of MiB above 0 and at most {MAX_MEMORY_MIB:e}, got {m}"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// A service's processes against the host's memory.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryUse {
    /// Each service on the host that gives `pool.process_memory_mib`: its path prefix
    /// (`pool` or `services.NAME.pool`), process_limit, and MiB per process.
    pub services: Vec<(String, u32, f64)>,
    /// The sum of process_limit x process_memory_mib over them, in MiB.
    pub total_mib: f64,
    /// `host.memory_mib`.
    pub limit_mib: f64,
}

impl MemoryUse {
    /// Whether the processes can need more than the host has.
    pub fn exceeds(&self) -> bool {
        self.total_mib > self.limit_mib
    }

    /// One sentence for a warning: which pools, how much, against what.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .services
            .iter()
            .map(|(pool, n, mib)| {
                format!("{pool}.process_limit {n} x {pool}.process_memory_mib {mib}")
            })
            .collect();
        format!(
            "the processes can need {:.0} MiB ({}), more than host.memory_mib = {}: \
             past it the kernel swaps or its OOM killer ends processes, which eagain does \
             not model (docs/cpu.md#memory); lower the process limit or give the host more memory",
            self.total_mib,
            parts.join(" + "),
            self.limit_mib
        )
    }
}

impl Service {
    /// Whether this service runs on the model's `[host]` (a chain's service may say
    /// `host = false`: it runs elsewhere and shares neither its CPUs nor its memory).
    pub fn on_host(&self) -> bool {
        self.host.unwrap_or(true)
    }
}

impl Model {
    /// `host.cpus`, when the model gives it: the CPUs the services on the host share.
    pub fn host_cpus(&self) -> Option<f64> {
        self.host.as_ref().and_then(|h| h.cpus)
    }

    /// The memory the processes on the host can need, against `host.memory_mib`; None
    /// without a memory limit or without any `pool.process_memory_mib` on the host.
    pub fn memory_use(&self) -> Option<MemoryUse> {
        let limit_mib = self.host.as_ref()?.memory_mib?;
        let services: Vec<(String, u32, f64)> = self
            .services
            .iter()
            .filter(|s| s.on_host())
            .filter_map(|s| {
                let mib = s.pool.process_memory_mib?;
                Some((s.path("pool"), s.pool.process_limit, mib))
            })
            .collect();
        if services.is_empty() {
            return None;
        }
        let total_mib = services.iter().map(|(_, n, mib)| f64::from(*n) * mib).sum();
        Some(MemoryUse {
            services,
            total_mib,
            limit_mib,
        })
    }

    /// The most processes `path` (a `pool.process_limit` path) can have before the
    /// processes on the host need more than `host.memory_mib`, the other pools as they
    /// are; None when memory does not bound it (no limit, no process_memory_mib for
    /// that service, or the service is not on the host).
    pub fn memory_bound(&self, path: &str) -> Option<u32> {
        let mem = self.memory_use()?;
        let (own, others): (Vec<_>, Vec<_>) = mem
            .services
            .iter()
            .partition(|(pool, _, _)| format!("{pool}.process_limit") == path);
        let (_, _, mib) = own.first()?;
        if *mib <= 0.0 {
            return None;
        }
        let rest: f64 = others.iter().map(|(_, n, m)| f64::from(*n) * m).sum();
        let room = (mem.limit_mib - rest) / mib;
        Some(if room < 0.0 {
            0
        } else {
            room.floor().min(f64::from(u32::MAX)) as u32
        })
    }

    /// `[host]` and each service's share of it.
    pub(super) fn check_host(&self) -> Result<(), FieldError> {
        if let Some(h) = &self.host {
            h.check()?;
        }
        for s in &self.services {
            if let Some(m) = s.pool.process_memory_mib {
                if !(m.is_finite() && (0.0..=MAX_MEMORY_MIB).contains(&m)) {
                    return Err(bad(
                        &s.path("pool.process_memory_mib"),
                        format!(
                            "must be a number of MiB from 0 to {MAX_MEMORY_MIB:e} (the resident \
                             memory of one process, ps's RSS), got {m}"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::model::load_str;
    use std::path::Path;

    const CPU_ONLY: &str = "name = \"c\"\n[load]\nrate = 10\nduration = 10\n\
        [listener]\nbacklog = 8\n[pool]\nprocess_limit = 4\nprocess_memory_mib = 60\n\
        [work]\ncpu = { dist = \"exponential\", mean = 0.05 }\n\
        [host]\ncpus = 1.5\nmemory_mib = 200\n";

    fn load(text: &str, sets: &[&str]) -> Result<crate::model::Model, String> {
        let sets: Vec<_> = sets
            .iter()
            .map(|a| crate::model::parse_assignment(a).unwrap())
            .collect();
        load_str(text, "m.toml", Path::new("."), &sets).map_err(|e| e.0)
    }

    #[test]
    fn work_blocking_defaults_to_zero_with_cpu_and_the_model_is_written_back_as_read() {
        let m = load(CPU_ONLY, &[]).unwrap();
        let w = &m.front().work;
        assert_eq!(w.blocking.mean(), 0.0);
        assert!(w.uses_cpu() && !w.blocking_given && w.cpu_given);
        assert_eq!(m.host_cpus(), Some(1.5));
        assert_eq!(m.offered_load(), 10.0 * 0.05);
        let text = toml::to_string(&m).unwrap();
        assert!(
            text.contains("[host]") && !text.contains("blocking"),
            "{text}"
        );
        assert_eq!(load(&text, &[]).unwrap(), m);
    }

    #[test]
    fn a_work_table_without_blocking_or_cpu_is_refused_naming_both() {
        let text = CPU_ONLY.replace("cpu = { dist = \"exponential\", mean = 0.05 }\n", "");
        let e = load(&text, &[]).unwrap_err();
        assert!(
            e.contains("line 10: `work.blocking`: is required") && e.contains("work.cpu"),
            "{e}"
        );
    }

    #[test]
    fn bad_host_fields_are_refused_with_their_paths() {
        for (set, path) in [
            (
                "host.cpus=0",
                "`host.cpus`: must be a number of CPUs above 0",
            ),
            ("host.cpus=-1.5", "`host.cpus`"),
            (
                "host.memory_mib=0",
                "`host.memory_mib`: must be a number of MiB above 0",
            ),
            (
                "pool.process_memory_mib=-1",
                "`pool.process_memory_mib`: must be",
            ),
        ] {
            let e = load(CPU_ONLY, &[set]).unwrap_err();
            assert!(
                e.contains(path) && e.contains(&format!("--set {set}")),
                "{set}: {e}"
            );
        }
        let e = load(CPU_ONLY, &["work.cpu.mean=-1"]).unwrap_err();
        assert!(e.contains("`work.cpu`: `mean` must be > 0"), "{e}");
        let e = load(&CPU_ONLY.replace("cpus = 1.5\nmemory_mib = 200\n", ""), &[]).unwrap_err();
        assert!(e.contains("`host`: is empty"), "{e}");
        let e = crate::model::parse_assignment("host.gpus=1").unwrap_err().0;
        assert!(e.contains("host.cpus, host.memory_mib"), "{e}");
    }

    #[test]
    fn memory_sums_the_pools_on_the_host_and_bounds_one_pool_by_what_the_others_leave() {
        let m = load(CPU_ONLY, &[]).unwrap();
        let mem = m.memory_use().unwrap();
        assert_eq!(mem.total_mib, 240.0);
        assert!(mem.exceeds());
        assert!(mem
            .describe()
            .contains("pool.process_limit 4 x pool.process_memory_mib 60"));
        assert_eq!(m.memory_bound("pool.process_limit"), Some(3));
        let roomy = load(CPU_ONLY, &["host.memory_mib=240"]).unwrap();
        assert!(!roomy.memory_use().unwrap().exceeds());

        let chain = "name = \"ch\"\n[load]\nrate = 1\nduration = 10\n\
            [host]\ncpus = 2\nmemory_mib = 1000\n\
            [[services]]\nname = \"nginx\"\nnext = \"app\"\nhandoff = \"proxy\"\n\
            listener = { backlog = 8 }\npool = { process_limit = 2, process_memory_mib = 10 }\n\
            work = { cpu = { dist = \"constant\", value = 0.001 } }\n\
            [[services]]\nname = \"app\"\nlistener = { backlog = 8 }\n\
            pool = { process_limit = 4, process_memory_mib = 100 }\n\
            work = { cpu = { dist = \"constant\", value = 0.05 } }\n\
            [[services]]\nname = \"db\"\nhost = false\nlistener = { backlog = 8 }\n\
            pool = { process_limit = 100, process_memory_mib = 500 }\n\
            work = { blocking = { dist = \"constant\", value = 0.01 } }\n";
        let chain = chain.replace(
            "pool = { process_limit = 4, process_memory_mib = 100 }\n",
            "pool = { process_limit = 4, process_memory_mib = 100 }\nnext = \"db\"\n",
        );
        let m = load(&chain, &[]).unwrap();
        assert!(m.services[0].on_host() && !m.services[2].on_host());
        // The database is on another machine: 2 x 10 + 4 x 100 only.
        assert_eq!(m.memory_use().unwrap().total_mib, 420.0);
        assert_eq!(m.memory_bound("services.app.pool.process_limit"), Some(9));
        assert_eq!(m.memory_bound("services.db.pool.process_limit"), None);
        // Written back with `host = false` on the database, and read back the same.
        let text = toml::to_string(&m).unwrap();
        assert!(text.contains("host = false"), "{text}");
        let again = load(&text, &[]).unwrap();
        assert_eq!(toml::to_string(&again).unwrap(), text);
        let m = load(&chain, &["services.db.host=true"]).unwrap();
        assert!(m.memory_use().unwrap().exceeds());
    }
}
