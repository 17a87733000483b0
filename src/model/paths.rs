//! The dotted paths `--set` and `--vary` address (SPEC section 3), each with its kind
//! and what it means. A path outside this list is refused before anything runs; a
//! sweep's geometric range rounds the values of a path of whole numbers.

/// What a path holds: a whole number, another plain value, or a distribution table
/// (whose own keys, such as `work.blocking.mean`, may be addressed too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    Integer,
    Value,
    Distribution,
}

/// Every addressable path, its kind and its meaning.
const PATHS: &[(&str, PathKind, &str)] = &[
    ("name", PathKind::Value, "the model's name"),
    ("description", PathKind::Value, "free text"),
    (
        "load.arrival",
        PathKind::Value,
        "\"constant\", \"poisson\" or \"trace\"",
    ),
    ("load.rate", PathKind::Value, "connections per second"),
    (
        "load.profile",
        PathKind::Distribution,
        "the rate over time: { shape, points = [[t, factor], ...], repeat }",
    ),
    (
        "load.trace",
        PathKind::Value,
        "with arrival = \"trace\": the CSV of arrival times",
    ),
    ("load.duration", PathKind::Value, "arrival window, seconds"),
    (
        "load.connections",
        PathKind::Integer,
        "number of connections",
    ),
    ("load.timeout", PathKind::Value, "client gives up, seconds"),
    (
        "load.connect_timeout",
        PathKind::Value,
        "tcp: give up connecting, seconds",
    ),
    ("load.on_refused", PathKind::Value, "\"fail\" or \"retry\""),
    (
        "load.retry_for",
        PathKind::Value,
        "unix retry window, seconds",
    ),
    (
        "load.retry_pause",
        PathKind::Distribution,
        "pause between unix retries",
    ),
    ("listener.kind", PathKind::Value, "\"unix\" or \"tcp\""),
    (
        "listener.backlog",
        PathKind::Integer,
        "what listen() is given",
    ),
    ("listener.somaxconn", PathKind::Integer, "the kernel cap"),
    (
        "listener.syn_schedule",
        PathKind::Value,
        "\"linux-6.5\" or \"linux-legacy\"",
    ),
    (
        "pool.process_limit",
        PathKind::Integer,
        "most processes at once",
    ),
    (
        "pool.client_limit",
        PathKind::Integer,
        "connections one process holds",
    ),
    (
        "pool.service_count",
        PathKind::Integer,
        "connections before a process exits (0 = never)",
    ),
    (
        "pool.process_min_avail",
        PathKind::Integer,
        "idle processes kept ready",
    ),
    (
        "pool.threads",
        PathKind::Integer,
        "connections of a process working at once",
    ),
    (
        "pool.start_servers",
        PathKind::Integer,
        "spare-server masters: processes at t = 0",
    ),
    (
        "pool.min_spare",
        PathKind::Integer,
        "fewest idle processes kept",
    ),
    (
        "pool.max_spare",
        PathKind::Integer,
        "most idle processes kept",
    ),
    (
        "pool.process_memory_mib",
        PathKind::Value,
        "resident memory of one process, MiB",
    ),
    (
        "master.tick",
        PathKind::Value,
        "seconds between maintenance ticks",
    ),
    (
        "master.max_spawn_rate",
        PathKind::Integer,
        "most processes one tick forks",
    ),
    (
        "pool.idle_kill",
        PathKind::Value,
        "seconds before an extra idle process ends (0 = never)",
    ),
    (
        "master.mode",
        PathKind::Value,
        "\"prefork\", \"on-demand\" or \"per-connection\"",
    ),
    (
        "master.startup",
        PathKind::Distribution,
        "fork to ready to accept",
    ),
    (
        "master.fork_time",
        PathKind::Distribution,
        "master's own time per fork",
    ),
    (
        "master.respawn_delay",
        PathKind::Distribution,
        "wait before replacing an exited process",
    ),
    (
        "master.drop_timeout",
        PathKind::Value,
        "seconds at process_limit before accept-and-close",
    ),
    (
        "master.process",
        PathKind::Value,
        "a label: services with the same one share one master process",
    ),
    (
        "master.dovecot_version",
        PathKind::Value,
        "Dovecot version: its backlog cap and fork mode",
    ),
    (
        "work.blocking",
        PathKind::Distribution,
        "time a connection blocks its process, off the CPU",
    ),
    (
        "work.hold",
        PathKind::Distribution,
        "connection open after its work, process free",
    ),
    (
        "work.cpu",
        PathKind::Distribution,
        "CPU seconds a connection needs, before its time off the CPU",
    ),
    (
        "host.cpus",
        PathKind::Value,
        "CPUs the services share: cores or a CPU quota in cores",
    ),
    (
        "host.memory_mib",
        PathKind::Value,
        "memory for the services' processes, MiB",
    ),
    ("sim.seed", PathKind::Integer, "random seed"),
    ("sim.replications", PathKind::Integer, "independent runs"),
    (
        "sim.warmup",
        PathKind::Value,
        "seconds left out at the start",
    ),
    ("sim.bin", PathKind::Value, "seconds per row of a timeline"),
    (
        "sim.max_connections",
        PathKind::Integer,
        "the budget of connections one replication may send",
    ),
    (
        "sim.rare",
        PathKind::Value,
        "true: estimate refusals by importance splitting (RESTART, fixed effort)",
    ),
];

/// Accepts a known path, or a key inside a distribution path; otherwise says which
/// paths exist (the nearest ones first when the path shares its table).
pub fn check_path(path: &str) -> Result<(), String> {
    if let Some(rest) = path.strip_prefix("services.") {
        return check_service_path(path, rest);
    }
    known(PATHS, path)
        .then_some(())
        .ok_or_else(|| unknown(path))
}

/// Whether `path` holds a whole number (a chain's `services.NAME.pool.process_limit`
/// as a single service's `pool.process_limit`).
pub(crate) fn is_integer_path(path: &str) -> bool {
    let path = match path.strip_prefix("services.") {
        Some(rest) => rest.split_once('.').map_or("", |(_, field)| field),
        None => path,
    };
    PATHS
        .iter()
        .chain(SERVICE_PATHS)
        .any(|(p, kind, _)| *p == path && *kind == PathKind::Integer)
}

/// The paths of one service of a chain, after `services.NAME.`: its tables' paths
/// (those of a single-service model), its hop, and its name.
const SERVICE_PATHS: &[(&str, PathKind, &str)] = &[
    ("name", PathKind::Value, "the service's name"),
    (
        "next",
        PathKind::Value,
        "the service its processes connect to next",
    ),
    ("handoff", PathKind::Value, "\"pass\" or \"proxy\""),
    (
        "host",
        PathKind::Value,
        "false: the service runs on another machine than [host]",
    ),
    (
        "connect.on_refused",
        PathKind::Value,
        "\"fail\" or \"retry\"",
    ),
    (
        "connect.retry_for",
        PathKind::Value,
        "unix retry window, seconds",
    ),
    (
        "connect.retry_pause",
        PathKind::Distribution,
        "pause between unix retries",
    ),
    (
        "connect.connect_timeout",
        PathKind::Value,
        "tcp: give up connecting, seconds",
    ),
    (
        "connect.timeout",
        PathKind::Value,
        "give up waiting for the reply, seconds",
    ),
];

/// `services.NAME.REST`: REST a service's path. Whether NAME is a service of the
/// model is checked when the model loads.
fn check_service_path(path: &str, rest: &str) -> Result<(), String> {
    let Some((name, field)) = rest.split_once('.') else {
        return Err(format!(
            "`{}` is not a model path: write services.NAME.PATH, for example \
             services.imap.pool.process_limit",
            crate::error::quoted(path)
        ));
    };
    let table_path = ["listener.", "pool.", "master.", "work."]
        .iter()
        .any(|t| field.starts_with(t))
        && known(PATHS, field);
    if !name.is_empty() && (table_path || known(SERVICE_PATHS, field)) {
        return Ok(());
    }
    Err(format!(
        "`{}` is not a model path; after services.NAME. come the paths of a service's \
         tables (listener, pool, master, work: e.g. pool.process_limit) or {}",
        crate::error::quoted(path),
        SERVICE_PATHS
            .iter()
            .map(|(p, _, _)| *p)
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// `path` is one of `paths`, or a key inside one of its distributions.
fn known(paths: &[(&str, PathKind, &str)], path: &str) -> bool {
    for (p, kind, _) in paths {
        if *p == path {
            return true;
        }
        if *kind == PathKind::Distribution {
            if let Some(rest) = path.strip_prefix(p).and_then(|r| r.strip_prefix('.')) {
                if !rest.is_empty() && !rest.contains('.') {
                    return true;
                }
            }
        }
    }
    false
}

fn unknown(path: &str) -> String {
    let table = path.split('.').next().unwrap_or("");
    let same_table: Vec<&str> = PATHS
        .iter()
        .map(|(p, _, _)| *p)
        .filter(|p| p.split('.').next() == Some(table) && p.contains('.'))
        .collect();
    let listed = if same_table.is_empty() {
        PATHS
            .iter()
            .map(|(p, _, _)| *p)
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        same_table.join(", ")
    };
    format!(
        "`{}` is not a model path; the paths{} are: {listed}",
        crate::error::quoted(path),
        if same_table.is_empty() {
            String::new()
        } else {
            format!(" in [{table}]")
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_paths_and_distribution_keys_are_accepted() {
        assert!(check_path("pool.process_limit").is_ok());
        assert!(check_path("work.blocking").is_ok());
        assert!(check_path("work.blocking.mean").is_ok());
    }

    #[test]
    fn the_table_knows_which_paths_hold_whole_numbers() {
        for p in [
            "pool.process_limit",
            "listener.backlog",
            "services.imap.pool.process_limit",
            "services.nginx.listener.somaxconn",
            "sim.seed",
            "load.connections",
            "master.max_spawn_rate",
        ] {
            assert!(is_integer_path(p), "{p}");
        }
        for p in [
            "load.rate",
            "work.blocking.mean",
            "master.startup.value",
            "master.tick",
            "services.imap.work.blocking.mean",
            "services.imap",
            "pool.idle_kill",
        ] {
            assert!(!is_integer_path(p), "{p}");
        }
    }

    #[test]
    fn a_misspelled_path_lists_the_paths_of_its_table() {
        let err = check_path("pool.proces_limit").unwrap_err();
        assert!(
            err.contains("`pool.proces_limit` is not a model path"),
            "{err}"
        );
        assert!(err.contains("pool.process_limit"), "{err}");
        assert!(!err.contains("load.rate"), "{err}");
        assert!(check_path("pool.process_limit.x").is_err());
    }
}
