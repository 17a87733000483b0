//! What the parsed file says, as typed settings: the globals and the two services, each
//! value with the line it came from, in Dovecot's units (times, whole numbers). Then the
//! pool after Dovecot's defaults (semantics: dovecot-defaults), and what the version makes
//! of it: the listen backlog (semantics: dovecot-backlog, dovecot-backlog-cap), the
//! master's forking (semantics: dovecot-fork), the drop timer (semantics:
//! dovecot-drop-timer) and the notes, with the rules themselves taken from
//! `crate::families::dovecot`. Every setting of the two services that the model does not use is
//! listed with why; settings elsewhere are only counted.

use super::parse::{Parsed, Section};
use super::{Service, Version};
use crate::error::BadInput;
use crate::families::dovecot::{DROP_TIMEOUT_S, MIN_BACKLOG};
use crate::import::common::{bad_line, Setting, Sourced, Unused};
use crate::import::text::{clean, snippet};
use crate::model::MasterMode;

// ---------------------------------------------------------------------------
// Values.

/// A Dovecot time setting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Time {
    Secs(f64),
    /// `infinite`, `unlimited`, or 4294967295 s and more (documented to disable).
    Never,
}

/// Dovecot's str_parse_get_interval(): a number, optional spaces, and a unit that is
/// a prefix of secs/seconds, mins/minutes, msecs/milliseconds, hours, days or weeks;
/// a bare number is seconds (as before 2.3).
fn parse_time(v: &str) -> Option<Time> {
    let v = v.trim();
    let lower = v.to_ascii_lowercase();
    if lower == "infinite" || lower == "unlimited" {
        return Some(Time::Never);
    }
    let end = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    if end == 0 {
        return None;
    }
    let number: u64 = v[..end].parse().ok()?;
    let unit = lower[end..].trim_start();
    let prefix_of = |words: &[&str]| words.iter().any(|w| w.starts_with(unit));
    let scale = if unit.is_empty() || prefix_of(&["secs", "seconds"]) {
        1.0
    } else if prefix_of(&["mins", "minutes"]) {
        60.0
    } else if prefix_of(&["msecs", "mseconds", "millisecs", "milliseconds"]) {
        0.001
    } else if prefix_of(&["hours"]) {
        3600.0
    } else if prefix_of(&["days"]) {
        86400.0
    } else if prefix_of(&["weeks"]) {
        604800.0
    } else {
        return None;
    };
    let secs = number as f64 * scale;
    if secs >= f64::from(u32::MAX) {
        Some(Time::Never)
    } else {
        Some(Time::Secs(secs))
    }
}

/// Seconds as the model takes them: 0 = never.
fn time_secs(t: Time) -> f64 {
    match t {
        Time::Secs(x) => x,
        Time::Never => 0.0,
    }
}

enum UintError {
    NotNumber,
    TooLarge,
}

/// Dovecot's unsigned int settings: decimal digits, at most 4294967295.
fn parse_uint(v: &str) -> Result<u32, UintError> {
    let v = v.trim();
    if v.is_empty() || !v.chars().all(|c| c.is_ascii_digit()) {
        return Err(UintError::NotNumber);
    }
    match v.parse::<u64>() {
        Ok(n) if n <= u64::from(u32::MAX) => Ok(n as u32),
        _ => Err(UintError::TooLarge),
    }
}

fn wrong_kind(file: &str, s: &Setting, place: &str, allowed: &str) -> BadInput {
    bad_line(
        file,
        s.line,
        format!(
            "`{} = {}` in {place}: {} must be {allowed}.",
            clean(&s.key),
            snippet(&s.value),
            clean(&s.key)
        ),
    )
}

fn uint_setting(file: &str, s: &Setting, place: &str, allowed: &str) -> Result<u32, BadInput> {
    parse_uint(&s.value).map_err(|e| match e {
        UintError::NotNumber => wrong_kind(file, s, place, allowed),
        UintError::TooLarge => {
            wrong_kind(file, s, place, &format!("{allowed} (at most 4294967295)"))
        }
    })
}

fn time_setting(file: &str, s: &Setting, place: &str, allowed: &str) -> Result<Time, BadInput> {
    parse_time(&s.value).ok_or_else(|| wrong_kind(file, s, place, allowed))
}

// ---------------------------------------------------------------------------
// The globals and the version.

/// The global defaults every service falls back on (master-settings.c; semantics:
/// dovecot-defaults).
#[derive(Debug)]
pub(super) struct Globals {
    process_limit: GlobalLimit,
    client_limit: GlobalLimit,
    idle_kill: Time,
    idle_kill_from: String,
    config_version: Option<Setting>,
}

/// default_process_limit or default_client_limit.
#[derive(Debug)]
struct GlobalLimit {
    key: &'static str,
    value: u32,
    /// Where it came from, for the model's comments.
    from: String,
    /// None: Dovecot's default.
    line: Option<usize>,
}

/// Top-level settings the model reads.
const USED_GLOBALS: &[&str] = &[
    "default_process_limit",
    "default_client_limit",
    "default_idle_kill",
    "default_idle_kill_interval",
    "dovecot_config_version",
];

/// The globals the services fall back on, from the top level or Dovecot's defaults.
pub(super) fn read_globals(root: &Section, file: &str) -> Result<Globals, BadInput> {
    let process_limit = read_global_limit(
        root,
        ("default_process_limit", 100),
        "a whole number of processes, such as `default_process_limit = 100`",
        file,
    )?;
    let client_limit = read_global_limit(
        root,
        ("default_client_limit", 1000),
        "a whole number of connections, such as `default_client_limit = 1000`",
        file,
    )?;
    let mut g = Globals {
        process_limit,
        client_limit,
        idle_kill: Time::Secs(60.0),
        idle_kill_from: "default_idle_kill: Dovecot's default, eagain semantics: dovecot-defaults"
            .into(),
        config_version: root.last("dovecot_config_version").cloned(),
    };
    // 2.4 renamed default_idle_kill; the last of either wins.
    let idle = root
        .settings
        .iter()
        .rev()
        .find(|s| s.key == "default_idle_kill" || s.key == "default_idle_kill_interval");
    if let Some(s) = idle {
        g.idle_kill = time_setting(
            file,
            s,
            "the top level",
            "a time such as `60 secs`, `1 min` or `infinite`",
        )?;
        g.idle_kill_from = format!("{} at line {}", s.key, s.line);
    }
    Ok(g)
}

/// A global limit as the file gives it, else Dovecot's `default`.
fn read_global_limit(
    root: &Section,
    (key, default): (&'static str, u32),
    allowed: &str,
    file: &str,
) -> Result<GlobalLimit, BadInput> {
    Ok(match root.last(key) {
        Some(s) => GlobalLimit {
            key,
            value: uint_setting(file, s, "the top level", allowed)?,
            from: format!("{key} at line {}", s.line),
            line: Some(s.line),
        },
        None => GlobalLimit {
            key,
            value: default,
            from: format!("{key}: Dovecot's default, eagain semantics: dovecot-defaults"),
            line: None,
        },
    })
}

/// The version on doveconf's first line, or else in `dovecot_config_version` (2.4).
pub(super) fn find_version(parsed: &Parsed, g: &Globals, file: &str) -> Result<Version, BadInput> {
    let (n, first) = &parsed.first;
    let from_first = first
        .strip_prefix('#')
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|token| Version::parse(token.trim_end_matches(':')));
    if let Some(v) = from_first {
        return Ok(v);
    }
    if let Some(s) = &g.config_version {
        if let Some(v) = Version::parse(s.value.trim()) {
            return Ok(v);
        }
        return Err(wrong_kind(
            file,
            s,
            "the top level",
            "a Dovecot version such as `2.4.1`",
        ));
    }
    Err(bad_line(
        file,
        *n,
        format!(
            "the first line of `doveconf -n` is the Dovecot version, such as `# 2.3.19.1 \
             (9b53102964): /etc/dovecot/dovecot.conf`, but this file starts with `{}`. The \
             backlog, the master's forking and the drop timer depend on the version: give \
             the whole output of `doveconf -n`, or add its first line.",
            snippet(first)
        ),
    ))
}

/// Refuses a version without services; a note for one newer than eagain knows.
pub(super) fn check_version(
    v: &Version,
    parsed: &Parsed,
    g: &Globals,
    file: &str,
) -> Result<Option<String>, BadInput> {
    if !v.has_service_sections() {
        return Err(BadInput(format!(
            "{file} line {}: Dovecot {} has no `service` sections (they came with 2.0), \
             so the model cannot be written from it: eagain models Dovecot 2.0 to 2.4.",
            version_line(parsed, g),
            clean(&v.text)
        )));
    }
    // What eagain knows, not a rule of Dovecot's: the newest rules apply.
    if v.at_least(2, 5, 0) {
        return Ok(Some(format!(
            "Dovecot {} is newer than the versions eagain knows (2.0 to 2.4): the rules of \
             2.4.2 are used",
            clean(&v.text)
        )));
    }
    Ok(None)
}

/// The line the version was read from.
fn version_line(parsed: &Parsed, g: &Globals) -> usize {
    let (n, first) = &parsed.first;
    if first.starts_with('#') {
        *n
    } else {
        g.config_version.as_ref().map_or(*n, |s| s.line)
    }
}

// ---------------------------------------------------------------------------
// The two services.

/// What `service imap` or `service imap-login` says, before defaults.
#[derive(Debug, Clone)]
pub(super) struct ServiceConf {
    service: Service,
    /// Lines of its `service NAME {` headers (none: all defaults).
    lines: Vec<usize>,
    process_limit: Option<Sourced<u32>>,
    client_limit: Option<Sourced<u32>>,
    /// 0 = no limit.
    service_count: Option<Sourced<u32>>,
    process_min_avail: Option<Sourced<u32>>,
    idle_kill: Option<Sourced<Time>>,
    pub(super) unused: Vec<Unused>,
}

/// Every `service NAME` section of `service`, in order; a later setting overrides an
/// earlier one, which is then listed as unused.
pub(super) fn read_service(
    root: &Section,
    service: Service,
    file: &str,
) -> Result<ServiceConf, BadInput> {
    let name = service.name();
    let mut conf = ServiceConf {
        service,
        lines: Vec::new(),
        process_limit: None,
        client_limit: None,
        service_count: None,
        process_min_avail: None,
        idle_kill: None,
        unused: Vec::new(),
    };
    let sections = root
        .sections
        .iter()
        .filter(|s| s.kind == "service" && s.name == name);
    for section in sections {
        conf.lines.push(section.line);
        let title = format!("service {name}");
        for s in &section.settings {
            read_service_setting(&mut conf, s, &title, file)?;
        }
        for sub in &section.sections {
            list_nested(sub, std::slice::from_ref(&title), &mut conf.unused);
        }
    }
    Ok(conf)
}

// What each setting a service reads must be, for the message when it is not.
const PROCESS_LIMIT: &str = "a whole number of processes (0 means default_process_limit), such \
    as `process_limit = 1024`";
const CLIENT_LIMIT: &str = "a whole number of connections per process (0 means \
    default_client_limit), such as `client_limit = 1`";
const PROCESS_MIN_AVAIL: &str =
    "a whole number of idle processes to keep ready, such as `process_min_avail = 4`";
const IDLE_KILL: &str =
    "a time such as `60 secs`, `1 min` or `infinite` (0 means default_idle_kill)";

/// One setting of a service section: into its slot, or onto the unused list.
fn read_service_setting(
    conf: &mut ServiceConf,
    s: &Setting,
    title: &str,
    file: &str,
) -> Result<(), BadInput> {
    let place = format!("`{title}`");
    let unused = &mut conf.unused;
    match s.key.as_str() {
        "process_limit" => {
            let v = uint_setting(file, s, &place, PROCESS_LIMIT)?;
            set(&mut conf.process_limit, s, v, title, unused);
        }
        "client_limit" => {
            let v = uint_setting(file, s, &place, CLIENT_LIMIT)?;
            set(&mut conf.client_limit, s, v, title, unused);
        }
        "process_min_avail" => {
            let v = uint_setting(file, s, &place, PROCESS_MIN_AVAIL)?;
            set(&mut conf.process_min_avail, s, v, title, unused);
        }
        // 2.4 renamed service_count to restart_request_count.
        "service_count" | "restart_request_count" => {
            let v = service_count(s, &place, file)?;
            set(&mut conf.service_count, s, v, title, unused);
        }
        // 2.4 renamed idle_kill to idle_kill_interval.
        "idle_kill" | "idle_kill_interval" => {
            let v = time_setting(file, s, &place, IDLE_KILL)?;
            set(&mut conf.idle_kill, s, v, title, unused);
        }
        key => unused.push(Unused::new(
            &Setting {
                sections: vec![title.to_string()],
                ..s.clone()
            },
            service_reason(key),
        )),
    }
    Ok(())
}

/// Fills a setting's slot with the value of `s`; the value it held before is
/// overridden, so listed as unused.
fn set<T>(
    slot: &mut Option<Sourced<T>>,
    s: &Setting,
    value: T,
    title: &str,
    unused: &mut Vec<Unused>,
) {
    if let Some(old) = slot.replace(Sourced::given(s, value)) {
        if let Some(old) = old.setting() {
            unused.push(overridden(title, old, s.line));
        }
    }
}

/// A slot's value and the setting it was read from.
fn read<T: Copy>(slot: &Option<Sourced<T>>) -> Option<(T, &Setting)> {
    let g = slot.as_ref()?;
    Some((g.value, g.setting()?))
}

/// service_count or restart_request_count: a number, where 0 and `unlimited` mean no limit.
fn service_count(s: &Setting, place: &str, file: &str) -> Result<u32, BadInput> {
    if s.value.trim().eq_ignore_ascii_case("unlimited") {
        return Ok(0);
    }
    let allowed = format!(
        "a whole number of connections a process serves before it exits (0 \
         or `unlimited`: no limit), such as `{} = 1`",
        s.key
    );
    uint_setting(file, s, place, &allowed)
}

fn overridden(title: &str, old: &Setting, line: usize) -> Unused {
    Unused::new(
        &Setting {
            sections: vec![title.to_string()],
            ..old.clone()
        },
        format!("overridden by line {line}"),
    )
}

/// Lists every setting of a section inside a service (its listeners, or anything else).
fn list_nested(section: &Section, outer: &[String], unused: &mut Vec<Unused>) {
    let mut sections = outer.to_vec();
    sections.push(section.title());
    let listener = matches!(
        section.kind.as_str(),
        "unix_listener" | "fifo_listener" | "inet_listener"
    );
    for s in &section.settings {
        unused.push(Unused::new(
            &Setting {
                sections: sections.clone(),
                ..s.clone()
            },
            if listener {
                listener_reason(&s.key)
            } else {
                "unknown to eagain: not modelled"
            },
        ));
    }
    for sub in &section.sections {
        list_nested(sub, &sections, unused);
    }
}

/// Why a known service setting is not in the model (master-settings.c's list).
fn service_reason(key: &str) -> &'static str {
    match key {
        "name" | "protocol" | "type" => {
            "service wiring, fixed for imap and imap-login: not modelled"
        }
        "executable" => {
            "the program the master runs: its start-up time is master.startup \
             (measure and --set)"
        }
        "user"
        | "group"
        | "privileged_group"
        | "extra_groups"
        | "chroot"
        | "drop_priv_before_exec" => "process privileges: no effect on the queue",
        "vsz_limit" => {
            "memory limit per process: not modelled (a process that exceeds it dies; \
             the model's processes never fail)"
        }
        "reuse_port" => REUSE_PORT,
        _ => "unknown to eagain: not modelled",
    }
}

const REUSE_PORT: &str = "SO_REUSEPORT gives each process its own queue: not modelled (the \
    model has one queue that every process shares)";

fn listener_reason(key: &str) -> &'static str {
    match key {
        "path" | "mode" | "user" | "group" => "socket file and permissions: no effect on the queue",
        "name" | "address" | "port" => "where it listens: no effect on the queue",
        "ssl" => {
            "TLS on this listener: the handshake's CPU belongs in work.blocking (measure and --set)"
        }
        "haproxy" => "HAProxy PROXY header: no effect on the queue",
        "type" => "the listener's role: no effect on the queue",
        "reuse_port" => REUSE_PORT,
        _ => "unknown to eagain: not modelled",
    }
}

/// Settings outside the two services, less the globals the model reads.
pub(super) fn count_ignored(root: &Section) -> usize {
    let top = root
        .settings
        .iter()
        .filter(|s| !USED_GLOBALS.contains(&s.key.as_str()))
        .count();
    let sections: usize = root
        .sections
        .iter()
        .filter(|s| !(s.kind == "service" && (s.name == "imap" || s.name == "imap-login")))
        .map(Section::count_settings)
        .sum();
    top + sections
}

/// `protocols` without imap: this Dovecot starts no imap service at all.
pub(super) fn protocol_notes(root: &Section) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(s) = root.last("protocols") {
        if !s.value.split_whitespace().any(|p| p == "imap") {
            notes.push(format!(
                "line {}: protocols = {} does not enable imap, so this Dovecot starts \
                 neither imap nor imap-login; the model shows what they would do",
                s.line,
                snippet(&s.value)
            ));
        }
    }
    for section in root.sections.iter().filter(|s| s.kind == "protocols") {
        if let Some(s) = section.last("imap") {
            if s.value.trim().eq_ignore_ascii_case("no") {
                notes.push(format!(
                    "line {}: protocols {{ imap = no }}: this Dovecot starts neither imap nor \
                     imap-login; the model shows what they would do",
                    s.line
                ));
            }
        }
    }
    notes
}

// ---------------------------------------------------------------------------
// The pool after Dovecot's defaults.

/// The pool settings after Dovecot's defaults, each with where it came from.
#[derive(Debug, Clone)]
pub(super) struct Pool {
    pub(super) process_limit: Sourced<u32>,
    pub(super) client_limit: Sourced<u32>,
    /// 0 = no limit.
    pub(super) service_count: Sourced<u32>,
    pub(super) process_min_avail: Sourced<u32>,
    /// Seconds; 0 = never.
    pub(super) idle_kill: Sourced<f64>,
}

/// The pool of a service: its own settings, else its own defaults, else the globals.
pub(super) fn resolve(conf: &ServiceConf, g: &Globals, file: &str) -> Result<Pool, BadInput> {
    let name = conf.service.name();
    let own = format!("{name}'s default, eagain semantics: dovecot-defaults");
    // imap has its own limits; imap-login's 0 means the globals (semantics: dovecot-defaults).
    let (pl_default, cl_default) = match conf.service {
        Service::Imap => (1024, 1),
        Service::ImapLogin => (0, 0),
    };
    let limit = |given: &Option<Sourced<u32>>, own_default, global, key| {
        resolve_limit(read(given), (own_default, &own), global, (name, key), file)
    };
    let process_limit = limit(
        &conf.process_limit,
        pl_default,
        &g.process_limit,
        "process_limit",
    )?;
    let client_limit = limit(
        &conf.client_limit,
        cl_default,
        &g.client_limit,
        "client_limit",
    )?;
    let service_count = match read(&conf.service_count) {
        Some((v, s)) => Sourced::derived(v, format!("{} at line {}", s.key, s.line)),
        None => Sourced::default(1, own.clone()),
    };
    let process_min_avail = match read(&conf.process_min_avail) {
        Some((v, s)) => {
            check_min_avail((v, s), name, &process_limit, file)?;
            Sourced::given(s, v)
        }
        None => Sourced::default(0, own.clone()),
    };
    Ok(Pool {
        process_limit,
        client_limit,
        service_count,
        process_min_avail,
        idle_kill: resolve_idle_kill(read(&conf.idle_kill), g),
    })
}

/// process_limit or client_limit of a service: its own, else its own default, else the
/// global one, where 0 also means the global one (semantics: dovecot-defaults); refused
/// when it comes out as 0.
fn resolve_limit(
    given: Option<(u32, &Setting)>,
    (own_default, own): (u32, &str),
    global: &GlobalLimit,
    (service, key): (&str, &str),
    file: &str,
) -> Result<Sourced<u32>, BadInput> {
    let resolved = match given {
        Some((v, s)) if v > 0 => Sourced::given(s, v),
        Some((_, s)) => Sourced::derived(
            global.value,
            format!("`{} = 0` at line {}: {}", s.key, s.line, global.from),
        ),
        None if own_default > 0 => Sourced::default(own_default, own),
        None => Sourced::default(global.value, global.from.clone()),
    };
    if resolved.value > 0 {
        return Ok(resolved);
    }
    let line = global.line.or(given.map(|(_, s)| s.line)).unwrap_or(1);
    Err(bad_line(
        file,
        line,
        format!(
            "{key} of `service {service}` comes out as 0 ({global} = 0): a service needs at \
             least 1, and Dovecot does not start with 0 either. Set {global} or the \
             service's own {key} to 1 or more.",
            global = global.key
        ),
    ))
}

/// Refuses more idle processes than the pool may have, as Dovecot does.
fn check_min_avail(
    (min_avail, s): (u32, &Setting),
    service: &str,
    process_limit: &Sourced<u32>,
    file: &str,
) -> Result<(), BadInput> {
    let limit = process_limit.value;
    if min_avail <= limit {
        return Ok(());
    }
    Err(bad_line(
        file,
        s.line,
        format!(
            "`process_min_avail = {min_avail}` in `service {service}` is higher than its \
             process_limit ({limit}, {}): Dovecot refuses this too (\"process_min_avail is \
             higher than process_limit\"), and the model cannot keep more idle processes \
             than it may have. Use at most {limit}, or raise process_limit.",
            process_limit.from()
        ),
    ))
}

/// A service's idle_kill in seconds (0 = never): its own, where 0 means the global one.
fn resolve_idle_kill(given: Option<(Time, &Setting)>, g: &Globals) -> Sourced<f64> {
    match given {
        Some((Time::Secs(x), s)) if x > 0.0 => {
            Sourced::derived(x, format!("{} at line {}", s.key, s.line))
        }
        Some((Time::Never, s)) => {
            Sourced::derived(0.0, format!("{} at line {}: never", s.key, s.line))
        }
        Some((_, s)) => Sourced::derived(
            time_secs(g.idle_kill),
            format!("`{} = 0` at line {}: {}", s.key, s.line, g.idle_kill_from),
        ),
        None => Sourced::default(time_secs(g.idle_kill), g.idle_kill_from.clone()),
    }
}

/// Where the model is less exact for this configuration and version.
pub(super) fn version_notes(
    v: &Version,
    pool: &Pool,
    conf: &ServiceConf,
    service: Service,
) -> Vec<String> {
    let mut notes = Vec::new();
    if conf.lines.is_empty() {
        notes.push(format!(
            "the file has no `service {}` section: Dovecot's defaults are used for it",
            service.name()
        ));
    }
    if service == Service::Imap && pool.client_limit.value > 1 {
        notes.push(format!(
            "client_limit = {} for imap: Dovecot's documentation says imap needs 1, because a \
             session blocks its process; the model serves the sessions a process holds one \
             after another",
            pool.client_limit.value
        ));
    }
    if pool.process_min_avail.value > 0 && !v.fast_prefork() {
        notes.push(format!(
            "process_min_avail with Dovecot {}: before 2.3.15 the pre-forking created \
             processes more slowly than the model's rule (up to 10 per timer run, eagain \
             semantics: dovecot-min-avail), so the model is optimistic about how soon idle \
             processes are ready",
            clean(&v.text)
        ));
    }
    if !v.idle_kill_counts_idle_processes() {
        notes.push(format!(
            "idle_kill with Dovecot {}: before 2.3.21 idle processes were ended by a \
             simpler rule; the model uses the rule of 2.3.21 and later (eagain semantics: \
             dovecot-idle-kill)",
            clean(&v.text)
        ));
    }
    notes
}

// ---------------------------------------------------------------------------
// Version-dependent fields, each with the comment and the prose that explain it.

/// The listen() backlog Dovecot asks for (service_get_backlog(); semantics:
/// dovecot-backlog), cut by the version's cap (semantics: dovecot-backlog-cap), with how
/// it follows from the pool and the version.
pub(super) fn backlog(v: &Version, pool: &Pool) -> Sourced<u32> {
    let asked =
        crate::families::dovecot::backlog(pool.process_limit.value, pool.client_limit.value);
    let product = u64::from(pool.process_limit.value) * u64::from(pool.client_limit.value);
    let formula = format!(
        "process_limit x client_limit = {} x {} = {product}",
        pool.process_limit.value, pool.client_limit.value
    );
    let (value, why) = match (v.backlog_cap(), v.backlog_cap_versions()) {
        (Some(cap), Some(versions)) if asked > cap => (
            cap,
            format!("{formula}, cut to {cap}, the cap of Dovecot {versions}"),
        ),
        _ if product < u64::from(MIN_BACKLOG) => (
            asked,
            format!("{formula}, raised to the minimum of {MIN_BACKLOG}"),
        ),
        // Without a cap of its own the master still cuts the product to INT_MAX.
        (None, _) if product > u64::from(asked) => (asked, format!("{formula}, cut to INT_MAX")),
        (None, _) => (asked, format!("{formula}, no cap since 2.2.26")),
        (Some(cap), _) => (asked, format!("{formula}, under the cap of {cap}")),
    };
    Sourced::derived(value, why)
}

/// How the master forks for this service.
pub(super) struct Forking {
    pub(super) mode: MasterMode,
    /// The comment on `master.mode`.
    pub(super) comment: String,
    /// The header's sentence about it.
    pub(super) why: String,
}

/// The master's forking (semantics: dovecot-fork): on demand up to 2.4.1; from 2.4.2 the
/// master accepts and forks per connection when client_limit = 1.
pub(super) fn master_mode(v: &Version, pool: &Pool) -> Forking {
    let ver = clean(&v.text);
    if v.forks_per_connection(pool.client_limit.value) {
        Forking {
            mode: MasterMode::PerConnection,
            comment: "Dovecot >= 2.4.2 with client_limit = 1 (eagain semantics: dovecot-fork)"
                .to_string(),
            why: format!(
                "Dovecot {ver} accepts each queued connection in the master and forks a \
                 process for it when client_limit = 1 (commit 4e75476a95; eagain semantics: \
                 dovecot-master-accept): master.mode = \"per-connection\"; the forks are \
                 serialised by the master's own time per fork (master.fork_time)."
            ),
        }
    } else if v.can_accept_in_master() {
        Forking {
            mode: MasterMode::OnDemand,
            comment: "Dovecot >= 2.4.2, client_limit > 1 (eagain semantics: dovecot-fork)"
                .to_string(),
            why: format!(
                "Dovecot {ver} pre-accepts in the master only when client_limit = 1; with \
                 client_limit = {} the child accepts, so the master forks on demand as before \
                 2.4.2 (eagain semantics: dovecot-fork, dovecot-on-demand-fork): master.mode = \
                 \"on-demand\".",
                pool.client_limit.value
            ),
        }
    } else {
        Forking {
            mode: MasterMode::OnDemand,
            comment: format!("Dovecot {ver} <= 2.4.1 (eagain semantics: dovecot-fork)"),
            why: format!(
                "Dovecot {ver} forks on demand: one fork per fork->exec->init->accept round \
                 trip while connections wait (eagain semantics: dovecot-on-demand-fork): \
                 master.mode = \"on-demand\"."
            ),
        }
    }
}

/// What the master does at process_limit.
pub(super) struct DropTimer {
    /// Seconds before it accepts and closes; None: it keeps the connections queued.
    pub(super) timeout: Option<f64>,
    /// The comment on `master.drop_timeout` (empty when there is none).
    pub(super) comment: String,
    /// The header's sentence about it.
    pub(super) why: String,
}

/// What the master does at process_limit (semantics: dovecot-drop-timer,
/// dovecot-drop-login).
pub(super) fn drop_timeout(v: &Version, service: Service) -> DropTimer {
    let timeout = v.drop_timeout(service == Service::ImapLogin);
    let (comment, why) = match timeout {
        Some(t) if t > 0.0 => {
            let (then, cite) = match service {
                Service::Imap => (
                    "then accept-and-close of everything queued and of each new \
                     connection until a slot frees",
                    "eagain semantics: dovecot-drop-timer",
                ),
                Service::ImapLogin => (
                    "then the master drains the queue; a login service also \
                     tells its processes to drop their oldest unauthenticated clients",
                    "eagain semantics: dovecot-drop-timer, dovecot-drop-login, \
                     dovecot-login-overflow",
                ),
            };
            (
                "SERVICE_DROP_TIMEOUT_MSECS (eagain semantics: dovecot-drop-timer)".to_string(),
                format!(
                    "process_limit reached: {t} s without accepting, {then} ({cite}): \
                     drop_timeout = {t}."
                ),
            )
        }
        Some(_) => (
            "Dovecot 2.0 accepts and closes at once (eagain semantics: dovecot-drop-timer)"
                .to_string(),
            format!(
                "process_limit reached: Dovecot 2.0 accepts and closes each new connection \
                 at once, with no {DROP_TIMEOUT_S} s pause (that came with 2.1.0): \
                 drop_timeout = 0."
            ),
        ),
        None => (
            String::new(),
            format!(
                "process_limit reached: Dovecot 2.0 stops accepting for a login service until \
                 a slot frees, and drops nothing (the {DROP_TIMEOUT_S} s drop timer came with \
                 2.1.0): no drop_timeout."
            ),
        ),
    };
    DropTimer {
        timeout,
        comment,
        why,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_values_follow_dovecots_units() {
        assert_eq!(parse_time("10 secs"), Some(Time::Secs(10.0)));
        assert_eq!(parse_time("1 min"), Some(Time::Secs(60.0)));
        assert_eq!(parse_time("2mins"), Some(Time::Secs(120.0)));
        assert_eq!(parse_time("1 m"), Some(Time::Secs(60.0)));
        assert_eq!(parse_time("1 h"), Some(Time::Secs(3600.0)));
        assert_eq!(parse_time("1 day"), Some(Time::Secs(86400.0)));
        assert_eq!(parse_time("2000 ms"), Some(Time::Secs(2.0)));
        assert_eq!(parse_time("30"), Some(Time::Secs(30.0)));
        assert_eq!(parse_time("0"), Some(Time::Secs(0.0)));
        assert_eq!(parse_time("infinite"), Some(Time::Never));
        assert_eq!(parse_time("unlimited"), Some(Time::Never));
        assert_eq!(parse_time("4294967295 secs"), Some(Time::Never));
        assert_eq!(parse_time("soon"), None);
        assert_eq!(parse_time("5 parsecs"), None);
        assert_eq!(parse_time("-1"), None);
    }
}
