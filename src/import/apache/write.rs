//! The model's text for Apache's MPM, in the order of `crate::import::skeleton`: the
//! header (what the model is and where each number comes from, citing `(eagain
//! semantics: ID)`), then one function per TOML table. Prefork is one connection a
//! process; worker and event are ThreadsPerChild threads a process, each serving a
//! connection, under the spare-server master that counts idle processes, not threads:
//! the model says so where the spare settings are. What a configuration cannot say (the
//! load, the requests' time, the fork time, the kernel's somaxconn) is the shipped
//! models/apache-prefork.toml's, marked with `MEASURE`.

use super::resolve::{Conf, Threads};
use super::MEASURE;
use crate::import::common::LeftOut;
use crate::import::server::{
    write_arrival, write_connect_timeout, write_cpu_guess, write_kernel, write_sim, write_startup,
    write_work,
};
use crate::import::skeleton::{write_sources_title, ModelText};
use crate::import::text::{clean, toml_string, Out};
use std::path::Path;

/// Everything the model's text is written from.
pub(super) struct Writing<'a> {
    pub(super) file: &'a str,
    pub(super) conf: &'a Conf,
    pub(super) left_out: &'a LeftOut,
    pub(super) notes: &'a [String],
}

impl ModelText for Writing<'_> {
    fn header(&self, o: &mut Out) {
        match &self.conf.threads {
            None => write_prefork_header(o, self),
            Some(t) => write_threaded_header(o, self, t),
        }
    }
    fn left_out(&self) -> &LeftOut {
        self.left_out
    }
    fn notes(&self) -> &[String] {
        self.notes
    }
    fn name(&self, o: &mut Out) {
        write_name(o, self);
    }
    fn load(&self, o: &mut Out) {
        write_load(o);
    }
    fn listener(&self, o: &mut Out, _: usize) {
        write_listener(o, self.conf);
    }
    fn pool(&self, o: &mut Out, _: usize) {
        write_pool(o, self.conf);
    }
    fn master(&self, o: &mut Out, _: usize) {
        write_master(o, self.conf);
    }
    fn work(&self, o: &mut Out, _: usize) {
        write_work(o, 1.0, "a slow request", MEASURE);
        write_cpu_guess(
            o,
            "with ExtendedStatus On, mod_status's /server-status gives each child's \
                 CPU seconds and its accesses: CPU seconds a request = CPU / accesses",
            "apache2",
        );
    }
    fn sim(&self, o: &mut Out) {
        write_sim(o);
    }
}

/// The header's first line.
fn write_title_comment(o: &mut Out, c: &Writing) {
    o.wrap(
        "#",
        "#",
        &format!(
            "Apache httpd 2.4 with the {} MPM, written by `eagain import apache` from {} \
             with Apache 2.4's defaults for what it leaves out.",
            c.conf.mpm.name(),
            clean(c.file)
        ),
    );
    o.raw("#");
}

fn write_prefork_header(o: &mut Out, c: &Writing) {
    let p = c.conf;
    write_title_comment(o, c);
    o.raw("# Clients connect over TCP; a child serves one connection at a time. When every");
    o.raw("# child is busy and the listen queue is full, the kernel drops the SYN and the");
    o.raw("# client retransmits it: prefork never answers 503 by itself (eagain semantics:");
    o.raw("# apache-overflow, tcp-syn-drop). The error log says");
    o.raw("#   AH00161: server reached MaxRequestWorkers setting, consider raising the ...");
    o.raw("#");
    write_sources_title(o);
    o.bullet(&format!(
        "StartServers {} ({}), MinSpareServers {} ({}), MaxSpareServers {} ({}), \
         MaxRequestWorkers {} ({}), ServerLimit {} ({}), MaxConnectionsPerChild {} ({}) \
         (eagain semantics: apache-defaults, apache-server-limit, apache-max-connections).",
        p.start.value,
        p.start.from(),
        p.min_spare.value,
        p.min_spare.from(),
        p.max_spare.value,
        p.max_spare.from(),
        p.max_workers.value,
        p.max_workers.from(),
        p.server_limit.value,
        p.server_limit.from(),
        p.per_child.value,
        p.per_child.from(),
    ));
    o.bullet(
        "the master's maintenance runs after a quiet 1-s sleep (eagain semantics: \
         apache-tick); below MinSpareServers idle it forks min(rate, free slots), not capped \
         by the deficit, the rate doubling to MAX_SPAWN_RATE 32 (eagain semantics: \
         apache-spawn); a starting child counts as idle (eagain semantics: apache-idle); one \
         idle child is retired a tick above MaxSpareServers.",
    );
    write_listen_bullet(o, p);
    write_measure_bullet(o);
}

fn write_threaded_header(o: &mut Out, c: &Writing, t: &Threads) {
    let p = c.conf;
    let tpc = t.per_child.value;
    write_title_comment(o, c);
    o.raw("# Clients connect over TCP; a child runs ThreadsPerChild threads, each serving one");
    o.raw("# connection, and accepts only while one of them is free. When every thread is");
    o.raw("# busy and the listen queue is full, the kernel drops the SYN and the client");
    o.raw("# retransmits it (eagain semantics: apache-event-accept, tcp-syn-drop). The error");
    o.raw("# log says");
    o.raw("#   AH00484: server reached MaxRequestWorkers setting, consider raising the ...");
    o.raw("#");
    write_sources_title(o);
    o.bullet(&format!(
        "ThreadsPerChild {tpc} ({}; ThreadLimit {}, {}): pool.threads and pool.client_limit, \
         a child's connections each with its thread. MaxRequestWorkers {} ({}) counts \
         threads: {} processes of {tpc}, within ServerLimit {} ({}) (eagain semantics: \
         apache-event-pool, apache-server-limit). StartServers {} ({}), \
         MaxConnectionsPerChild {} ({}) (eagain semantics: apache-max-connections).",
        t.per_child.from(),
        t.limit.value,
        t.limit.from(),
        p.max_workers.value,
        p.max_workers.from(),
        p.processes(),
        p.server_limit.value,
        p.server_limit.from(),
        p.start.value,
        p.start.from(),
        p.per_child.value,
        p.per_child.from(),
    ));
    o.bullet(&format!(
        "APPROXIMATED: the {} MPM's master keeps MinSpareThreads {} ({}) to MaxSpareThreads \
         {} ({}) idle THREADS across its children; eagain's spare-server master counts idle \
         PROCESSES (a process with no connection), so the model keeps min_spare = {} to \
         max_spare = {} idle processes, the thread counts divided by ThreadsPerChild (eagain \
         semantics: apache-event-pool). A child with some threads free is not idle here, so \
         under a moderate load the model forks sooner, and retires later, than Apache.",
        p.mpm.name(),
        t.min_spare.value,
        t.min_spare.from(),
        t.max_spare.value,
        t.max_spare.from(),
        p.min_spare.value,
        p.max_spare.value,
    ));
    o.bullet(
        "the master's maintenance runs after a quiet 1-s sleep (eagain semantics: \
         apache-tick) and forks at a rate doubling to MAX_SPAWN_RATE 32 (eagain semantics: \
         apache-spawn), as prefork's does.",
    );
    write_listen_bullet(o, p);
    write_measure_bullet(o);
}

/// Where the clients queue.
fn write_listen_bullet(o: &mut Out, p: &Conf) {
    let listen = match &p.listen {
        Some(l) => format!("Listen {} (line {})", clean(&l.address), l.line),
        None => "no Listen in this file".into(),
    };
    o.bullet(&format!(
        "{listen}: one TCP queue every child accepts from; ListenBacklog {} ({}), cut to \
         somaxconn, and the queue holds one connection more (eagain semantics: \
         apache-backlog, somaxconn-cap, tcp-capacity).",
        p.backlog.value,
        p.backlog.from()
    ));
}

/// What no configuration says.
fn write_measure_bullet(o: &mut Out) {
    o.bullet(&format!(
        "Not in the Apache configuration, so measure and --set them: the load (rate, \
         duration, the clients' connect timeout), the kernel's somaxconn, the time from fork \
         to a child that accepts, and the time of a request (with keep-alive, until \
         KeepAliveTimeout after the last response). The values below are those of \
         models/apache-prefork.toml; each such line says \"{MEASURE}\"."
    ));
}

/// The top-level `name` and `description`.
fn write_name(o: &mut Out, c: &Writing) {
    let short = Path::new(c.file)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| c.file.to_string());
    let mpm = c.conf.mpm.name();
    let size = match &c.conf.threads {
        None => format!("{} workers", c.conf.max_workers.value),
        Some(t) => format!(
            "{} processes of {} threads",
            c.conf.processes(),
            t.per_child.value
        ),
    };
    o.raw(&format!(
        "name = {}",
        toml_string(&format!("Apache {mpm}, {size} (imported from {short})"))
    ));
    o.raw(&format!(
        "description = {}",
        toml_string(&format!(
            "clients -> Apache {mpm} over TCP; from {}",
            c.file
        ))
    ));
}

/// [load]: the shipped model's load.
fn write_load(o: &mut Out) {
    o.raw("[load]");
    write_arrival(o, MEASURE);
    o.field("rate = 100.0", &format!("requests per second; {MEASURE}"));
    o.field("duration = 300.0", &format!("five minutes; {MEASURE}"));
    write_connect_timeout(o, 30.0, "a client's connect timeout", MEASURE);
}

/// [listener]: TCP with ListenBacklog.
fn write_listener(o: &mut Out, p: &Conf) {
    o.raw("[listener]");
    let kind = match &p.listen {
        Some(l) => format!("Listen {} (line {})", clean(&l.address), l.line),
        None => "Apache listens on TCP".into(),
    };
    o.field("kind = \"tcp\"", &kind);
    o.field(
        &format!("backlog = {}", p.backlog.value),
        &format!(
            "ListenBacklog ({}) (eagain semantics: apache-backlog)",
            p.backlog.from()
        ),
    );
    write_kernel(o, true, MEASURE);
}

/// [pool]: the processes, their threads and the spare-server settings.
fn write_pool(o: &mut Out, p: &Conf) {
    o.raw("[pool]");
    match &p.threads {
        None => {
            o.field(
                &format!("process_limit = {}", p.max_workers.value),
                &format!("MaxRequestWorkers ({})", p.max_workers.from()),
            );
            o.field("client_limit = 1", "prefork: one connection a child");
        }
        Some(t) => {
            o.field(
                &format!("process_limit = {}", p.processes()),
                &format!(
                    "MaxRequestWorkers {} ({}) / ThreadsPerChild {}",
                    p.max_workers.value,
                    p.max_workers.from(),
                    t.per_child.value
                ),
            );
            o.field(
                &format!("client_limit = {}", t.per_child.value),
                &format!(
                    "ThreadsPerChild ({}): one connection a thread",
                    t.per_child.from()
                ),
            );
            o.field(
                &format!("threads = {}", t.per_child.value),
                "ThreadsPerChild: the connections work at the same time",
            );
        }
    }
    let never = if p.per_child.value == 0 {
        ": never recycled"
    } else {
        ""
    };
    o.field(
        &format!("service_count = {}", p.per_child.value),
        &format!("MaxConnectionsPerChild ({}){never}", p.per_child.from()),
    );
    o.field(
        &format!("start_servers = {}", p.start.value),
        &format!("StartServers ({})", p.start.from()),
    );
    let (min_name, max_name) = match p.threads {
        None => ("MinSpareServers", "MaxSpareServers"),
        Some(_) => ("idle processes", "idle processes"),
    };
    o.field(
        &format!("min_spare = {}", p.min_spare.value),
        &format!("{min_name} ({})", p.min_spare.from()),
    );
    o.field(
        &format!("max_spare = {}", p.max_spare.value),
        &format!("{max_name} ({})", p.max_spare.from()),
    );
}

/// [master]: the MPM's maintenance.
fn write_master(o: &mut Out, p: &Conf) {
    o.raw("[master]");
    match p.threads {
        None => o.field("mode = \"apache-prefork\"", "the prefork MPM"),
        Some(_) => o.field(
            "mode = \"apache-prefork\"",
            &format!(
                "the {} MPM's maintenance, counted in processes: APPROXIMATED (see the notes)",
                p.mpm.name()
            ),
        ),
    }
    o.field(
        "tick = 1.0",
        "maintenance after a 1-s sleep (eagain semantics: apache-tick)",
    );
    o.field(
        "max_spawn_rate = 32",
        "MAX_SPAWN_RATE, compiled in (eagain semantics: apache-spawn)",
    );
    write_startup(o, 0.01, MEASURE);
}
