//! An Apache httpd configuration file as a list of directives: `Name arguments` lines
//! (a trailing `\` continues a line), `#` comment lines, and `<Section args>` ...
//! `</Section>` blocks. Each directive keeps its line and the sections around it; every
//! refusal names the file and the line.

use crate::error::BadInput;
use crate::import::common::bad_line;
use crate::import::text::{clean, snippet};

/// What an Apache configuration looks like, for the messages about files that are not one.
pub(super) const SHAPE: &str = "an Apache configuration (such as \
    /etc/apache2/mods-available/mpm_prefork.conf or apache2.conf) has `Directive arguments` \
    lines, `<Section ...>` and `</Section>` lines and `#` comments";

/// An open section: `<IfModule mpm_prefork_module>` at line 3.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Open {
    pub(super) line: usize,
    /// `IfModule`, as written.
    pub(super) kind: String,
    /// `mpm_prefork_module`.
    pub(super) arg: String,
}

impl Open {
    /// `<IfModule mpm_prefork_module>`.
    pub(super) fn title(&self) -> String {
        if self.arg.is_empty() {
            format!("<{}>", clean(&self.kind))
        } else {
            format!("<{} {}>", clean(&self.kind), snippet(&self.arg))
        }
    }
}

/// A directive, the sections around it outermost first.
#[derive(Debug, Clone)]
pub(super) struct Directive {
    pub(super) line: usize,
    pub(super) name: String,
    pub(super) args: String,
    pub(super) within: Vec<Open>,
}

/// The deepest nesting of sections read.
const MAX_DEPTH: usize = 32;

/// The directives of `text`; `file` names it in messages.
pub(super) fn parse(text: &str, file: &str) -> Result<Vec<Directive>, BadInput> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut open: Vec<Open> = Vec::new();
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((i, raw)) = lines.next() {
        let n = i + 1;
        let mut line = raw.trim().to_string();
        // A trailing backslash joins the next line (not for comments).
        while line.ends_with('\\') && !line.starts_with('#') {
            line.pop();
            match lines.next() {
                Some((_, next)) => {
                    line.push(' ');
                    line.push_str(next.trim());
                }
                None => break,
            }
        }
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("</") {
            let kind = rest.trim_end_matches('>').trim();
            match open.pop() {
                Some(o) if o.kind.eq_ignore_ascii_case(kind) => {}
                Some(o) => {
                    return Err(bad_line(
                        file,
                        n,
                        format!(
                            "`{}` does not close {} (line {}): the sections are unbalanced, \
                             and Apache refuses the file too.",
                            snippet(line),
                            o.title(),
                            o.line
                        ),
                    ))
                }
                None => {
                    return Err(bad_line(
                        file,
                        n,
                        format!(
                            "`{}` closes no section: the sections are unbalanced, and Apache \
                             refuses the file too.",
                            snippet(line)
                        ),
                    ))
                }
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix('<') {
            let Some(inner) = rest.strip_suffix('>') else {
                return Err(bad_line(
                    file,
                    n,
                    format!(
                        "`{}` opens a section but has no closing `>`: {SHAPE}.",
                        snippet(line)
                    ),
                ));
            };
            if open.len() >= MAX_DEPTH {
                return Err(bad_line(
                    file,
                    n,
                    format!("sections nested more than {MAX_DEPTH} deep: not read."),
                ));
            }
            let (kind, arg) = split_name(inner.trim());
            open.push(Open {
                line: n,
                kind: kind.to_string(),
                arg: arg.to_string(),
            });
            continue;
        }
        let (name, args) = split_name(line);
        let valid = name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid || args.starts_with('=') {
            let why = if args.starts_with('=') || name.contains('=') {
                "a `key = value` line (ini syntax, as in PHP's files), not an Apache directive"
            } else {
                "not an Apache directive"
            };
            return Err(bad_line(
                file,
                n,
                format!("`{}` is {why}: {SHAPE}.", snippet(line)),
            ));
        }
        out.push(Directive {
            line: n,
            name: name.to_string(),
            args: args.to_string(),
            within: open.clone(),
        });
    }
    if let Some(o) = open.last() {
        return Err(bad_line(
            file,
            o.line,
            format!(
                "{} is never closed (no `</{}>`): the file is cut short, and Apache refuses \
                 it too.",
                o.title(),
                clean(&o.kind)
            ),
        ));
    }
    if out.is_empty() {
        return Err(BadInput(format!("{file} has no directives: {SHAPE}.")));
    }
    Ok(out)
}

/// `Name rest`: the first word and the rest, trimmed.
fn split_name(line: &str) -> (&str, &str) {
    match line.find(char::is_whitespace) {
        Some(i) => (&line[..i], line[i..].trim()),
        None => (line, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_keep_their_lines_and_sections() {
        let d = parse(
            "# c\nListen 80\n<IfModule mpm_prefork_module>\n\tStartServers  5\n\
             MaxRequestWorkers \\\n 150\n</IfModule>\n",
            "a.conf",
        )
        .unwrap();
        assert_eq!(d.len(), 3);
        assert_eq!(
            (d[0].line, d[0].name.as_str(), d[0].args.as_str()),
            (2, "Listen", "80")
        );
        assert_eq!(d[1].within[0].title(), "<IfModule mpm_prefork_module>");
        assert_eq!((d[2].line, d[2].args.as_str()), (5, "150"));
    }

    #[test]
    fn files_that_are_not_apache_configurations_are_refused_with_the_line() {
        let e = parse("[www]\npm = static\n", "a.conf").unwrap_err().0;
        assert!(
            e.starts_with("a.conf line 1:") && e.contains("not an Apache"),
            "{e}"
        );
        let e = parse("pm = static\n", "a.conf").unwrap_err().0;
        assert!(
            e.starts_with("a.conf line 1:") && e.contains("key = value"),
            "{e}"
        );
        let e = parse("<IfModule x>\nStartServers 1\n", "a.conf")
            .unwrap_err()
            .0;
        assert!(
            e.starts_with("a.conf line 1:") && e.contains("never closed"),
            "{e}"
        );
        let e = parse("StartServers 1\n</IfModule>\n", "a.conf")
            .unwrap_err()
            .0;
        assert!(
            e.starts_with("a.conf line 2:") && e.contains("closes no section"),
            "{e}"
        );
        let e = parse("# only comments\n", "a.conf").unwrap_err().0;
        assert!(e.contains("no directives"), "{e}");
    }
}
