//! The model's text for one PHP-FPM pool, in the order of `crate::import::skeleton`: the
//! header (what the model is and where each number comes from, citing `(eagain
//! semantics: ID)`), then one function per TOML table. What a pool file cannot say (the load, the requests'
//! time, the fork time, the kernel's somaxconn) is the shipped
//! models/php-fpm-dynamic.toml's, marked with `MEASURE`.

use super::{Pm, Pool, MEASURE};
use crate::import::common::LeftOut;
use crate::import::server::{
    write_arrival, write_connect_timeout, write_cpu_guess, write_kernel, write_sim, write_startup,
    write_work,
};
use crate::import::skeleton::{write_sources_title, ModelText};
use crate::import::text::{clean, float, toml_string, Out};
use std::path::Path;

/// Everything the model's text is written from.
pub(super) struct Writing<'a> {
    pub(super) file: &'a str,
    pub(super) pool: &'a Pool,
    pub(super) left_out: &'a LeftOut,
    pub(super) notes: &'a [String],
}

impl ModelText for Writing<'_> {
    fn header(&self, o: &mut Out) {
        write_header(o, self);
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
        write_load(o, self.pool);
    }
    fn listener(&self, o: &mut Out, _: usize) {
        write_listener(o, self.pool);
    }
    fn pool(&self, o: &mut Out, _: usize) {
        write_pool(o, self.pool);
    }
    fn master(&self, o: &mut Out, _: usize) {
        write_master(o, self.pool);
    }
    fn work(&self, o: &mut Out, _: usize) {
        write_work(o, 0.15, "a PHP page", MEASURE);
        write_cpu_guess(
            o,
            "with pm.status_path set, the full status page (?full) gives each child's last \
                 request's \"request duration\" and \"last request cpu\" (a percentage): \
                 CPU seconds = duration x cpu / 100",
            "php-fpm8.2",
        );
    }
    fn sim(&self, o: &mut Out) {
        write_sim(o);
    }
}

fn write_header(o: &mut Out, c: &Writing) {
    let p = c.pool;
    o.wrap(
        "#",
        "#",
        &format!(
            "PHP-FPM pool [{}] (pm = {}), written by `eagain import php-fpm` from {} with \
             PHP 8.2's defaults for what it leaves out.",
            clean(&p.name),
            p.pm.value.name(),
            clean(c.file)
        ),
    );
    o.raw("#");
    o.raw("# nginx (or another FastCGI client) connects to the pool's socket, and a child");
    o.raw("# serves one request at a time. When the listen queue is full, a unix socket");
    o.raw("# refuses at once (nginx: connect() ... failed (11: Resource temporarily");
    o.raw("# unavailable), a 502); a TCP socket drops the SYN.");
    o.raw("#");
    write_sources_title(o);
    let mut pool = format!(
        "pool [{}]: pm = {} ({}), pm.max_children = {} ({})",
        clean(&p.name),
        p.pm.value.name(),
        p.pm.from(),
        p.max_children.value,
        p.max_children.from()
    );
    if let Some(s) = &p.spares {
        pool.push_str(&format!(
            ", pm.start_servers = {} ({}), pm.min_spare_servers = {} ({}), \
             pm.max_spare_servers = {} ({}), pm.max_spawn_rate = {} ({})",
            s.start.value,
            s.start.from(),
            s.min.value,
            s.min.from(),
            s.max.value,
            s.max.from(),
            s.spawn_rate.value,
            s.spawn_rate.from()
        ));
    }
    if let Some(t) = &p.idle_timeout {
        pool.push_str(&format!(
            ", pm.process_idle_timeout = {} s ({})",
            t.value,
            t.from()
        ));
    }
    pool.push_str(&format!(
        ", pm.max_requests = {} ({}) (eagain semantics: php-fpm-max-requests).",
        p.max_requests.value,
        p.max_requests.from()
    ));
    o.bullet(&pool);
    o.bullet(match p.pm.value {
        Pm::Static => {
            "pm = static: pm.max_children children from the start, each one that exits \
             replaced at once (eagain semantics: php-fpm-static, php-fpm-respawn)."
        }
        Pm::Dynamic => {
            "pm = dynamic: once a second (eagain semantics: php-fpm-tick) the master forks \
             min(rate, min_spare - idle, max_children - running) children, the rate doubling \
             each tick that spawns up to pm.max_spawn_rate, and retires one idle child a tick \
             above max_spare (eagain semantics: php-fpm-dynamic-spawn, \
             php-fpm-max-spawn-rate); a child still starting counts as busy (eagain \
             semantics: php-fpm-idle)."
        }
        Pm::Ondemand => {
            "pm = ondemand: no children at the start; one fork per wake-up of the master's \
             edge-triggered watch on the socket while no child is idle, and at most one \
             child idle longer than pm.process_idle_timeout retired a second (eagain \
             semantics: php-fpm-ondemand, php-fpm-ondemand-idle)."
        }
    });
    o.bullet(&format!(
        "listen = {} (line {}): {}; the children accept from one shared queue (eagain \
         semantics: php-fpm-accept) that holds one connection more than the backlog \
         (eagain semantics: {}). Its backlog: {}.",
        clean(&p.listen.address),
        p.listen.line,
        if p.listen.tcp {
            "a TCP socket"
        } else {
            "a unix socket"
        },
        if p.listen.tcp {
            "tcp-capacity"
        } else {
            "unix-capacity"
        },
        p.backlog.from(),
    ));
    o.bullet(&format!(
        "Not in the pool file, so measure and --set them: the load (rate, duration, \
         nginx's timeouts), the kernel's somaxconn, the time from fork to a child that \
         accepts, and the time of a request. The values below are those of \
         models/php-fpm-dynamic.toml; each such line says \"{MEASURE}\"."
    ));
}

/// The top-level `name` and `description`.
fn write_name(o: &mut Out, c: &Writing) {
    let short = Path::new(c.file)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| c.file.to_string());
    let p = c.pool;
    o.raw(&format!(
        "name = {}",
        toml_string(&format!(
            "PHP-FPM pool {} (pm = {}, imported from {short})",
            p.name,
            p.pm.value.name()
        ))
    ));
    o.raw(&format!(
        "description = {}",
        toml_string(&format!(
            "nginx -> PHP-FPM pool {} over {}; from {}",
            p.name,
            if p.listen.tcp { "TCP" } else { "a unix socket" },
            c.file
        ))
    ));
}

/// [load]: the shipped model's load, behind nginx.
fn write_load(o: &mut Out, p: &Pool) {
    o.raw("[load]");
    write_arrival(o, MEASURE);
    o.field("rate = 10.0", &format!("requests per second; {MEASURE}"));
    o.field("duration = 600.0", &format!("ten minutes; {MEASURE}"));
    o.field(
        "timeout = 60.0",
        &format!(
            "nginx fastcgi_read_timeout: 504 after 60 s (eagain semantics: nginx-timeouts); \
             {MEASURE}"
        ),
    );
    if p.listen.tcp {
        write_connect_timeout(
            o,
            60.0,
            "nginx fastcgi_connect_timeout (eagain semantics: nginx-tcp-full)",
            MEASURE,
        );
    } else {
        o.field(
            "on_refused = \"fail\"",
            "EAGAIN on the unix socket: nginx answers 502 at once (eagain semantics: \
             nginx-connect)",
        );
    }
}

/// [listener]: the pool's socket and its backlog.
fn write_listener(o: &mut Out, p: &Pool) {
    o.raw("[listener]");
    o.field(
        &format!("kind = \"{}\"", if p.listen.tcp { "tcp" } else { "unix" }),
        &format!(
            "listen = {} (line {})",
            clean(&p.listen.address),
            p.listen.line
        ),
    );
    o.field(&format!("backlog = {}", p.backlog.value), &p.backlog.from());
    write_kernel(o, p.listen.tcp, MEASURE);
}

/// [pool]: pm.max_children, pm.max_requests and the mode's own settings.
fn write_pool(o: &mut Out, p: &Pool) {
    o.raw("[pool]");
    o.field(
        &format!("process_limit = {}", p.max_children.value),
        &format!("pm.max_children ({})", p.max_children.from()),
    );
    o.field("client_limit = 1", "a child serves one request at a time");
    let never = if p.max_requests.value == 0 {
        ": never recycled"
    } else {
        ""
    };
    o.field(
        &format!("service_count = {}", p.max_requests.value),
        &format!("pm.max_requests ({}){never}", p.max_requests.from()),
    );
    if let Some(s) = &p.spares {
        o.field(
            &format!("start_servers = {}", s.start.value),
            &format!("pm.start_servers ({})", s.start.from()),
        );
        o.field(
            &format!("min_spare = {}", s.min.value),
            &format!("pm.min_spare_servers ({})", s.min.from()),
        );
        o.field(
            &format!("max_spare = {}", s.max.value),
            &format!("pm.max_spare_servers ({})", s.max.from()),
        );
    }
    if let Some(t) = &p.idle_timeout {
        o.field(
            &format!("idle_kill = {}", float(t.value)),
            &format!(
                "pm.process_idle_timeout ({}) (eagain semantics: php-fpm-ondemand-idle)",
                t.from()
            ),
        );
    }
}

/// [master]: the mode of `pm`, its tick and spawn rate.
fn write_master(o: &mut Out, p: &Pool) {
    o.raw("[master]");
    match p.pm.value {
        Pm::Static => o.field(
            "mode = \"prefork\"",
            "pm = static: a fixed pool (eagain semantics: php-fpm-static)",
        ),
        Pm::Dynamic => o.field("mode = \"php-fpm-dynamic\"", "pm = dynamic"),
        Pm::Ondemand => o.field("mode = \"php-fpm-ondemand\"", "pm = ondemand"),
    }
    if p.pm.value != Pm::Static {
        o.field(
            "tick = 1.0",
            "fpm_pctl_perform_idle_server_maintenance, once a second (eagain semantics: \
             php-fpm-tick)",
        );
    }
    if let Some(s) = &p.spares {
        o.field(
            &format!("max_spawn_rate = {}", s.spawn_rate.value),
            &format!("pm.max_spawn_rate ({})", s.spawn_rate.from()),
        );
    }
    write_startup(o, 0.005, MEASURE);
}
