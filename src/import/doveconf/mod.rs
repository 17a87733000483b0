//! `eagain import doveconf`: a model from the output of `doveconf -n` (Dovecot 2.x).
//!
//! This file owns three steps. Parsing doveconf's text (`key = value` lines, sections
//! opened by `name [arg] {` and closed by `}`, `#` comments) into a tree that keeps
//! line numbers. Reading `service imap` and `service imap-login`, with Dovecot's own
//! defaults for what the file leaves out (reference C8). Writing a commented model
//! whose version-dependent fields are computed here: the listen backlog (C1), the
//! master's forking (C3) and the drop timer (C5). What a configuration cannot say
//! (the load, session lengths, start-up times, the kernel's somaxconn) comes from the
//! shipped Dovecot models and is marked "not in doveconf: measure and --set". Every
//! setting of the two services that the model does not use is listed, never dropped
//! in silence; settings elsewhere are only counted.

pub use crate::dovecot::Version;
use crate::error::BadInput;
use crate::model::{load_str, Model};
use std::path::Path;

/// The mark on every model line whose value the configuration cannot know.
pub const MEASURE: &str = "not in doveconf: measure and --set";

/// What doveconf's output looks like, for the messages about files that are not it.
const SHAPE: &str = "`doveconf -n` prints `key = value` lines, `name [arg] {` lines that \
    open a section, `}` lines that close one, and `#` comments, starting with the Dovecot \
    version; save its output with `doveconf -n > dovecot.txt` and give that file";

/// The Dovecot service a model describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// `service imap`: its unix listener login/imap is where imap-login's
    /// net_connect_unix(imap) gets EAGAIN (C10).
    Imap,
    /// `service imap-login`: the TCP listeners IMAP clients connect to.
    ImapLogin,
}

impl Service {
    pub fn from_name(name: &str) -> Result<Service, BadInput> {
        match name {
            "imap" => Ok(Service::Imap),
            "imap-login" => Ok(Service::ImapLogin),
            other => Err(BadInput(format!(
                "--service {other}: give imap (the service imap-login hands logged-in users \
                 to) or imap-login (the one IMAP clients connect to)"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Service::Imap => "imap",
            Service::ImapLogin => "imap-login",
        }
    }

    fn other(self) -> Service {
        match self {
            Service::Imap => Service::ImapLogin,
            Service::ImapLogin => Service::Imap,
        }
    }
}

/// A setting of one of the two services that the model does not use.
#[derive(Debug, Clone, PartialEq)]
pub struct Unused {
    pub line: usize,
    /// The sections around it, outermost first: `["service imap-login", "inet_listener imap"]`.
    pub sections: Vec<String>,
    pub key: String,
    pub value: String,
    /// Why the model leaves it out.
    pub why: String,
}

impl Unused {
    /// `line 12: service imap-login { vsz_limit = 1G }: memory limit ...`
    pub fn describe(&self) -> String {
        let mut s = format!("line {}: ", self.line);
        for section in &self.sections {
            s.push_str(&clean(section));
            s.push_str(" { ");
        }
        s.push_str(&clean(&self.key));
        s.push_str(" = ");
        s.push_str(&clean(&self.value));
        for _ in &self.sections {
            s.push_str(" }");
        }
        s.push_str(": ");
        s.push_str(&self.why);
        s
    }
}

/// A model written from a doveconf file, and what the import left out.
#[derive(Debug, Clone)]
pub struct Imported {
    pub version: Version,
    pub service: Service,
    /// The model file's text (commented TOML).
    pub toml: String,
    /// The same, loaded and checked.
    pub model: Model,
    /// Settings of `service imap` and `service imap-login` the model does not use.
    pub unused: Vec<Unused>,
    /// Settings outside those two services (none of them is needed).
    pub ignored: usize,
    /// Things the user should know about the result.
    pub notes: Vec<String>,
}

impl Imported {
    /// The lines `eagain import doveconf` prints on stderr.
    pub fn report(&self, file: &str) -> Vec<String> {
        let p = &self.model.pool;
        let mut lines = vec![format!(
            "{file}: Dovecot {}, service {}: process_limit {}, client_limit {}, \
             service_count {}, process_min_avail {}, backlog {}, master {}",
            clean(&self.version.text),
            self.service.name(),
            p.process_limit,
            p.client_limit,
            p.service_count,
            p.process_min_avail,
            self.model.listener.backlog,
            mode_name(self.model.master.mode),
        )];
        for n in &self.notes {
            lines.push(format!("note: {n}"));
        }
        if self.unused.is_empty() {
            lines.push(
                "every setting in service imap and service imap-login is in the model".into(),
            );
        } else {
            lines.push(format!(
                "{} setting{} in service imap and service imap-login {} not in the model \
                 (also listed in the model's comments):",
                self.unused.len(),
                if self.unused.len() == 1 { "" } else { "s" },
                if self.unused.len() == 1 { "is" } else { "are" },
            ));
            for u in &self.unused {
                lines.push(format!("  {}", u.describe()));
            }
        }
        lines.push(ignored_line(self.ignored));
        lines
    }
}

fn ignored_line(n: usize) -> String {
    format!(
        "ignored {n} setting{} outside service imap and service imap-login \
         (the model does not need them)",
        if n == 1 { "" } else { "s" }
    )
}

fn mode_name(mode: crate::model::MasterMode) -> &'static str {
    match mode {
        crate::model::MasterMode::Prefork => "prefork",
        crate::model::MasterMode::OnDemand => "on-demand",
        crate::model::MasterMode::PerConnection => "per-connection",
    }
}

/// Reads a saved `doveconf -n` from disk and writes the model of `service`.
pub fn import_file(file: &Path, service: &str) -> Result<Imported, BadInput> {
    let service = Service::from_name(service)?;
    let name = file.display().to_string();
    let text = super::read_text(
        file,
        "doveconf file",
        "Give the saved output of `doveconf -n`, for example after `doveconf -n > dovecot.txt`.",
        &format!("so it is not the output of `doveconf -n`: {SHAPE}."),
    )?;
    import(&text, &name, service)
}

/// Reads doveconf's output (`file` names it in messages) and writes the model of `service`.
pub fn import(text: &str, file: &str, service: Service) -> Result<Imported, BadInput> {
    let parsed = parse(text, file)?;
    let globals = read_globals(&parsed.root, file)?;
    let version = find_version(&parsed, &globals, file)?;
    let mut notes = Vec::new();
    if version.parts[0] < 2 {
        return Err(BadInput(format!(
            "{file} line {}: Dovecot {} has no `service` sections (they came with 2.0), \
             so the model cannot be written from it: eagain models Dovecot 2.0 to 2.4.",
            version_line(&parsed, &globals),
            clean(&version.text)
        )));
    }
    if version.at_least(2, 5, 0) {
        notes.push(format!(
            "Dovecot {} is newer than the versions eagain knows (2.0 to 2.4): the rules of \
             2.4.2 are used",
            clean(&version.text)
        ));
    }
    let chosen = read_service(&parsed.root, service, file)?;
    let other = read_service(&parsed.root, service.other(), file)?;
    let pool = resolve(&chosen, &globals, file)?;
    let other_pool = resolve(&other, &globals, file)?;
    let (imap, login) = match service {
        Service::Imap => (&chosen, &other),
        Service::ImapLogin => (&other, &chosen),
    };
    let mut unused: Vec<Unused> = imap.unused.iter().chain(&login.unused).cloned().collect();
    unused.sort_by_key(|u| u.line);
    let ignored = count_ignored(&parsed.root);
    notes.extend(protocol_notes(&parsed.root));
    notes.extend(version_notes(&version, &pool, &chosen, service));
    let ctx = Writing {
        file,
        version: &version,
        service,
        pool: &pool,
        other: &other_pool,
        unused: &unused,
        ignored,
        notes: &notes,
    };
    let toml = write_model(&ctx);
    let model = load_str(&toml, "the imported model", Path::new("."), &[]).map_err(|e| {
        BadInput(format!(
            "{file}: the model written from this configuration does not load ({e}); \
             the settings of service {} above are what it was made from.",
            service.name()
        ))
    })?;
    Ok(Imported {
        version,
        service,
        toml,
        model,
        unused,
        ignored,
        notes,
    })
}

// ---------------------------------------------------------------------------
// Parsing doveconf's text.

#[derive(Debug, Clone)]
struct Setting {
    line: usize,
    key: String,
    /// Without surrounding quotes.
    value: String,
}

#[derive(Debug, Clone, Default)]
struct Section {
    line: usize,
    kind: String,
    name: String,
    settings: Vec<Setting>,
    sections: Vec<Section>,
}

impl Section {
    fn title(&self) -> String {
        if self.name.is_empty() {
            self.kind.clone()
        } else {
            format!("{} {}", self.kind, self.name)
        }
    }

    fn count_settings(&self) -> usize {
        self.settings.len()
            + self
                .sections
                .iter()
                .map(Section::count_settings)
                .sum::<usize>()
    }

    fn last(&self, key: &str) -> Option<&Setting> {
        self.settings.iter().rev().find(|s| s.key == key)
    }
}

#[derive(Debug)]
struct Parsed {
    root: Section,
    /// The first line that is not blank, with its number.
    first: (usize, String),
}

fn bad_line(file: &str, line: usize, message: impl std::fmt::Display) -> BadInput {
    BadInput(format!("{file} line {line}: {message}"))
}

fn parse(text: &str, file: &str) -> Result<Parsed, BadInput> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut stack = vec![Section::default()];
    let mut first = None;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            continue;
        }
        if first.is_none() {
            first = Some((n, trimmed.to_string()));
        }
        if trimmed.starts_with('#') {
            continue;
        }
        let line = strip_comment(trimmed).trim_end();
        if line.is_empty() {
            continue;
        }
        if line == "}" {
            if stack.len() == 1 {
                return Err(bad_line(
                    file,
                    n,
                    format!(
                        "`}}` closes no section: the braces are unbalanced, so this is not \
                         the output of `doveconf -n` ({SHAPE})."
                    ),
                ));
            }
            let done = stack.pop().expect("checked above");
            stack.last_mut().expect("root stays").sections.push(done);
            continue;
        }
        if let Some(eq) = find_unquoted(line, '=') {
            let key = line[..eq].trim();
            if is_key(key) {
                let value = unquote(line[eq + 1..].trim());
                stack
                    .last_mut()
                    .expect("root stays")
                    .settings
                    .push(Setting {
                        line: n,
                        key: key.to_string(),
                        value,
                    });
                continue;
            }
        } else if let Some(head) = line.strip_suffix('{') {
            let head = head.trim();
            let (kind, name) = match head.split_once(char::is_whitespace) {
                Some((k, rest)) => (k, unquote(rest.trim())),
                None => (head, String::new()),
            };
            if is_key(kind) {
                stack.push(Section {
                    line: n,
                    kind: kind.to_string(),
                    name,
                    ..Section::default()
                });
                continue;
            }
        }
        return Err(bad_line(file, n, not_doveconf(line)));
    }
    if stack.len() > 1 {
        let open = stack.last().expect("more than one");
        return Err(bad_line(
            file,
            open.line,
            format!(
                "the section `{} {{` opened here is never closed: a `}}` is missing (the \
                 braces are unbalanced), so this is not the whole output of `doveconf -n` \
                 ({SHAPE}).",
                clean(&open.title())
            ),
        ));
    }
    let root = stack.pop().expect("root");
    let Some(first) = first else {
        return Err(BadInput(format!("{file} is empty: {SHAPE}.")));
    };
    if root.count_settings() == 0 && root.sections.is_empty() {
        return Err(BadInput(format!(
            "{file} has no settings, only comments: {SHAPE}."
        )));
    }
    Ok(Parsed { root, first })
}

/// Why a line is not doveconf's, with a hint when it looks like something else.
fn not_doveconf(line: &str) -> String {
    let shown = snippet(line);
    if line.starts_with('[') && line.ends_with(']') {
        format!(
            "`{shown}` is a TOML table header: this looks like a model or another TOML \
             file, not the output of `doveconf -n` ({SHAPE})."
        )
    } else if line.starts_with('!') {
        format!(
            "`{shown}` is not expanded: this looks like dovecot.conf itself; `doveconf -n` \
             prints the configuration with its includes read ({SHAPE})."
        )
    } else {
        format!("`{shown}` is not a doveconf line ({SHAPE}).")
    }
}

/// Dovecot's rule: outside quotes, `#` starts a comment.
fn strip_comment(line: &str) -> &str {
    find_unquoted(line, '#').map_or(line, |i| &line[..i])
}

/// The byte position of `wanted` outside '...' and "..." quotes.
fn find_unquoted(line: &str, wanted: char) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if c == wanted => return Some(i),
            None if c == '"' || c == '\'' => quote = Some(c),
            None => {}
        }
    }
    None
}

/// A setting or section name: letters, digits and `_ - . /`.
fn is_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c))
}

fn unquote(value: &str) -> String {
    let v = value.trim();
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            let inner = &v[1..v.len() - 1];
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    if let Some(next) = chars.next() {
                        out.push(next);
                    }
                } else {
                    out.push(c);
                }
            }
            return out;
        }
    }
    v.to_string()
}

/// One line of text for messages and comments: no control characters, at most 60 characters.
fn snippet(s: &str) -> String {
    let c = clean(s);
    if c.chars().count() > 60 {
        let cut: String = c.chars().take(57).collect();
        format!("{cut}...")
    } else {
        c
    }
}

fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

// ---------------------------------------------------------------------------
// Values.

/// A Dovecot time setting.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Time {
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

// ---------------------------------------------------------------------------
// Reading the settings.

/// A value given in the file, with where it was given.
#[derive(Debug, Clone)]
struct Given<T> {
    value: T,
    line: usize,
    key: String,
    raw: String,
}

/// The global defaults every service falls back on (master-settings.c, C8).
#[derive(Debug)]
struct Globals {
    process_limit: u32,
    process_limit_from: String,
    process_limit_line: Option<usize>,
    client_limit: u32,
    client_limit_from: String,
    client_limit_line: Option<usize>,
    idle_kill: Time,
    idle_kill_from: String,
    config_version: Option<Setting>,
}

/// Top-level settings the model reads.
const USED_GLOBALS: &[&str] = &[
    "default_process_limit",
    "default_client_limit",
    "default_idle_kill",
    "default_idle_kill_interval",
    "dovecot_config_version",
];

fn read_globals(root: &Section, file: &str) -> Result<Globals, BadInput> {
    let top = "the top level";
    let mut g = Globals {
        process_limit: 100,
        process_limit_from: "default_process_limit: Dovecot's default, C8".into(),
        process_limit_line: None,
        client_limit: 1000,
        client_limit_from: "default_client_limit: Dovecot's default, C8".into(),
        client_limit_line: None,
        idle_kill: Time::Secs(60.0),
        idle_kill_from: "default_idle_kill: Dovecot's default, C8".into(),
        config_version: root.last("dovecot_config_version").cloned(),
    };
    if let Some(s) = root.last("default_process_limit") {
        g.process_limit = uint_setting(
            file,
            s,
            top,
            "a whole number of processes, such as `default_process_limit = 100`",
        )?;
        g.process_limit_from = format!("default_process_limit at line {}", s.line);
        g.process_limit_line = Some(s.line);
    }
    if let Some(s) = root.last("default_client_limit") {
        g.client_limit = uint_setting(
            file,
            s,
            top,
            "a whole number of connections, such as `default_client_limit = 1000`",
        )?;
        g.client_limit_from = format!("default_client_limit at line {}", s.line);
        g.client_limit_line = Some(s.line);
    }
    let idle = root
        .settings
        .iter()
        .rev()
        .find(|s| s.key == "default_idle_kill" || s.key == "default_idle_kill_interval");
    if let Some(s) = idle {
        g.idle_kill = parse_time(&s.value).ok_or_else(|| {
            wrong_kind(
                file,
                s,
                top,
                "a time such as `60 secs`, `1 min` or `infinite`",
            )
        })?;
        g.idle_kill_from = format!("{} at line {}", s.key, s.line);
    }
    Ok(g)
}

fn find_version(parsed: &Parsed, g: &Globals, file: &str) -> Result<Version, BadInput> {
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

fn version_line(parsed: &Parsed, g: &Globals) -> usize {
    let (n, first) = &parsed.first;
    if first.starts_with('#') {
        *n
    } else {
        g.config_version.as_ref().map_or(*n, |s| s.line)
    }
}

/// What `service imap` or `service imap-login` says, before defaults.
#[derive(Debug, Clone)]
struct ServiceConf {
    service: Service,
    /// Lines of its `service NAME {` headers (none: all defaults).
    lines: Vec<usize>,
    process_limit: Option<Given<u32>>,
    client_limit: Option<Given<u32>>,
    /// 0 = no limit.
    service_count: Option<Given<u32>>,
    process_min_avail: Option<Given<u32>>,
    idle_kill: Option<Given<Time>>,
    unused: Vec<Unused>,
}

fn read_service(root: &Section, service: Service, file: &str) -> Result<ServiceConf, BadInput> {
    let name = service.name();
    let place = format!("`service {name}`");
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
            let (slot, value) = match s.key.as_str() {
                "process_limit" => (
                    &mut conf.process_limit,
                    uint_setting(
                        file,
                        s,
                        &place,
                        "a whole number of processes (0 means default_process_limit), \
                         such as `process_limit = 1024`",
                    )?,
                ),
                "client_limit" => (
                    &mut conf.client_limit,
                    uint_setting(
                        file,
                        s,
                        &place,
                        "a whole number of connections per process (0 means \
                         default_client_limit), such as `client_limit = 1`",
                    )?,
                ),
                "process_min_avail" => (
                    &mut conf.process_min_avail,
                    uint_setting(
                        file,
                        s,
                        &place,
                        "a whole number of idle processes to keep ready, such as \
                         `process_min_avail = 4`",
                    )?,
                ),
                "service_count" | "restart_request_count" => {
                    let allowed = format!(
                        "a whole number of connections a process serves before it exits (0 \
                         or `unlimited`: no limit), such as `{} = 1`",
                        s.key
                    );
                    let v = if s.value.trim().eq_ignore_ascii_case("unlimited") {
                        0
                    } else {
                        uint_setting(file, s, &place, &allowed)?
                    };
                    (&mut conf.service_count, v)
                }
                "idle_kill" | "idle_kill_interval" => {
                    let v = parse_time(&s.value).ok_or_else(|| {
                        wrong_kind(
                            file,
                            s,
                            &place,
                            "a time such as `60 secs`, `1 min` or `infinite` (0 means \
                             default_idle_kill)",
                        )
                    })?;
                    if let Some(old) = conf.idle_kill.replace(given(s, v)) {
                        conf.unused.push(overridden(&title, &old, s.line));
                    }
                    continue;
                }
                key => {
                    conf.unused.push(Unused {
                        line: s.line,
                        sections: vec![title.clone()],
                        key: key.to_string(),
                        value: s.value.clone(),
                        why: service_reason(key).to_string(),
                    });
                    continue;
                }
            };
            if let Some(old) = slot.replace(given(s, value)) {
                conf.unused.push(overridden(&title, &old, s.line));
            }
        }
        for sub in &section.sections {
            list_nested(sub, std::slice::from_ref(&title), &mut conf.unused);
        }
    }
    Ok(conf)
}

fn given<T>(s: &Setting, value: T) -> Given<T> {
    Given {
        value,
        line: s.line,
        key: s.key.clone(),
        raw: s.value.clone(),
    }
}

fn overridden<T>(title: &str, old: &Given<T>, line: usize) -> Unused {
    Unused {
        line: old.line,
        sections: vec![title.to_string()],
        key: old.key.clone(),
        value: old.raw.clone(),
        why: format!("overridden by line {line}"),
    }
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
        unused.push(Unused {
            line: s.line,
            sections: sections.clone(),
            key: s.key.clone(),
            value: s.value.clone(),
            why: if listener {
                listener_reason(&s.key)
            } else {
                "unknown to eagain: not modelled"
            }
            .to_string(),
        });
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
fn count_ignored(root: &Section) -> usize {
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
fn protocol_notes(root: &Section) -> Vec<String> {
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

/// The pool settings after Dovecot's defaults, each with where it came from.
#[derive(Debug, Clone)]
struct Pool {
    process_limit: u32,
    process_limit_from: String,
    client_limit: u32,
    client_limit_from: String,
    service_count: u32,
    service_count_from: String,
    process_min_avail: u32,
    process_min_avail_from: String,
    /// Seconds; 0 = never.
    idle_kill: f64,
    idle_kill_from: String,
}

fn resolve(conf: &ServiceConf, g: &Globals, file: &str) -> Result<Pool, BadInput> {
    let name = conf.service.name();
    let own = format!("{name}'s default, C8");
    // imap has its own limits; imap-login's 0 means the globals (C8).
    let (pl_default, cl_default) = match conf.service {
        Service::Imap => (1024, 1),
        Service::ImapLogin => (0, 0),
    };
    let (process_limit, process_limit_from) = with_global(
        conf.process_limit.as_ref(),
        pl_default,
        &own,
        (g.process_limit, &g.process_limit_from),
    );
    let (client_limit, client_limit_from) = with_global(
        conf.client_limit.as_ref(),
        cl_default,
        &own,
        (g.client_limit, &g.client_limit_from),
    );
    if process_limit == 0 {
        return Err(zero_limit(
            file,
            conf.process_limit.as_ref(),
            g.process_limit_line,
            name,
            "process_limit",
            "default_process_limit",
        ));
    }
    if client_limit == 0 {
        return Err(zero_limit(
            file,
            conf.client_limit.as_ref(),
            g.client_limit_line,
            name,
            "client_limit",
            "default_client_limit",
        ));
    }
    let (service_count, service_count_from) = match &conf.service_count {
        Some(s) => (s.value, format!("{} at line {}", s.key, s.line)),
        None => (1, own.clone()),
    };
    let (process_min_avail, process_min_avail_from) = match &conf.process_min_avail {
        Some(s) => (s.value, format!("line {}", s.line)),
        None => (0, own.clone()),
    };
    if process_min_avail > process_limit {
        let s = conf
            .process_min_avail
            .as_ref()
            .expect("0 is never above a limit");
        return Err(bad_line(
            file,
            s.line,
            format!(
                "`process_min_avail = {}` in `service {name}` is higher than its \
                 process_limit ({process_limit}, {process_limit_from}): Dovecot refuses this \
                 too (\"process_min_avail is higher than process_limit\"), and the model \
                 cannot keep more idle processes than it may have. Use at most \
                 {process_limit}, or raise process_limit.",
                s.value
            ),
        ));
    }
    let (idle_kill, idle_kill_from) = match &conf.idle_kill {
        Some(Given {
            value: Time::Secs(x),
            line,
            key,
            ..
        }) if *x > 0.0 => (*x, format!("{key} at line {line}")),
        Some(Given {
            value: Time::Never,
            line,
            key,
            ..
        }) => (0.0, format!("{key} at line {line}: never")),
        Some(Given { line, key, .. }) => (
            time_secs(g.idle_kill),
            format!("`{key} = 0` at line {line}: {}", g.idle_kill_from),
        ),
        None => (time_secs(g.idle_kill), g.idle_kill_from.clone()),
    };
    Ok(Pool {
        process_limit,
        process_limit_from,
        client_limit,
        client_limit_from,
        service_count,
        service_count_from,
        process_min_avail,
        process_min_avail_from,
        idle_kill,
        idle_kill_from,
    })
}

/// A limit where 0 means the global default.
fn with_global(
    given: Option<&Given<u32>>,
    own_default: u32,
    own: &str,
    global: (u32, &str),
) -> (u32, String) {
    match given {
        Some(s) if s.value > 0 => (s.value, format!("line {}", s.line)),
        Some(s) => (
            global.0,
            format!("`{} = 0` at line {}: {}", s.key, s.line, global.1),
        ),
        None if own_default > 0 => (own_default, own.to_string()),
        None => (global.0, global.1.to_string()),
    }
}

fn zero_limit(
    file: &str,
    given: Option<&Given<u32>>,
    global_line: Option<usize>,
    service: &str,
    key: &str,
    global: &str,
) -> BadInput {
    let line = global_line.or(given.map(|g| g.line)).unwrap_or(1);
    bad_line(
        file,
        line,
        format!(
            "{key} of `service {service}` comes out as 0 ({global} = 0): a service needs at \
             least 1, and Dovecot does not start with 0 either. Set {global} or the \
             service's own {key} to 1 or more."
        ),
    )
}

fn time_secs(t: Time) -> f64 {
    match t {
        Time::Secs(x) => x,
        Time::Never => 0.0,
    }
}

fn version_notes(v: &Version, pool: &Pool, conf: &ServiceConf, service: Service) -> Vec<String> {
    let mut notes = Vec::new();
    if conf.lines.is_empty() {
        notes.push(format!(
            "the file has no `service {}` section: Dovecot's defaults are used for it",
            service.name()
        ));
    }
    if service == Service::Imap && pool.client_limit > 1 {
        notes.push(format!(
            "client_limit = {} for imap: Dovecot's documentation says imap needs 1, because a \
             session blocks its process; the model serves the sessions a process holds one \
             after another",
            pool.client_limit
        ));
    }
    if pool.process_min_avail > 0 && !v.at_least(2, 3, 15) {
        notes.push(format!(
            "process_min_avail with Dovecot {}: before 2.3.15 the pre-forking created \
             processes more slowly than the model's rule (up to 10 per timer run, C4), so \
             the model is optimistic about how soon idle processes are ready",
            clean(&v.text)
        ));
    }
    if !v.at_least(2, 3, 21) {
        notes.push(format!(
            "idle_kill with Dovecot {}: before 2.3.21 idle processes were ended by a \
             simpler rule; the model uses the rule of 2.3.21 and later (C12)",
            clean(&v.text)
        ));
    }
    notes
}

// ---------------------------------------------------------------------------
// Version-dependent fields.

/// The listen() backlog Dovecot asks for (service_get_backlog(), C1).
fn backlog(v: &Version, pool: &Pool) -> (u32, String) {
    const MIN_BACKLOG: u64 = crate::dovecot::MIN_BACKLOG as u64;
    let product = u64::from(pool.process_limit) * u64::from(pool.client_limit);
    let formula = format!(
        "process_limit x client_limit = {} x {} = {product}",
        pool.process_limit, pool.client_limit
    );
    // The same caps as the model applies for master.dovecot_version.
    let (cap, cap_text) = match v.backlog_cap() {
        Some(128) => (
            128,
            "cut to 128, the cap of Dovecot 2.0.0 to 2.0.12".to_string(),
        ),
        Some(511) => (
            511,
            "cut to 511, the cap of Dovecot 2.0.13 to 2.2.25".to_string(),
        ),
        Some(c) => (
            u64::from(c),
            format!("cut to {c}, the cap of this Dovecot version"),
        ),
        None => (i32::MAX as u64, "cut to INT_MAX".to_string()),
    };
    let (value, text) = if product > cap {
        (cap, format!("{formula}, {cap_text}"))
    } else if product < MIN_BACKLOG {
        (
            MIN_BACKLOG,
            format!("{formula}, raised to the minimum of 4"),
        )
    } else if v.at_least(2, 2, 26) {
        (product, format!("{formula}, no cap since 2.2.26"))
    } else {
        (product, format!("{formula}, under the cap of {cap}"))
    };
    (value as u32, text)
}

/// The master's forking (C3): on demand up to 2.4.1; from 2.4.2 the master accepts and
/// forks per connection when client_limit = 1.
fn master_mode(v: &Version, pool: &Pool) -> (&'static str, String, String) {
    let ver = clean(&v.text);
    if !v.at_least(2, 4, 2) {
        (
            "on-demand",
            format!("Dovecot {ver} <= 2.4.1 (C3)"),
            format!(
                "Dovecot {ver} forks on demand: one fork per fork->exec->init->accept round \
                 trip while connections wait (C3): master.mode = \"on-demand\"."
            ),
        )
    } else if pool.client_limit == 1 {
        (
            "per-connection",
            "Dovecot >= 2.4.2 with client_limit = 1 (C3)".to_string(),
            format!(
                "Dovecot {ver} accepts each queued connection in the master and forks a \
                 process for it when client_limit = 1 (commit 4e75476a95, C3): master.mode = \
                 \"per-connection\"; the forks are serialised by the master's own time per \
                 fork (master.fork_time)."
            ),
        )
    } else {
        (
            "on-demand",
            "Dovecot >= 2.4.2, client_limit > 1 (C3)".to_string(),
            format!(
                "Dovecot {ver} pre-accepts in the master only when client_limit = 1; with \
                 client_limit = {} the child accepts, so the master forks on demand as before \
                 2.4.2 (C3): master.mode = \"on-demand\".",
                pool.client_limit
            ),
        )
    }
}

/// What the master does at process_limit (C5).
fn drop_timeout(v: &Version, service: Service) -> (Option<f64>, String, String) {
    let timeout = v.drop_timeout(service == Service::ImapLogin);
    if v.at_least(2, 1, 0) {
        let why = match service {
            Service::Imap => {
                "then accept-and-close of everything queued and of each new \
                connection until a slot frees"
            }
            Service::ImapLogin => {
                "then the master drains the queue; a login service also \
                tells its processes to drop their oldest unauthenticated clients"
            }
        };
        (
            timeout,
            "SERVICE_DROP_TIMEOUT_MSECS (C5)".into(),
            format!(
                "process_limit reached: 10 s without accepting, {why} (C5): drop_timeout = 10."
            ),
        )
    } else {
        match service {
            Service::Imap => (
                timeout,
                "Dovecot 2.0 accepts and closes at once (C5)".into(),
                "process_limit reached: Dovecot 2.0 accepts and closes each new connection \
                 at once, with no 10 s pause (that came with 2.1.0): drop_timeout = 0."
                    .into(),
            ),
            Service::ImapLogin => (
                timeout,
                String::new(),
                "process_limit reached: Dovecot 2.0 stops accepting for a login service until \
                 a slot frees, and drops nothing (the 10 s drop timer came with 2.1.0): no \
                 drop_timeout."
                    .into(),
            ),
        }
    }
}

// ---------------------------------------------------------------------------
// Writing the model.

/// Everything the model's text is written from.
struct Writing<'a> {
    file: &'a str,
    version: &'a Version,
    service: Service,
    pool: &'a Pool,
    /// The other service's settings (the clients of imap, or where imap-login hands over).
    other: &'a Pool,
    unused: &'a [Unused],
    ignored: usize,
    notes: &'a [String],
}

/// Comment width, as in the shipped models.
const WIDTH: usize = 88;

#[derive(Default)]
struct Out(String);

impl Out {
    fn raw(&mut self, line: &str) {
        self.0.push_str(line.trim_end());
        self.0.push('\n');
    }

    /// A comment paragraph wrapped at WIDTH, `first` before its first line, `rest` before the others.
    fn wrap(&mut self, first: &str, rest: &str, text: &str) {
        let mut line = first.to_string();
        let mut has_word = false;
        for word in text.split_whitespace() {
            if has_word && line.chars().count() + 1 + word.chars().count() > WIDTH {
                self.raw(&line);
                line = rest.to_string();
            }
            line.push(' ');
            line.push_str(word);
            has_word = true;
        }
        self.raw(&line);
    }

    fn bullet(&mut self, text: &str) {
        self.wrap("# -", "#  ", text);
    }

    /// `key = value` with its comment in the column the shipped models use.
    fn field(&mut self, kv: &str, comment: &str) {
        if comment.is_empty() {
            self.raw(kv);
        } else if kv.len() < 28 {
            self.raw(&format!("{kv:<28} # {comment}"));
        } else {
            self.raw(&format!("{kv}   # {comment}"));
        }
    }
}

/// A TOML float (always with a point or an exponent).
fn float(x: f64) -> String {
    format!("{x:?}")
}

/// Seconds for prose: `60 s`, `0.5 s`, `never`.
fn secs_text(x: f64) -> String {
    if x == 0.0 {
        "0 (never)".into()
    } else {
        format!("{x} s")
    }
}

fn toml_string(s: &str) -> String {
    toml::Value::String(clean(s)).to_string()
}

fn write_model(c: &Writing) -> String {
    let mut o = Out::default();
    let ver = clean(&c.version.text);
    let file = clean(c.file);
    let name = c.service.name();
    let p = c.pool;
    let q = c.other;
    let sc_key = if c.version.is_2_4() {
        "restart_request_count"
    } else {
        "service_count"
    };
    let idle_key = if c.version.is_2_4() {
        "idle_kill_interval"
    } else {
        "idle_kill"
    };
    let (backlog, backlog_text) = backlog(c.version, p);
    let (mode, mode_comment, mode_text) = master_mode(c.version, p);
    let (drop, drop_comment, drop_text) = drop_timeout(c.version, c.service);
    let slow_fork = c.version.at_least(2, 2, 0) && !c.version.at_least(2, 2, 7);

    o.wrap(
        "#",
        "#",
        &format!(
            "Dovecot {ver} `service {name}`, written by `eagain import doveconf` from {file} \
             (the output of `doveconf -n`)."
        ),
    );
    o.raw("#");
    match c.service {
        Service::Imap => {
            o.raw(
                "# After a user logs in, imap-login connects to the imap service's unix listener",
            );
            o.raw(
                "# login/imap; an imap process with client_limit = 1 is blocked for the whole IMAP",
            );
            o.raw("# session. When its listen queue is full, imap-login logs");
            o.raw("#   net_connect_unix(imap) failed: Resource temporarily unavailable");
            o.raw("# after half a second of retries, and the user is disconnected.");
        }
        Service::ImapLogin => {
            o.raw(
                "# IMAP clients connect over TCP to imap-login (inet_listener imap, port 143, and",
            );
            o.raw("# imaps, port 993, by default). A login process holds up to client_limit");
            o.raw(
                "# connections and serves their short pre-login work (banner, CAPABILITY, LOGIN,",
            );
            o.raw("# the auth round trip, then the hand-over to imap) one after another. When the");
            o.raw("# listen queue is full, the kernel drops the client's SYN and the client");
            o.raw("# retransmits it (B2, B4).");
        }
    }
    o.raw("#");
    o.raw("# Where the numbers come from (../shared/reference/linux-dovecot-gunicorn-nginx.md):");
    o.bullet(&format!(
        "service {name}: process_limit {} ({}), client_limit {} ({}), {sc_key} {} ({}), \
         process_min_avail {} ({}), {idle_key} {} ({}).",
        p.process_limit,
        p.process_limit_from,
        p.client_limit,
        p.client_limit_from,
        p.service_count,
        p.service_count_from,
        p.process_min_avail,
        p.process_min_avail_from,
        secs_text(p.idle_kill),
        p.idle_kill_from,
    ));
    let listeners = match c.service {
        Service::Imap => "",
        Service::ImapLogin => {
            " Each inet listener (imap, imaps) has its own queue of this size; the model \
             simulates one of them."
        }
    };
    o.bullet(&format!(
        "listen backlog = {backlog_text} (C1); the kernel cuts it to somaxconn (A4) and holds \
         one connection more (A1).{listeners}"
    ));
    o.bullet(&mode_text);
    o.bullet(&drop_text);
    match c.service {
        Service::Imap => {
            let high_performance = if q.service_count == 0 {
                format!("; {sc_key} 0 is high-performance mode (C9)")
            } else {
                String::new()
            };
            o.bullet(&format!(
                "the clients are imap-login processes with process_limit {} ({}), client_limit \
                 {} ({}), {sc_key} {} ({}), process_min_avail {} ({}){high_performance}. Their connect is \
                 non-blocking and retries EAGAIN for 500 ms with pauses of 10 to 100 ms, \
                 which block the whole login process and every client it holds (C10): \
                 on_refused = \"retry\", retry_for = 0.5.",
                q.process_limit,
                q.process_limit_from,
                q.client_limit,
                q.client_limit_from,
                q.service_count,
                q.service_count_from,
                q.process_min_avail,
                q.process_min_avail_from,
            ));
            o.bullet(&format!(
                "Not in doveconf, so measure and --set them: the load (rate, duration), the \
                 kernel's somaxconn, the time to \
                 start an imap process{} and the session lengths. The values below are those \
                 of models/dovecot-imap.toml{}; each such line says \"{MEASURE}\".",
                if mode == "per-connection" {
                    ", the master's own time per fork"
                } else {
                    ""
                },
                if slow_fork {
                    " (start-up: models/dovecot-2.2-slow-fork.toml)"
                } else {
                    ""
                },
            ));
        }
        Service::ImapLogin => {
            if p.service_count == 0 {
                o.bullet(&format!(
                    "{sc_key} 0: high-performance mode (C9): a login process never exits and \
                     multiplexes up to client_limit connections."
                ));
            } else if p.service_count == 1 {
                o.bullet(&format!(
                    "{sc_key} 1: high-security mode (C9), one process per connection. With \
                     TLS (imaps or STARTTLS) the login process stays for the whole session as \
                     its TLS proxy: raise work.hold to your session length."
                ));
            }
            o.bullet(&format!(
                "the logins hand over to service imap (process_limit {}, client_limit {}): \
                 model that queue with `eagain import doveconf --service imap`.",
                q.process_limit, q.client_limit
            ));
            o.bullet(&format!(
                "Not in doveconf, so measure and --set them: the load (rate, duration, the \
                 clients' connect timeout), the \
                 kernel's somaxconn, the time to start a login process{} and the work per \
                 login. The values below are those of \
                 models/dovecot-login-high-performance.toml; each such line says \
                 \"{MEASURE}\".",
                if mode == "per-connection" {
                    ", the master's own time per fork"
                } else {
                    ""
                },
            ));
        }
    }
    if !c.notes.is_empty() {
        o.raw("#");
        o.raw("# Notes:");
        for n in c.notes {
            o.bullet(n);
        }
    }
    o.raw("#");
    if c.unused.is_empty() {
        o.raw(
            "# Settings of service imap and service imap-login that the model does not use: none.",
        );
    } else {
        o.wrap(
            "#",
            "#",
            &format!(
                "Settings of service imap and service imap-login that the model does not \
                 use ({}):",
                c.unused.len()
            ),
        );
        for u in c.unused {
            o.wrap("# -", "#  ", &u.describe());
        }
    }
    o.wrap(
        "#",
        "#",
        &format!("{}.", capitalise(&ignored_line(c.ignored))),
    );

    let short = Path::new(c.file)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| c.file.to_string());
    o.raw(&format!(
        "name = {}",
        toml_string(&format!("Dovecot {ver} {name} (imported from {short})"))
    ));
    let description = match c.service {
        Service::Imap => format!(
            "imap-login -> imap over login/imap; from `doveconf -n` in {}",
            c.file
        ),
        Service::ImapLogin => format!(
            "IMAP clients -> imap-login over TCP; from `doveconf -n` in {}",
            c.file
        ),
    };
    o.raw(&format!("description = {}", toml_string(&description)));
    o.raw("");

    o.raw("[load]");
    o.field(
        "arrival = \"poisson\"",
        &format!("independent clients; {MEASURE}"),
    );
    match c.service {
        Service::Imap => {
            o.field(
                "rate = 12.0",
                &format!("logins per second at the peak; {MEASURE}"),
            );
            o.field("duration = 1800.0", &format!("a 30-minute peak; {MEASURE}"));
            o.field(
                "on_refused = \"retry\"",
                "imap-login: net_connect_unix_with_retries() (C10)",
            );
            o.field("retry_for = 0.5", "SOCKET_CONNECT_RETRY_MSECS (C10)");
            o.field(
                "retry_pause = { dist = \"uniform\", low = 0.01, high = 0.1 }",
                "i_rand_minmax(1,10) * 10 ms (C10)",
            );
        }
        Service::ImapLogin => {
            o.field("rate = 400.0", &format!("logins per second; {MEASURE}"));
            o.field("duration = 120.0", &format!("two minutes; {MEASURE}"));
            o.field(
                "connect_timeout = 30.0",
                &format!("a typical IMAP client's connect timeout; {MEASURE}"),
            );
        }
    }
    o.raw("");

    o.raw("[listener]");
    match c.service {
        Service::Imap => o.field("kind = \"unix\"", "login/imap"),
        Service::ImapLogin => o.field("kind = \"tcp\"", "inet_listener imap (port 143)"),
    }
    o.field(&format!("backlog = {backlog}"), &backlog_text);
    o.field(
        "somaxconn = 4096",
        &format!("net.core.somaxconn: 4096 since Linux 5.4, 128 before (A5); {MEASURE}"),
    );
    if c.service == Service::ImapLogin {
        o.field(
            "syn_schedule = \"linux-6.5\"",
            &format!("SYN retransmissions of Linux >= 6.5 (B4); {MEASURE}"),
        );
    }
    o.raw("");

    o.raw("[pool]");
    o.field(
        &format!("process_limit = {}", p.process_limit),
        &p.process_limit_from,
    );
    o.field(
        &format!("client_limit = {}", p.client_limit),
        &p.client_limit_from,
    );
    let sc_comment = match p.service_count {
        0 => format!("{}: never exit", p.service_count_from),
        1 => format!(
            "{}: one connection per process, then exit",
            p.service_count_from
        ),
        n => format!(
            "{}: {n} connections per process, then exit",
            p.service_count_from
        ),
    };
    o.field(&format!("service_count = {}", p.service_count), &sc_comment);
    o.field(
        &format!("process_min_avail = {}", p.process_min_avail),
        &p.process_min_avail_from,
    );
    let idle_comment = if p.idle_kill == 0.0 {
        format!("{}; 0 = never", p.idle_kill_from)
    } else {
        p.idle_kill_from.clone()
    };
    o.field(
        &format!("idle_kill = {}", float(p.idle_kill)),
        &idle_comment,
    );
    o.raw("");

    o.raw("[master]");
    o.field(&format!("mode = \"{mode}\""), &mode_comment);
    o.field(
        &format!("dovecot_version = \"{}\"", c.version.numbers()),
        "doveconf's first line: the backlog cap (C1), the fork mode (C3)",
    );
    if slow_fork && c.service == Service::Imap {
        o.field(
            "startup = { dist = \"lognormal\", mean = 0.5, sd = 0.3 }",
            &format!("fork + init + the slow host name lookup of 2.2.0 to 2.2.6; {MEASURE}"),
        );
    } else {
        o.field(
            "startup = { dist = \"constant\", value = 0.02 }",
            &format!("fork + exec + init (a guess); {MEASURE}"),
        );
    }
    if mode == "per-connection" {
        o.field(
            "fork_time = { dist = \"constant\", value = 0.001 }",
            &format!("the master's own time per fork (a guess); {MEASURE}"),
        );
    }
    match drop {
        Some(d) => o.field(&format!("drop_timeout = {}", float(d)), &drop_comment),
        None => {
            o.raw("# no drop_timeout: Dovecot 2.0 keeps a login service's connections queued (C5)")
        }
    }
    o.raw("");

    o.raw("[work]");
    match c.service {
        Service::Imap => o.field(
            "blocking = { dist = \"lognormal\", mean = 60.0, sd = 120.0 }",
            &format!("session length (a guess); {MEASURE}"),
        ),
        Service::ImapLogin => {
            o.field(
                "blocking = { dist = \"exponential\", mean = 0.003 }",
                &format!("CPU per login (a guess); {MEASURE}"),
            );
            o.field(
                "hold = { dist = \"constant\", value = 0.2 }",
                &format!("connection open until the hand-over (a guess); {MEASURE}"),
            );
        }
    }
    o.raw("");

    o.raw("[sim]");
    o.raw("seed = 1");
    o.raw("replications = 10");
    if c.service == Service::Imap {
        o.field("warmup = 300.0", "let the pool reach its steady size");
    }
    o.0
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(f) => f.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ListenerKind, MasterMode, OnRefused};

    const V23: &str = "# 2.3.19.1 (9b53102964): /etc/dovecot/dovecot.conf\n";

    fn imap(text: &str) -> Imported {
        import(text, "test.conf", Service::Imap).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    fn login(text: &str) -> Imported {
        import(text, "test.conf", Service::ImapLogin).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    fn error(text: &str) -> String {
        match import(text, "test.conf", Service::Imap) {
            Ok(i) => panic!("expected an error, got\n{}", i.toml),
            Err(e) => e.0,
        }
    }

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

    #[test]
    fn comments_outside_quotes_end_the_line() {
        assert_eq!(
            strip_comment("ssl_dh = # hidden, use -P to show it"),
            "ssl_dh = "
        );
        assert_eq!(strip_comment("a = \"x # y\" # z"), "a = \"x # y\" ");
        assert_eq!(unquote("\" imap lmtp\""), " imap lmtp");
    }

    #[test]
    fn empty_config_gives_the_imap_defaults_of_2_3() {
        let i = imap(&format!("{V23}ssl = no\n"));
        let m = &i.model;
        assert_eq!(m.pool.process_limit, 1024);
        assert_eq!(m.pool.client_limit, 1);
        assert_eq!(m.pool.service_count, 1);
        assert_eq!(m.pool.process_min_avail, 0);
        assert_eq!(m.pool.idle_kill, 60.0);
        assert_eq!(m.listener.backlog, 1024);
        assert_eq!(m.listener.kind, ListenerKind::Unix);
        assert_eq!(m.master.mode, MasterMode::OnDemand);
        assert_eq!(m.master.drop_timeout, Some(10.0));
        assert_eq!(m.load.on_refused, OnRefused::Retry);
        assert_eq!(m.load.retry_for, 0.5);
        assert_eq!(i.ignored, 1);
        assert!(i.unused.is_empty());
        assert!(i
            .notes
            .iter()
            .any(|n| n.contains("no `service imap` section")));
    }

    #[test]
    fn written_model_matches_shipped_dovecot_imap_numbers() {
        // The defaults of 2.3.21 must give the pool, listener and master of
        // models/dovecot-imap.toml.
        let i = imap("# 2.3.21 (47349e2482): /etc/dovecot/dovecot.conf\nssl = no\n");
        let shipped = load_str(
            include_str!("../../../models/dovecot-imap.toml"),
            "dovecot-imap.toml",
            Path::new("."),
            &[],
        )
        .unwrap();
        assert_eq!(i.model.pool, shipped.pool);
        assert_eq!(i.model.listener, shipped.listener);
        assert_eq!(i.model.master, shipped.master);
        assert_eq!(i.model.work, shipped.work);
        assert_eq!(i.model.load, shipped.load);
    }

    #[test]
    fn imap_settings_and_login_high_performance_mode_are_read() {
        let text = format!(
            "{V23}service imap-login {{\n  service_count = 0\n  process_min_avail = 4\n}}\n\
             service imap {{\n  process_limit = 512\n}}\n"
        );
        let i = imap(&text);
        assert_eq!(i.model.pool.process_limit, 512);
        assert_eq!(i.model.listener.backlog, 512);
        assert!(i.toml.contains("process_limit = 512          # line 7"));
        assert!(i.toml.contains("high-performance mode"));
        let l = login(&text);
        assert_eq!(l.model.pool.process_limit, 100);
        assert_eq!(l.model.pool.client_limit, 1000);
        assert_eq!(l.model.pool.service_count, 0);
        assert_eq!(l.model.pool.process_min_avail, 4);
        assert_eq!(l.model.listener.kind, ListenerKind::Tcp);
        assert_eq!(l.model.listener.backlog, 100_000);
        assert_eq!(l.model.master.mode, MasterMode::OnDemand);
    }

    #[test]
    fn backlog_is_capped_by_the_version() {
        let cfg = |v: &str, pl: u32, cl: u32| {
            format!(
                "# {v}: /etc/dovecot/dovecot.conf\nservice imap {{\n  process_limit = {pl}\n  \
                 client_limit = {cl}\n}}\n"
            )
        };
        assert_eq!(imap(&cfg("2.0.12", 1024, 1)).model.listener.backlog, 128);
        assert_eq!(imap(&cfg("2.0.13", 1024, 1)).model.listener.backlog, 511);
        assert_eq!(imap(&cfg("2.2.25", 1024, 1)).model.listener.backlog, 511);
        assert_eq!(imap(&cfg("2.2.25.4", 1024, 1)).model.listener.backlog, 511);
        assert_eq!(imap(&cfg("2.2.26", 1024, 1)).model.listener.backlog, 1024);
        assert_eq!(imap(&cfg("2.2.10", 100, 2)).model.listener.backlog, 200);
        assert_eq!(imap(&cfg("2.3.21", 2, 1)).model.listener.backlog, 4);
        assert_eq!(imap(&cfg("2.0.5", 1, 1)).model.listener.backlog, 4);
        let huge = imap(&cfg("2.3.21", 100_000, 100_000));
        assert_eq!(huge.model.listener.backlog, i32::MAX as u32);
    }

    #[test]
    fn dovecot_version_is_recorded_as_dotted_numbers() {
        let i = imap("# 2.4.1-4 (7d8c0e5759): /etc/dovecot/dovecot.conf\nssl = no\n");
        assert_eq!(i.model.master.dovecot_version.as_deref(), Some("2.4.1"));
        let j = imap(&format!("{V23}ssl = no\n"));
        assert_eq!(j.model.master.dovecot_version.as_deref(), Some("2.3.19.1"));
        // The written backlog already has the version's cap: the model's own cut is a no-op.
        let k = imap("# 2.2.10: x\nservice imap {\n  process_limit = 2048\n}\n");
        assert_eq!(k.model.listener.backlog, 511);
        assert_eq!(k.model.listen_backlog(), 511);
    }

    #[test]
    fn master_mode_follows_version_and_client_limit() {
        let cfg = |v: &str, cl: u32| {
            format!("# {v} (x): /etc/dovecot/dovecot.conf\nservice imap {{\n  client_limit = {cl}\n}}\n")
        };
        assert_eq!(
            imap(&cfg("2.4.1", 1)).model.master.mode,
            MasterMode::OnDemand
        );
        let per = imap(&cfg("2.4.2", 1));
        assert_eq!(per.model.master.mode, MasterMode::PerConnection);
        assert!(per.toml.contains("fork_time ="));
        // C3: 2.4.2 pre-accepts only with client_limit = 1; otherwise the child accepts.
        let multi = imap(&cfg("2.4.2", 4));
        assert_eq!(multi.model.master.mode, MasterMode::OnDemand);
        assert!(multi
            .notes
            .iter()
            .any(|n| n.contains("client_limit = 4 for imap")));
        assert_eq!(
            imap(&cfg("2.3.21", 1)).model.master.mode,
            MasterMode::OnDemand
        );
    }

    #[test]
    fn drop_timer_follows_the_version() {
        let imap20 = imap("# 2.0.15: /etc/dovecot/dovecot.conf\nssl = no\n");
        assert_eq!(imap20.model.master.drop_timeout, Some(0.0));
        let login20 = login("# 2.0.15: /etc/dovecot/dovecot.conf\nssl = no\n");
        assert_eq!(login20.model.master.drop_timeout, None);
        let imap21 = imap("# 2.1.0: /etc/dovecot/dovecot.conf\nssl = no\n");
        assert_eq!(imap21.model.master.drop_timeout, Some(10.0));
    }

    #[test]
    fn version_2_4_names_and_unlimited_are_accepted() {
        let text = "# 2.4.2 (0962ed2104): /etc/dovecot/dovecot.conf\n\
                    dovecot_config_version = 2.4.2\n\
                    default_idle_kill_interval = 30 secs\n\
                    service imap {\n  restart_request_count = unlimited\n  \
                    idle_kill_interval = 2 mins\n}\n\
                    service imap-login {\n  restart_request_count = 100\n}\n";
        let i = imap(text);
        assert_eq!(i.model.pool.service_count, 0);
        assert_eq!(i.model.pool.idle_kill, 120.0);
        let l = login(text);
        assert_eq!(l.model.pool.service_count, 100);
        assert_eq!(l.model.pool.idle_kill, 30.0);
        assert_eq!(i.ignored, 0);
    }

    #[test]
    fn service_count_and_restart_request_count_are_one_setting() {
        let text =
            format!("{V23}service imap {{\n  service_count = 5\n  restart_request_count = 7\n}}\n");
        let i = imap(&text);
        assert_eq!(i.model.pool.service_count, 7);
        assert_eq!(i.unused.len(), 1);
        assert_eq!(i.unused[0].line, 3);
        assert!(i.unused[0].why.contains("overridden by line 4"));
    }

    #[test]
    fn zero_limits_mean_the_global_defaults() {
        let text = format!(
            "{V23}default_process_limit = 300\ndefault_client_limit = 50\n\
             default_idle_kill = 5 mins\nservice imap {{\n  process_limit = 0\n  \
             idle_kill = 0\n}}\n"
        );
        let i = imap(&text);
        assert_eq!(i.model.pool.process_limit, 300);
        assert_eq!(i.model.pool.idle_kill, 300.0);
        let l = login(&text);
        assert_eq!(l.model.pool.process_limit, 300);
        assert_eq!(l.model.pool.client_limit, 50);
        assert_eq!(l.model.listener.backlog, 15_000);
    }

    #[test]
    fn idle_kill_infinite_means_never() {
        let i = imap(&format!(
            "{V23}service imap {{\n  idle_kill = infinite\n}}\n"
        ));
        assert_eq!(i.model.pool.idle_kill, 0.0);
    }

    #[test]
    fn unknown_and_unsupported_settings_are_listed_with_their_lines() {
        let text = format!(
            "{V23}mail_location = maildir:~/Maildir\nservice imap {{\n  vsz_limit = 512 M\n  \
             chroot = \n  executable = imap postlogin\n  user = vmail\n  extra_groups = mail\n  \
             drop_priv_before_exec = yes\n  frobnicate = 3\n  unix_listener imap-master {{\n    \
             mode = 0600\n  }}\n}}\nservice imap-login {{\n  inet_listener imaps {{\n    \
             port = 993\n    ssl = yes\n  }}\n}}\nservice auth {{\n  unix_listener auth-userdb {{\n    \
             mode = 0666\n  }}\n}}\n"
        );
        let i = imap(&text);
        let keys: Vec<(usize, &str)> = i.unused.iter().map(|u| (u.line, u.key.as_str())).collect();
        assert_eq!(
            keys,
            vec![
                (4, "vsz_limit"),
                (5, "chroot"),
                (6, "executable"),
                (7, "user"),
                (8, "extra_groups"),
                (9, "drop_priv_before_exec"),
                (10, "frobnicate"),
                (12, "mode"),
                (17, "port"),
                (18, "ssl"),
            ]
        );
        assert!(i.unused[6].why.contains("unknown to eagain"));
        assert_eq!(
            i.unused[7].describe(),
            "line 12: service imap { unix_listener imap-master { mode = 0600 } }: \
             socket file and permissions: no effect on the queue"
        );
        // mail_location and the auth listener's mode are outside the two services.
        assert_eq!(i.ignored, 2);
        for u in &i.unused {
            assert!(i.toml.contains(&format!("line {}: ", u.line)), "{}", i.toml);
        }
        assert!(i.toml.contains("Ignored 2 settings outside service imap"));
    }

    #[test]
    fn missing_protocol_imap_is_a_note() {
        let i = imap(&format!("{V23}protocols = pop3 lmtp\n"));
        assert!(i.notes.iter().any(|n| n.contains("does not enable imap")));
        let j = imap(&format!("{V23}protocols = \" imap lmtp\"\n"));
        assert!(!j.notes.iter().any(|n| n.contains("does not enable imap")));
    }

    #[test]
    fn every_unknowable_field_says_measure_and_set() {
        for i in [
            imap(&format!("{V23}ssl = no\n")),
            login(&format!("{V23}ssl = no\n")),
            imap("# 2.4.2: x\nssl = no\n"),
        ] {
            for key in [
                "rate =",
                "duration =",
                "arrival =",
                "startup =",
                "blocking =",
                "somaxconn =",
            ] {
                let line = i.toml.lines().find(|l| l.starts_with(key)).unwrap();
                assert!(line.contains(MEASURE), "{line}");
            }
        }
    }

    #[test]
    fn wrong_kind_of_value_names_the_line_and_what_is_allowed() {
        let e = error(&format!(
            "{V23}service imap {{\n  process_limit = lots\n}}\n"
        ));
        assert!(
            e.starts_with("test.conf line 3: `process_limit = lots` in `service imap`"),
            "{e}"
        );
        assert!(e.contains("whole number of processes"), "{e}");
        let e = error(&format!(
            "{V23}service imap-login {{\n  service_count = once\n}}\n"
        ));
        assert!(
            e.starts_with("test.conf line 3: `service_count = once`"),
            "{e}"
        );
        let e = error(&format!("{V23}service imap {{\n  idle_kill = soon\n}}\n"));
        assert!(e.contains("line 3") && e.contains("a time such as"), "{e}");
        let e = error(&format!(
            "{V23}service imap {{\n  client_limit = 99999999999\n}}\n"
        ));
        assert!(e.contains("at most 4294967295"), "{e}");
        let e = error(&format!("{V23}default_process_limit = -1\n"));
        assert!(e.starts_with("test.conf line 2:"), "{e}");
    }

    #[test]
    fn settings_the_model_cannot_represent_are_refused() {
        let e = error(&format!(
            "{V23}service imap {{\n  process_limit = 8\n  process_min_avail = 9\n}}\n"
        ));
        assert!(e.starts_with("test.conf line 4:"), "{e}");
        assert!(e.contains("higher than its process_limit (8"), "{e}");
        let e = error(&format!("{V23}default_client_limit = 0\n"));
        // imap has its own client_limit 1; imap-login falls back on the global 0.
        assert!(e.contains("line 2") && e.contains("client_limit"), "{e}");
        let e = error("# 1.2.17: /etc/dovecot.conf\nprotocols = imap\n");
        assert!(e.contains("line 1") && e.contains("2.0"), "{e}");
    }

    #[test]
    fn text_that_is_not_doveconf_output_is_refused_with_its_line() {
        let e = error(&format!("{V23}service imap {{\n  process_limit = 5\n"));
        assert!(
            e.starts_with("test.conf line 2:") && e.contains("never closed"),
            "{e}"
        );
        let e = error(&format!("{V23}ssl = no\n}}\n"));
        assert!(
            e.starts_with("test.conf line 3:") && e.contains("closes no section"),
            "{e}"
        );
        let e = error("# a model\nname = \"x\"\n\n[load]\nrate = 1.0\n");
        assert!(
            e.starts_with("test.conf line 4:") && e.contains("TOML"),
            "{e}"
        );
        let e = error("Dear admin,\nthe mail server is slow today.\n");
        assert!(
            e.starts_with("test.conf line 1:") && e.contains("not a doveconf line"),
            "{e}"
        );
        let e = error("");
        assert!(e.contains("empty"), "{e}");
        let e = error("# 2.3.19.1 (9b53102964): /etc/dovecot/dovecot.conf\n# only comments\n");
        assert!(e.contains("no settings"), "{e}");
        let e = error("ssl = no\n");
        assert!(
            e.starts_with("test.conf line 1:") && e.contains("version"),
            "{e}"
        );
        let e = error(&format!("{V23}!include conf.d/*.conf\n"));
        assert!(
            e.contains("line 2") && e.contains("dovecot.conf itself"),
            "{e}"
        );
    }

    #[test]
    fn byte_order_mark_and_crlf_line_ends_are_accepted() {
        let i = imap("\u{feff}# 2.3.21 (x): /etc/dovecot/dovecot.conf\r\nservice imap {\r\n  process_limit = 64\r\n}\r\n");
        assert_eq!(i.model.pool.process_limit, 64);
        assert!(i.toml.contains("# line 3"));
    }

    #[test]
    fn version_can_come_from_dovecot_config_version() {
        let i = imap("dovecot_config_version = 2.4.2\nssl = no\n");
        assert_eq!(i.version.parts, [2, 4, 2, 0]);
        assert_eq!(i.model.master.mode, MasterMode::PerConnection);
    }

    #[test]
    fn slow_fork_versions_get_the_slow_start_up() {
        let i = imap("# 2.2.5: /etc/dovecot/dovecot.conf\nssl = no\n");
        assert!(i.toml.contains("slow host name lookup"));
        assert_eq!(i.model.master.startup.mean(), 0.5);
        let j = imap("# 2.2.10: /etc/dovecot/dovecot.conf\nssl = no\n");
        assert_eq!(j.model.master.startup.mean(), 0.02);
    }

    #[test]
    fn names_with_quotes_and_odd_characters_stay_valid_toml() {
        let i = import(
            &format!("{V23}ssl = no\n"),
            "dir/we\"ird\tname.conf",
            Service::Imap,
        )
        .unwrap();
        assert!(i.model.name.contains("we\"ird"));
    }
}
