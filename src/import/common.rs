//! What every importer shares: a setting as the file writes it (`Setting`), a value of
//! the model with where it came from (`Sourced`: a line of the file, a flag, a rule, a
//! default), a setting the model leaves out (`Unused`, shown in the file's own
//! notation), and what an import returns (`Imported`): the model's text and the files
//! beside it, already checked, and the lines that tell the user what was read, guessed
//! and left out. The writing of the files is the caller's (`app`), with the shared
//! atomic writer.

use super::text::{clean, snippet};
use crate::error::BadInput;
use crate::model::{load_str, Model};
use std::fmt;
use std::path::Path;

/// A setting as the file writes it: its line, the sections around it and its text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Setting {
    pub line: usize,
    /// The sections around it, outermost first (`[www]`; `<IfModule mpm_event_module>`;
    /// `service imap-login`, `inet_listener imap`); empty at the top level.
    pub sections: Vec<String>,
    pub key: String,
    /// The value as written, without surrounding quotes.
    pub value: String,
}

/// Where a value of the model comes from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Source {
    /// A setting of the file.
    Given(Setting),
    /// A flag of the command line (`--workers`).
    Flag(&'static str),
    /// Worked out by the importer (from the log's 502s, by the server's rule for what
    /// the file gives), in words.
    Derived(String),
    /// Not given: the server's default, or a value the source cannot know, in words.
    Default(String),
}

impl fmt::Display for Source {
    /// For a model's comments: `line 8`, `--workers`, or the words.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Given(s) => write!(f, "line {}", s.line),
            Source::Flag(flag) => f.write_str(flag),
            Source::Derived(why) | Source::Default(why) => f.write_str(why),
        }
    }
}

/// A value of the model, and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sourced<T> {
    pub value: T,
    pub source: Source,
}

impl<T> Sourced<T> {
    /// The value of a setting of the file.
    pub fn given(s: &Setting, value: T) -> Sourced<T> {
        Sourced {
            value,
            source: Source::Given(s.clone()),
        }
    }

    /// A value the source does not give: the server's default, or one to measure.
    pub fn default(value: T, why: impl Into<String>) -> Sourced<T> {
        Sourced {
            value,
            source: Source::Default(why.into()),
        }
    }

    /// A value worked out by the importer.
    pub fn derived(value: T, why: impl Into<String>) -> Sourced<T> {
        Sourced {
            value,
            source: Source::Derived(why.into()),
        }
    }

    /// A value a flag gave, or else `default`'s.
    pub fn flag_or(flag: &'static str, given: Option<T>, default: Sourced<T>) -> Sourced<T> {
        match given {
            Some(value) => Sourced {
                value,
                source: Source::Flag(flag),
            },
            None => default,
        }
    }

    /// The setting it was read from, if the file gave it.
    pub fn setting(&self) -> Option<&Setting> {
        match &self.source {
            Source::Given(s) => Some(s),
            _ => None,
        }
    }

    /// `from` for a model's comments: `line 8`, or the words.
    pub fn from(&self) -> String {
        self.source.to_string()
    }
}

/// How a file writes a setting, for the lines that name one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notation {
    /// `[www] pm.status_path = /status` (PHP's ini files).
    Ini,
    /// `<IfModule mpm_event_module> StartServers 2` (Apache).
    Directive,
    /// `service imap-login { vsz_limit = 1G }` (doveconf's nested sections).
    Nested,
}

/// A setting the model does not use, and why.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Unused {
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

    /// `line 12: [www] pm.status_path = /status: the status page: ...` in the file's
    /// notation.
    pub fn describe(&self, notation: Notation) -> String {
        let s = &self.setting;
        match notation {
            Notation::Ini | Notation::Directive => {
                let sep = if notation == Notation::Ini {
                    " = "
                } else {
                    " "
                };
                let place = match s.sections.last() {
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
            Notation::Nested => {
                let mut text = format!("line {}: ", s.line);
                for section in &s.sections {
                    text.push_str(&clean(section));
                    text.push_str(" { ");
                }
                text.push_str(&clean(&s.key));
                text.push_str(" = ");
                text.push_str(&clean(&s.value));
                for _ in &s.sections {
                    text.push_str(" }");
                }
                text.push_str(": ");
                text.push_str(&self.why);
                text
            }
        }
    }
}

/// What a model leaves out of the configuration it was written from.
#[derive(Debug, Clone)]
pub(crate) struct LeftOut {
    /// The part of the file modelled, as the model's comments name it: `pool [www]`.
    pub part: String,
    /// The same, as the lines on stderr name it: `of PHP-FPM pool [www]`, `in service
    /// imap and service imap-login`.
    pub part_in_report: String,
    /// Settings of the modelled part that the model does not use, in line order.
    pub unused: Vec<Unused>,
    /// Settings elsewhere in the file (none of them is needed).
    pub ignored: usize,
    /// Where those are: `outside pool [www]`.
    pub ignored_place: String,
    pub notation: Notation,
}

impl LeftOut {
    /// `ignored 3 settings outside pool [www] (the model does not need them)`.
    pub fn ignored_line(&self) -> String {
        format!(
            "ignored {} setting{} {} (the model does not need them)",
            self.ignored,
            if self.ignored == 1 { "" } else { "s" },
            self.ignored_place
        )
    }
}

/// A file written beside the model (`trace.csv`), and its bytes.
#[derive(Debug, Clone)]
pub(crate) struct Beside {
    pub name: &'static str,
    pub bytes: Vec<u8>,
}

/// What an import made: the model and the files beside it, and what to tell the user.
/// Nothing is written yet. A configuration's model has been loaded and checked
/// (`load_written`); a model that reads files beside it (a trace) is loaded where they
/// are written, before they are kept (`output::write_set`).
#[derive(Debug, Clone)]
pub(crate) struct Imported {
    /// The model file's text (commented TOML).
    pub toml: String,
    /// Files the model reads or the user compares with, written beside it.
    pub beside: Vec<Beside>,
    /// What was read and what the model is, a line each.
    pub summary: Vec<String>,
    /// Values the import had to guess and that change its answer: the user should
    /// give them.
    pub warnings: Vec<String>,
    /// Things the user should know about the result.
    pub notes: Vec<String>,
    /// What the model leaves out of a configuration file (None for an access log).
    pub left_out: Option<LeftOut>,
}

impl Imported {
    /// The model, loaded again from its text, for the tests of an importer whose model
    /// stands alone.
    #[cfg(test)]
    pub fn model(&self) -> Model {
        load_str(&self.toml, "the imported model", Path::new("."), &[])
            .expect("an imported configuration's model loads")
    }

    /// What the model left out, for the tests.
    #[cfg(test)]
    pub fn unused(&self) -> &[Unused] {
        self.left_out.as_ref().map_or(&[], |l| &l.unused)
    }

    /// How many settings the import ignored, for the tests.
    #[cfg(test)]
    pub fn ignored(&self) -> usize {
        self.left_out.as_ref().map_or(0, |l| l.ignored)
    }

    /// The lines about the import, after the summary: its warnings and notes, then what
    /// it left out.
    pub fn report(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.summary.clone();
        lines.extend(self.warnings.iter().map(|w| format!("warning: {w}")));
        lines.extend(self.notes.iter().map(|n| format!("note: {n}")));
        if let Some(l) = &self.left_out {
            let part = &l.part_in_report;
            match l.unused.len() {
                0 => lines.push(format!("every setting {part} is in the model")),
                n => {
                    lines.push(format!(
                        "{n} setting{} {part} {} not in the model (also listed in the \
                         model's comments):",
                        if n == 1 { "" } else { "s" },
                        if n == 1 { "is" } else { "are" },
                    ));
                    for u in &l.unused {
                        lines.push(format!("  {}", u.describe(l.notation)));
                    }
                }
            }
            lines.push(l.ignored_line());
        }
        lines
    }
}

/// `FILE line N: MESSAGE`, the start of every refusal that has a line.
pub(crate) fn bad_line(file: &str, line: usize, message: impl fmt::Display) -> BadInput {
    BadInput(format!("{file} line {line}: {message}"))
}

/// Loads a model an importer wrote from `file`: a refusal here is a combination of
/// settings the importer's own checks missed, so the message says what it was made
/// from (`made_from`: "pool [www]"). `single` refuses a chain, for the importers that
/// write one service.
pub(crate) fn load_written(
    toml: &str,
    file: &str,
    made_from: &str,
    single: bool,
) -> Result<Model, BadInput> {
    let refused = |e: &dyn fmt::Display| {
        BadInput(format!(
            "{file}: the model written from this configuration does not load ({e}); \
             the settings of {made_from} are what it was made from."
        ))
    };
    let model =
        load_str(toml, "the imported model", Path::new("."), &[]).map_err(|e| refused(&e))?;
    if single {
        model
            .single()
            .map_err(|e| refused(&format!("`{}`: this importer {}", e.path, e.message)))?;
    }
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(sections: &[&str], key: &str, value: &str) -> Setting {
        Setting {
            line: 7,
            sections: sections.iter().map(|s| s.to_string()).collect(),
            key: key.into(),
            value: value.into(),
        }
    }

    #[test]
    fn unused_settings_are_shown_in_the_files_own_notation() {
        let ini = Unused::new(&setting(&["[www]"], "pm.max_children", "5"), "why");
        assert_eq!(
            ini.describe(Notation::Ini),
            "line 7: [www] pm.max_children = 5: why"
        );
        let apache = Unused::new(
            &setting(&["<IfModule mpm_event_module>"], "StartServers", "2"),
            "why",
        );
        assert_eq!(
            apache.describe(Notation::Directive),
            "line 7: <IfModule mpm_event_module> StartServers 2: why"
        );
        let nested = Unused::new(
            &setting(&["service imap-login", "inet_listener imap"], "port", "143"),
            "why",
        );
        assert_eq!(
            nested.describe(Notation::Nested),
            "line 7: service imap-login { inet_listener imap { port = 143 } }: why"
        );
        let top = Unused::new(&setting(&[], "Timeout", "300"), "why");
        assert_eq!(
            top.describe(Notation::Directive),
            "line 7: Timeout 300: why"
        );
    }

    #[test]
    fn a_sourced_value_says_where_it_came_from() {
        let s = setting(&["[www]"], "pm.max_children", "5");
        let given = Sourced::given(&s, 5u32);
        assert_eq!(given.from(), "line 7");
        assert_eq!(given.setting(), Some(&s));
        let default = Sourced::default(5u32, "PHP 8.2's default");
        assert_eq!(default.from(), "PHP 8.2's default");
        assert!(default.setting().is_none());
        let flag = Sourced::flag_or("--workers", Some(3u32), default.clone());
        assert_eq!((flag.value, flag.from()), (3, "--workers".into()));
        assert_eq!(
            Sourced::flag_or("--workers", None, default.clone()),
            default
        );
    }
}
