//! Every flag of the command line (SPEC section 4), as clap derive structs: one per
//! subcommand. Raw flags are parsed here; the handlers beside this file turn them into
//! the checked settings the library takes. Nothing outside `app/` knows clap.

use super::help;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "eagain",
    version,
    about = "Predicts when a pre-forking server starts refusing connections (EAGAIN, 502, dropped SYNs)",
    long_about = None,
    after_help = help::EAGAIN
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Simulate one model and print its outcomes and latencies.
    #[command(after_help = help::SIMULATE)]
    Simulate(SimulateArgs),
    /// Simulate every point of a grid in parallel; write results.csv, results.json and charts.
    #[command(after_help = help::SWEEP)]
    Sweep(SweepArgs),
    /// Join the folders of `sweep --shard K/N` into the results of one unsharded sweep.
    #[command(after_help = help::MERGE)]
    Merge(MergeArgs),
    /// Draw a chart from a sweep's results.csv (or a validation.csv).
    #[command(after_help = help::PLOT)]
    Plot(PlotArgs),
    /// Find the smallest limit, or the largest load, that meets a target.
    #[command(after_help = help::PLAN)]
    Plan(PlanArgs),
    /// Print an exact queueing result (the oracles the simulator is tested against).
    #[command(subcommand, after_help = help::ANALYTIC)]
    Analytic(AnalyticArgs),
    /// Measure a real server on this machine at the model's load; write measured.csv.
    #[command(after_help = help::HARNESS)]
    Harness(HarnessArgs),
    /// Measure and simulate the same grid; write validation.csv and an overlay chart.
    #[command(after_help = help::VALIDATE)]
    Validate(HarnessArgs),
    /// Write a model from a server's configuration or its access log.
    #[command(subcommand, after_help = help::IMPORT)]
    Import(ImportArgs),
    /// Print the man page or a shell's completions, generated from these definitions
    /// (docs/install.md says where to put them).
    #[command(subcommand, hide = true)]
    Generate(GenerateArgs),
    /// Processes the harness starts (a server, a load generator); not for direct use.
    #[command(hide = true, name = "__internal")]
    Internal {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// Flags shared by every command that reads a model.
#[derive(Debug, Args, Clone)]
pub struct ModelArgs {
    /// The model file (TOML), e.g. models/nginx-gunicorn.toml.
    pub model: PathBuf,
    /// Override a model field: PATH=VALUE, e.g. --set load.rate=5 --set listener.kind=tcp;
    /// a distribution takes a number (a constant) or a table, e.g. --set work.blocking=0.5
    /// or --set 'work.blocking={ dist = "exponential", mean = 0.5 }'.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Random seed (default: the model's sim.seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Independent replications (default: the model's sim.replications).
    #[arg(long)]
    pub replications: Option<u32>,
    /// Add replications until the refusal probability's 95 % half-width is at most
    /// X times its mean (X times 0.001 for probabilities below 0.001).
    #[arg(long, value_name = "X")]
    pub precision: Option<f64>,
    /// The most replications --precision may run.
    #[arg(long, default_value_t = 1000)]
    pub max_replications: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Also write DIR/result.json, DIR/timeline.csv (one row per sim.bin seconds) and
    /// DIR/timeline.png.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Estimate the refusal probabilities by importance splitting, for ones far below
    /// what plain runs can show (the same as --set sim.rare=true; docs/rare-events.md).
    #[arg(long)]
    pub rare: bool,
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// An axis: PATH=a,b,c or PATH=start:stop:step (stop included) or PATH=start:stop:xF
    /// (geometric). Repeat for more axes; the first varies slowest.
    #[arg(long = "vary", value_name = "PATH=VALUES", required = true)]
    pub vary: Vec<String>,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Output folder for results.csv, results.json, timing.csv and the charts.
    #[arg(long, default_value = "output")]
    pub out: PathBuf,
    /// Run only every N-th point from K (0 <= K < N); join the folders with `eagain merge`.
    ///
    /// `auto/N` takes K from the batch scheduler's array index: SLURM_ARRAY_TASK_ID (a
    /// Slurm job array), JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) or
    /// AWS_BATCH_JOB_ARRAY_INDEX (an AWS Batch array job); N is the array's size. For
    /// example, in a Slurm script submitted with sbatch --array=0-15:
    /// --shard auto/16 --out shards/$SLURM_ARRAY_TASK_ID
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Continue an interrupted sweep in --out (same model, arguments and eagain binary);
    /// a shard already finished there is left as it is.
    #[arg(long)]
    pub resume: bool,
    /// Output on stdout: a table of the points, or results.json's points as JSON.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' output folders.
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    /// Where to write the joined results and charts.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChartKind {
    /// Refusal probability (log) against the x path, one line per series value.
    Capacity,
    /// Latency p50 and p99 against the x path.
    Latency,
    /// Refusal probability over a two-axis grid.
    Heatmap,
    /// Measured against predicted (a validation.csv).
    Validation,
}

#[derive(Debug, Args)]
pub struct PlotArgs {
    /// A sweep's results.csv, or the validation.csv of `eagain validate`.
    pub csv: PathBuf,
    /// The PNG to write.
    #[arg(long)]
    pub out: PathBuf,
    /// The varied path on the x axis (default: load.rate if varied, else the first).
    #[arg(long)]
    pub x: Option<String>,
    /// The varied path that makes one line per value (heat map: the y axis).
    #[arg(long)]
    pub series: Option<String>,
    /// The metric: refusal_probability, failure_probability or a column such as latency_s_p99.
    #[arg(long)]
    pub metric: Option<String>,
    /// The chart (default: validation for a validation.csv, else capacity).
    #[arg(long, value_enum)]
    pub kind: Option<ChartKind>,
    /// Draw a target line at this value (capacity chart).
    #[arg(long)]
    pub target: Option<f64>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The path to solve for: pool.process_limit, listener.backlog, listener.somaxconn,
    /// pool.client_limit, pool.threads, pool.process_min_avail (the smallest that meets
    /// the target; in a chain services.NAME.pool.process_limit and so on) or load.rate
    /// (the largest).
    #[arg(long)]
    pub solve: String,
    /// The target, METRIC<=X: refusal_probability, failure_probability, latency_s_p50,
    /// latency_s_p90, latency_s_p99, latency_s_p999 or latency_s_mean.
    #[arg(long)]
    pub target: String,
    /// The largest value of a limit to try.
    #[arg(long, default_value_t = 100_000)]
    pub max: u64,
    /// Output on stdout: the evaluations and PATH=VALUE last, or one JSON object.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum AnalyticArgs {
    /// Erlang B: blocking probability of M/G/c/c.
    #[command(after_help = help::ERLANG_B)]
    ErlangB {
        /// Processes (c).
        #[arg(long)]
        servers: u32,
        /// Offered load in Erlangs (arrival rate x mean blocking time).
        #[arg(long)]
        load: f64,
    },
    /// Erlang C: probability of waiting in M/M/c with an unlimited queue.
    #[command(after_help = help::ERLANG_C)]
    ErlangC {
        #[arg(long)]
        servers: u32,
        #[arg(long)]
        load: f64,
        /// Service rate per process (1 / mean blocking), to print the mean wait too.
        #[arg(long)]
        mu: Option<f64>,
    },
    /// M/M/c/K: c processes, K connections at most in the system (c + queue capacity).
    #[command(after_help = help::MMCK)]
    Mmck {
        #[arg(long)]
        rate: f64,
        #[arg(long)]
        mu: f64,
        #[arg(long)]
        servers: u32,
        #[arg(long)]
        capacity: u32,
    },
    /// M/D/1/K: one process, constant blocking time, K connections at most.
    #[command(after_help = help::MD1K)]
    Md1k {
        #[arg(long)]
        rate: f64,
        /// The constant blocking time in seconds.
        #[arg(long)]
        service: f64,
        #[arg(long)]
        capacity: u32,
    },
}

#[derive(Debug, Args)]
pub struct HarnessArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The real server to measure.
    #[arg(long, value_parser = target_names())]
    pub target: String,
    /// An axis of the grid, as for sweep.
    #[arg(long = "vary", value_name = "PATH=VALUES")]
    pub vary: Vec<String>,
    /// Output folder.
    #[arg(long, default_value = "output/harness")]
    pub out: PathBuf,
    /// Real runs per grid point (default: the model's sim.replications, at most 3;
    /// at most 1000).
    #[arg(long)]
    pub runs: Option<u32>,
    /// A run whose load generator fell more than this many milliseconds behind its
    /// schedule is run again (four times at most), then refused.
    #[arg(long, default_value_t = 5.0, value_name = "MS")]
    pub max_lag_ms: f64,
    /// The loopback port the measured server (builtin over TCP, or nginx) listens on
    /// (0: a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// The unix socket path of the measured server (default: in a temporary folder).
    #[arg(long)]
    pub socket: Option<PathBuf>,
    /// Run in this machine's network namespace even as root (then listener.somaxconn
    /// must not cap the backlog below what the machine's somaxconn does).
    #[arg(long)]
    pub no_namespace: bool,
    /// The most real processes one grid point may fork (pool.process_limit workers);
    /// at most what this machine holds (from RLIMIT_NPROC, kernel.pid_max and the
    /// available memory).
    #[arg(long, value_name = "N", default_value_t = crate::harness::DEFAULT_MAX_PROCESSES)]
    pub max_processes: u32,
    /// The longest the whole measurement may take, in seconds: points x runs x each
    /// run's time limit (arrivals, then the drain).
    #[arg(long, value_name = "SECONDS", default_value_t = crate::harness::DEFAULT_MAX_TOTAL_S)]
    pub max_total_s: f64,
}

/// `--target`'s values: the harness's registry of targets, test-only ones hidden.
fn target_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(crate::harness::TARGET_NAMES.iter().map(|name| {
        clap::builder::PossibleValue::new(*name).hide(crate::harness::is_hidden_target(name))
    }))
}

/// The upstream's listening socket, for `import nginx-log --listener`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListenerArg {
    /// proxy_pass http://unix:/run/gunicorn.sock: a full queue is an immediate 502.
    Unix,
    /// proxy_pass http://127.0.0.1:8000.
    Tcp,
}

#[derive(Debug, Subcommand)]
pub enum ImportArgs {
    /// Write a model from the output of `doveconf -n` (Dovecot 2.0 to 2.4).
    #[command(after_help = help::DOVECONF)]
    Doveconf {
        /// The saved output of `doveconf -n`, e.g. from `doveconf -n > dovecot.txt`.
        file: PathBuf,
        /// Write the model here instead of to stdout.
        #[arg(long, value_name = "MODEL.toml")]
        out: Option<PathBuf>,
        /// Model one service alone: imap (the listener imap-login's net_connect_unix(imap)
        /// hits) or imap-login (the one IMAP clients connect to). Without it, the chain
        /// imap-login -> imap, one master forking for both.
        #[arg(long, value_parser = ["imap", "imap-login"])]
        service: Option<String>,
    },
    /// Write a model of one PHP-FPM pool from its pool file (PHP 8.2's defaults filled in).
    ///
    /// Reads pm (static -> prefork, dynamic, ondemand), pm.max_children, the spare-server
    /// settings, pm.max_spawn_rate, pm.process_idle_timeout, pm.max_requests, listen and
    /// listen.backlog; lists the pool's other settings with their lines on stderr. The
    /// `include=` lines of a php-fpm.conf are not followed: give the pool file itself.
    #[command(after_help = help::PHP_FPM)]
    PhpFpm {
        /// The pool file, e.g. /etc/php/8.2/fpm/pool.d/www.conf.
        file: PathBuf,
        /// The pool to model (a `[NAME]` section); needed when the file has several.
        #[arg(long, value_name = "NAME")]
        pool: Option<String>,
        /// Write the model here instead of to stdout.
        #[arg(long, value_name = "MODEL.toml")]
        out: Option<PathBuf>,
    },
    /// Write a model of Apache httpd's prefork MPM from its configuration (Apache 2.4's
    /// defaults filled in).
    ///
    /// Reads StartServers, MinSpareServers, MaxSpareServers, MaxRequestWorkers (MaxClients),
    /// ServerLimit, MaxConnectionsPerChild (MaxRequestsPerChild), ListenBacklog and Listen,
    /// at the top level or in <IfModule mpm_prefork_module>; lists other MPMs' directives,
    /// Include lines (not followed) and the keep-alive settings with their lines on stderr.
    #[command(after_help = help::APACHE)]
    Apache {
        /// The configuration: mpm_prefork.conf, or a whole apache2.conf.
        file: PathBuf,
        /// Write the model here instead of to stdout.
        #[arg(long, value_name = "MODEL.toml")]
        out: Option<PathBuf>,
    },
    /// Write a trace and a model of the upstream pool from an nginx (or gunicorn) access log.
    ///
    /// Writes DIR/trace.csv (each request's arrival at the upstream and its work),
    /// DIR/model.toml (the pool replaying it; values the log cannot know are marked) and
    /// DIR/observed.json (status counts, the observed shares of 502s), so that
    /// `eagain simulate DIR/model.toml` can be compared with what happened, and --set
    /// and --vary ask what other limits would have done. gunicorn's own log works too
    /// when it has %(L)s or %(D)s, but it has no refused connections.
    #[command(after_help = help::NGINX_LOG)]
    NginxLog {
        /// The access log (uncompressed; read line by line).
        access_log: PathBuf,
        /// The log_format string the log was written with (nginx: $msec or $time_local,
        /// $status, $request_time, $upstream_response_time; also the whole `log_format
        /// NAME '...';` directive), or gunicorn's --access-logformat (%(t)s, %(s)s, %(L)s).
        #[arg(long, value_name = "FORMAT")]
        log_format: String,
        /// The upstream's worker processes (the replay and pool.process_limit; without it,
        /// 1, a guess the import warns about; with --pool, the pool model's).
        #[arg(long, value_name = "N")]
        workers: Option<u32>,
        /// The upstream's socket.
        #[arg(long, value_enum, default_value_t = ListenerArg::Unix, conflicts_with = "pool")]
        listener: ListenerArg,
        /// The upstream's listen() backlog (default: estimated from the 502s, else
        /// gunicorn's 2048; marked as not known).
        #[arg(long, value_name = "N", conflicts_with = "pool")]
        backlog: Option<u32>,
        /// net.core.somaxconn where the upstream runs (default 4096, marked as not known).
        #[arg(long, value_name = "N", conflicts_with = "pool")]
        somaxconn: Option<u32>,
        /// nginx's proxy_read_timeout (or fastcgi_read_timeout): load.timeout (default 60,
        /// nginx's).
        #[arg(long, value_name = "SECONDS")]
        read_timeout: Option<f64>,
        /// A model of the upstream pool (from `import php-fpm`, `import apache`, or a
        /// shipped one): its listener, pool and master replace the fixed pool of
        /// --workers, the log giving the load.
        #[arg(long, value_name = "MODEL.toml")]
        pool: Option<PathBuf>,
        /// The folder to write trace.csv, model.toml, observed.json (and work.txt) into.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

/// `eagain generate`: text made from these definitions, printed to stdout.
#[derive(Debug, Subcommand)]
pub enum GenerateArgs {
    /// The man page, eagain(1), with every command in it (roff).
    Man,
    /// The completion script of a shell.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[cfg(test)]
mod tests {
    #[test]
    fn verify_app() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
