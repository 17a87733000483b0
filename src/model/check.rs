//! The rules a parsed model must meet before it is simulated: the load, each service's
//! tables (every message naming the path the user's file has, `Service::path`), the
//! rules of its server family (`crate::families`), the chain's structure, and the
//! run's budget. Every failure names the field's dotted path and says what is allowed.

use super::{
    bad, Arrival, FieldError, ListenerKind, MasterMode, Model, OnRefused, Service,
    BACKLOG_NOT_GIVEN, EVENTS_PER_CONNECTION, MAX_PROCESSES, MAX_REPLICATIONS, MAX_TIMELINE_BINS,
    MIN_RETRY_PAUSE, MIN_TICK,
};
use crate::dist::DistSpec;

impl Model {
    /// Every rule a parsed model must meet before it is simulated.
    pub fn check(&self) -> Result<(), FieldError> {
        self.check_load()?;
        self.check_services()?;
        let l = &self.load;
        check_client(
            "load",
            l.on_refused,
            l.retry_for,
            &l.retry_pause,
            l.timeout,
            l.connect_timeout,
            self.front().listener.kind,
        )?;
        self.check_sim()?;
        self.check_ticks()?;
        self.check_host()
    }

    fn check_load(&self) -> Result<(), FieldError> {
        let l = &self.load;
        if l.rate.is_nan() {
            return Err(bad(
                "load.rate",
                "is required: connections per second (only a trace may leave it out, to \
                 replay at its own rate)",
            ));
        }
        positive("load.rate", l.rate, "connections per second")?;
        match (l.arrival, &l.trace, &l.profile) {
            (Arrival::Trace, None, _) => {
                return Err(bad(
                    "load.trace",
                    "is required with arrival = \"trace\": the CSV of arrival times \
                     (a column `t`, optionally `blocking`)",
                ))
            }
            (Arrival::Trace, Some(_), Some(_)) => {
                return Err(bad(
                    "load.profile",
                    "a trace carries its own timing: give a profile or a trace, not both",
                ))
            }
            (Arrival::Constant | Arrival::Poisson, Some(_), _) => {
                return Err(bad("load.trace", "is read only with arrival = \"trace\""))
            }
            _ => {}
        }
        if let Some(p) = &l.profile {
            p.check().map_err(|m| bad("load.profile", m))?;
        }
        if let Some(tr) = &l.trace_data {
            if !tr.advances() {
                return Err(bad(
                    "load.trace",
                    "every arrival has the same t: a trace needs times that advance",
                ));
            }
        }
        match (l.duration, l.connections) {
            (Some(_), Some(_)) => {
                return Err(bad(
                    "load.duration",
                    "give `load.duration` or `load.connections`, not both",
                ))
            }
            (None, None) => return Err(bad(
                "load.duration",
                "give `load.duration` (seconds) or `load.connections` (a count): one is required",
            )),
            (Some(d), None) => positive("load.duration", d, "seconds")?,
            (None, Some(0)) => return Err(bad("load.connections", "must be at least 1")),
            (None, Some(_)) => {}
        }
        Ok(())
    }

    /// Each service's tables and its family's rules, then its hop: `next` naming a
    /// service, a `connect` table and a `handoff` only where there is a `next`; and no
    /// cycle. (A chain's names were checked as it was read: `chain.rs`.)
    fn check_services(&self) -> Result<(), FieldError> {
        let names: Vec<&str> = self.services.iter().map(|s| s.name.as_str()).collect();
        for s in &self.services {
            check_tables(s)?;
            match &s.next {
                Some(next) => {
                    let Some(j) = names.iter().position(|n| n == next) else {
                        return Err(bad(
                            &s.path("next"),
                            format!(
                                "`{}` names no service; the services are: {}",
                                crate::error::quoted(next),
                                names.join(", ")
                            ),
                        ));
                    };
                    let c = &s.connect;
                    check_client(
                        &s.path("connect"),
                        c.on_refused,
                        c.retry_for,
                        &c.retry_pause,
                        c.timeout,
                        c.connect_timeout,
                        self.services[j].listener.kind,
                    )?;
                }
                None => {
                    if s.handoff.is_some() {
                        return Err(bad(
                            &s.path("handoff"),
                            "is how a service hands a connection to its `next`: this service \
                             has no next (it is the last of the chain); remove the handoff",
                        ));
                    }
                    if s.connect_given {
                        return Err(bad(
                            &s.path("connect"),
                            "is how a service connects to its `next`: this service has no \
                             next (it is the last of the chain); remove the connect table",
                        ));
                    }
                }
            }
        }
        // Following `next` from the first service must end, and reach every service.
        let mut seen = vec![false; names.len()];
        let mut i = 0;
        loop {
            if std::mem::replace(&mut seen[i], true) {
                return Err(bad(
                    &self.services[i].path("next"),
                    "makes a cycle: a chain goes from the first service to the last, each \
                     service once",
                ));
            }
            match self.services[i].next.as_deref() {
                Some(n) => i = names.iter().position(|x| *x == n).expect("checked"),
                None => break,
            }
        }
        if let Some(k) = seen.iter().position(|s| !s) {
            return Err(bad(
                &format!("services.{}", self.services[k].name),
                "is not reached from the first service by `next`: list the services of one \
                 chain, the one clients connect to first",
            ));
        }
        Ok(())
    }

    fn check_sim(&self) -> Result<(), FieldError> {
        let s = &self.sim;
        let l = &self.load;
        if s.replications == 0 {
            return Err(bad("sim.replications", "must be at least 1"));
        }
        if s.replications > MAX_REPLICATIONS {
            return Err(bad(
                "sim.replications",
                format!("must be at most {MAX_REPLICATIONS}, got {}", s.replications),
            ));
        }
        if s.rare && self.host_cpus().is_some() {
            // The splitting copies a run's queues and processes but has not been
            // checked against the CPUs' shared clock (docs/rare-events.md#limits).
            return Err(bad(
                "sim.rare",
                "is not available with host.cpus (CPU sharing) yet: run without sim.rare, \
                 or leave out the [host] table's cpus",
            ));
        }
        if s.max_connections == 0 || s.max_connections > u64::MAX / EVENTS_PER_CONNECTION {
            return Err(bad(
                "sim.max_connections",
                format!(
                    "must be a whole number from 1 to {}, got {}",
                    u64::MAX / EVENTS_PER_CONNECTION,
                    s.max_connections
                ),
            ));
        }
        if let Some(b) = s.bin {
            positive("sim.bin", b, "seconds per row of the timeline")?;
            let rows = (self.arrival_window() / b).ceil();
            if rows > MAX_TIMELINE_BINS {
                return Err(bad(
                    "sim.bin",
                    format!(
                        "{b} s bins make about {rows:.0} rows over the arrival window: at most \
                         {MAX_TIMELINE_BINS:.0}; give a larger bin"
                    ),
                ));
            }
        }
        let expected = self.expected_connections();
        if expected > s.max_connections as f64 {
            let (field, what) = match l.connections {
                Some(_) => ("load.connections", "load.connections".to_string()),
                None => (
                    "load.duration",
                    format!(
                        "load.rate x load.duration = {} x {}",
                        l.rate,
                        l.duration.unwrap_or(0.0)
                    ),
                ),
            };
            return Err(bad(
                field,
                format!(
                    "about {expected:.3e} connections per replication ({what}) is more than \
                     the budget sim.max_connections = {}: shorten the run, or raise the budget \
                     with --set sim.max_connections=N (about 10^7 connections take a second)",
                    s.max_connections
                ),
            ));
        }
        non_negative("sim.warmup", s.warmup)?;
        if let Some(d) = l.duration {
            if s.warmup >= d {
                return Err(bad(
                    "sim.warmup",
                    format!(
                        "the warm-up ({}) must be shorter than load.duration ({d})",
                        s.warmup
                    ),
                ));
            }
        }
        Ok(())
    }

    /// A ticking master's ticks over the arrival window count against the run's budget
    /// as its connections do: at most `sim.max_connections` of them, so that a short
    /// tick over a long window is refused before it runs rather than run for hours. So
    /// do the idle timers of the processes a Dovecot master keeps (process_min_avail
    /// of them, each re-armed every idle_kill seconds while it stays idle).
    fn check_ticks(&self) -> Result<(), FieldError> {
        let window = self.arrival_window();
        for s in &self.services {
            let (kept, idle_kill) = (s.pool.process_min_avail, s.pool.idle_kill);
            let timers = matches!(
                s.master.mode,
                MasterMode::OnDemand | MasterMode::PerConnection
            );
            if timers && kept > 0 && idle_kill > 0.0 {
                let firings = f64::from(kept) * window / idle_kill;
                if firings > self.sim.max_connections as f64 {
                    return Err(bad(
                        &s.path("pool.idle_kill"),
                        format!(
                            "{idle_kill} s idle timers of the {kept} processes \
                             process_min_avail keeps make up to {firings:.3e} timer events \
                             over the {window} s of arrivals, more than the budget \
                             sim.max_connections = {}: give a longer idle_kill (or 0, \
                             never) or a shorter run, or raise the budget with --set \
                             sim.max_connections=N",
                            self.sim.max_connections
                        ),
                    ));
                }
            }
        }
        for s in &self.services {
            let tick = s.master.tick;
            if !s.master.mode.ticks() {
                continue;
            }
            let ticks = window / tick;
            if ticks > self.sim.max_connections as f64 {
                return Err(bad(
                    &s.path("master.tick"),
                    format!(
                        "{tick} s ticks make about {ticks:.3e} ticks over the {window} s of \
                         arrivals, more than the budget sim.max_connections = {}: give a \
                         longer tick or a shorter run, or raise the budget with --set \
                         sim.max_connections=N",
                        self.sim.max_connections
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// A client's connect rules (the load's, or a hop's `connect` table) against the
/// listener it connects to; `at` is the table's path.
fn check_client(
    at: &str,
    on_refused: OnRefused,
    retry_for: f64,
    retry_pause: &DistSpec,
    timeout: Option<f64>,
    connect_timeout: Option<f64>,
    kind: ListenerKind,
) -> Result<(), FieldError> {
    let field = |f: &str| format!("{at}.{f}");
    if let Some(t) = timeout {
        positive(&field("timeout"), t, "seconds")?;
        at_most_max_seconds(&field("timeout"), t)?;
    }
    if let Some(t) = connect_timeout {
        positive(&field("connect_timeout"), t, "seconds")?;
        at_most_max_seconds(&field("connect_timeout"), t)?;
    }
    non_negative(&field("retry_for"), retry_for)?;
    at_most_max_seconds(&field("retry_for"), retry_for)?;
    dist(&field("retry_pause"), retry_pause)?;
    if on_refused == OnRefused::Retry {
        if kind == ListenerKind::Tcp {
            return Err(bad(
                &field("on_refused"),
                "\"retry\" is for unix listeners (EAGAIN); a tcp client retransmits its SYN \
                 on `listener.syn_schedule` instead: use \"fail\" with listener.kind = \"tcp\"",
            ));
        }
        let mean = retry_pause.mean();
        if mean.is_nan() || mean < MIN_RETRY_PAUSE {
            return Err(bad(
                &field("retry_pause"),
                format!(
                    "with on_refused = \"retry\" the pause must have a mean of at least \
                     {MIN_RETRY_PAUSE:e} s (1 µs), got {mean:e}"
                ),
            ));
        }
    }
    Ok(())
}

/// One service's tables, then its family's own rules.
fn check_tables(s: &Service) -> Result<(), FieldError> {
    let f = |field: &str| s.path(field);
    let (listener, pool, master) = (&s.listener, &s.pool, &s.master);
    if listener.backlog == BACKLOG_NOT_GIVEN {
        return Err(bad(
            &f("listener.backlog"),
            "is required: the backlog the server passes to listen() (only a Dovecot \
             model, with master.dovecot_version, may leave it out)",
        ));
    }
    if listener.backlog > i32::MAX as u32 {
        return Err(bad(
            &f("listener.backlog"),
            format!(
                "{} is more than listen() takes (an int, at most {})",
                listener.backlog,
                i32::MAX
            ),
        ));
    }
    if listener.somaxconn == 0 {
        // The kernel accepts 0, but then listen() gives one pending slot whatever the
        // server asks; nobody runs that on purpose.
        return Err(bad(&f("listener.somaxconn"), "must be at least 1"));
    }
    if pool.process_limit == 0 {
        return Err(bad(&f("pool.process_limit"), "must be at least 1 process"));
    }
    if pool.process_limit > MAX_PROCESSES {
        return Err(bad(
            &f("pool.process_limit"),
            format!(
                "{} processes is more than the {MAX_PROCESSES} a simulated pool may have",
                pool.process_limit
            ),
        ));
    }
    if pool.client_limit == 0 {
        return Err(bad(
            &f("pool.client_limit"),
            "must be at least 1 connection",
        ));
    }
    if pool.process_min_avail > pool.process_limit {
        return Err(bad(
            &f("pool.process_min_avail"),
            format!(
                "{} idle processes cannot be kept with process_limit = {}: use at most {}",
                pool.process_min_avail, pool.process_limit, pool.process_limit
            ),
        ));
    }
    non_negative(&f("pool.idle_kill"), pool.idle_kill)?;
    at_most_max_seconds(&f("pool.idle_kill"), pool.idle_kill)?;
    if pool.idle_kill > 0.0 && pool.idle_kill < MIN_TICK {
        // Dovecot's idle timers re-arm every idle_kill seconds for the processes
        // process_min_avail keeps: a shorter one would only multiply the run's events.
        return Err(bad(
            &f("pool.idle_kill"),
            format!(
                "{:e} s is shorter than the shortest timer a model may give, {MIN_TICK} s: \
                 give 0 (never) or at least {MIN_TICK}",
                pool.idle_kill
            ),
        ));
    }
    dist(&f("master.startup"), &master.startup)?;
    dist(&f("master.fork_time"), &master.fork_time)?;
    dist(&f("master.respawn_delay"), &master.respawn_delay)?;
    if let Some(t) = master.drop_timeout {
        non_negative(&f("master.drop_timeout"), t)?;
        at_most_max_seconds(&f("master.drop_timeout"), t)?;
    }
    if pool.threads == 0 || pool.threads > pool.client_limit {
        return Err(bad(
            &f("pool.threads"),
            format!(
                "{} threads: give from 1 to pool.client_limit ({}); a process cannot work on \
                 more connections at once than it holds",
                pool.threads, pool.client_limit
            ),
        ));
    }
    check_tick(s)?;
    s.family()
        .check(&s.settings())
        .map_err(|r| bad(&f(r.field), r.message))?;
    if !s.work.blocking_given && !s.work.cpu_given {
        return Err(bad(
            &f("work.blocking"),
            "is required: the time a connection blocks its process (off the CPU), or give              work.cpu, the CPU seconds it needs (then work.blocking defaults to 0)",
        ));
    }
    dist(&f("work.blocking"), &s.work.blocking)?;
    dist(&f("work.cpu"), &s.work.cpu)?;
    dist(&f("work.hold"), &s.work.hold)
}

/// The spare-server fields only where the master keeps spare servers, and a ticking
/// master's tick and spawn rate (semantics: php-fpm-dynamic-config, apache-defaults,
/// php-fpm-tick, apache-tick).
fn check_tick(s: &Service) -> Result<(), FieldError> {
    let f = |field: &str| s.path(field);
    let (pool, master) = (&s.pool, &s.master);
    let mode = master.mode;
    if !mode.has_spares() {
        for (field, given) in [
            ("pool.start_servers", pool.start_servers.is_some()),
            ("pool.min_spare", pool.min_spare.is_some()),
            ("pool.max_spare", pool.max_spare.is_some()),
        ] {
            if given {
                let with: Vec<String> = MasterMode::ALL
                    .iter()
                    .filter(|m| m.has_spares())
                    .map(|m| format!("\"{m}\""))
                    .collect();
                return Err(bad(
                    &f(field),
                    format!(
                        "master.mode \"{mode}\" keeps no spare servers: the field is for {}; \
                         remove it",
                        with.join(" and ")
                    ),
                ));
            }
        }
    }
    if mode.ticks() {
        positive(
            &f("master.tick"),
            master.tick,
            "seconds between maintenance ticks",
        )?;
        if master.tick < MIN_TICK {
            return Err(bad(
                &f("master.tick"),
                format!(
                    "{:e} s is shorter than the shortest tick a model may give, {MIN_TICK} s \
                     (PHP-FPM's and Apache's are 1 s)",
                    master.tick
                ),
            ));
        }
        at_most_max_seconds(&f("master.tick"), master.tick)?;
        if master.max_spawn_rate == 0 {
            return Err(bad(
                &f("master.max_spawn_rate"),
                "must be at least 1 process a tick (pm.max_spawn_rate >= 1)",
            ));
        }
    }
    Ok(())
}

fn positive(path: &str, x: f64, unit: &str) -> Result<(), FieldError> {
    if x.is_finite() && x > 0.0 {
        Ok(())
    } else {
        Err(bad(
            path,
            format!("must be a number above 0 ({unit}), got {x}"),
        ))
    }
}

fn non_negative(path: &str, x: f64) -> Result<(), FieldError> {
    if x.is_finite() && x >= 0.0 {
        Ok(())
    } else {
        Err(bad(path, format!("must be a number >= 0, got {x}")))
    }
}

fn at_most_max_seconds(path: &str, x: f64) -> Result<(), FieldError> {
    if x <= crate::dist::MAX_SECONDS {
        Ok(())
    } else {
        Err(bad(
            path,
            format!(
                "{x:e} s is more than {:e} s (about 31 years), the longest time a model may give",
                crate::dist::MAX_SECONDS
            ),
        ))
    }
}

fn dist(path: &str, d: &DistSpec) -> Result<(), FieldError> {
    d.check().map_err(|m| bad(path, m))
}
