//! Text as every importer shows it: values from the file made safe for one line of a
//! message or a comment (`clean`, `snippet`), and the model's lines (`Out`): comments
//! wrapped at the width of the shipped models, fields with their comment in one column,
//! TOML floats and strings.

/// Comment width, as in the shipped models.
const WIDTH: usize = 88;

/// Where a `key = value` field's comment starts, as in the shipped models.
const COMMENT_COLUMN: usize = 28;

/// One line of text: control characters (a tab, a stray carriage return) become spaces.
pub(in crate::import) fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// One line of text for messages and comments: no control characters, at most 60 characters.
pub(in crate::import) fn snippet(s: &str) -> String {
    let c = clean(s);
    if c.chars().count() > 60 {
        let cut: String = c.chars().take(57).collect();
        format!("{cut}...")
    } else {
        c
    }
}

/// The model's text, line by line.
#[derive(Default)]
pub(in crate::import) struct Out(String);

impl Out {
    pub(in crate::import) fn raw(&mut self, line: &str) {
        self.0.push_str(line.trim_end());
        self.0.push('\n');
    }

    /// A comment paragraph wrapped at WIDTH, `first` before its first line, `rest` before the others.
    pub(in crate::import) fn wrap(&mut self, first: &str, rest: &str, text: &str) {
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

    pub(in crate::import) fn bullet(&mut self, text: &str) {
        self.wrap("# -", "#  ", text);
    }

    /// `key = value` with its comment in the column the shipped models use.
    pub(in crate::import) fn field(&mut self, kv: &str, comment: &str) {
        if comment.is_empty() {
            self.raw(kv);
        } else if kv.len() < COMMENT_COLUMN {
            self.raw(&format!("{kv:<COMMENT_COLUMN$} # {comment}"));
        } else {
            self.raw(&format!("{kv}   # {comment}"));
        }
    }

    pub(in crate::import) fn into_text(self) -> String {
        self.0
    }
}

/// A TOML float (always with a point or an exponent).
pub(in crate::import) fn float(x: f64) -> String {
    format!("{x:?}")
}

/// Seconds for prose: `60 s`, `0.5 s`, `0 (never)`.
pub(in crate::import) fn secs_text(x: f64) -> String {
    if x == 0.0 {
        "0 (never)".into()
    } else {
        format!("{x} s")
    }
}

/// A TOML basic string, quoted and escaped, on one line.
pub(in crate::import) fn toml_string(s: &str) -> String {
    toml::Value::String(clean(s)).to_string()
}

pub(in crate::import) fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(f) => f.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_put_their_comment_in_one_column_unless_too_long() {
        let mut o = Out::default();
        o.field("seed = 1", "");
        o.field("backlog = 1024", "line 7");
        o.field("a_key_that_is_long_enough = 12", "why");
        assert_eq!(
            o.into_text(),
            "seed = 1\nbacklog = 1024               # line 7\n\
             a_key_that_is_long_enough = 12   # why\n"
        );
    }

    #[test]
    fn comments_wrap_at_the_width_of_the_shipped_models() {
        let mut o = Out::default();
        o.bullet(&"word ".repeat(30));
        let text = o.into_text();
        assert!(text.lines().all(|l| l.chars().count() <= WIDTH), "{text}");
        assert!(text.lines().skip(1).all(|l| l.starts_with("#   word")));
    }

    #[test]
    fn values_from_the_file_stay_on_one_line() {
        assert_eq!(clean("a\tb\rc"), "a b c");
        assert_eq!(snippet(&"x".repeat(70)), format!("{}...", "x".repeat(57)));
        assert_eq!(toml_string("we\"ird\tname"), "'we\"ird name'");
        assert_eq!(float(10.0), "10.0");
        assert_eq!(secs_text(0.0), "0 (never)");
        assert_eq!(capitalise("ignored"), "Ignored");
    }
}
