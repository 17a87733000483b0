//! What a server the harness measures is, as one trait: `Target` is its lifecycle
//! (check the model, prepare, start, stop, read its logs) beside two pieces of data:
//! `About` (its name, and what the harness checks before anything runs) and `Report`
//! (the lines of its own logs it counts for a model, per service of a chain), which
//! `tables.rs` formats into the output. The harness process calls the checks and
//! reads the data; the supervisor of each run (a separate process, which finds the
//! target again by its name in the run's `RunSpec`) calls `prepare`, `start`, `stop`
//! and `read_logs`. The targets themselves are in `targets/`, one file each.

use super::servers::{Run, Servers};
use super::spec::{Endpoint, ServerLog};
use crate::error::BadInput;
use crate::model::{Model, Service};
use anyhow::Result;

/// A server the harness can measure.
pub(crate) trait Target: Sync {
    /// What it is and needs.
    fn about(&self) -> About;

    /// Why the server cannot run `m` as the model says, in one paragraph naming the
    /// field; `run_limit_s` is the longest a run of `m` may last.
    fn check_model(&self, m: &Model, run_limit_s: f64) -> Result<(), String>;

    /// What it needs of this machine (programs installed, root), checked once before
    /// any run. Returns what its runs need to know (the programs' paths), which each
    /// `RunSpec` carries to the supervisor.
    fn check_machine(&self) -> Result<serde_json::Value, BadInput> {
        Ok(serde_json::Value::Null)
    }

    /// Writes its configuration into the run's folder (in the supervisor, inside the
    /// run's namespaces, before `start`).
    fn prepare(&self, _run: &Run) -> Result<()> {
        Ok(())
    }

    /// Starts its processes under the supervisor, waits until they serve, and returns
    /// where the load generator connects.
    fn start(&self, run: &Run, servers: &mut Servers) -> Result<Endpoint>;

    /// Stops its processes: by default each with its stop signal, the last started
    /// first.
    fn stop(&self, _run: &Run, servers: &mut Servers) {
        servers.stop();
    }

    /// What its own records say about the run, read after `stop`: the lines of
    /// `report` counted, a chain's outcomes per service it can tell, notes for the
    /// user.
    fn read_logs(&self, run: &Run) -> ServerLog;

    /// The lines of its logs it counts for model `m` (the grid's first point), and
    /// what it sets beside them; by default none.
    fn report(&self, _m: &Model) -> Report {
        Report::default()
    }
}

/// What a target is, and what the harness checks before anything runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct About {
    /// The name `--target` takes.
    pub name: &'static str,
    /// What the harness's notes call it ("the builtin server").
    pub title: &'static str,
    /// Left out of `--help` (a target for tests).
    pub hidden: bool,
    /// It runs a chain of services (nginx -> gunicorn, imap-login -> imap). A target
    /// that runs one service has a chain refused (`single`) before any other check.
    pub runs_chains: bool,
    /// Its listen queue is the kernel's: a `listener.somaxconn` below the machine's is
    /// applied in a network namespace of the run's own, which needs root.
    pub kernel_queue: bool,
    /// It forks the services' pool.process_limit real processes (a real server's
    /// workers), checked against `--max-processes` before anything runs.
    pub forks: bool,
    /// Its first server is the pool's master: the supervisor counts its children from
    /// /proc half-way through each second of the load, and the report shows them.
    pub counts_pool: bool,
    /// It keeps files of its runs in `--out` (nginx's access logs).
    pub keeps_files: bool,
    /// Its pool burns each connection's `work.cpu` in a busy loop on the thread's CPU
    /// clock before it sleeps `work.blocking`, and runs in the run's CPU-quota cgroup
    /// of `host.cpus` (SPEC 13). A target without it refuses a model that gives
    /// either.
    pub burns_cpu: bool,
}

impl About {
    /// A target named `name` that runs one service in real processes on the kernel's
    /// listen queue.
    pub const fn new(name: &'static str, title: &'static str) -> About {
        About {
            name,
            title,
            hidden: false,
            runs_chains: false,
            kernel_queue: true,
            forks: true,
            counts_pool: false,
            keeps_files: false,
            burns_cpu: false,
        }
    }

    pub const fn burns_cpu(self) -> About {
        About {
            burns_cpu: true,
            ..self
        }
    }

    pub const fn runs_chains(self) -> About {
        About {
            runs_chains: true,
            ..self
        }
    }

    pub const fn counts_pool(self) -> About {
        About {
            counts_pool: true,
            ..self
        }
    }

    pub const fn keeps_files(self) -> About {
        About {
            keeps_files: true,
            ..self
        }
    }

    /// No real server: hidden, no kernel queue, no process forked; the simulator
    /// shares its CPUs.
    pub const fn simulated(self) -> About {
        About {
            hidden: true,
            kernel_queue: false,
            forks: false,
            burns_cpu: true,
            ..self
        }
    }
}

/// What a target's own records add to the output for a model, as data: `tables.rs`
/// writes it as measured.csv's and validation.csv's columns after the standard ones,
/// and as a line under each point on stdout. A report without lines adds nothing.
#[derive(Debug, Clone, Default)]
pub(crate) struct Report {
    /// How the line under a point names the records ("server log", "dovecot log").
    pub records: &'static str,
    /// The lines counted, in the order of their columns.
    pub lines: Vec<Counted>,
    /// The clients' outcomes per run it sets beside its lines; with any, measured.csv
    /// also says how many runs its sums are of.
    pub outcomes: Outcomes,
    /// The time from each connection's intended send to its IMAP LOGIN's OK.
    pub login_latency: bool,
}

/// One line a target counts in its logs.
#[derive(Debug, Clone)]
pub(crate) struct Counted {
    /// measured.csv's column (the sum over the runs); validation.csv's, when
    /// `validated`, is `COLUMN_per_run`.
    pub column: String,
    /// What follows its count per run on the line under a point ("logins",
    /// "x `seems busy`").
    pub shown: String,
    /// The service of a chain whose records it is: the line under a point groups the
    /// counts by service.
    pub service: Option<String>,
    /// It has a column in validation.csv too.
    pub validated: bool,
    /// The outcome at a service of a chain that it counts, whose prediction is set
    /// beside it under `validate`.
    pub tells: Option<Tells>,
}

impl Counted {
    /// A line of the model's one service (or of the whole chain), in both tables.
    pub fn new(column: impl Into<String>, shown: impl Into<String>) -> Counted {
        Counted {
            column: column.into(),
            shown: shown.into(),
            service: None,
            validated: true,
            tells: None,
        }
    }

    /// The line as one of service `name`'s.
    pub fn of(self, name: &str) -> Counted {
        Counted {
            service: Some(name.to_string()),
            ..self
        }
    }

    /// The line in measured.csv only.
    pub fn not_validated(self) -> Counted {
        Counted {
            validated: false,
            ..self
        }
    }

    /// The line counts `outcome` at service `name`, its prediction set beside it as
    /// `said` says.
    pub fn tells(self, name: &str, outcome: Outcome, said: Said) -> Counted {
        Counted {
            tells: Some(Tells {
                service: name.to_string(),
                outcome,
                said,
            }),
            ..self
        }
    }
}

/// An outcome at a service that a counted line stands for.
#[derive(Debug, Clone)]
pub(crate) struct Tells {
    pub service: String,
    pub outcome: Outcome,
    pub said: Said,
}

/// A client's outcome at a service.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Outcome {
    Refused,
    TimedOut,
}

/// Where the line under a point says what a counted line stands for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Said {
    /// Only with a prediction, after the count: "2.0 x `...` (predicted refused there
    /// 1.5)".
    WithPrediction,
    /// Always, in parentheses after the count, the prediction inside them: "2.0 x 502
    /// (refused there; predicted 1.5)".
    Always,
}

/// The clients' outcomes per run a report sets beside its lines, measured and
/// predicted.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) enum Outcomes {
    #[default]
    None,
    /// Refused and dropped connections.
    Refused,
    /// Refused and dropped connections, and timed-out ones.
    RefusedTimedOut,
}

/// The one service `target` runs, or its refusal of a chain, naming the targets that
/// measure one.
pub(crate) fn single<'a>(target: &dyn Target, m: &'a Model) -> Result<&'a Service, String> {
    m.single().map_err(|e| {
        let about = target.about();
        format!(
            "`{}`: --target {} ({}) {}; measure a chain with --target nginx-gunicorn \
             (nginx -> gunicorn) or --target dovecot (imap-login -> imap)",
            e.path, about.name, about.title, e.message
        )
    })
}
