//! `eagain import php-fpm`: a model of one PHP-FPM pool from its pool file (PHP 8.2).
//!
//! Three steps: `parse` reads the ini text into sections with line numbers; this file
//! picks the pool (`--pool`, or the only one), reads the settings the model uses with
//! PHP 8.2's defaults for what the file leaves out, and refuses what PHP-FPM itself
//! refuses (fpm_conf.c's checks, semantics: php-fpm-dynamic-config), naming the
//! setting and its line; `write` writes the commented model. `pm = static` is the
//! fixed `prefork` pool (semantics: php-fpm-static), `dynamic` and `ondemand` have
//! masters of their own (semantics: php-fpm-dynamic-spawn, php-fpm-ondemand). Every
//! other setting of the pool is listed with its line; settings of other sections are
//! only counted, and `include=` lines are not followed (a note says so).

mod parse;
mod write;

use crate::error::BadInput;
use crate::import::common::{
    bad_line, load_written, Imported, LeftOut, Notation, Setting, Sourced, Unused,
};
use crate::import::server::{summary, uint};
use crate::import::skeleton::write_model;
use crate::import::text::{clean, snippet};
use parse::{parse, Section, SHAPE};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// The mark on every model line whose value the pool file cannot know.
pub const MEASURE: &str = "not in the pool file: measure and --set";

/// How the file writes a setting.
const SEP: &str = " = ";

/// The process manager, `pm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pm {
    Static,
    Dynamic,
    Ondemand,
}

impl Pm {
    fn name(self) -> &'static str {
        match self {
            Pm::Static => "static",
            Pm::Dynamic => "dynamic",
            Pm::Ondemand => "ondemand",
        }
    }
}

const DEFAULT: &str = "PHP 8.2's default";

/// pm = dynamic's spare-server settings.
#[derive(Debug, Clone)]
pub(super) struct Spares {
    pub(super) start: Sourced<u32>,
    pub(super) min: Sourced<u32>,
    pub(super) max: Sourced<u32>,
    pub(super) spawn_rate: Sourced<u32>,
}

/// Where the pool listens.
#[derive(Debug, Clone)]
pub(super) struct Listen {
    pub(super) tcp: bool,
    pub(super) address: String,
    pub(super) line: usize,
}

/// The pool's settings the model uses, after PHP 8.2's defaults.
#[derive(Debug, Clone)]
pub(super) struct Pool {
    pub(super) name: String,
    pub(super) pm: Sourced<Pm>,
    pub(super) max_children: Sourced<u32>,
    pub(super) spares: Option<Spares>,
    /// pm = ondemand: pm.process_idle_timeout in seconds.
    pub(super) idle_timeout: Option<Sourced<f64>>,
    pub(super) max_requests: Sourced<u64>,
    pub(super) listen: Listen,
    /// listen.backlog, and what the kernel makes of it.
    pub(super) backlog: Sourced<u32>,
    pub(super) terminate_timeout: Option<Setting>,
}

/// Reads a pool file from disk and writes the model of `pool` (`--pool`), or of the
/// only pool without it.
pub fn import_file(file: &Path, pool: Option<&str>) -> Result<Imported, BadInput> {
    let name = file.display().to_string();
    let text = super::read_text(
        file,
        "PHP-FPM pool file",
        "Give a pool file such as /etc/php/8.2/fpm/pool.d/www.conf.",
        &format!("so it is not a pool file: {SHAPE}."),
    )?;
    import(&text, &name, pool)
}

/// Reads a pool file's text (`file` names it in messages) and writes the model of `pool`.
pub fn import(text: &str, file: &str, pool: Option<&str>) -> Result<Imported, BadInput> {
    let sections = parse(text, file)?;
    let mut notes = Vec::new();
    for s in sections.iter().flat_map(|s| &s.settings) {
        if s.key == "include" {
            notes.push(format!(
                "line {}: `include = {}` is not followed: give the pool file it names \
                 (`eagain import php-fpm POOL.conf`).",
                s.line,
                snippet(&s.value)
            ));
        }
    }
    let (chosen, ignored) = choose_pool(&sections, file, pool)?;
    let mut unused = Vec::new();
    let pool = read_pool(&chosen, file, &mut unused)?;
    unused.sort_by_key(|u| u.setting.line);
    if let Some(t) = &pool.terminate_timeout {
        notes.push(format!(
            "request_terminate_timeout = {} (line {}) is left as a comment: a request that \
             runs longer is ended by SIGTERM and its child replaced (eagain semantics: \
             php-fpm-terminate-timeout); the model's work.blocking has no cut-off.",
            snippet(&t.value),
            t.line
        ));
    }
    let name = clean(&pool.name);
    let left_out = LeftOut {
        part: format!("pool [{name}]"),
        part_in_report: format!("of PHP-FPM pool [{name}]"),
        unused,
        ignored,
        ignored_place: format!("outside pool [{name}]"),
        notation: Notation::Ini,
    };
    let toml = write_model(&write::Writing {
        file,
        pool: &pool,
        left_out: &left_out,
        notes: &notes,
    });
    let model = load_written(&toml, file, &format!("pool [{name}]"), true)?;
    Ok(Imported {
        summary: vec![summary(file, &format!("PHP-FPM pool [{name}]"), &model)],
        toml,
        beside: Vec::new(),
        warnings: Vec::new(),
        notes,
        left_out: Some(left_out),
    })
}

/// The most pools one file may hold: PHP-FPM has no limit, but a file of more pools is
/// not one a person keeps, and the import of one pool reads them all.
pub const MAX_POOLS: usize = 10_000;

/// The pool `wanted` names, or the only one; its sections joined (PHP merges a section
/// given twice), and the count of the settings elsewhere. Linear in the file's size.
fn choose_pool(
    sections: &[Section],
    file: &str,
    wanted: Option<&str>,
) -> Result<(Section, usize), BadInput> {
    let mut names: Vec<&str> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for s in sections.iter().filter(|s| s.name != "global") {
        if seen.insert(&s.name) {
            names.push(&s.name);
            if names.len() > MAX_POOLS {
                return Err(bad_line(
                    file,
                    s.line,
                    format!(
                        "[{}] is pool {} of this file: eagain reads at most {MAX_POOLS} \
                         pools a file. Give a file with the pool to model, such as its own \
                         pool.d/NAME.conf.",
                        snippet(&s.name),
                        names.len()
                    ),
                ));
            }
        }
    }
    // The names in messages: the first ten, and how many more.
    let list = || {
        let mut text = names
            .iter()
            .take(10)
            .map(|n| format!("[{}]", clean(n)))
            .collect::<Vec<_>>()
            .join(", ");
        if names.len() > 10 {
            text.push_str(&format!(" and {} more", names.len() - 10));
        }
        text
    };
    let name = match (wanted, names.as_slice()) {
        (_, []) => {
            return Err(BadInput(format!(
                "{file} has no pool section, only [global]: give the pool file (such as \
                 /etc/php/8.2/fpm/pool.d/www.conf); php-fpm.conf's `include=` lines are not \
                 followed."
            )))
        }
        (Some(w), _) if !seen.contains(w) => {
            return Err(BadInput(format!(
                "--pool {}: {file} has no pool of that name; its pools are {}.",
                clean(w),
                list()
            )))
        }
        (Some(w), _) => w,
        (None, [only]) => only,
        (None, _) => {
            return Err(BadInput(format!(
                "{file} has {} pools, {}: pick one with --pool NAME.",
                names.len(),
                list()
            )))
        }
    };
    let mut joined: Option<Section> = None;
    let mut ignored = 0;
    for s in sections {
        if s.name != name {
            ignored += s.settings.iter().filter(|s| s.key != "include").count();
        } else if let Some(j) = &mut joined {
            j.settings.extend(s.settings.iter().cloned());
        } else {
            joined = Some(s.clone());
        }
    }
    let joined =
        joined.ok_or_else(|| BadInput(format!("{file}: pool [{}] has no section", clean(name))))?;
    Ok((joined, ignored))
}

/// The settings the model reads.
const USED: &[&str] = &[
    "pm",
    "pm.max_children",
    "pm.start_servers",
    "pm.min_spare_servers",
    "pm.max_spare_servers",
    "pm.max_spawn_rate",
    "pm.process_idle_timeout",
    "pm.max_requests",
    "listen",
    "listen.backlog",
];

/// Which pm values read a setting of USED (None: all).
fn read_by(key: &str) -> Option<&'static [Pm]> {
    match key {
        "pm.start_servers"
        | "pm.min_spare_servers"
        | "pm.max_spare_servers"
        | "pm.max_spawn_rate" => Some(&[Pm::Dynamic]),
        "pm.process_idle_timeout" => Some(&[Pm::Ondemand]),
        _ => None,
    }
}

/// The pool's settings, PHP 8.2's defaults for the rest, checked as fpm_conf.c checks them.
fn read_pool(section: &Section, file: &str, unused: &mut Vec<Unused>) -> Result<Pool, BadInput> {
    let title = format!("pool [{}]", clean(&section.name));
    // The last one given wins, as in PHP's ini reader; earlier ones are listed.
    let mut last: Vec<&Setting> = Vec::new();
    let mut at: HashMap<&str, usize> = HashMap::new();
    for s in &section.settings {
        if let Some(&i) = at.get(s.key.as_str()) {
            unused.push(Unused::new(
                last[i],
                format!("given again on line {}, which wins", s.line),
            ));
            last[i] = s;
        } else {
            at.insert(&s.key, last.len());
            last.push(s);
        }
    }
    let get = |key: &str| at.get(key).map(|&i| last[i]);
    let missing = |what: String| bad_line(file, section.line, format!("{title}: {what}"));
    let Some(pm_setting) = get("pm") else {
        return Err(missing(
            "no `pm` setting, and PHP-FPM refuses a pool without one (\"the process \
             manager is missing\"): give pm = static, dynamic or ondemand."
                .into(),
        ));
    };
    let pm = match pm_setting.value.to_ascii_lowercase().as_str() {
        "static" => Pm::Static,
        "dynamic" => Pm::Dynamic,
        "ondemand" => Pm::Ondemand,
        _ => {
            return Err(bad_line(
                file,
                pm_setting.line,
                format!(
                    "`pm = {}` in {title}: pm must be static, dynamic or ondemand.",
                    snippet(&pm_setting.value)
                ),
            ))
        }
    };
    for s in &last {
        if !USED.contains(&s.key.as_str()) {
            unused.push(Unused::new(s, reason(&s.key)));
        } else if let Some(modes) = read_by(&s.key) {
            if !modes.contains(&pm) {
                let only = modes
                    .iter()
                    .map(|m| m.name())
                    .collect::<Vec<_>>()
                    .join(", ");
                unused.push(Unused::new(
                    s,
                    format!(
                        "read only with pm = {only}; this pool has pm = {}",
                        pm.name()
                    ),
                ));
            }
        }
    }
    let number = |s: &Setting| uint(file, s, SEP, "a whole number");
    let positive = |s: &Setting, n: u32| {
        if n == 0 {
            Err(bad_line(
                file,
                s.line,
                format!(
                    "`{} = 0` in {title}: PHP-FPM refuses it (\"{}(0) must be a positive \
                     value\").",
                    s.key, s.key
                ),
            ))
        } else {
            Ok(n)
        }
    };
    let Some(mc) = get("pm.max_children") else {
        return Err(missing(
            "no `pm.max_children`, which PHP-FPM requires in every pool: give the most \
             children the pool may run, e.g. pm.max_children = 5."
                .into(),
        ));
    };
    let max_children = Sourced::given(mc, positive(mc, number(mc)?)?);
    if max_children.value > crate::model::MAX_PROCESSES {
        return Err(bad_line(
            file,
            mc.line,
            format!(
                "`pm.max_children = {}` in {title}: eagain simulates at most {} processes a pool.",
                max_children.value,
                crate::model::MAX_PROCESSES
            ),
        ));
    }
    let spares = match pm {
        Pm::Dynamic => Some(read_spares(
            &get,
            file,
            &title,
            section.line,
            &max_children,
        )?),
        _ => None,
    };
    let idle_timeout = match (pm, get("pm.process_idle_timeout")) {
        (Pm::Ondemand, Some(s)) => {
            let secs = parse_time(&s.value).ok_or_else(|| {
                bad_line(
                    file,
                    s.line,
                    format!(
                        "`pm.process_idle_timeout = {}` in {title}: give a whole number of \
                         seconds, with an optional unit s, m, h or d (10s, 2m).",
                        snippet(&s.value)
                    ),
                )
            })?;
            if secs == 0.0 {
                return Err(bad_line(
                    file,
                    s.line,
                    format!(
                        "`pm.process_idle_timeout = {}` in {title}: PHP-FPM refuses 0 (it \
                         must be greater than 0s).",
                        snippet(&s.value)
                    ),
                ));
            }
            Some(Sourced::given(s, secs))
        }
        (Pm::Ondemand, None) => Some(Sourced::default(10.0, DEFAULT)),
        _ => None,
    };
    let max_requests = match get("pm.max_requests") {
        Some(s) => Sourced::given(s, u64::from(number(s)?)),
        None => Sourced::default(0, DEFAULT),
    };
    let listen = read_listen(get("listen"), file, &title, section.line)?;
    let backlog = read_backlog(get("listen.backlog"), file)?;
    Ok(Pool {
        name: section.name.clone(),
        pm: Sourced::given(pm_setting, pm),
        max_children,
        spares,
        idle_timeout,
        max_requests,
        listen,
        backlog,
        terminate_timeout: get("request_terminate_timeout")
            .filter(|s| parse_time(&s.value) != Some(0.0))
            .cloned(),
    })
}

/// pm = dynamic's settings, with fpm_conf.c's checks.
fn read_spares<'a>(
    get: &dyn Fn(&str) -> Option<&'a Setting>,
    file: &str,
    title: &str,
    section_line: usize,
    max_children: &Sourced<u32>,
) -> Result<Spares, BadInput> {
    let mc = max_children.value;
    let refuse = |line: usize, what: String| bad_line(file, line, format!("{title}: {what}"));
    let required = |key: &str| -> Result<(&'a Setting, u32), BadInput> {
        let Some(s) = get(key) else {
            return Err(refuse(
                section_line,
                format!(
                    "pm = dynamic needs `{key}`, which has no usable default (PHP-FPM refuses \
                     0: \"{key}(0) must be a positive value\")."
                ),
            ));
        };
        let n = uint(file, s, SEP, "a whole number")?;
        if n == 0 {
            return Err(refuse(
                s.line,
                format!("`{key} = 0`: PHP-FPM refuses it (\"{key}(0) must be a positive value\")."),
            ));
        }
        if n > mc {
            return Err(refuse(
                s.line,
                format!(
                    "`{key} = {n}` is above pm.max_children ({mc}, {}): PHP-FPM refuses it \
                     (\"{key}({n}) must not be greater than pm.max_children({mc})\").",
                    max_children.from()
                ),
            ));
        }
        Ok((s, n))
    };
    let (min_s, min) = required("pm.min_spare_servers")?;
    let (max_s, max) = required("pm.max_spare_servers")?;
    if max < min {
        return Err(refuse(
            max_s.line,
            format!(
                "`pm.max_spare_servers = {max}` is below pm.min_spare_servers ({min}, line {}): \
                 PHP-FPM refuses it (\"pm.max_spare_servers({max}) must not be less than \
                 pm.min_spare_servers({min})\").",
                min_s.line
            ),
        ));
    }
    let start = match get("pm.start_servers") {
        Some(s) => {
            let n = uint(file, s, SEP, "a whole number")?;
            if !(min..=max).contains(&n) {
                return Err(refuse(
                    s.line,
                    format!(
                        "`pm.start_servers = {n}` is outside pm.min_spare_servers ({min}) to \
                         pm.max_spare_servers ({max}): PHP-FPM refuses it (\"pm.start_servers({n}) \
                         must not be less than pm.min_spare_servers({min}) and not greater \
                         than pm.max_spare_servers({max})\")."
                    ),
                ));
            }
            Sourced::given(s, n)
        }
        None => Sourced::derived(
            min + (max - min) / 2,
            format!(
                "unset: PHP-FPM takes min_spare + (max_spare - min_spare) / 2 = {min} + ({max} - \
                 {min}) / 2"
            ),
        ),
    };
    let spawn_rate = match get("pm.max_spawn_rate") {
        Some(s) => {
            let n = uint(file, s, SEP, "a whole number")?;
            if n == 0 {
                return Err(refuse(
                    s.line,
                    "`pm.max_spawn_rate = 0`: PHP-FPM refuses it (it must be at least 1).".into(),
                ));
            }
            Sourced::given(s, n)
        }
        None => Sourced::default(32, DEFAULT),
    };
    Ok(Spares {
        start,
        min: Sourced::given(min_s, min),
        max: Sourced::given(max_s, max),
        spawn_rate,
    })
}

/// `listen`: a path is a unix socket; `port`, `addr:port` or `[ipv6]:port` is TCP.
fn read_listen(
    s: Option<&Setting>,
    file: &str,
    title: &str,
    section_line: usize,
) -> Result<Listen, BadInput> {
    let Some(s) = s else {
        return Err(bad_line(
            file,
            section_line,
            format!(
                "{title}: no `listen`, and PHP-FPM refuses a pool without one (\"no listen \
                 address have been defined\"): give a socket path or a port."
            ),
        ));
    };
    let v = s.value.trim();
    let port = v.rsplit_once(':').map_or(v, |(_, p)| p);
    let is_port = !port.is_empty() && port.chars().all(|c| c.is_ascii_digit());
    if v.contains('/') || !is_port {
        if v.is_empty() {
            return Err(bad_line(
                file,
                s.line,
                format!("`listen =` in {title} is empty: give a socket path or a port."),
            ));
        }
        return Ok(Listen {
            tcp: false,
            address: v.to_string(),
            line: s.line,
        });
    }
    Ok(Listen {
        tcp: true,
        address: v.to_string(),
        line: s.line,
    })
}

/// listen.backlog: -1 (PHP 8.2's default on Linux) is somaxconn (semantics: php-fpm-backlog).
fn read_backlog(s: Option<&Setting>, file: &str) -> Result<Sourced<u32>, BadInput> {
    let somaxconn = |given: &str| {
        Sourced::derived(
            4096,
            format!(
                "{given}: -1 on Linux for PHP 8.2, which makes listen() take the kernel's \
                 somaxconn, 4096 here (eagain semantics: php-fpm-backlog, somaxconn-cap)"
            ),
        )
    };
    let Some(s) = s else {
        return Ok(somaxconn("listen.backlog unset"));
    };
    let v = s.value.trim();
    if let Some(digits) = v.strip_prefix('-') {
        if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
            return Ok(somaxconn(&format!(
                "listen.backlog = {v} (line {})",
                s.line
            )));
        }
    }
    let n = uint(file, s, SEP, "a whole number, or -1 for somaxconn")?;
    Ok(Sourced::derived(
        n,
        format!(
            "listen.backlog = {n} (line {}); the kernel cuts it to somaxconn (eagain \
             semantics: php-fpm-backlog, somaxconn-cap)",
            s.line
        ),
    ))
}

/// fpm_conf_set_time(): a whole number with an optional unit s, m, h or d.
fn parse_time(v: &str) -> Option<f64> {
    let v = v.trim();
    let (digits, scale) = match v.chars().last()? {
        's' => (&v[..v.len() - 1], 1.0),
        'm' => (&v[..v.len() - 1], 60.0),
        'h' => (&v[..v.len() - 1], 3600.0),
        'd' => (&v[..v.len() - 1], 86400.0),
        _ => (v, 1.0),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u32>().ok().map(|n| f64::from(n) * scale)
}

/// Why a pool setting the model does not read is left out.
fn reason(key: &str) -> &'static str {
    let prefix = key.split('[').next().unwrap_or(key);
    match prefix {
        "user" | "group" | "chroot" | "chdir" | "process.priority" | "process.dumpable"
        | "rlimit_files" | "rlimit_core" => "process privileges and limits: no effect on the queue",
        "listen.owner" | "listen.group" | "listen.mode" | "listen.acl_users"
        | "listen.acl_groups" | "listen.setfib" => {
            "socket file and permissions: no effect on the queue"
        }
        "listen.allowed_clients" => "who may connect: a refused client is not queued; not modelled",
        "pm.status_path" | "pm.status_listen" | "ping.path" | "ping.response" => {
            "the status and ping pages: no effect on the queue (the status page's listen \
             queue is 0 for unix sockets, eagain semantics: php-fpm-status-queue)"
        }
        "request_terminate_timeout" | "request_terminate_timeout_track_finished" => {
            "a cut-off for long requests: left as a comment (eagain semantics: \
             php-fpm-terminate-timeout)"
        }
        "request_slowlog_timeout"
        | "request_slowlog_trace_depth"
        | "slowlog"
        | "access.log"
        | "access.format"
        | "access.suppress_path"
        | "catch_workers_output"
        | "decorate_workers_output" => "logging: no effect on the queue",
        "php_value"
        | "php_flag"
        | "php_admin_value"
        | "php_admin_flag"
        | "env"
        | "clear_env"
        | "security.limit_extensions" => {
            "PHP's own settings: their effect on a request's time belongs in work.blocking \
             (measure and --set)"
        }
        "prefix" => "a path prefix: no effect on the queue",
        _ => "unknown to eagain: not modelled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ListenerKind, MasterMode};

    const DEBIAN: &str = "[www]\nuser = www-data\nlisten = /run/php/php8.2-fpm.sock\n\
        pm = dynamic\npm.max_children = 5\npm.start_servers = 2\npm.min_spare_servers = 1\n\
        pm.max_spare_servers = 3\n";

    fn ok(text: &str) -> Imported {
        import(text, "www.conf", None).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    fn error(text: &str) -> String {
        match import(text, "www.conf", None) {
            Ok(i) => panic!("expected an error, got\n{}", i.toml),
            Err(e) => e.0,
        }
    }

    #[test]
    fn debians_www_pool_is_the_shipped_dynamic_model() {
        let i = ok(DEBIAN);
        let m = i.model();
        assert_eq!(m.front().master.mode, MasterMode::PhpFpmDynamic);
        assert_eq!(m.front().pool.process_limit, 5);
        assert_eq!(
            (
                m.front().pool.start_servers,
                m.front().pool.min_spare,
                m.front().pool.max_spare
            ),
            (Some(2), Some(1), Some(3))
        );
        assert_eq!(
            (m.front().master.tick, m.front().master.max_spawn_rate),
            (1.0, 32)
        );
        assert_eq!(m.front().listener.kind, ListenerKind::Unix);
        assert_eq!(m.front().listener.backlog, 4096);
        assert_eq!(m.front().pool.client_limit, 1);
        assert_eq!(m.front().pool.service_count, 0);
        let shipped = crate::model::load_str(
            include_str!("../../../models/php-fpm-dynamic.toml"),
            "php-fpm-dynamic.toml",
            Path::new("."),
            &[],
        )
        .unwrap();
        assert_eq!(m.front().pool, shipped.front().pool);
        assert_eq!(m.front().listener, shipped.front().listener);
        assert_eq!(i.unused().len(), 1);
        assert_eq!(i.unused()[0].setting.key, "user");
        assert!(
            i.toml.contains("line 2: [www] user = www-data"),
            "{}",
            i.toml
        );
    }

    #[test]
    fn start_servers_unset_is_min_plus_half_the_spread() {
        let i = ok("[www]\nlisten = 9000\npm = dynamic\npm.max_children = 50\n\
                    pm.min_spare_servers = 5\npm.max_spare_servers = 20\n");
        assert_eq!(i.model().front().pool.start_servers, Some(12));
        assert_eq!(i.model().front().listener.kind, ListenerKind::Tcp);
    }

    #[test]
    fn static_and_ondemand_pools_get_their_masters() {
        let i = ok(
            "[a]\nlisten = 127.0.0.1:9000\npm = static\npm.max_children = 8\n\
                    pm.max_requests = 500\npm.min_spare_servers = 2\n",
        );
        assert_eq!(i.model().front().master.mode, MasterMode::Prefork);
        assert_eq!(i.model().front().pool.process_limit, 8);
        assert_eq!(i.model().front().pool.service_count, 500);
        assert_eq!(i.model().front().pool.min_spare, None);
        assert!(i.unused()[0].why.contains("only with pm = dynamic"));
        let j = ok(
            "[a]\nlisten = /x.sock\npm = ondemand\npm.max_children = 8\n\
                    pm.process_idle_timeout = 2m\n",
        );
        assert_eq!(j.model().front().master.mode, MasterMode::PhpFpmOndemand);
        assert_eq!(j.model().front().pool.idle_kill, 120.0);
        let k = ok("[a]\nlisten = /x.sock\npm = OnDemand\npm.max_children = 8\n");
        assert_eq!(k.model().front().pool.idle_kill, 10.0);
        assert_eq!(parse_time("1h"), Some(3600.0));
        assert_eq!(parse_time("15"), Some(15.0));
        assert_eq!(parse_time("1x"), None);
    }

    #[test]
    fn backlog_minus_one_is_somaxconn_and_a_number_is_kept() {
        let i = ok(&format!("{DEBIAN}listen.backlog = -1\n"));
        assert_eq!(i.model().front().listener.backlog, 4096);
        assert!(i.toml.contains("-1 on Linux for PHP 8.2"), "{}", i.toml);
        let j = ok(&format!("{DEBIAN}listen.backlog = 511\n"));
        assert_eq!(j.model().front().listener.backlog, 511);
    }

    #[test]
    fn pools_are_chosen_by_name_or_refused_with_their_names() {
        let two = format!(
            "[global]\ninclude=/etc/php/8.2/fpm/pool.d/*.conf\n{DEBIAN}\
                           [api]\nlisten = 9001\npm = static\npm.max_children = 3\n"
        );
        let e = error(&two);
        assert!(
            e.contains("2 pools, [www], [api]") && e.contains("--pool"),
            "{e}"
        );
        let i = import(&two, "www.conf", Some("api")).unwrap();
        assert_eq!(i.model().front().pool.process_limit, 3);
        assert_eq!(i.ignored(), 7);
        assert!(i.notes.iter().any(|n| n.contains("not followed")));
        let e = import(&two, "www.conf", Some("nope")).unwrap_err().0;
        assert!(e.contains("its pools are [www], [api]"), "{e}");
        let e = error("[global]\ninclude=/etc/php/8.2/fpm/pool.d/*.conf\n");
        assert!(
            e.contains("no pool section") && e.contains("not followed"),
            "{e}"
        );
    }

    #[test]
    fn what_php_fpm_refuses_is_refused_naming_the_setting_and_line() {
        let e = error("[www]\nlisten = /x\npm = sometimes\npm.max_children = 5\n");
        assert!(e.starts_with("www.conf line 3: `pm = sometimes`"), "{e}");
        let e = error("[www]\nlisten = /x\npm = static\n");
        assert!(
            e.starts_with("www.conf line 1:") && e.contains("pm.max_children"),
            "{e}"
        );
        let e = error("[www]\nlisten = /x\npm = static\npm.max_children = five\n");
        assert!(
            e.starts_with("www.conf line 4: `pm.max_children = five`"),
            "{e}"
        );
        let e = error(&DEBIAN.replace("pm.min_spare_servers = 1", "pm.min_spare_servers = 4"));
        assert!(e.starts_with("www.conf line 8:"), "{e}");
        assert!(
            e.contains("pm.max_spare_servers(3) must not be less than"),
            "{e}"
        );
        let e = error(&DEBIAN.replace("pm.start_servers = 2", "pm.start_servers = 4"));
        assert!(
            e.starts_with("www.conf line 6:") && e.contains("pm.start_servers"),
            "{e}"
        );
        let e = error(&DEBIAN.replace("pm.max_spare_servers = 3", "pm.max_spare_servers = 9"));
        assert!(e.contains("above pm.max_children (5, line 5)"), "{e}");
        let e = error(&DEBIAN.replace("pm.min_spare_servers = 1\n", ""));
        assert!(
            e.starts_with("www.conf line 1:") && e.contains("pm.min_spare_servers"),
            "{e}"
        );
        let e = error(&format!("{DEBIAN}listen.backlog = lots\n"));
        assert!(
            e.starts_with("www.conf line 9:") && e.contains("listen.backlog"),
            "{e}"
        );
        let e = error("[www]\nlisten = /x\npm = static\npm.max_children = 5000000\n");
        assert!(
            e.starts_with("www.conf line 4:") && e.contains("at most 1000000"),
            "{e}"
        );
        let e = error("[www]\npm = static\npm.max_children = 5\n");
        assert!(e.contains("no `listen`"), "{e}");
        let e = error(
            "[w]\nlisten = /x\npm = ondemand\npm.max_children = 1\npm.process_idle_timeout = 0\n",
        );
        assert!(e.starts_with("www.conf line 5:"), "{e}");
    }

    #[test]
    fn overridden_and_unknown_settings_are_listed_in_line_order() {
        let i = ok(&format!(
            "{DEBIAN}pm.max_children = 7\nfrobnicate = 1\nrequest_terminate_timeout = 30s\n"
        ));
        assert_eq!(i.model().front().pool.process_limit, 7);
        let lines: Vec<(usize, &str)> = i
            .unused()
            .iter()
            .map(|u| (u.setting.line, u.setting.key.as_str()))
            .collect();
        assert_eq!(
            lines,
            vec![
                (2, "user"),
                (5, "pm.max_children"),
                (10, "frobnicate"),
                (11, "request_terminate_timeout")
            ]
        );
        assert!(i
            .notes
            .iter()
            .any(|n| n.contains("request_terminate_timeout = 30s")));
    }
}
