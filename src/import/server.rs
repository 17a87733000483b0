//! What the PHP-FPM and Apache importers share: a setting read with its line, the
//! settings a model leaves out and the lines `eagain import` prints about them, the
//! numbers both servers' configurations hold (whole numbers, checked with the line), and
//! the parts of a spare-server model that no configuration can know (the load, the
//! work, the start-up time), written as the doveconf importer writes them: the shipped
//! model's values, each line marked to measure and --set.

use super::text::{clean, float, snippet, Out};
use crate::error::BadInput;
use crate::model::{load_str, Model};
use std::path::Path;

/// A directive or `key = value` line of the file, with where it was.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub line: usize,
    /// The section it is in (`[www]`, `<IfModule mpm_event_module>`); None: the top level.
    pub section: Option<String>,
    pub key: String,
    pub value: String,
}

/// A setting the model does not use, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Unused {
    pub setting: Setting,
    pub why: String,
}

impl Unused {
    pub fn new(setting: &Setting, why: impl Into<String>) -> Unused {
        Unused {
            setting: setting.clone(),
            why: why.into(),
        }
    }

    /// `line 12: pm.status_path = /status: the status page: no effect on the queue`;
    /// `sep` is how the file writes a setting (" = " for PHP-FPM, " " for Apache).
    pub fn describe(&self, sep: &str) -> String {
        let s = &self.setting;
        let place = match &s.section {
            Some(section) => format!("{} ", clean(section)),
            None => String::new(),
        };
        format!(
            "line {}: {place}{}{sep}{}: {}",
            s.line,
            clean(&s.key),
            snippet(&s.value),
            self.why
        )
    }
}

/// A model written from a server's configuration, and what the import left out.
#[derive(Debug, Clone)]
pub struct Imported {
    /// What was modelled: `PHP-FPM pool www`, `Apache prefork`.
    pub what: String,
    /// The model file's text (commented TOML).
    pub toml: String,
    /// The same, loaded and checked: one service (`load_written`).
    pub model: Model,
    /// Settings of the modelled part that the model does not use, in line order.
    pub unused: Vec<Unused>,
    /// Settings elsewhere in the file (none of them is needed).
    pub ignored: usize,
    /// Where the ignored settings are: `outside pool www`.
    pub ignored_place: String,
    /// How the file writes a setting, for `Unused::describe`.
    pub sep: &'static str,
    /// Things the user should know about the result.
    pub notes: Vec<String>,
}

impl Imported {
    /// The lines `eagain import php-fpm|apache` prints on stderr.
    pub fn report(&self, file: &str) -> Vec<String> {
        let m = self.model.front();
        let p = &m.pool;
        let mut summary = format!(
            "{file}: {}: process_limit {}, service_count {}",
            self.what, p.process_limit, p.service_count
        );
        if let (Some(min), Some(max)) = (p.min_spare, p.max_spare) {
            let start = crate::model::start_servers(p, m.master.mode);
            summary.push_str(&format!(
                ", start_servers {start}, min_spare {min}, max_spare {max}"
            ));
        }
        if m.master.mode == crate::model::MasterMode::PhpFpmOndemand {
            summary.push_str(&format!(", idle_kill {} s", p.idle_kill));
        }
        summary.push_str(&format!(
            ", {} listener with backlog {}, master {}",
            match m.listener.kind {
                crate::model::ListenerKind::Unix => "unix",
                crate::model::ListenerKind::Tcp => "tcp",
            },
            m.listener.backlog,
            m.master.mode
        ));
        let mut lines = vec![summary];
        for n in &self.notes {
            lines.push(format!("note: {n}"));
        }
        if self.unused.is_empty() {
            lines.push(format!("every setting of {} is in the model", self.what));
        } else {
            let n = self.unused.len();
            lines.push(format!(
                "{n} setting{} of {} {} not in the model (also listed in the model's comments):",
                if n == 1 { "" } else { "s" },
                self.what,
                if n == 1 { "is" } else { "are" },
            ));
            for u in &self.unused {
                lines.push(format!("  {}", u.describe(self.sep)));
            }
        }
        lines.push(self.ignored_line());
        lines
    }

    /// `ignored 3 settings outside pool www (the model does not need them)`.
    pub fn ignored_line(&self) -> String {
        ignored_line(self.ignored, &self.ignored_place)
    }
}

pub(super) fn ignored_line(n: usize, place: &str) -> String {
    format!(
        "ignored {n} setting{} {place} (the model does not need them)",
        if n == 1 { "" } else { "s" }
    )
}

/// `FILE line N: MESSAGE`, the start of every refusal that has a line.
pub(super) fn bad_line(file: &str, line: usize, message: impl std::fmt::Display) -> BadInput {
    BadInput(format!("{file} line {line}: {message}"))
}

/// A whole number of at most u32::MAX, or a refusal naming the line, the setting and
/// what it must be.
pub(super) fn uint(file: &str, s: &Setting, sep: &str, allowed: &str) -> Result<u32, BadInput> {
    let v = s.value.trim();
    let wrong = |what: &str| {
        bad_line(
            file,
            s.line,
            format!(
                "`{}{sep}{}`: {} must be {what}.",
                clean(&s.key),
                snippet(&s.value),
                clean(&s.key)
            ),
        )
    };
    if v.is_empty() || !v.chars().all(|c| c.is_ascii_digit()) {
        return Err(wrong(allowed));
    }
    match v.parse::<u64>() {
        Ok(n) if n <= u64::from(u32::MAX) => Ok(n as u32),
        _ => Err(wrong(&format!("{allowed} (at most 4294967295)"))),
    }
}

/// Loads the written model, one service: a refusal here is a bug of the import or a
/// combination of settings the checks before it missed, so the message says what it
/// was made from.
pub(super) fn load_written(toml: &str, file: &str, made_from: &str) -> Result<Model, BadInput> {
    let refused = |e: &dyn std::fmt::Display| {
        BadInput(format!(
            "{file}: the model written from this configuration does not load ({e}); \
             the settings of {made_from} are what it was made from."
        ))
    };
    let model =
        load_str(toml, "the imported model", Path::new("."), &[]).map_err(|e| refused(&e))?;
    model
        .single()
        .map_err(|e| refused(&format!("`{}`: this importer {}", e.path, e.message)))?;
    Ok(model)
}

/// The settings the model leaves out, and the count of the rest, as a comment block.
pub(super) fn write_unused(o: &mut Out, imported_what: &str, unused: &[Unused], sep: &str) {
    o.raw("#");
    if unused.is_empty() {
        o.wrap(
            "#",
            "#",
            &format!("Settings of {imported_what} that the model does not use: none."),
        );
    } else {
        o.wrap(
            "#",
            "#",
            &format!(
                "Settings of {imported_what} that the model does not use ({}):",
                unused.len()
            ),
        );
        for u in unused {
            o.bullet(&u.describe(sep));
        }
    }
}

/// The notes, if any.
pub(super) fn write_notes(o: &mut Out, notes: &[String]) {
    if !notes.is_empty() {
        o.raw("#");
        o.raw("# Notes:");
        for n in notes {
            o.bullet(n);
        }
    }
}

/// The line before the bullets that say where the numbers come from.
pub(super) fn write_sources_title(o: &mut Out) {
    o.raw("# Where the numbers come from (docs/semantics.md in the eagain repository; each");
    o.raw("# \"eagain semantics: ID\" is one of its sections):");
}

/// `arrival`: independent clients; `measure` marks a value the configuration cannot know.
pub(super) fn write_arrival(o: &mut Out, measure: &str) {
    o.field(
        "arrival = \"poisson\"",
        &format!("independent clients; {measure}"),
    );
}

/// The clients' connect timeout; `whose` says whose it is.
pub(super) fn write_connect_timeout(o: &mut Out, seconds: f64, whose: &str, measure: &str) {
    o.field(
        &format!("connect_timeout = {}", float(seconds)),
        &format!("{whose}; {measure}"),
    );
}

/// `somaxconn` and, for TCP, the SYN schedule: the kernel's, not the server's.
pub(super) fn write_kernel(o: &mut Out, tcp: bool, measure: &str) {
    o.field(
        "somaxconn = 4096",
        &format!(
            "net.core.somaxconn: 4096 since Linux 5.4, 128 before (eagain semantics: \
             somaxconn-default); {measure}"
        ),
    );
    if tcp {
        o.field(
            "syn_schedule = \"linux-6.5\"",
            &format!(
                "SYN retransmissions of Linux >= 6.5 (eagain semantics: tcp-syn-retries); \
                 {measure}"
            ),
        );
    }
}

/// `startup`: fork to a child that accepts.
pub(super) fn write_startup(o: &mut Out, seconds: f64, measure: &str) {
    o.field(
        &format!(
            "startup = {{ dist = \"constant\", value = {} }}",
            float(seconds)
        ),
        &format!("fork to accept (a guess); {measure}"),
    );
}

/// [work]: one request's time in a child.
pub(super) fn write_work(o: &mut Out, mean: f64, what: &str, measure: &str) {
    o.raw("[work]");
    o.field(
        &format!(
            "blocking = {{ dist = \"lognormal\", mean = {}, sd = {} }}",
            float(mean),
            float(mean)
        ),
        &format!("{what} (a guess); {measure}"),
    );
}

/// [sim]: a fixed seed; the pool starts as the server starts, so no warm-up.
pub(super) fn write_sim(o: &mut Out) {
    o.raw("[sim]");
    o.raw("seed = 1");
    o.raw("replications = 10");
    o.field(
        "warmup = 0.0",
        "the pool starts as the server starts: its start-up children",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(value: &str) -> Setting {
        Setting {
            line: 7,
            section: Some("[www]".into()),
            key: "pm.max_children".into(),
            value: value.into(),
        }
    }

    #[test]
    fn whole_numbers_are_read_and_others_refused_with_the_line() {
        assert_eq!(
            uint("f.conf", &setting("12"), " = ", "a number").unwrap(),
            12
        );
        let e = uint("f.conf", &setting("many"), " = ", "a whole number").unwrap_err();
        assert_eq!(
            e.0,
            "f.conf line 7: `pm.max_children = many`: pm.max_children must be a whole number."
        );
        let e = uint("f.conf", &setting("99999999999"), " = ", "a number").unwrap_err();
        assert!(e.0.contains("at most 4294967295"), "{}", e.0);
        assert!(uint("f.conf", &setting("-1"), " = ", "a number").is_err());
    }

    #[test]
    fn unused_settings_name_their_line_and_section() {
        let u = Unused::new(&setting("5"), "why");
        assert_eq!(u.describe(" = "), "line 7: [www] pm.max_children = 5: why");
    }
}
