//! `eagain import apache`: a model of Apache httpd 2.4's prefork MPM from its
//! configuration: Debian's mods-available/mpm_prefork.conf, or a whole apache2.conf.
//!
//! `parse` reads the directives with their lines and sections; this file reads
//! prefork's directives (case-insensitive, with their old names MaxClients and
//! MaxRequestsPerChild) at the top level or inside `<IfModule mpm_prefork_module>`,
//! fills in Apache 2.4's defaults, and applies what prefork.c does to them at start-up
//! (MaxRequestWorkers clamped to ServerLimit, MaxSpareServers raised above
//! MinSpareServers; semantics: apache-defaults, apache-server-limit), each change a note;
//! `write` writes the commented model. Directives for other MPMs, `Include` lines (not
//! followed) and the keep-alive settings are listed with their lines; the rest of a
//! whole apache2.conf is only counted.

mod parse;
mod write;

use crate::error::BadInput;
use crate::import::common::{
    bad_line, load_written, Imported, LeftOut, Notation, Setting, Sourced, Unused,
};
use crate::import::server::{summary, uint};
use crate::import::skeleton::write_model;
use crate::import::text::{clean, snippet};
use parse::{parse, Directive, Open, SHAPE};
use std::path::Path;

/// The mark on every model line whose value the configuration cannot know.
pub const MEASURE: &str = "not in the Apache configuration: measure and --set";

/// How the file writes a setting.
const SEP: &str = " ";

/// DEFAULT_SERVER_LIMIT and MAX_SERVER_LIMIT of prefork (semantics: apache-defaults).
const DEFAULT_SERVER_LIMIT: u32 = 256;
const MAX_SERVER_LIMIT: u32 = 200_000;

/// DEFAULT_LISTENBACKLOG (semantics: apache-backlog).
const DEFAULT_BACKLOG: u32 = 511;

const DEFAULT: &str = "Apache 2.4's default";

/// The first `Listen`.
#[derive(Debug, Clone)]
pub(super) struct Listen {
    pub(super) address: String,
    pub(super) line: usize,
}

/// prefork's settings after Apache's defaults and its start-up adjustments.
#[derive(Debug, Clone)]
pub(super) struct Prefork {
    pub(super) start: Sourced<u32>,
    pub(super) min_spare: Sourced<u32>,
    pub(super) max_spare: Sourced<u32>,
    pub(super) max_workers: Sourced<u32>,
    pub(super) server_limit: Sourced<u32>,
    pub(super) per_child: Sourced<u32>,
    pub(super) backlog: Sourced<u32>,
    pub(super) listen: Option<Listen>,
}

/// Reads an Apache configuration from disk and writes the model of its prefork MPM.
pub fn import_file(file: &Path) -> Result<Imported, BadInput> {
    let name = file.display().to_string();
    let text = super::read_text(
        file,
        "Apache configuration",
        "Give a file such as /etc/apache2/mods-available/mpm_prefork.conf or apache2.conf.",
        &format!("so it is not an Apache configuration: {SHAPE}."),
    )?;
    import(&text, &name)
}

/// Where a directive is, for what the import does with it.
enum Context<'a> {
    /// The top level or `<IfModule mpm_prefork_module>`: read.
    Prefork,
    /// Inside another MPM's `<IfModule>`: listed.
    OtherMpm(&'a Open),
    /// Inside any other section: listed if it is one of prefork's, else counted.
    Elsewhere(&'a Open),
}

const PREFORK_MODULES: &[&str] = &["mpm_prefork_module", "prefork.c", "mod_mpm_prefork.c"];
const OTHER_MPMS: &[&str] = &[
    "mpm_event_module",
    "mpm_worker_module",
    "event.c",
    "worker.c",
    "mod_mpm_event.c",
    "mod_mpm_worker.c",
    "mpm_winnt_module",
    "mpm_netware_module",
    "mpmt_os2_module",
];

fn context(d: &Directive) -> Context<'_> {
    for o in &d.within {
        let arg = o.arg.trim_matches('"').to_ascii_lowercase();
        if !o.kind.eq_ignore_ascii_case("IfModule") {
            return Context::Elsewhere(o);
        }
        if OTHER_MPMS.contains(&arg.as_str()) {
            return Context::OtherMpm(o);
        }
        if !PREFORK_MODULES.contains(&arg.as_str()) {
            return Context::Elsewhere(o);
        }
    }
    Context::Prefork
}

/// The directives the model reads, by their current names (the old ones map here).
fn canonical(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_lowercase().as_str() {
        "startservers" => "StartServers",
        "minspareservers" => "MinSpareServers",
        "maxspareservers" => "MaxSpareServers",
        "maxrequestworkers" | "maxclients" => "MaxRequestWorkers",
        "serverlimit" => "ServerLimit",
        "maxconnectionsperchild" | "maxrequestsperchild" => "MaxConnectionsPerChild",
        "listenbacklog" => "ListenBacklog",
        "listen" => "Listen",
        _ => return None,
    })
}

/// Why a top-level directive that concerns the queue is not in the model; None: one
/// the model does not need (counted).
fn reason(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_lowercase().as_str() {
        "include" | "includeoptional" => {
            "not followed: import the file it names (for Debian, \
             mods-available/mpm_prefork.conf) if it holds prefork's directives"
        }
        "keepalive" | "keepalivetimeout" | "maxkeepaliverequests" => {
            "keep-alive holds a child up to KeepAliveTimeout after a response: not \
             modelled; add it to work.blocking (eagain semantics: apache-keepalive)"
        }
        "timeout" => "bounds slow reads and writes: not modelled",
        "threadsperchild"
        | "minsparethreads"
        | "maxsparethreads"
        | "threadlimit"
        | "asyncrequestworkerfactor" => {
            "for the threaded MPMs (worker, event); prefork has one thread a child"
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

/// Reads an Apache configuration's text (`file` names it in messages) and writes the
/// model of its prefork MPM.
pub fn import(text: &str, file: &str) -> Result<Imported, BadInput> {
    let directives = parse(text, file)?;
    let mut unused = Vec::new();
    let mut notes = Vec::new();
    let mut ignored = 0;
    // The last one of each wins, as in Apache; earlier ones are listed.
    let mut read: Vec<(&'static str, Setting)> = Vec::new();
    let mut listens: Vec<Setting> = Vec::new();
    for d in &directives {
        let s = setting(d);
        match (context(d), canonical(&d.name)) {
            (Context::Prefork, Some("Listen")) => listens.push(s),
            (Context::Prefork, Some(name)) => {
                if let Some(i) = read.iter().position(|(n, _)| *n == name) {
                    let old = read.remove(i).1;
                    unused.push(Unused::new(
                        &old,
                        format!("given again on line {}, which wins", d.line),
                    ));
                }
                read.push((name, s));
            }
            (Context::Prefork, None) => match reason(&d.name) {
                Some(why) => unused.push(Unused::new(&s, why)),
                None => {
                    if d.name.eq_ignore_ascii_case("LoadModule") {
                        mpm_note(d, &mut notes);
                    }
                    ignored += 1;
                }
            },
            (Context::OtherMpm(o), _) => unused.push(Unused::new(
                &s,
                format!(
                    "for another MPM ({}, line {}): eagain models prefork",
                    o.title(),
                    o.line
                ),
            )),
            (Context::Elsewhere(o), name) => {
                if name.is_some() || reason(&d.name).is_some() {
                    unused.push(Unused::new(
                        &s,
                        format!(
                            "inside {} (line {}): eagain reads prefork's directives at the \
                             top level or in <IfModule mpm_prefork_module> only",
                            o.title(),
                            o.line
                        ),
                    ));
                } else {
                    ignored += 1;
                }
            }
        }
    }
    let get = |name: &str| read.iter().find(|(n, _)| *n == name).map(|(_, s)| s);
    let prefork = resolve(&get, &listens, file, &mut unused, &mut notes)?;
    if read.is_empty() {
        notes.push(
            "none of prefork's directives (StartServers, MinSpareServers, MaxSpareServers, \
             MaxRequestWorkers, MaxConnectionsPerChild) is in this file: the model has Apache \
             2.4's defaults. Debian keeps them in mods-available/mpm_prefork.conf; import \
             that file."
                .into(),
        );
    }
    unused.sort_by_key(|u| u.setting.line);
    let left_out = LeftOut {
        part: "Apache prefork".into(),
        part_in_report: "of Apache prefork".into(),
        unused,
        ignored,
        ignored_place: "that do not concern prefork's processes or its listener".into(),
        notation: Notation::Directive,
    };
    let toml = write_model(&write::Writing {
        file,
        prefork: &prefork,
        left_out: &left_out,
        notes: &notes,
    });
    let model = load_written(&toml, file, "the prefork directives", true)?;
    Ok(Imported {
        summary: vec![summary(file, "Apache prefork", &model)],
        toml,
        beside: Vec::new(),
        warnings: Vec::new(),
        notes,
        left_out: Some(left_out),
    })
}

/// `LoadModule mpm_event_module ...`: this server runs another MPM.
fn mpm_note(d: &Directive, notes: &mut Vec<String>) {
    let module = d.args.split_whitespace().next().unwrap_or("");
    if module.starts_with("mpm_") && module != "mpm_prefork_module" {
        notes.push(format!(
            "line {}: `LoadModule {}`: this configuration loads another MPM than prefork, \
             and the model is of prefork.",
            d.line,
            snippet(module)
        ));
    }
}

/// Apache's defaults for what is not given, and prefork.c's start-up adjustments.
fn resolve<'a>(
    get: &dyn Fn(&str) -> Option<&'a Setting>,
    listens: &[Setting],
    file: &str,
    unused: &mut Vec<Unused>,
    notes: &mut Vec<String>,
) -> Result<Prefork, BadInput> {
    let number = |name: &str, default: u32| -> Result<Sourced<u32>, BadInput> {
        Ok(match get(name) {
            Some(s) => Sourced::given(s, uint(file, s, SEP, "a whole number")?),
            None => Sourced::default(default, DEFAULT),
        })
    };
    let mut server_limit = number("ServerLimit", DEFAULT_SERVER_LIMIT)?;
    if server_limit.value > MAX_SERVER_LIMIT {
        notes.push(format!(
            "ServerLimit {} ({}) is above prefork's MAX_SERVER_LIMIT: Apache lowers it to \
             {MAX_SERVER_LIMIT}.",
            server_limit.value,
            server_limit.from()
        ));
        server_limit = Sourced::derived(
            MAX_SERVER_LIMIT,
            format!("{}, lowered to MAX_SERVER_LIMIT", server_limit.from()),
        );
    } else if server_limit.value == 0 {
        notes.push(format!(
            "ServerLimit 0 ({}): Apache raises it to 1.",
            server_limit.from()
        ));
        server_limit.value = 1;
    }
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
    let mut start = number("StartServers", 5)?;
    if start.value > limit {
        notes.push(format!(
            "StartServers {} ({}) is above MaxRequestWorkers {limit}: no more children can \
             start, so the model starts {limit}.",
            start.value,
            start.from()
        ));
        start.value = limit;
    }
    let mut min_spare = number("MinSpareServers", 5)?;
    if min_spare.value == 0 {
        notes.push(format!(
            "MinSpareServers 0 ({}): Apache resets it to 1.",
            min_spare.from()
        ));
        min_spare.value = 1;
    }
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
    let per_child = number("MaxConnectionsPerChild", 0)?;
    let backlog = number("ListenBacklog", DEFAULT_BACKLOG)?;
    for s in listens {
        check_listen(s, file)?;
    }
    let listen = match listens {
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
    Ok(Prefork {
        start,
        min_spare,
        max_spare,
        max_workers,
        server_limit,
        per_child,
        backlog,
        listen,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ListenerKind, MasterMode};

    const DEBIAN: &str = "# prefork MPM\n\nStartServers\t\t\t 5\nMinSpareServers\t\t  5\n\
        MaxSpareServers\t\t 10\nMaxRequestWorkers\t  150\nMaxConnectionsPerChild   0\n";

    fn ok(text: &str) -> Imported {
        import(text, "prefork.conf").unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    fn error(text: &str) -> String {
        match import(text, "prefork.conf") {
            Ok(i) => panic!("expected an error, got\n{}", i.toml),
            Err(e) => e.0,
        }
    }

    #[test]
    fn debians_mpm_prefork_conf_is_the_shipped_apache_model() {
        let i = ok(DEBIAN);
        let m = i.model();
        assert_eq!(m.front().master.mode, MasterMode::ApachePrefork);
        assert_eq!(m.front().listener.kind, ListenerKind::Tcp);
        let shipped = crate::model::load_str(
            include_str!("../../../models/apache-prefork.toml"),
            "apache-prefork.toml",
            Path::new("."),
            &[],
        )
        .unwrap();
        assert_eq!(m.front().pool, shipped.front().pool);
        assert_eq!(m.front().listener, shipped.front().listener);
        assert_eq!(m.front().master.tick, 1.0);
        assert_eq!(m.front().master.max_spawn_rate, 32);
        assert!(i.unused().is_empty());
    }

    #[test]
    fn directives_are_case_insensitive_with_their_old_names_and_ifmodule() {
        let i = ok("<IfModule mpm_prefork_module>\n  startservers 2\n  MaxClients 40\n  \
                    MaxRequestsPerChild 1000\n</IfModule>\nlistenbacklog 100\nListen 127.0.0.1:8080\n");
        let model = i.model();
        let p = &model.front().pool;
        assert_eq!(
            (p.start_servers, p.process_limit, p.service_count),
            (Some(2), 40, 1000)
        );
        assert_eq!(i.model().front().listener.backlog, 100);
    }

    #[test]
    fn max_request_workers_is_clamped_to_server_limit_with_a_note() {
        let i = ok("MaxRequestWorkers 3522\n");
        assert_eq!(i.model().front().pool.process_limit, 256);
        assert!(
            i.notes.iter().any(|n| n.contains("clamps it to 256")),
            "{:?}",
            i.notes
        );
        let j = ok("ServerLimit 1000\nMaxRequestWorkers 600\n");
        assert_eq!(j.model().front().pool.process_limit, 600);
        let k = ok("ServerLimit 20\n");
        assert_eq!(k.model().front().pool.process_limit, 20);
        assert_eq!(k.model().front().pool.max_spare, Some(10));
    }

    #[test]
    fn other_mpms_includes_and_keepalive_are_listed_the_rest_counted() {
        let i = ok(
            "Timeout 300\nKeepAlive On\nIncludeOptional mods-enabled/*.conf\n\
                    ErrorLog /var/log/x\n<IfModule mpm_event_module>\n  StartServers 2\n  \
                    ThreadsPerChild 25\n</IfModule>\n<Directory />\n  Require all denied\n\
                    </Directory>\n<IfModule mod_ssl.c>\n  Listen 443\n</IfModule>\n",
        );
        let lines: Vec<usize> = i.unused().iter().map(|u| u.setting.line).collect();
        assert_eq!(lines, vec![1, 2, 3, 6, 7, 13]);
        assert!(i.unused()[2].why.starts_with("not followed"));
        assert!(i.unused()[3]
            .why
            .contains("another MPM (<IfModule mpm_event_module>, line 5)"));
        assert_eq!(i.ignored(), 2);
        assert_eq!(i.model().front().pool.process_limit, 256);
        assert!(i.notes.iter().any(|n| n.contains("no Listen")));
        assert!(i
            .notes
            .iter()
            .any(|n| n.contains("none of prefork's directives")));
    }

    #[test]
    fn spare_settings_are_adjusted_as_prefork_does() {
        let i = ok("MinSpareServers 8\nMaxSpareServers 4\n");
        assert_eq!(
            (
                i.model().front().pool.min_spare,
                i.model().front().pool.max_spare
            ),
            (Some(8), Some(9))
        );
        let j = ok("MaxRequestWorkers 3\n");
        let model = j.model();
        let p = &model.front().pool;
        assert_eq!(
            (p.start_servers, p.min_spare, p.max_spare),
            (Some(3), Some(3), Some(3))
        );
    }

    #[test]
    fn bad_numbers_and_listens_name_the_line() {
        let e = error("StartServers 5\nMaxRequestWorkers lots\n");
        assert!(
            e.starts_with("prefork.conf line 2: `MaxRequestWorkers lots`"),
            "{e}"
        );
        let e = error("Listen http\n");
        assert!(e.starts_with("prefork.conf line 1: `Listen http`"), "{e}");
        let e = error("ListenBacklog -5\n");
        assert!(e.starts_with("prefork.conf line 1:"), "{e}");
    }
}
