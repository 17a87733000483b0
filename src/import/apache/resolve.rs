//! Apache 2.4's defaults for what a configuration leaves out, and what the MPM does to
//! its directives at start-up, each change a note: prefork clamps MaxRequestWorkers to
//! ServerLimit and raises MaxSpareServers above MinSpareServers (semantics:
//! apache-defaults, apache-server-limit); worker and event lower ThreadsPerChild to
//! ThreadLimit, round MaxRequestWorkers down to whole processes of ThreadsPerChild
//! threads within ServerLimit, and keep MaxSpareThreads at least ThreadsPerChild above
//! MinSpareThreads (semantics: apache-event-pool). For a threaded MPM the spare thread
//! counts are then turned into the processes the model's spare-server master counts.

use super::{Mpm, SEP};
use crate::error::BadInput;
use crate::import::common::{bad_line, Setting, Sourced, Unused};
use crate::import::server::uint;
use crate::import::text::{clean, snippet};

const DEFAULT: &str = "Apache 2.4's default";

/// DEFAULT_SERVER_LIMIT and MAX_SERVER_LIMIT of prefork (semantics: apache-defaults).
const PREFORK_SERVER_LIMIT: (u32, u32) = (256, 200_000);

/// DEFAULT_SERVER_LIMIT and MAX_SERVER_LIMIT of worker and event (semantics:
/// apache-event-pool).
const THREADED_SERVER_LIMIT: (u32, u32) = (16, 20_000);

/// DEFAULT_THREAD_LIMIT of worker and event, and MAX_THREAD_LIMIT of worker and of
/// event.
const THREAD_LIMIT: (u32, u32, u32) = (64, 20_000, 100_000);

/// DEFAULT_THREADS_PER_CHILD, and worker's and event's DEFAULT_START_DAEMON,
/// DEFAULT_MIN_FREE_DAEMON and DEFAULT_MAX_FREE_DAEMON (mpm_default.h), the spare
/// threads being those processes' threads.
const THREADED_DEFAULTS: (u32, u32, u32, u32) = (25, 3, 3, 10);

/// DEFAULT_LISTENBACKLOG (semantics: apache-backlog).
const DEFAULT_BACKLOG: u32 = 511;

/// The first `Listen`.
#[derive(Debug, Clone)]
pub(super) struct Listen {
    pub(super) address: String,
    pub(super) line: usize,
}

/// A threaded MPM's thread settings, and the processes they come to.
#[derive(Debug, Clone)]
pub(super) struct Threads {
    pub(super) per_child: Sourced<u32>,
    pub(super) limit: Sourced<u32>,
    pub(super) min_spare: Sourced<u32>,
    pub(super) max_spare: Sourced<u32>,
}

/// The MPM's settings after Apache's defaults and its start-up adjustments, in the
/// model's terms: `processes` is pool.process_limit, the spares are processes.
#[derive(Debug, Clone)]
pub(super) struct Conf {
    pub(super) mpm: Mpm,
    pub(super) start: Sourced<u32>,
    /// Idle processes: MinSpareServers, or MinSpareThreads / ThreadsPerChild rounded up.
    pub(super) min_spare: Sourced<u32>,
    /// MaxSpareServers, or MaxSpareThreads / ThreadsPerChild rounded down.
    pub(super) max_spare: Sourced<u32>,
    /// MaxRequestWorkers: processes for prefork, threads for the threaded MPMs.
    pub(super) max_workers: Sourced<u32>,
    pub(super) server_limit: Sourced<u32>,
    pub(super) per_child: Sourced<u32>,
    pub(super) backlog: Sourced<u32>,
    pub(super) listen: Option<Listen>,
    /// The threaded MPMs' thread settings.
    pub(super) threads: Option<Threads>,
}

impl Conf {
    /// The most processes at once.
    pub(super) fn processes(&self) -> u32 {
        match &self.threads {
            Some(t) => self.max_workers.value / t.per_child.value,
            None => self.max_workers.value,
        }
    }
}

/// A directive the file gives, as a whole number, or its default.
type Number<'a> = dyn Fn(&str, u32) -> Result<Sourced<u32>, BadInput> + 'a;

/// `mpm`'s settings from the directives `get` finds, with Apache's defaults and the
/// MPM's start-up adjustments; notes say what Apache changes.
pub(super) fn resolve<'a>(
    mpm: Mpm,
    get: &dyn Fn(&str) -> Option<&'a Setting>,
    listens: &[Setting],
    file: &str,
    unused: &mut Vec<Unused>,
    notes: &mut Vec<String>,
) -> Result<Conf, BadInput> {
    let number = |name: &str, default: u32| -> Result<Sourced<u32>, BadInput> {
        Ok(match get(name) {
            Some(s) => Sourced::given(s, uint(file, s, SEP, "a whole number")?),
            None => Sourced::default(default, DEFAULT),
        })
    };
    let limits = if mpm.threaded() {
        THREADED_SERVER_LIMIT
    } else {
        PREFORK_SERVER_LIMIT
    };
    let server_limit = at_least_one(
        "ServerLimit",
        capped(
            "ServerLimit",
            number("ServerLimit", limits.0)?,
            limits.1,
            mpm,
            notes,
        ),
        notes,
    );
    let mut conf = if mpm.threaded() {
        threaded(mpm, &number, get, server_limit, notes)?
    } else {
        prefork(&number, get, server_limit, notes)?
    };
    conf.per_child = number("MaxConnectionsPerChild", 0)?;
    conf.backlog = number("ListenBacklog", DEFAULT_BACKLOG)?;
    for s in listens {
        check_listen(s, file)?;
    }
    conf.listen = match listens {
        [] => {
            notes.push(
                "no Listen in this file (Debian's is in ports.conf, and Include is not \
                 followed): the model has a TCP listener, as every Apache has."
                    .into(),
            );
            None
        }
        [first, rest @ ..] => {
            for s in rest {
                unused.push(Unused::new(
                    s,
                    "another listening socket with its own queue: the model simulates the \
                     first Listen's (with two or more, the children take an accept mutex, \
                     eagain semantics: apache-accept-mutex)",
                ));
            }
            Some(Listen {
                address: first.value.clone(),
                line: first.line,
            })
        }
    };
    Ok(conf)
}

/// A limit above the MPM's compiled-in maximum is lowered to it, as Apache does.
fn capped(
    name: &str,
    n: Sourced<u32>,
    max: u32,
    mpm: Mpm,
    notes: &mut Vec<String>,
) -> Sourced<u32> {
    if n.value <= max {
        return n;
    }
    let key = format!(
        "MAX_{}",
        name.replace("Limit", "_LIMIT").to_ascii_uppercase()
    );
    notes.push(format!(
        "{name} {} ({}) is above {}'s {key}: Apache lowers it to {max}.",
        n.value,
        n.from(),
        mpm.name()
    ));
    Sourced::derived(max, format!("{}, lowered to {key}", n.from()))
}

/// A count Apache raises from 0 to 1.
fn at_least_one(name: &str, mut n: Sourced<u32>, notes: &mut Vec<String>) -> Sourced<u32> {
    if n.value == 0 {
        notes.push(format!("{name} 0 ({}): Apache raises it to 1.", n.from()));
        n.value = 1;
    }
    n
}

/// prefork.c's start-up adjustments.
fn prefork<'a>(
    number: &Number,
    get: &dyn Fn(&str) -> Option<&'a Setting>,
    server_limit: Sourced<u32>,
    notes: &mut Vec<String>,
) -> Result<Conf, BadInput> {
    let mut max_workers = match get("MaxRequestWorkers") {
        Some(_) => number("MaxRequestWorkers", 0)?,
        None => Sourced::default(server_limit.value, format!("{DEFAULT}: ServerLimit")),
    };
    if max_workers.value > server_limit.value {
        notes.push(format!(
            "MaxRequestWorkers {} ({}) is above ServerLimit {} ({}): Apache clamps it to \
             {}, and so does the model (eagain semantics: apache-server-limit).",
            max_workers.value,
            max_workers.from(),
            server_limit.value,
            server_limit.from(),
            server_limit.value
        ));
        max_workers = Sourced::derived(
            server_limit.value,
            format!("{}, clamped to ServerLimit", max_workers.from()),
        );
    } else if max_workers.value == 0 {
        notes.push(format!(
            "MaxRequestWorkers 0 ({}): Apache raises it to 1.",
            max_workers.from()
        ));
        max_workers.value = 1;
    }
    let limit = max_workers.value;
    let start = start_servers(
        number("StartServers", 5)?,
        limit,
        "MaxRequestWorkers",
        notes,
    );
    let min_spare = number("MinSpareServers", 5)?;
    if min_spare.value == 0 {
        notes.push(format!(
            "MinSpareServers 0 ({}): Apache resets it to 1.",
            min_spare.from()
        ));
    }
    let mut min_spare = Sourced {
        value: min_spare.value.max(1),
        ..min_spare
    };
    let mut max_spare = number("MaxSpareServers", 10)?;
    if max_spare.value < min_spare.value + 1 {
        notes.push(format!(
            "MaxSpareServers {} ({}) is not above MinSpareServers {}: Apache raises it to \
             MinSpareServers + 1 = {}.",
            max_spare.value,
            max_spare.from(),
            min_spare.value,
            min_spare.value + 1
        ));
        max_spare.value = min_spare.value + 1;
    }
    // More idle children than can exist changes nothing: the model takes the limit.
    for (name, n) in [
        ("MinSpareServers", &mut min_spare),
        ("MaxSpareServers", &mut max_spare),
    ] {
        if n.value > limit {
            notes.push(format!(
                "{name} {} is above MaxRequestWorkers {limit}: no more children can be idle \
                 than exist, so the model takes {limit}, which behaves the same.",
                n.value
            ));
            n.value = limit;
        }
    }
    Ok(Conf {
        mpm: Mpm::Prefork,
        start,
        min_spare,
        max_spare,
        max_workers,
        server_limit,
        per_child: Sourced::default(0, DEFAULT),
        backlog: Sourced::default(DEFAULT_BACKLOG, DEFAULT),
        listen: None,
        threads: None,
    })
}

/// StartServers above the processes that may exist: the model starts those.
fn start_servers(
    mut start: Sourced<u32>,
    limit: u32,
    limit_name: &str,
    notes: &mut Vec<String>,
) -> Sourced<u32> {
    if start.value > limit {
        notes.push(format!(
            "StartServers {} ({}) is above {limit_name} {limit}: no more children can \
             start, so the model starts {limit}.",
            start.value,
            start.from()
        ));
        start.value = limit;
    }
    start
}

/// worker.c's and event.c's start-up adjustments, then the spare threads as processes.
fn threaded<'a>(
    mpm: Mpm,
    number: &Number,
    get: &dyn Fn(&str) -> Option<&'a Setting>,
    server_limit: Sourced<u32>,
    notes: &mut Vec<String>,
) -> Result<Conf, BadInput> {
    let (default_threads, default_start, default_min, default_max) = THREADED_DEFAULTS;
    let limit = at_least_one(
        "ThreadLimit",
        capped(
            "ThreadLimit",
            number("ThreadLimit", THREAD_LIMIT.0)?,
            if mpm == Mpm::Event {
                THREAD_LIMIT.2
            } else {
                THREAD_LIMIT.1
            },
            mpm,
            notes,
        ),
        notes,
    );
    let mut per_child = at_least_one(
        "ThreadsPerChild",
        number("ThreadsPerChild", default_threads)?,
        notes,
    );
    if per_child.value > limit.value {
        notes.push(format!(
            "ThreadsPerChild {} ({}) is above ThreadLimit {} ({}): Apache lowers it to {}.",
            per_child.value,
            per_child.from(),
            limit.value,
            limit.from(),
            limit.value
        ));
        per_child = Sourced::derived(
            limit.value,
            format!("{}, lowered to ThreadLimit", per_child.from()),
        );
    }
    let tpc = per_child.value;
    let mut max_workers = match get("MaxRequestWorkers") {
        Some(_) => number("MaxRequestWorkers", 0)?,
        None => Sourced::default(
            server_limit.value.saturating_mul(tpc),
            format!("{DEFAULT}: ServerLimit x ThreadsPerChild"),
        ),
    };
    if max_workers.value < tpc {
        notes.push(format!(
            "MaxRequestWorkers {} ({}) is below ThreadsPerChild {tpc}: Apache raises it to \
             {tpc}, one process.",
            max_workers.value,
            max_workers.from()
        ));
        max_workers = Sourced::derived(
            tpc,
            format!("{}, raised to ThreadsPerChild", max_workers.from()),
        );
    } else if max_workers.value % tpc != 0 {
        let whole = max_workers.value / tpc * tpc;
        notes.push(format!(
            "MaxRequestWorkers {} ({}) is not a multiple of ThreadsPerChild {tpc}: Apache \
             lowers it to {whole} (AH00513).",
            max_workers.value,
            max_workers.from()
        ));
        max_workers = Sourced::derived(
            whole,
            format!(
                "{}, lowered to a multiple of ThreadsPerChild",
                max_workers.from()
            ),
        );
    }
    if max_workers.value / tpc > server_limit.value {
        let most = server_limit.value.saturating_mul(tpc);
        notes.push(format!(
            "MaxRequestWorkers {} ({}) needs {} processes of {tpc} threads, above ServerLimit \
             {} ({}): Apache lowers it to {most} (AH00515), and so does the model (eagain \
             semantics: apache-server-limit).",
            max_workers.value,
            max_workers.from(),
            max_workers.value / tpc,
            server_limit.value,
            server_limit.from()
        ));
        max_workers = Sourced::derived(
            most,
            format!(
                "{}, lowered to ServerLimit x ThreadsPerChild",
                max_workers.from()
            ),
        );
    }
    let processes = max_workers.value / tpc;
    let start = at_least_one(
        "StartServers",
        number("StartServers", default_start)?,
        notes,
    );
    let start = start_servers(start, processes, "the processes that may exist,", notes);
    let min_threads = at_least_one(
        "MinSpareThreads",
        number("MinSpareThreads", default_min * default_threads)?,
        notes,
    );
    let mut max_threads = number("MaxSpareThreads", default_max * default_threads)?;
    let floor = min_threads.value.saturating_add(tpc);
    if max_threads.value < floor {
        notes.push(format!(
            "MaxSpareThreads {} ({}) is less than MinSpareThreads + ThreadsPerChild: Apache \
             raises it to {floor}.",
            max_threads.value,
            max_threads.from()
        ));
        max_threads = Sourced::derived(
            floor,
            format!(
                "{}, raised to MinSpareThreads + ThreadsPerChild",
                max_threads.from()
            ),
        );
    }
    // The idle processes the model's master keeps (semantics: apache-event-pool).
    let min = min_threads.value.div_ceil(tpc).min(processes);
    let max = (max_threads.value / tpc).max(min + 1).min(processes);
    let min_spare = Sourced::derived(
        min,
        format!(
            "MinSpareThreads {} / ThreadsPerChild {tpc}, rounded up, in processes: \
             APPROXIMATED",
            min_threads.value
        ),
    );
    let max_spare = Sourced::derived(
        max,
        format!(
            "MaxSpareThreads {} / ThreadsPerChild {tpc}, rounded down, in processes: \
             APPROXIMATED",
            max_threads.value
        ),
    );
    Ok(Conf {
        mpm,
        start,
        min_spare,
        max_spare,
        max_workers,
        server_limit,
        per_child: Sourced::default(0, DEFAULT),
        backlog: Sourced::default(DEFAULT_BACKLOG, DEFAULT),
        listen: None,
        threads: Some(Threads {
            per_child,
            limit,
            min_spare: min_threads,
            max_spare: max_threads,
        }),
    })
}

/// `Listen [address:]port [protocol]`: the port must be one.
fn check_listen(s: &Setting, file: &str) -> Result<(), BadInput> {
    let address = s.value.split_whitespace().next().unwrap_or("");
    let port = address.rsplit_once(':').map_or(address, |(_, p)| p);
    match port.parse::<u32>() {
        Ok(p) if (1..=65535).contains(&p) && port.chars().all(|c| c.is_ascii_digit()) => Ok(()),
        _ => Err(bad_line(
            file,
            s.line,
            format!(
                "`Listen {}`: Listen takes a port or address:port (80, 127.0.0.1:8080, \
                 [::1]:8080), with a port from 1 to 65535.",
                snippet(&clean(&s.value))
            ),
        )),
    }
}
