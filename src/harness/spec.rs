//! What the harness tells the processes it starts (`RunSpec`, written as JSON into the
//! run's folder), and what they report back (`Endpoint` from the target's start,
//! `LoadResult` from the load generator, `ServerLog` from the target's logs,
//! `RunOutcome` from the supervisor).

use crate::model::Model;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// One run (one replication of one grid point).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSpec {
    pub model: Model,
    /// The target's name, as `--target` takes it: the supervisor finds the target by it.
    pub target: String,
    /// What the target's `check_machine` found (its programs' paths), for its runs.
    #[serde(default)]
    pub target_state: serde_json::Value,
    pub seed: u64,
    /// The replication number: the load generator draws the simulator's streams for it.
    pub replication: u64,
    /// The run's own folder (sockets, logs, configuration); removed after the run.
    pub dir: PathBuf,
    /// The harness's folder, removed by the supervisor if the harness dies.
    pub base: PathBuf,
    /// Where the supervisor writes its `RunOutcome`.
    pub result: PathBuf,
    /// The run is inside new network and PID namespaces made for it.
    pub namespace: bool,
    /// The measured server's unix socket.
    pub socket: PathBuf,
    /// The loopback port to listen on (0: any free one).
    pub port: u16,
    /// The load generator's largest allowed lag behind its schedule, in seconds.
    pub max_lag_s: f64,
    /// Seconds after the load starts by which every connection must have ended.
    pub run_limit_s: f64,
    /// The grid point's number (from 0), for the names of the files a run keeps.
    #[serde(default)]
    pub point: usize,
    /// The folder (`--out`) where a target keeps files of its runs (nginx's access
    /// log), or None to keep nothing.
    #[serde(default)]
    pub keep: Option<PathBuf>,
}

impl RunSpec {
    /// The name of a file this run keeps in `--out`: `STEM-pointP-runR.EXT`, P and R
    /// counted from 1.
    pub fn kept_name(&self, stem: &str, ext: &str) -> String {
        format!(
            "{stem}-point{}-run{}.{ext}",
            self.point + 1,
            self.replication + 1
        )
    }

    pub fn read(path: &Path) -> Result<RunSpec> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut spec: RunSpec = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a run spec", path.display()))?;
        // The trace's times are not in the spec: they are read again from its file.
        if let Some(file) = &spec.model.load.trace {
            let trace = crate::model::trace::Trace::read(Path::new(file))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            spec.model.load.trace_data = Some(std::sync::Arc::new(trace));
        }
        Ok(spec)
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        std::fs::write(path, serde_json::to_string(self)?)
            .with_context(|| format!("cannot write {}", path.display()))
    }
}

/// Where the load generator connects, and what it sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Endpoint {
    /// The builtin server over a unix socket: a line `W blocking hold`, reply `OK`.
    Unix(PathBuf),
    /// The builtin server over TCP.
    Tcp(SocketAddr),
    /// nginx: `GET /?b=blocking`; 200 is served, 502 and 504 are refused.
    Http(SocketAddr),
    /// nginx in front of a FastCGI pool on a unix socket: `GET /?b=blocking`; 200 is
    /// served, 502 refused (EAGAIN), 504 timed out (fastcgi_read_timeout = load.timeout).
    FastCgi(SocketAddr),
    /// An HTTP server's own TCP accept queue (Apache): `GET /?b=blocking`; 200 is
    /// served, a connect that did not complete within load.connect_timeout is refused.
    HttpTcp(SocketAddr),
    /// Dovecot's imap-login: greeting, `a LOGIN uN password` (the n-th connection as
    /// user n modulo `users`), the session held open for the connection's blocking
    /// time, `b LOGOUT`.
    Imap {
        addr: SocketAddr,
        users: usize,
        password: String,
    },
    /// No server: the mock target's runs are the simulator's own replications.
    Simulated,
}

/// What the load generator measured in one run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LoadResult {
    pub offered: u64,
    pub served: u64,
    pub refused: u64,
    pub dropped: u64,
    pub timed_out: u64,
    /// Latency of every counted served connection, from its intended send time.
    pub latencies: Vec<f64>,
    /// IMAP: from the intended send time to the tagged LOGIN OK, per served connection.
    #[serde(default)]
    pub login_latencies: Vec<f64>,
    /// When the last connection ended, in seconds after the load started.
    pub end_s: f64,
    /// The largest delay of a send behind its schedule, and the connection (from 1).
    pub max_lag_s: f64,
    pub lag_connection: u64,
    /// Connections still open at the run's time limit.
    pub unfinished: u64,
    /// Outcomes the model has no place for (the server not listening, HTTP 500, ...).
    pub unexpected: BTreeMap<String, u64>,
}

/// What a target's own records say about one run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ServerLog {
    /// Forks of the master after its initial pool (0 where the target cannot tell).
    pub forks: u64,
    /// The most processes the master had at once (0 where the target cannot tell).
    pub max_processes: u64,
    /// Lines counted in the server's own logs (Dovecot's, nginx's), by column name.
    pub lines: BTreeMap<String, u64>,
    /// The pool's processes counted half-way through each second of the load (the
    /// children of the target's first server, from /proc), for a target that
    /// `counts_pool`.
    #[serde(default)]
    pub processes_per_s: Vec<u64>,
    /// A chain's outcomes per service, by service name, for the services whose
    /// outcomes the target can tell (from its logs, or the mock's simulation).
    #[serde(default)]
    pub services: BTreeMap<String, ServiceOutcomes>,
    /// What the user should know of the run (a file the target could not keep), for
    /// the harness to say: the supervisor's process prints nothing itself.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// What happened to the client connections at one service of a chain, as far as the
/// server's own records show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceOutcomes {
    /// Connections that reached its listener.
    pub offered: u64,
    pub refused: u64,
    pub dropped: u64,
    pub timed_out: u64,
}

/// What the supervisor reports for one run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum RunOutcome {
    Measured {
        load: LoadResult,
        /// Boxed: it is the largest part, and most outcomes carry no server log.
        server: Box<ServerLog>,
    },
    /// The user can fix it (a port in use, no permission): exit code 2.
    BadInput(String),
    Failed(String),
}
