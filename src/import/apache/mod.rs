//! `eagain import apache`: a model of Apache httpd 2.4's MPM from its configuration:
//! Debian's mods-available/mpm_prefork.conf, mpm_event.conf or mpm_worker.conf, or a
//! whole apache2.conf.
//!
//! `parse` reads the directives with their lines and sections; this file finds which
//! MPM the file configures (the `<IfModule mpm_*_module>` sections it has, else the one
//! the server loads: a `LoadModule` line or Debian's `mods-enabled/mpm_*.load` beside
//! the file, else prefork) and reads that MPM's directives (case-insensitive, with
//! their old names MaxClients and MaxRequestsPerChild) at the top level or inside its
//! `<IfModule>`; `resolve` fills in Apache 2.4's defaults and applies what the MPM does
//! to them at start-up (semantics: apache-defaults, apache-server-limit), each change a
//! note; `write` writes the commented model. Prefork is modelled as it is; worker and
//! event as ThreadsPerChild threads a process under the same spare-server master, its
//! spare thread counts turned into processes, an approximation the model says loudly
//! (semantics: apache-event-pool). Directives for other MPMs, `Include` lines (not
//! followed) and the keep-alive settings are listed with their lines; the rest of a
//! whole apache2.conf is only counted.

mod parse;
mod resolve;
mod write;

use crate::error::BadInput;
use crate::import::common::{load_written, Imported, LeftOut, Notation, Setting, Unused};
use crate::import::server::summary;
use crate::import::skeleton::write_model;
use crate::import::text::snippet;
use parse::{parse, Directive, Open, SHAPE};
use std::path::Path;

/// The mark on every model line whose value the configuration cannot know.
pub const MEASURE: &str = "not in the Apache configuration: measure and --set";

/// How the file writes a setting.
const SEP: &str = " ";

/// Apache's multi-processing modules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mpm {
    /// One connection a child process.
    Prefork,
    /// ThreadsPerChild threads a child, each with one connection.
    Worker,
    /// As worker, with keep-alive connections held without a thread.
    Event,
}

impl Mpm {
    const ALL: [Mpm; 3] = [Mpm::Prefork, Mpm::Worker, Mpm::Event];

    pub(super) fn name(self) -> &'static str {
        match self {
            Mpm::Prefork => "prefork",
            Mpm::Worker => "worker",
            Mpm::Event => "event",
        }
    }

    /// Its module, as `LoadModule` and `<IfModule>` name it.
    fn module(self) -> &'static str {
        match self {
            Mpm::Prefork => "mpm_prefork_module",
            Mpm::Worker => "mpm_worker_module",
            Mpm::Event => "mpm_event_module",
        }
    }

    /// Whether a child runs several threads.
    pub(super) fn threaded(self) -> bool {
        self != Mpm::Prefork
    }

    /// The MPM an `<IfModule ARG>` or `LoadModule ARG` names (lower case, unquoted).
    fn of_module(arg: &str) -> Option<Mpm> {
        Mpm::ALL.into_iter().find(|m| {
            let short = m.name();
            arg == m.module() || arg == format!("{short}.c") || arg == format!("mod_mpm_{short}.c")
        })
    }
}

/// MPMs eagain does not model: their sections are listed, never read.
const FOREIGN_MPMS: &[&str] = &["mpm_winnt_module", "mpm_netware_module", "mpmt_os2_module"];

/// The MPM the server loads, and how that is known.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Enabled {
    pub(super) mpm: Mpm,
    /// `line 12: LoadModule mpm_event_module`, `/etc/apache2/mods-enabled/mpm_event.load`.
    pub(super) by: String,
}

/// Reads an Apache configuration from disk and writes the model of its MPM.
pub fn import_file(file: &Path) -> Result<Imported, BadInput> {
    let name = file.display().to_string();
    let text = super::read_text(
        file,
        "Apache configuration",
        "Give a file such as /etc/apache2/mods-available/mpm_prefork.conf or apache2.conf.",
        &format!("so it is not an Apache configuration: {SHAPE}."),
    )?;
    import(&text, &name, &mods_enabled(file))
}

/// Debian's `mods-enabled/mpm_*.load` beside the file (apache2.conf's folder), or beside
/// the folder it is in (mods-available/mpm_prefork.conf): the MPMs the server loads.
fn mods_enabled(file: &Path) -> Vec<Enabled> {
    let Some(dir) = file.parent() else {
        return Vec::new();
    };
    let mut places = vec![dir.join("mods-enabled")];
    if dir
        .file_name()
        .is_some_and(|n| n == "mods-available" || n == "mods-enabled")
    {
        if let Some(up) = dir.parent() {
            places.push(up.join("mods-enabled"));
        }
    }
    for place in places {
        let Ok(entries) = std::fs::read_dir(&place) else {
            continue;
        };
        let mut found: Vec<Enabled> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let short = name.strip_prefix("mpm_")?.strip_suffix(".load")?;
                let mpm = Mpm::ALL.into_iter().find(|m| m.name() == short)?;
                Some(Enabled {
                    mpm,
                    by: place.join(&name).display().to_string(),
                })
            })
            .collect();
        found.sort_by(|a, b| a.by.cmp(&b.by));
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}

/// Where a directive is, for what the import does with it.
enum Context<'a> {
    /// The top level or the modelled MPM's `<IfModule>`: read.
    Read,
    /// Inside another MPM's `<IfModule>`: listed.
    OtherMpm(&'a Open),
    /// Inside any other section: listed if it is one of the MPMs', else counted.
    Elsewhere(&'a Open),
}

/// The MPM of an `<IfModule>` section: Some(Some(mpm)) for one eagain models,
/// Some(None) for a foreign one, None for a section that is not an MPM's.
fn section_mpm(o: &Open) -> Option<Option<Mpm>> {
    if !o.kind.eq_ignore_ascii_case("IfModule") {
        return None;
    }
    let arg = o.arg.trim_matches('"').to_ascii_lowercase();
    match Mpm::of_module(&arg) {
        Some(m) => Some(Some(m)),
        None if FOREIGN_MPMS.contains(&arg.as_str()) => Some(None),
        None => None,
    }
}

fn context(d: &Directive, mpm: Mpm) -> Context<'_> {
    for o in &d.within {
        match section_mpm(o) {
            Some(Some(m)) if m == mpm => {}
            Some(_) => return Context::OtherMpm(o),
            None => return Context::Elsewhere(o),
        }
    }
    Context::Read
}

/// The directives the model reads, by their current names (the old ones map here):
/// those of every MPM, then those of prefork only and of the threaded ones only.
fn canonical(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_lowercase().as_str() {
        "startservers" => "StartServers",
        "maxrequestworkers" | "maxclients" => "MaxRequestWorkers",
        "serverlimit" => "ServerLimit",
        "maxconnectionsperchild" | "maxrequestsperchild" => "MaxConnectionsPerChild",
        "listenbacklog" => "ListenBacklog",
        "listen" => "Listen",
        "minspareservers" => "MinSpareServers",
        "maxspareservers" => "MaxSpareServers",
        "threadsperchild" => "ThreadsPerChild",
        "threadlimit" => "ThreadLimit",
        "minsparethreads" => "MinSpareThreads",
        "maxsparethreads" => "MaxSpareThreads",
        _ => return None,
    })
}

/// Whether `mpm` reads the directive `name` (a canonical name).
fn reads(mpm: Mpm, name: &str) -> bool {
    match name {
        "MinSpareServers" | "MaxSpareServers" => !mpm.threaded(),
        "ThreadsPerChild" | "ThreadLimit" | "MinSpareThreads" | "MaxSpareThreads" => mpm.threaded(),
        _ => true,
    }
}

/// Why a directive that concerns the queue is not in the model of `mpm`; None: one the
/// model does not need (counted).
fn reason(name: &str, mpm: Mpm) -> Option<&'static str> {
    Some(match name.to_ascii_lowercase().as_str() {
        "include" | "includeoptional" => {
            "not followed: import the file it names (for Debian, \
             mods-available/mpm_prefork.conf) if it holds prefork's directives"
        }
        "keepalive" | "keepalivetimeout" | "maxkeepaliverequests" if mpm == Mpm::Event => {
            "the event MPM keeps a connection waiting in keep-alive without a thread \
             (eagain semantics: apache-event-accept): not modelled"
        }
        "keepalive" | "keepalivetimeout" | "maxkeepaliverequests" => {
            "keep-alive holds a child up to KeepAliveTimeout after a response: not \
             modelled; add it to work.blocking (eagain semantics: apache-keepalive)"
        }
        "timeout" => "bounds slow reads and writes: not modelled",
        "asyncrequestworkerfactor" if mpm == Mpm::Event => {
            "the connections a child takes beyond its threads while others wait in \
             keep-alive: not modelled (eagain semantics: apache-event-accept)"
        }
        "threadsperchild"
        | "minsparethreads"
        | "maxsparethreads"
        | "threadlimit"
        | "asyncrequestworkerfactor"
            if !mpm.threaded() =>
        {
            "for the threaded MPMs (worker, event); prefork has one thread a child"
        }
        "asyncrequestworkerfactor" => "for the event MPM only",
        "minspareservers" | "maxspareservers" if mpm.threaded() => {
            "for prefork; the threaded MPMs keep spare threads (MinSpareThreads, \
             MaxSpareThreads)"
        }
        "listencoresbucketsratio" => {
            "SO_REUSEPORT buckets, one queue each: not modelled (the model has one queue)"
        }
        "acceptfilter" => {
            "the accept filter (TCP_DEFER_ACCEPT): a client that sends nothing is not \
             queued (eagain semantics: apache-defer-accept)"
        }
        _ => return None,
    })
}

/// The directive as a setting, for the lists.
fn setting(d: &Directive) -> Setting {
    Setting {
        line: d.line,
        sections: d.within.last().map(Open::title).into_iter().collect(),
        key: d.name.clone(),
        value: d.args.clone(),
    }
}

/// The MPM a `LoadModule` line loads, if it is one.
fn loaded_mpm(d: &Directive) -> Option<Enabled> {
    if !d.name.eq_ignore_ascii_case("LoadModule") {
        return None;
    }
    let module = d.args.split_whitespace().next()?.to_ascii_lowercase();
    let mpm = Mpm::of_module(&module)?;
    Some(Enabled {
        mpm,
        by: format!("line {}: LoadModule {}", d.line, mpm.module()),
    })
}

/// The MPM to model, and the notes on how it was chosen: the MPM whose `<IfModule>`
/// sections the file has (prefork first when it has several), else the one the server
/// loads, else a threaded one when the thread directives are at the top level, else
/// prefork (semantics: apache-defaults). The loaded MPM, when known, is always said.
fn choose_mpm(directives: &[Directive], on_disk: &[Enabled], notes: &mut Vec<String>) -> Mpm {
    // The MPMs whose sections the file has, and whose own directives it has at the top.
    let mut sections: Vec<Mpm> = Vec::new();
    let (mut prefork_at_top, mut threads_at_top) = (false, false);
    let mut loaded: Vec<Enabled> = Vec::new();
    for d in directives {
        if let Some(e) = loaded_mpm(d) {
            loaded.push(e);
        }
        let mpm = d.within.iter().find_map(|o| section_mpm(o).flatten());
        match mpm {
            Some(m) if !sections.contains(&m) => sections.push(m),
            Some(_) => {}
            None if d.within.is_empty() => {
                if let Some(n) = canonical(&d.name) {
                    prefork_at_top |= !reads(Mpm::Event, n);
                    threads_at_top |= !reads(Mpm::Prefork, n);
                }
            }
            None => {}
        }
    }
    // A LoadModule line in the file is what this server loads; else mods-enabled/.
    let enabled: &[Enabled] = if loaded.is_empty() { on_disk } else { &loaded };
    let enabled = match enabled {
        [] => None,
        [one] => Some(one),
        several => {
            notes.push(format!(
                "more than one MPM is loaded ({}), which Apache refuses; the model follows \
                 the file's own directives.",
                several
                    .iter()
                    .map(|e| format!("mpm_{} by {}", e.mpm.name(), e.by))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            None
        }
    };
    // What the file configures: its sections, else what its top-level directives are for.
    let configured: Vec<Mpm> = if !sections.is_empty() {
        sections.clone()
    } else {
        let threaded = match enabled {
            Some(e) if e.mpm.threaded() => e.mpm,
            _ => Mpm::Event,
        };
        [(prefork_at_top, Mpm::Prefork), (threads_at_top, threaded)]
            .into_iter()
            .filter_map(|(at_top, m)| at_top.then_some(m))
            .collect()
    };
    let chosen = match (enabled, configured.as_slice()) {
        (Some(e), c) if c.is_empty() || c.contains(&e.mpm) => e.mpm,
        (_, []) => Mpm::Prefork,
        (_, c) => [Mpm::Prefork, Mpm::Event, Mpm::Worker]
            .into_iter()
            .find(|m| c.contains(m))
            .unwrap_or(Mpm::Prefork),
    };
    match enabled {
        Some(e) if e.mpm == chosen => notes.push(format!(
            "mpm_{} is the MPM this server loads ({}): the model is of {}.",
            e.mpm.name(),
            snippet(&e.by),
            e.mpm.name()
        )),
        Some(e) => notes.push(format!(
            "mpm_{} is the MPM this server loads ({}), but this file configures {}: the \
             model is of {}. Import mods-available/mpm_{}.conf for the MPM that runs.",
            e.mpm.name(),
            snippet(&e.by),
            chosen.name(),
            chosen.name(),
            e.mpm.name()
        )),
        None if sections.len() > 1 => notes.push(format!(
            "this file has the sections of several MPMs ({}) and does not say which one \
             the server loads: the model is of {}.",
            sections
                .iter()
                .map(|m| m.name())
                .collect::<Vec<_>>()
                .join(", "),
            chosen.name()
        )),
        None if sections.is_empty() && configured == [Mpm::Event] => notes.push(
            "thread directives at the top level and no MPM named: the model is of a \
             threaded MPM (event; worker is modelled alike)."
                .into(),
        ),
        None => {}
    }
    chosen
}

/// Reads an Apache configuration's text (`file` names it in messages) and writes the
/// model of its MPM; `on_disk` are the MPMs Debian's mods-enabled/ beside it loads.
pub fn import(text: &str, file: &str, on_disk: &[Enabled]) -> Result<Imported, BadInput> {
    let directives = parse(text, file)?;
    let mut unused = Vec::new();
    let mut notes = Vec::new();
    let mpm = choose_mpm(&directives, on_disk, &mut notes);
    let mut ignored = 0;
    // The last one of each wins, as in Apache; earlier ones are listed.
    let mut read: Vec<(&'static str, Setting)> = Vec::new();
    let mut listens: Vec<Setting> = Vec::new();
    for d in &directives {
        let s = setting(d);
        let name = canonical(&d.name).filter(|n| reads(mpm, n));
        match (context(d, mpm), name) {
            (Context::Read, Some("Listen")) => listens.push(s),
            (Context::Read, Some(name)) => {
                if let Some(i) = read.iter().position(|(n, _)| *n == name) {
                    let old = read.remove(i).1;
                    unused.push(Unused::new(
                        &old,
                        format!("given again on line {}, which wins", d.line),
                    ));
                }
                read.push((name, s));
            }
            (Context::Read, None) => match reason(&d.name, mpm) {
                Some(why) => unused.push(Unused::new(&s, why)),
                None => ignored += 1,
            },
            (Context::OtherMpm(o), _) => unused.push(Unused::new(
                &s,
                format!(
                    "for another MPM ({}, line {}): the model is of {}",
                    o.title(),
                    o.line,
                    mpm.name()
                ),
            )),
            (Context::Elsewhere(o), name) => {
                if name.is_some() || reason(&d.name, mpm).is_some() {
                    unused.push(Unused::new(
                        &s,
                        format!(
                            "inside {} (line {}): eagain reads {}'s directives at the top \
                             level or in <IfModule {}> only",
                            o.title(),
                            o.line,
                            mpm.name(),
                            mpm.module()
                        ),
                    ));
                } else {
                    ignored += 1;
                }
            }
        }
    }
    let get = |name: &str| read.iter().find(|(n, _)| *n == name).map(|(_, s)| s);
    let conf = resolve::resolve(mpm, &get, &listens, file, &mut unused, &mut notes)?;
    if read.is_empty() {
        notes.push(none_given(mpm));
    }
    if let Some(t) = &conf.threads {
        notes.push(format!(
            "APPROXIMATED: {} keeps MinSpareThreads to MaxSpareThreads idle threads; the \
             model's master counts idle processes, so it keeps {} to {} idle processes of \
             {} threads ({} to {} threads rounded to processes; eagain semantics: \
             apache-event-pool), and under a moderate load it forks sooner, and retires \
             later, than the server.",
            mpm.name(),
            conf.min_spare.value,
            conf.max_spare.value,
            t.per_child.value,
            t.min_spare.value,
            t.max_spare.value
        ));
    }
    unused.sort_by_key(|u| u.setting.line);
    let what = format!("Apache {}", mpm.name());
    let left_out = LeftOut {
        part: what.clone(),
        part_in_report: format!("of {what}"),
        unused,
        ignored,
        ignored_place: format!(
            "that do not concern {}'s processes or its listener",
            mpm.name()
        ),
        notation: Notation::Directive,
    };
    let toml = write_model(&write::Writing {
        file,
        conf: &conf,
        left_out: &left_out,
        notes: &notes,
    });
    let model = load_written(&toml, file, &format!("the {} directives", mpm.name()), true)?;
    Ok(Imported {
        summary: vec![summary(file, &what, &model)],
        toml,
        beside: Vec::new(),
        warnings: Vec::new(),
        notes,
        left_out: Some(left_out),
    })
}

/// The note for a file with none of the MPM's own directives.
fn none_given(mpm: Mpm) -> String {
    let directives = match mpm {
        Mpm::Prefork => {
            "StartServers, MinSpareServers, MaxSpareServers, MaxRequestWorkers, \
             MaxConnectionsPerChild"
        }
        Mpm::Worker | Mpm::Event => {
            "StartServers, MinSpareThreads, MaxSpareThreads, ThreadsPerChild, \
             MaxRequestWorkers, MaxConnectionsPerChild"
        }
    };
    format!(
        "none of {}'s directives ({directives}) is in this file: the model has Apache \
         2.4's defaults. Debian keeps them in mods-available/mpm_{}.conf; import that file.",
        mpm.name(),
        mpm.name()
    )
}

#[cfg(test)]
mod tests;
