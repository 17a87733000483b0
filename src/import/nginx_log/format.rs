//! A log format compiled into a line matcher. nginx's `log_format` string has variables
//! (`$name`, `${name}`) with literal text between them; gunicorn's `--access-logformat`
//! has atoms (`%(name)s`, `%%` for a percent sign). A line matches when it splits into
//! the literal texts and a value for each variable, and the values eagain reads parse:
//! the time, `$status`, `$request_time`, `$upstream_response_time` and gunicorn's
//! durations. A value ends where the next literal text starts; when that split leaves
//! the rest unmatched or a value unparsable, the next place the literal occurs is tried,
//! so an unquoted `$time_local` (which has a space in it) still matches. nginx escapes `"`
//! and control characters in values (`\x22`), so a quoted variable cannot end early.

use crate::error::{quoted, BadInput};
use std::iter::Peekable;
use std::str::Chars;

/// Whose format it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Syntax {
    Nginx,
    Gunicorn,
}

impl Syntax {
    pub fn name(self) -> &'static str {
        match self {
            Syntax::Nginx => "nginx",
            Syntax::Gunicorn => "gunicorn",
        }
    }
}

/// A value eagain reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    /// nginx `$msec`: the end of the request, to 1 ms (semantics: log-nginx-msec).
    Msec,
    /// nginx `$time_local`: the end, to 1 s (semantics: log-nginx-time-local).
    TimeLocal,
    /// nginx `$time_iso8601`: the end, to 1 s.
    TimeIso,
    /// gunicorn `%(t)s`: `[29/Nov/2026:12:31:38 +0000]`, the end, to 1 s
    /// (semantics: log-gunicorn-end-time).
    GunicornTime,
    /// nginx `$status`, gunicorn `%(s)s`.
    Status,
    /// nginx `$request_time` (semantics: log-nginx-request-time).
    RequestTime,
    /// nginx `$upstream_response_time`, a list (semantics: log-nginx-lists).
    UpstreamTime,
    /// gunicorn `%(L)s`, `%(D)s`, `%(M)s`: the worker's own time in seconds,
    /// microseconds, milliseconds (semantics: log-gunicorn-atoms).
    WorkSeconds,
    WorkMicros,
    WorkMillis,
}

impl Field {
    fn is_time(self) -> bool {
        matches!(
            self,
            Field::Msec | Field::TimeLocal | Field::TimeIso | Field::GunicornTime
        )
    }

    fn is_work(self) -> bool {
        matches!(
            self,
            Field::WorkSeconds | Field::WorkMicros | Field::WorkMillis
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Lit(String),
    /// A variable; `field` is None for one eagain does not read.
    Var {
        name: String,
        field: Option<Field>,
    },
}

/// `$upstream_response_time`: the attempts, the sum of all but the last, and the last
/// (NaN for `-`). No upstream at all is 0 attempts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Upstream {
    pub attempts: u32,
    pub before: f64,
    pub last: f64,
}

/// What one matching line says; NaN where the format has no such value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Values {
    /// The line of the log it was read from (set by the reader; 0 until then).
    pub line: u64,
    /// The log time, seconds since the epoch: the end of the request.
    pub end: f64,
    pub status: u16,
    pub request_time: f64,
    pub upstream: Upstream,
    /// gunicorn's own duration of the request, seconds.
    pub work: f64,
}

impl Values {
    fn empty() -> Values {
        Values {
            line: 0,
            end: f64::NAN,
            status: 0,
            request_time: f64::NAN,
            upstream: Upstream {
                attempts: 0,
                before: 0.0,
                last: f64::NAN,
            },
            work: f64::NAN,
        }
    }
}

/// nginx's predefined `combined` format (semantics: log-nginx-combined), which
/// `--log-format combined` names.
pub(super) const COMBINED: &str = "$remote_addr - $remote_user [$time_local] \"$request\" \
    $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\"";

/// The most places one line's values may be tried at before it counts as not matching:
/// a bound on backtracking for pathological lines.
const TRIES_PER_LINE: u32 = 10_000;

/// A compiled format.
#[derive(Debug, Clone)]
pub(super) struct Format {
    pieces: Vec<Piece>,
    pub syntax: Syntax,
    /// The field the time comes from.
    pub time: Field,
    pub has_request_time: bool,
    pub has_upstream: bool,
    /// gunicorn's duration atom, if the format has one.
    pub work: Option<Field>,
}

impl Format {
    /// Compiles `text`: gunicorn's syntax when it has `%(`, else nginx's (also the whole
    /// `log_format NAME '...' '...';` directive). The error names the format and says
    /// what is missing.
    pub fn compile(text: &str) -> Result<Format, BadInput> {
        let text = match text.trim() {
            "combined" => COMBINED,
            word if is_name(word) => {
                return Err(BadInput(format!(
                    "--log-format '{}': that is the name of a log_format, not its string; \
                     give the string (the quoted parts of `log_format {} '...';` in \
                     nginx.conf, joined), or `combined`, nginx's predefined format",
                    quoted(word),
                    quoted(word)
                )))
            }
            _ => text,
        };
        let syntax = if text.contains("%(") {
            Syntax::Gunicorn
        } else {
            Syntax::Nginx
        };
        let shown = quoted(text);
        let pieces = match syntax {
            Syntax::Nginx => nginx_pieces(&unwrap_directive(text, &shown)?, &shown)?,
            Syntax::Gunicorn => gunicorn_pieces(text, &shown)?,
        };
        let pieces = merge_adjacent(pieces, &shown)?;
        let present = |f: Field| {
            pieces
                .iter()
                .any(|p| matches!(p, Piece::Var { field: Some(x), .. } if *x == f))
        };
        let time = [
            Field::Msec,
            Field::TimeIso,
            Field::TimeLocal,
            Field::GunicornTime,
        ]
        .into_iter()
        .find(|f| present(*f));
        let missing = missing_text(syntax, time.is_none(), !present(Field::Status));
        let Some(time) = time.filter(|_| missing.is_empty()) else {
            return Err(BadInput(format!("--log-format '{shown}': {missing}")));
        };
        let work = [Field::WorkSeconds, Field::WorkMicros, Field::WorkMillis]
            .into_iter()
            .find(|f| present(*f));
        let mut format = Format {
            has_request_time: present(Field::RequestTime),
            has_upstream: present(Field::UpstreamTime),
            pieces,
            syntax,
            time,
            work,
        };
        format.read_each_field_once();
        Ok(format)
    }

    /// Only the first occurrence of a field is read, of the time fields only the chosen
    /// one, of gunicorn's durations only the first: the others match anything.
    fn read_each_field_once(&mut self) {
        let mut seen: Vec<Field> = Vec::new();
        for piece in &mut self.pieces {
            if let Piece::Var { field, .. } = piece {
                if let Some(f) = *field {
                    let other_time = f.is_time() && f != self.time;
                    let other_work = f.is_work() && Some(f) != self.work;
                    if other_time || other_work || seen.contains(&f) {
                        *field = None;
                    } else {
                        seen.push(f);
                    }
                }
            }
        }
    }

    /// The resolution of the log time, seconds.
    pub fn resolution(&self) -> f64 {
        if self.time == Field::Msec {
            0.001
        } else {
            1.0
        }
    }

    /// The variable or atom the time comes from, as the format writes it.
    pub fn time_name(&self) -> &'static str {
        match self.time {
            Field::Msec => "$msec",
            Field::TimeIso => "$time_iso8601",
            Field::TimeLocal => "$time_local",
            _ => "%(t)s",
        }
    }

    /// The values of `line`, or None when it does not match.
    pub fn read(&self, line: &str) -> Option<Values> {
        let mut values = Values::empty();
        let mut tries = TRIES_PER_LINE;
        self.match_at(line, 0, 0, &mut values, &mut tries)
            .then_some(values)
    }

    /// Matches pieces `i..` against `line[pos..]`.
    fn match_at(&self, line: &str, i: usize, pos: usize, v: &mut Values, tries: &mut u32) -> bool {
        let rest = &line[pos..];
        match self.pieces.get(i) {
            None => rest.is_empty(),
            Some(Piece::Lit(lit)) => {
                rest.starts_with(lit.as_str())
                    && self.match_at(line, i + 1, pos + lit.len(), v, tries)
            }
            Some(Piece::Var { field, .. }) => {
                let Some(Piece::Lit(next)) = self.pieces.get(i + 1) else {
                    // The last piece: the value is the rest of the line.
                    return take(*field, rest, v);
                };
                let mut from = 0;
                while let Some(k) = rest[from..].find(next.as_str()) {
                    let end = from + k;
                    if *tries == 0 {
                        return false;
                    }
                    *tries -= 1;
                    if take(*field, &rest[..end], v)
                        && self.match_at(line, i + 1, pos + end, v, tries)
                    {
                        return true;
                    }
                    from = end + rest[end..].chars().next().map_or(1, char::len_utf8);
                }
                false
            }
        }
    }
}

/// A bare word, as a log_format's name is (no `$`, no `%(`, no space).
fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// What a format lacks, in words; empty when it has a time and a status.
fn missing_text(syntax: Syntax, no_time: bool, no_status: bool) -> String {
    let (time, status) = match syntax {
        Syntax::Nginx => (
            "no time of the request: add $msec (the end of the request, to the \
             millisecond; $time_iso8601 or $time_local give only whole seconds)",
            "no $status: add it, so that the 502s can be counted",
        ),
        Syntax::Gunicorn => (
            "no time of the request: add %(t)s",
            "no status: add %(s)s, so that the requests' outcomes can be counted",
        ),
    };
    match (no_time, no_status) {
        (true, true) => format!("it has {time}, and {status}"),
        (true, false) => format!("it has {time}"),
        (false, true) => format!("it has {status}"),
        (false, false) => String::new(),
    }
}

/// The format string of a whole `log_format NAME [escape=...] '...' '...';` directive
/// (nginx.conf's quoting and its `\"`, `\'`, `\\` escapes), or `text` as it is.
fn unwrap_directive(text: &str, shown: &str) -> Result<String, BadInput> {
    let trimmed = text.trim();
    let Some(rest) = trimmed.strip_prefix("log_format") else {
        return Ok(text.to_string());
    };
    if !rest.starts_with(char::is_whitespace) {
        return Ok(text.to_string());
    }
    let bad = |why: &str| {
        BadInput(format!(
            "--log-format '{shown}': {why}; give the format string of log_format (its \
             quoted parts joined), or the whole directive `log_format NAME '...' '...';`"
        ))
    };
    let rest = rest.trim().trim_end_matches(';').trim_end();
    let (_name, mut rest) = rest
        .split_once(char::is_whitespace)
        .ok_or_else(|| bad("the directive has a name but no format"))?;
    rest = rest.trim_start();
    if let Some(after) = rest.strip_prefix("escape=") {
        rest = after
            .split_once(char::is_whitespace)
            .map_or("", |(_, r)| r)
            .trim_start();
    }
    let mut out = String::new();
    let mut chars = rest.chars();
    while let Some(open) = chars.next() {
        if open.is_whitespace() {
            continue;
        }
        if open != '\'' && open != '"' {
            return Err(bad("a part of the directive's format is not quoted"));
        }
        loop {
            match chars.next() {
                None => return Err(bad("a quoted part of the directive is not closed")),
                Some(c) if c == open => break,
                Some('\\') => match chars.next() {
                    Some(c @ ('"' | '\'' | '\\')) => out.push(c),
                    Some(c) => {
                        out.push('\\');
                        out.push(c);
                    }
                    None => return Err(bad("a quoted part of the directive is not closed")),
                },
                Some(c) => out.push(c),
            }
        }
    }
    if out.is_empty() {
        return Err(bad("the directive has no format string"));
    }
    Ok(out)
}

/// The field of an nginx variable (its name is case-insensitive in nginx).
fn nginx_field(name: &str) -> Option<Field> {
    Some(match name.to_ascii_lowercase().as_str() {
        "msec" => Field::Msec,
        "time_local" => Field::TimeLocal,
        "time_iso8601" => Field::TimeIso,
        "status" => Field::Status,
        "request_time" => Field::RequestTime,
        "upstream_response_time" => Field::UpstreamTime,
        _ => return None,
    })
}

/// Literal text, and the variables that `marker` starts, each read by `variable` from
/// the characters after the marker (None: an escaped marker, which is literal text).
fn split_pieces(
    text: &str,
    marker: char,
    mut variable: impl FnMut(&mut Peekable<Chars>) -> Result<Option<Piece>, BadInput>,
) -> Result<Vec<Piece>, BadInput> {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != marker {
            lit.push(c);
            continue;
        }
        match variable(&mut chars)? {
            None => lit.push(marker),
            Some(var) => {
                if !lit.is_empty() {
                    pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                }
                pieces.push(var);
            }
        }
    }
    if !lit.is_empty() {
        pieces.push(Piece::Lit(lit));
    }
    Ok(pieces)
}

/// nginx's `$name` and `${name}`, literal text between them.
fn nginx_pieces(text: &str, shown: &str) -> Result<Vec<Piece>, BadInput> {
    split_pieces(text, '$', |chars| {
        let braced = chars.next_if_eq(&'{').is_some();
        let mut name = String::new();
        while let Some(n) = chars.next_if(|n| n.is_ascii_alphanumeric() || *n == '_') {
            name.push(n);
        }
        if name.is_empty() || (braced && chars.next() != Some('}')) {
            return Err(BadInput(format!(
                "--log-format '{shown}': a `$` that starts no variable name; nginx \
                 variables are $name or ${{name}} (letters, digits and _)"
            )));
        }
        let field = nginx_field(&name);
        Ok(Some(Piece::Var { name, field }))
    })
}

/// The field of a gunicorn atom.
fn gunicorn_field(name: &str) -> Option<Field> {
    Some(match name {
        "t" => Field::GunicornTime,
        "s" => Field::Status,
        "L" => Field::WorkSeconds,
        "D" => Field::WorkMicros,
        "M" => Field::WorkMillis,
        _ => return None,
    })
}

/// gunicorn's `%(name)s` atoms (Python's %-formatting with a mapping), literal text
/// between them, `%%` for a percent sign.
fn gunicorn_pieces(text: &str, shown: &str) -> Result<Vec<Piece>, BadInput> {
    let bad = || {
        BadInput(format!(
            "--log-format '{shown}': a `%` that starts no atom; gunicorn's atoms are \
             %(name)s, e.g. %(t)s, %(s)s, %(L)s, and %% is a percent sign"
        ))
    };
    split_pieces(text, '%', |chars| match chars.next() {
        Some('%') => Ok(None),
        Some('(') => {
            let name: String = chars.by_ref().take_while(|&n| n != ')').collect();
            // Python's flags, width and precision, then the conversion letter.
            while chars
                .next_if(|n| "-#0 +.".contains(*n) || n.is_ascii_digit())
                .is_some()
            {}
            if name.is_empty() || !chars.next().is_some_and(|n| n.is_ascii_alphabetic()) {
                return Err(bad());
            }
            let field = gunicorn_field(&name);
            Ok(Some(Piece::Var { name, field }))
        }
        _ => Err(bad()),
    })
}

/// Two variables with nothing between them cannot be told apart: they become one that
/// is not read, unless eagain needs one of them.
fn merge_adjacent(pieces: Vec<Piece>, shown: &str) -> Result<Vec<Piece>, BadInput> {
    let mut out: Vec<Piece> = Vec::with_capacity(pieces.len());
    for piece in pieces {
        if let (Some(Piece::Var { name: a, field: fa }), Piece::Var { name: b, field: fb }) =
            (out.last_mut(), &piece)
        {
            if fa.is_some() || fb.is_some() {
                return Err(BadInput(format!(
                    "--log-format '{shown}': `{a}` and `{b}` follow each other with nothing \
                     between them, so eagain cannot tell where one ends; put a space or \
                     other text between them in the format (and in the server's config)"
                )));
            }
            a.push('+');
            a.push_str(b);
            continue;
        }
        out.push(piece);
    }
    Ok(out)
}

/// Reads `value` into `v` if `field` is one eagain reads; false if it does not parse.
fn take(field: Option<Field>, value: &str, v: &mut Values) -> bool {
    let Some(field) = field else { return true };
    let parsed = match field {
        Field::Msec => seconds(value).map(|x| v.end = x),
        Field::TimeLocal | Field::GunicornTime => {
            super::time::parse_local(value).map(|x| v.end = x)
        }
        Field::TimeIso => super::time::parse_iso(value).map(|x| v.end = x),
        Field::Status => status(value).map(|x| v.status = x),
        Field::RequestTime => seconds(value).map(|x| v.request_time = x),
        Field::UpstreamTime => upstream(value).map(|x| v.upstream = x),
        Field::WorkSeconds => seconds(value).map(|x| v.work = x),
        Field::WorkMicros => whole(value).map(|x| v.work = x / 1e6),
        Field::WorkMillis => whole(value).map(|x| v.work = x / 1e3),
    };
    parsed.is_some()
}

/// A decimal number of seconds, `0.203` (no sign, no exponent).
fn seconds(s: &str) -> Option<f64> {
    let ok = !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && s.bytes().filter(|&b| b == b'.').count() <= 1
        && s != ".";
    ok.then(|| s.parse().ok())
        .flatten()
        .filter(|x: &f64| x.is_finite())
}

/// A whole number (gunicorn's microseconds and milliseconds).
fn whole(s: &str) -> Option<f64> {
    (!s.is_empty() && s.len() <= 15 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse::<u64>().ok().map(|x| x as f64))
        .flatten()
}

/// A three-digit status.
fn status(s: &str) -> Option<u16> {
    (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// `$upstream_response_time`: `-`, or attempts separated by `, ` (within a group) and
/// ` : ` (between groups), each a time or `-` (semantics: log-nginx-lists).
fn upstream(s: &str) -> Option<Upstream> {
    if s == "-" {
        return Some(Upstream {
            attempts: 0,
            before: 0.0,
            last: f64::NAN,
        });
    }
    let mut attempts = 0;
    let mut before = 0.0;
    let mut last = f64::NAN;
    for item in s.split([',', ':']) {
        let item = item.trim();
        let x = if item == "-" {
            f64::NAN
        } else {
            seconds(item)?
        };
        if attempts > 0 && !last.is_nan() {
            before += last;
        }
        last = x;
        attempts += 1;
    }
    Some(Upstream {
        attempts,
        before,
        last,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The recommended format (semantics: log-nginx-format).
    pub(crate) const QTIMING: &str = "msec=$msec rt=$request_time ct=$connection_time \
        rid=$request_id cr=$connection_requests addr=$remote_addr \"$request\" $status \
        $body_bytes_sent ua=\"$upstream_addr\" us=\"$upstream_status\" \
        uct=\"$upstream_connect_time\" uht=\"$upstream_header_time\" \
        urt=\"$upstream_response_time\"";

    #[test]
    fn the_measured_qtiming_lines_give_end_request_time_status_and_attempts() {
        let f = Format::compile(QTIMING).unwrap();
        assert_eq!(
            (f.syntax, f.time, f.resolution()),
            (Syntax::Nginx, Field::Msec, 0.001)
        );
        // (semantics: log-nginx-arrival-accuracy, log-nginx-lists)
        let served = "msec=1795955498.435 rt=1.206 ct=1.206 rid=993075e050f7abf6b370950e0c5c4a7c \
            cr=1 addr=127.0.0.1 \"GET /a?i=8 HTTP/1.1\" 200 13 ua=\"unix:S/g1.sock\" us=\"200\" \
            uct=\"0.000\" uht=\"1.206\" urt=\"1.206\"";
        let v = f.read(served).unwrap();
        assert_eq!(
            (v.end, v.status, v.request_time),
            (1795955498.435, 200, 1.206)
        );
        assert_eq!(
            (v.upstream.attempts, v.upstream.before, v.upstream.last),
            (1, 0.0, 1.206)
        );
        let retried = served
            .replace("uct=\"0.000\"", "uct=\"-, 0.000\"")
            .replace("urt=\"1.206\"", "urt=\"0.000, 0.603\"");
        let v = f.read(&retried).unwrap();
        assert_eq!(
            (v.upstream.attempts, v.upstream.before, v.upstream.last),
            (2, 0.0, 0.603)
        );
        let fallback = served.replace("urt=\"1.206\"", "urt=\"0.300 : 0.201\"");
        let v = f.read(&fallback).unwrap();
        assert_eq!(
            (v.upstream.attempts, v.upstream.before, v.upstream.last),
            (2, 0.3, 0.201)
        );
        let none = served.replace("urt=\"1.206\"", "urt=\"-\"");
        assert_eq!(f.read(&none).unwrap().upstream.attempts, 0);
    }

    #[test]
    fn malformed_numbers_and_other_text_do_not_match() {
        let f = Format::compile("$msec $status rt=$request_time").unwrap();
        assert!(f.read("1795955498.435 200 rt=0.1").is_some());
        for bad in [
            "1795955498.435 200 rt=x",
            "1795955498.435 20 rt=0.1",
            "1795955498.4.5 200 rt=0.1",
            "1795955498.435 200 rt=0.1 more",
            "1795955498.435 200",
            "",
        ] {
            assert!(f.read(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn an_unquoted_time_local_with_its_space_still_matches() {
        let f = Format::compile("$remote_addr [$time_local] $time_local $status").unwrap();
        let v = f
            .read("1.2.3.4 [29/Nov/2026:12:31:38 +0000] 29/Nov/2026:12:31:38 +0000 502")
            .unwrap();
        assert_eq!((v.end, v.status), (1795955498.0, 502));
        assert_eq!(f.time, Field::TimeLocal);
        let f = Format::compile("$time_iso8601 $status").unwrap();
        assert_eq!(
            f.read("2026-11-29T12:31:38+00:00 200").unwrap().end,
            1795955498.0
        );
    }

    #[test]
    fn a_whole_log_format_directive_is_unwrapped() {
        let f = Format::compile(
            "log_format qtiming escape=default 'msec=$msec '\n  \"st=${status} \\\"q\\\"\";",
        )
        .unwrap();
        assert!(f.read("msec=1.000 st=200 \"q\"").is_some());
        assert!(Format::compile("log_format x 'msec=$msec $status").is_err());
    }

    #[test]
    fn gunicorn_atoms_give_the_end_status_and_the_workers_own_time() {
        // (semantics: log-gunicorn-format, log-gunicorn-atoms)
        let f = Format::compile(
            "%(h)s %(t)s rid=%({x-request-id}i)s pid=%(p)s \"%(r)s\" %(s)s %(b)s L=%(L)s 100%%",
        )
        .unwrap();
        assert_eq!(
            (f.syntax, f.work),
            (Syntax::Gunicorn, Some(Field::WorkSeconds))
        );
        let v = f
            .read(" [29/Nov/2026:12:31:38 +0000] rid=99 pid=<24375> \"GET /a?i=8 HTTP/1.0\" 200 3 L=0.200454 100%")
            .unwrap();
        assert_eq!((v.end, v.status, v.work), (1795955498.0, 200, 0.200454));
        let d = Format::compile("%(t)s %(s)s %(D)s").unwrap();
        assert_eq!(
            d.read("[29/Nov/2026:12:31:38 +0000] 200 200565")
                .unwrap()
                .work,
            0.200565
        );
    }

    #[test]
    fn nginxs_predefined_combined_format_is_known_by_its_name_and_its_text() {
        // Debian's default access log line (semantics: log-nginx-combined).
        let line = "10.0.0.7 - - [29/Nov/2026:12:31:38 +0000] \"GET /a?i=8 HTTP/1.1\" 502 157 \
                    \"-\" \"curl/7.88.1\"";
        for text in ["combined", " combined ", COMBINED] {
            let f = Format::compile(text).unwrap();
            assert_eq!(
                (f.time, f.has_request_time, f.has_upstream),
                (Field::TimeLocal, false, false)
            );
            let v = f.read(line).unwrap();
            assert_eq!((v.end, v.status), (1795955498.0, 502));
        }
        let e = Format::compile("main").unwrap_err().0;
        assert!(
            e.contains("'main': that is the name of a log_format") && !e.contains("no $status"),
            "{e}"
        );
    }

    #[test]
    fn formats_without_a_time_or_a_status_are_refused_naming_what_is_missing() {
        let e = Format::compile("$remote_addr $request_time").unwrap_err().0;
        assert!(
            e.contains("no time of the request: add $msec") && e.contains("no $status"),
            "{e}"
        );
        let e = Format::compile("$msec rt=$request_time").unwrap_err().0;
        assert!(
            e.starts_with("--log-format '$msec rt=$request_time': "),
            "{e}"
        );
        assert!(e.contains("no $status") && !e.contains("no time"), "{e}");
        let e = Format::compile("%(h)s %(s)s").unwrap_err().0;
        assert!(e.contains("add %(t)s"), "{e}");
        assert!(Format::compile("$msec$status")
            .unwrap_err()
            .0
            .contains("nothing between"));
        assert!(Format::compile("$ $msec $status")
            .unwrap_err()
            .0
            .contains("no variable name"));
        assert!(Format::compile("%(t)s %(s)s %z")
            .unwrap_err()
            .0
            .contains("starts no atom"));
    }
}
