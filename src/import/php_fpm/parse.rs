//! A PHP-FPM configuration file as PHP's ini reader sees it: `[name]` lines that open a
//! section (a pool, or `[global]`), `key = value` lines, `;` comments (also after a
//! value, outside quotes), quoted values. Every setting keeps its line, and every
//! refusal names the file and the line.

use crate::error::BadInput;
use crate::import::common::{bad_line, Setting};
use crate::import::text::snippet;

/// What a pool file looks like, for the messages about files that are not one.
pub(super) const SHAPE: &str = "a PHP-FPM pool file (such as /etc/php/8.2/fpm/pool.d/www.conf) \
    has `[name]` lines that open a pool, `key = value` lines and `;` comments";

/// A `[name]` section and its settings.
#[derive(Debug, Clone)]
pub(super) struct Section {
    pub(super) line: usize,
    pub(super) name: String,
    pub(super) settings: Vec<Setting>,
}

/// The sections of `text` in file order; `file` names it in messages.
pub(super) fn parse(text: &str, file: &str) -> Result<Vec<Section>, BadInput> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut sections: Vec<Section> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with(';') {
            continue;
        }
        if line.starts_with('#') {
            return Err(bad_line(
                file,
                n,
                "a `#` comment: PHP's ini reader takes `;` comments only (since PHP 7.0), \
                 so PHP-FPM refuses this file too; write `;` instead of `#`.",
            ));
        }
        if let Some(rest) = line.strip_prefix('[') {
            let name = strip_comment(rest).trim_end();
            let Some(name) = name.strip_suffix(']').map(str::trim) else {
                return Err(bad_line(
                    file,
                    n,
                    format!(
                        "`{}` opens a section but has no closing `]`: {SHAPE}.",
                        snippet(line)
                    ),
                ));
            };
            if name.is_empty() {
                return Err(bad_line(file, n, format!("`[]` names no pool: {SHAPE}.")));
            }
            sections.push(Section {
                line: n,
                name: name.to_string(),
                settings: Vec::new(),
            });
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(bad_line(
                file,
                n,
                format!(
                    "`{}` is not a pool file line: {SHAPE}. (php-fpm.conf's `include=` \
                     lines are not followed: give the pool file itself.)",
                    snippet(line)
                ),
            ));
        };
        let key = key.trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(bad_line(
                file,
                n,
                format!(
                    "`{}` is not a `key = value` line (the key is empty or has spaces): \
                     {SHAPE}.",
                    snippet(line)
                ),
            ));
        }
        let Some(section) = sections.last_mut() else {
            return Err(bad_line(
                file,
                n,
                format!(
                    "`{}` comes before any `[pool]` line, so this is not a pool file: \
                     {SHAPE}.",
                    snippet(line)
                ),
            ));
        };
        section.settings.push(Setting {
            line: n,
            sections: vec![format!("[{}]", section.name)],
            key: key.to_string(),
            value: unquote(strip_comment(value).trim()).to_string(),
        });
    }
    if sections.is_empty() {
        return Err(BadInput(format!(
            "{file} has no sections and no settings: {SHAPE}."
        )));
    }
    Ok(sections)
}

/// The text before a `;` that is outside double or single quotes.
fn strip_comment(s: &str) -> &str {
    let mut quote = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, ';') => return &s[..i],
            _ => {}
        }
    }
    s
}

/// A value without its surrounding quotes.
fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_settings_comments_and_quotes_are_read_with_their_lines() {
        let s = parse(
            "; a comment\n[global]\npid = /run/x.pid\n\n[www]\nlisten = \"/run/a.sock\" ; here\n\
             pm=static\nphp_admin_value[error_log] = /var/log/x.log\n",
            "f.conf",
        )
        .unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!((s[1].line, s[1].name.as_str()), (5, "www"));
        let www = &s[1].settings;
        assert_eq!((www[0].line, www[0].value.as_str()), (6, "/run/a.sock"));
        assert_eq!(
            (www[1].key.as_str(), www[1].value.as_str()),
            ("pm", "static")
        );
        assert_eq!(www[2].key, "php_admin_value[error_log]");
        assert_eq!(www[2].sections, ["[www]"]);
    }

    #[test]
    fn lines_that_are_not_ini_are_refused_with_their_line() {
        let e = parse("[www]\nlisten 9000\n", "f.conf").unwrap_err().0;
        assert!(
            e.starts_with("f.conf line 2: `listen 9000` is not a pool file line"),
            "{e}"
        );
        let e = parse("pm = static\n[www]\n", "f.conf").unwrap_err().0;
        assert!(
            e.starts_with("f.conf line 1:") && e.contains("before any"),
            "{e}"
        );
        let e = parse("[www\n", "f.conf").unwrap_err().0;
        assert!(e.starts_with("f.conf line 1:") && e.contains("`]`"), "{e}");
        let e = parse("[www]\n# old comment\n", "f.conf").unwrap_err().0;
        assert!(e.starts_with("f.conf line 2:") && e.contains("`;`"), "{e}");
        let e = parse("; nothing\n", "f.conf").unwrap_err().0;
        assert!(e.contains("no sections"), "{e}");
    }
}
