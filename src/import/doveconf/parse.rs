//! doveconf's text as a tree: `key = value` lines, sections opened by `name [arg] {` and
//! closed by `}`, `#` comments outside quotes, quoted values. Every setting and section
//! keeps its line number, and every refusal names the file and the line, with what
//! `doveconf -n` prints instead.

use crate::error::BadInput;
use crate::import::common::{bad_line, Setting};
use crate::import::text::{clean, snippet};

/// What doveconf's output looks like, for the messages about files that are not it.
pub(super) const SHAPE: &str = "`doveconf -n` prints `key = value` lines, `name [arg] {` lines \
    that open a section, `}` lines that close one, and `#` comments, starting with the \
    Dovecot version; save its output with `doveconf -n > dovecot.txt` and give that file";

#[derive(Debug, Clone, Default)]
pub(super) struct Section {
    pub(super) line: usize,
    pub(super) kind: String,
    pub(super) name: String,
    pub(super) settings: Vec<Setting>,
    pub(super) sections: Vec<Section>,
}

impl Section {
    /// `service imap-login`, `protocols`.
    pub(super) fn title(&self) -> String {
        if self.name.is_empty() {
            self.kind.clone()
        } else {
            format!("{} {}", self.kind, self.name)
        }
    }

    /// Its settings and those of every section inside it.
    pub(super) fn count_settings(&self) -> usize {
        self.settings.len()
            + self
                .sections
                .iter()
                .map(Section::count_settings)
                .sum::<usize>()
    }

    /// The setting `key` as Dovecot reads it: the last one given wins.
    pub(super) fn last(&self, key: &str) -> Option<&Setting> {
        self.settings.iter().rev().find(|s| s.key == key)
    }
}

#[derive(Debug)]
pub(super) struct Parsed {
    /// The top level: global settings and the sections.
    pub(super) root: Section,
    /// The first line that is not blank, with its number: doveconf writes the version there.
    pub(super) first: (usize, String),
}

/// One line of doveconf's output, its comment cut.
enum Line<'a> {
    Close,
    Setting { key: &'a str, value: String },
    Open { kind: &'a str, name: String },
}

/// The deepest nesting of sections read: doveconf's own is a few levels, and a tree
/// without a bound would overflow the stack of the functions that walk it.
const MAX_DEPTH: usize = 32;

/// The tree of `text`; `file` names it in messages.
pub(super) fn parse(text: &str, file: &str) -> Result<Parsed, BadInput> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // The sections open at this point, the top level first.
    let mut open = vec![Section::default()];
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
        let line = strip_comment(trimmed).trim_end();
        if line.is_empty() {
            continue;
        }
        match read_line(line) {
            Some(Line::Close) if open.len() == 1 => {
                return Err(bad_line(
                    file,
                    n,
                    format!(
                        "`}}` closes no section: the braces are unbalanced, so this is not \
                         the output of `doveconf -n` ({SHAPE})."
                    ),
                ));
            }
            Some(Line::Close) => {
                let done = open.pop().expect("more than the top level");
                open.last_mut()
                    .expect("the top level stays")
                    .sections
                    .push(done);
            }
            Some(Line::Setting { key, value }) => {
                let section = open.last_mut().expect("the top level stays");
                // Its sections are named where it is listed (`settings.rs`).
                section.settings.push(Setting {
                    line: n,
                    sections: Vec::new(),
                    key: key.to_string(),
                    value,
                });
            }
            Some(Line::Open { .. }) if open.len() > MAX_DEPTH => {
                return Err(bad_line(
                    file,
                    n,
                    format!(
                        "a section nested more than {MAX_DEPTH} deep: `doveconf -n` nests a \
                         few levels at most (service, then listener), so this is not its \
                         output ({SHAPE})."
                    ),
                ));
            }
            Some(Line::Open { kind, name }) => open.push(Section {
                line: n,
                kind: kind.to_string(),
                name,
                ..Section::default()
            }),
            None => return Err(bad_line(file, n, not_doveconf(line))),
        }
    }
    finish(open, first, file)
}

/// What a line says, or None when it is not a doveconf line.
fn read_line(line: &str) -> Option<Line<'_>> {
    if line == "}" {
        return Some(Line::Close);
    }
    if let Some(eq) = find_unquoted(line, '=') {
        let key = line[..eq].trim();
        let value = unquote(line[eq + 1..].trim());
        return is_key(key).then_some(Line::Setting { key, value });
    }
    let head = line.strip_suffix('{')?.trim();
    let (kind, name) = match head.split_once(char::is_whitespace) {
        Some((k, rest)) => (k, unquote(rest.trim())),
        None => (head, String::new()),
    };
    is_key(kind).then_some(Line::Open { kind, name })
}

/// The tree once every line is read: every section closed, at least one setting.
fn finish(
    mut open: Vec<Section>,
    first: Option<(usize, String)>,
    file: &str,
) -> Result<Parsed, BadInput> {
    if open.len() > 1 {
        let unclosed = open.last().expect("more than one");
        return Err(bad_line(
            file,
            unclosed.line,
            format!(
                "the section `{} {{` opened here is never closed: a `}}` is missing (the \
                 braces are unbalanced), so this is not the whole output of `doveconf -n` \
                 ({SHAPE}).",
                clean(&unclosed.title())
            ),
        ));
    }
    let root = open.pop().expect("the top level");
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

/// A value without its surrounding quotes, backslash escapes undone inside them.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_nested_without_end_are_refused_at_the_line_too_deep() {
        let mut text = String::from("# 2.3.21 (abc): /etc/dovecot/dovecot.conf\n");
        text += &"a {\n".repeat(200_000);
        text += &"}\n".repeat(200_000);
        let e = parse(&text, "deep.conf").unwrap_err().0;
        assert!(
            e.starts_with("deep.conf line 34: a section nested more than 32"),
            "{e}"
        );
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
    fn sections_nest_and_keep_their_lines() {
        let parsed = parse(
            "# 2.3.21 (x): /etc/dovecot/dovecot.conf\nssl = no\nservice imap {\n  \
             unix_listener \"login/imap\" {\n    mode = 0666\n  }\n}\n",
            "test.conf",
        )
        .unwrap();
        assert_eq!(parsed.first.0, 1);
        assert_eq!(parsed.root.last("ssl").unwrap().line, 2);
        let imap = &parsed.root.sections[0];
        assert_eq!((imap.line, imap.title().as_str()), (3, "service imap"));
        let listener = &imap.sections[0];
        assert_eq!(listener.title(), "unix_listener login/imap");
        assert_eq!(listener.settings[0].line, 5);
        assert_eq!(parsed.root.count_settings(), 2);
    }
}
